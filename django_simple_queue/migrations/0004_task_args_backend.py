from django.db import migrations, models

from django_simple_queue.migrations import _partial_index as partial_index


class Migration(migrations.Migration):
    dependencies = [
        ("django_simple_queue", "0003_task_retries"),
    ]

    # Rows from Django's tasks framework: positional arguments and the TASKS
    # alias. On SQLite these AddFields rebuild the table, which drops the partial index.
    operations = [
        migrations.AddField(
            model_name="task",
            name="args",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="A JSON list.",
                verbose_name="positional arguments",
            ),
        ),
        migrations.AddField(
            model_name="task",
            name="backend",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The TASKS alias it was enqueued through; empty for enqueue().",
                max_length=100,
                verbose_name="tasks backend",
            ),
        ),
        migrations.RunPython(partial_index.ensure, partial_index.drop),
    ]

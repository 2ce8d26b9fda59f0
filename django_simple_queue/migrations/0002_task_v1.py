# Carry 0.1.10 rows forward into the 1.0 task table: text statuses, JSON
# params, outputs split into result / error / traceback, and the new columns
# the worker needs. Queued rows stay queued and run on the new worker.

import json
import uuid

import django.utils.timezone
from django.db import migrations, models

from django_simple_queue.migrations import _partial_index as partial_index

LEGACY_STATUS = {0: "QUEUED", 1: "PROGRESS", 2: "COMPLETED", 3: "FAILED", 4: "CANCELLED"}
RAN = ("PROGRESS", "COMPLETED", "FAILED")  # the states 0.1.10 reached only by running a task
TRACEBACK_MARK = "\n\nTraceback (most recent call last):"
ERROR_MAX_LENGTH = 1000  # characters kept in the one-line ``error`` column


def _params(raw):
    """Return (params, problem) for a 0.1.10 ``args`` text."""
    if raw is None or raw.strip() == "":
        return {}, None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return {}, f"args is not valid JSON ({exc}): {raw[:200]}"
    if not isinstance(value, dict):
        return {}, f"args is a JSON {type(value).__name__}, not an object: {raw[:200]}"
    return value, None


def _split_output(status, output):
    """Return (result, error, traceback) for a 0.1.10 ``output`` text."""
    if output is None or (output == "" and status not in ("COMPLETED", "FAILED")):
        # 0.1.10 blanked output when it started a task: that is no result.
        return None, "", ""
    if status != "FAILED":
        return output, "", ""
    head, mark, _ = output.partition(TRACEBACK_MARK)
    lines = head.strip().splitlines()
    error = lines[-1] if lines else "failed under 0.1.10"
    return None, error[:ERROR_MAX_LENGTH], output if mark else ""


BATCH_SIZE = 1000  # rows read and written per round trip
CONVERTED = ["status", "task_params", "result", "error", "traceback", "attempts", "completed_at"]


def _convert(legacy_status, args, output, modified):
    """Return the 1.0 columns (CONVERTED, in order) of one row from its 0.1.10 columns."""
    # A status 0.1.10 never wrote (only a hand edit makes one) stays the default, as before.
    status = LEGACY_STATUS.get(legacy_status, "QUEUED")
    params, problem = _params(args)
    result, error, traceback = _split_output(status, output)
    # Count only runs that happened: a cancelled row or one failed below never ran.
    attempts = 1 if status in RAN else 0
    if problem and status == "QUEUED":
        # Running it with made-up params would be worse than not running it.
        status = "FAILED"
        error = f"Cannot upgrade 0.1.10 task: {problem}"[:ERROR_MAX_LENGTH]
    completed_at = modified if status in ("COMPLETED", "FAILED", "CANCELLED") else None
    return [status, params, result, error, traceback, attempts, completed_at]


def forward(apps, schema_editor):
    Task = apps.get_model("django_simple_queue", "Task")
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    fields = [Task._meta.get_field(name) for name in CONVERTED]
    pk = Task._meta.pk
    # One statement through executemany: a save() per row costs about 1 ms of
    # ORM work, and the table stays locked by this migration's ALTERs until
    # it ends (minutes for a 0.1.10 table of a few hundred thousand rows).
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(Task._meta.db_table)} SET {assignments} WHERE {quote(pk.column)} = %s"
    rows = Task.objects.order_by("pk").values_list(
        "pk", "legacy_status", "args", "output", "modified"
    )
    last = None
    while True:
        # Keyset pages: each read is an index range, and no cursor is left open
        # while the table is written (SQLite has no isolation inside a connection).
        batch = list((rows if last is None else rows.filter(pk__gt=last))[:BATCH_SIZE])
        if not batch:
            return
        params = [
            [
                field.get_db_prep_save(value, connection)
                for field, value in zip(fields, _convert(*row[1:]), strict=True)
            ]
            + [pk.get_db_prep_save(row[0], connection)]
            for row in batch
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
        last = batch[-1][0]


def backward(apps, schema_editor):
    Task = apps.get_model("django_simple_queue", "Task")
    for old, new in LEGACY_STATUS.items():
        Task.objects.filter(status=new).update(legacy_status=old)
    for task in Task.objects.all().iterator():
        task.args = json.dumps(task.task_params)
        if task.traceback:
            task.output = task.traceback
        elif task.error:
            task.output = task.error
        elif task.result is not None:
            result = task.result
            task.output = result if isinstance(result, str) else json.dumps(result)
        task.save()


class Migration(migrations.Migration):
    dependencies = [("django_simple_queue", "0001_initial")]

    operations = [
        migrations.RenameField("task", "task", "task_name"),
        migrations.AlterField(
            "task",
            "task_name",
            models.CharField(
                help_text="Dotted path of the callable.", max_length=255, verbose_name="task"
            ),
        ),
        migrations.RenameField("task", "created", "created_at"),
        migrations.AlterField(
            "task",
            "created_at",
            models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created"
            ),
        ),
        migrations.RenameField("task", "status", "legacy_status"),
        migrations.AddField(
            "task",
            "status",
            models.CharField(
                choices=[
                    ("QUEUED", "Queued"),
                    ("PROGRESS", "In progress"),
                    ("COMPLETED", "Completed"),
                    ("FAILED", "Failed"),
                    ("CANCELLED", "Cancelled"),
                ],
                default="QUEUED",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AddField(
            "task",
            "task_params",
            models.JSONField(
                blank=True,
                default=dict,
                help_text="Keyword arguments, as JSON.",
                verbose_name="parameters",
            ),
        ),
        migrations.AddField(
            "task",
            "queue",
            models.CharField(default="default", max_length=100, verbose_name="queue"),
        ),
        migrations.AddField(
            "task",
            "priority",
            models.SmallIntegerField(
                default=0, help_text="Higher first.", verbose_name="priority"
            ),
        ),
        migrations.AddField(
            "task",
            "run_after",
            models.DateTimeField(
                blank=True,
                help_text="Not claimed before this time.",
                null=True,
                verbose_name="run after",
            ),
        ),
        migrations.AddField(
            "task",
            "started_at",
            models.DateTimeField(blank=True, editable=False, null=True, verbose_name="started"),
        ),
        migrations.AddField(
            "task",
            "completed_at",
            models.DateTimeField(blank=True, editable=False, null=True, verbose_name="completed"),
        ),
        migrations.AddField(
            "task",
            "attempts",
            models.PositiveIntegerField(default=0, editable=False, verbose_name="attempts"),
        ),
        migrations.AddField(
            "task",
            "max_attempts",
            models.PositiveIntegerField(default=1, verbose_name="max attempts"),
        ),
        migrations.AddField(
            "task",
            "timeout",
            models.PositiveIntegerField(
                blank=True,
                help_text="Seconds; empty means the worker's.",
                null=True,
                verbose_name="timeout",
            ),
        ),
        migrations.AddField(
            "task",
            "result",
            models.JSONField(blank=True, editable=False, null=True, verbose_name="result"),
        ),
        migrations.AddField(
            "task",
            "error",
            models.TextField(blank=True, default="", editable=False, verbose_name="error"),
        ),
        migrations.AddField(
            "task",
            "traceback",
            models.TextField(blank=True, default="", editable=False, verbose_name="traceback"),
        ),
        migrations.AddField(
            "task",
            "worker_id",
            models.UUIDField(blank=True, editable=False, null=True, verbose_name="worker"),
        ),
        migrations.RunPython(forward, backward),
        migrations.RemoveField("task", "legacy_status"),
        migrations.RemoveField("task", "args"),
        migrations.RemoveField("task", "output"),
        migrations.RemoveField("task", "modified"),
        migrations.AlterModelOptions(
            name="task", options={"verbose_name": "task", "verbose_name_plural": "tasks"}
        ),
        migrations.RunPython(partial_index.ensure, partial_index.drop),
        migrations.AddIndex(
            "task",
            models.Index(fields=["status", "-priority", "created_at"], name="dsq_task_claim"),
        ),
        migrations.AddIndex(
            "task",
            models.Index(fields=["worker_id", "status"], name="dsq_task_worker"),
        ),
        migrations.CreateModel(
            name="Worker",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("host", models.CharField(max_length=255, verbose_name="host")),
                ("pid", models.PositiveIntegerField(verbose_name="pid")),
                (
                    "queues",
                    models.CharField(
                        blank=True, default="", max_length=1000, verbose_name="queues"
                    ),
                ),
                (
                    "concurrency",
                    models.PositiveIntegerField(default=1, verbose_name="concurrency"),
                ),
                ("started_at", models.DateTimeField(verbose_name="started")),
                ("last_heartbeat_at", models.DateTimeField(verbose_name="last seen")),
                (
                    "stopped_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="stopped"),
                ),
            ],
            options={"verbose_name": "worker", "verbose_name_plural": "workers"},
        ),
    ]

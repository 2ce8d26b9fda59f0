"""The partial index on queued rows, kept out of the model's Meta.

Only queued rows, in claim order: the claim scan stays short however many
finished rows pile up. It is not declared in ``Task.Meta`` because MariaDB and
MySQL have no partial indexes and Django would warn about that on every check
there. The price: Django's model state does not know it, and on SQLite any
migration that rebuilds the table (most ``AddField``/``AlterField``) drops it,
so such a migration must end with ``RunPython(ensure, drop)``.
"""

from django.db import models
from django.db.models import Q

INDEX = models.Index(
    fields=["-priority", "created_at"], condition=Q(status="QUEUED"), name="dsq_task_queued"
)


def _exists(schema_editor, model):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return INDEX.name in constraints


def ensure(apps, schema_editor):
    """Create the index where the database supports it and it is missing."""
    model = apps.get_model("django_simple_queue", "Task")
    if schema_editor.connection.features.supports_partial_indexes and not _exists(
        schema_editor, model
    ):
        schema_editor.add_index(model, INDEX)


def drop(apps, schema_editor):
    """Drop the index where it exists."""
    model = apps.get_model("django_simple_queue", "Task")
    if schema_editor.connection.features.supports_partial_indexes and _exists(
        schema_editor, model
    ):
        schema_editor.remove_index(model, INDEX)

"""All vendor-specific SQL: one module per concern, vendors side by side.

This package is the only place that opens cursors. Every time that decides
correctness (is a task due, when did it start, when did a worker last beat)
comes from the database's clock, never the worker's.
"""

from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.functions import Now

from django_simple_queue.models import Task


class DatabaseNow(Now):
    """``now()`` on the database's clock, in UTC on every backend.

    Django's ``Now`` is ``CURRENT_TIMESTAMP(6)`` on MySQL/MariaDB, which is in
    the *session* time zone; Django stores UTC there, so use UTC_TIMESTAMP.
    """

    def as_mysql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, template="UTC_TIMESTAMP(6)", **extra_context)


# The same clock as raw SQL, for the statements written by hand in this package.
NOW_SQL = {
    "postgresql": "STATEMENT_TIMESTAMP()",
    "mysql": "UTC_TIMESTAMP(6)",
    "sqlite": "STRFTIME('%%Y-%%m-%%d %%H:%%M:%%f', 'NOW')",
}


def connection_for(using: str | None = None) -> BaseDatabaseWrapper:
    """Return the connection the task table lives on."""
    return connections[using or "default"]


def table(connection: BaseDatabaseWrapper) -> str:
    return connection.ops.quote_name(Task._meta.db_table)

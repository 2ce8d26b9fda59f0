"""System checks for settings the queue depends on."""

import logging
import sqlite3
from typing import Any

from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import connections

from django_simple_queue.conf import settings


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report settings under which the worker would misbehave."""
    messages: list[CheckMessage] = []
    if not django_settings.USE_TZ:
        messages.append(
            Warning(
                "USE_TZ is False: run_after is compared with the database's UTC clock.",
                hint="Set USE_TZ = True (Django's default) so stored times are UTC.",
                id="django_simple_queue.W001",
            )
        )
    if settings.STALE_AFTER < 3 * settings.HEARTBEAT_INTERVAL:
        messages.append(
            Error(
                "DJANGO_SIMPLE_QUEUE_STALE_AFTER must be at least three heartbeats "
                f"({3 * settings.HEARTBEAT_INTERVAL:g} s): a live worker's tasks would be "
                "rescued and run twice.",
                id="django_simple_queue.E003",
            )
        )
    if settings.ON_SHUTDOWN not in ("requeue", "fail"):
        messages.append(
            Error(
                "DJANGO_SIMPLE_QUEUE_ON_SHUTDOWN must be 'requeue' or 'fail', not "
                f"{settings.ON_SHUTDOWN!r}.",
                id="django_simple_queue.E004",
            )
        )
    level = settings.OUTCOME_LOG_LEVEL
    if not isinstance(level, int) and not isinstance(
        logging.getLevelName(str(level).upper()), int
    ):
        messages.append(
            Error(
                f"DJANGO_SIMPLE_QUEUE_OUTCOME_LOG_LEVEL {level!r} is not a logging level.",
                id="django_simple_queue.E005",
            )
        )
    allowed = settings.ALLOWED_TASKS
    if allowed is not None and (
        isinstance(allowed, str) or not all(isinstance(p, str) for p in allowed)
    ):
        messages.append(
            Error(
                "DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS must be a list of dotted paths or 'module.*'.",
                id="django_simple_queue.E001",
            )
        )
    return messages


@register(Tags.database)
def check_database(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """SQLite needs ``UPDATE ... RETURNING`` (3.35) for the atomic claim."""
    messages: list[CheckMessage] = []
    for alias in databases or []:
        if connections[alias].vendor == "sqlite":
            if sqlite3.sqlite_version_info < (3, 35):
                messages.append(
                    Error(
                        f"SQLite {sqlite3.sqlite_version} is too old for django_simple_queue.",
                        hint="SQLite 3.35 or newer is needed for UPDATE ... RETURNING.",
                        id="django_simple_queue.E002",
                    )
                )
    return messages

"""Record a task's outcome, only while the recording worker still owns it.

The ``WHERE worker_id = me AND status = 'PROGRESS'`` guard is what gives a
task exactly one terminal state: once a task has been rescued, cancelled or
finished by anyone else, a late write from this worker changes nothing.
"""

import uuid
from typing import Any

from django_simple_queue.models import Task
from django_simple_queue.sql import DatabaseNow

ERROR_MAX_LENGTH = 1000  # characters: ``error`` is one line for lists and alerts


def one_line(text: str) -> str:
    """Fold *text* onto one line and cut it to ``ERROR_MAX_LENGTH`` characters."""
    line = " ".join(text.split())
    if len(line) > ERROR_MAX_LENGTH:
        line = line[: ERROR_MAX_LENGTH - 1] + "\u2026"
    return line


def finish(
    task_id: uuid.UUID,
    worker_id: uuid.UUID,
    status: str,
    result: Any = None,
    error: str = "",
    traceback: str = "",
    using: str | None = None,
) -> bool:
    """Write the outcome; return False when this worker no longer owns the task."""
    if status not in Task.TERMINAL:
        raise ValueError(f"finish() needs a terminal status, not {status!r}.")
    updated = (
        Task.objects.using(using)
        .filter(id=task_id, worker_id=worker_id, status=Task.PROGRESS)
        .update(
            status=status,
            result=result,
            error=one_line(error),
            traceback=traceback,
            completed_at=DatabaseNow(),
        )
    )
    return updated == 1

"""Record a task's outcome, only while the recording worker still owns it.

The ``WHERE worker_id = me AND status = 'PROGRESS'`` guard is what gives a
task exactly one terminal state: once a task has been rescued, cancelled or
finished by anyone else, a late write from this worker changes nothing.
"""

import datetime
import uuid
from typing import Any

from django.db.models import F

from django_simple_queue.models import Task
from django_simple_queue.sql import DatabaseNow

ERROR_MAX_LENGTH = 1000  # characters: ``error`` is one line for lists and alerts
HISTORY_MAX = 20  # failed attempts kept in ``errors``, newest last
HISTORY_TRACEBACK_MAX = 20_000  # characters of each attempt's traceback kept there


def one_line(text: str) -> str:
    """Fold *text* onto one line and cut it to ``ERROR_MAX_LENGTH`` characters."""
    line = " ".join(text.split())
    if len(line) > ERROR_MAX_LENGTH:
        line = line[: ERROR_MAX_LENGTH - 1] + "\u2026"
    return line


def history_entry(
    attempt: int, error: str, exception: str, traceback: str, worker: str = ""
) -> dict[str, Any]:
    """Describe one failed attempt for the ``errors`` list (*worker*: who ran it)."""
    return {
        "attempt": attempt,
        "worker": worker,
        "error": one_line(error),
        "exception": exception,
        "traceback": traceback[-HISTORY_TRACEBACK_MAX:],
    }


def appended(errors: Any, entry: dict[str, Any]) -> list[Any]:
    """*errors* with *entry* appended, the newest ``HISTORY_MAX`` kept.

    A history that is not a list (a row written by hand) is started afresh.
    """
    return [*(errors if isinstance(errors, list) else []), entry][-HISTORY_MAX:]


def _owned(task_id: uuid.UUID, worker_id: uuid.UUID, using: str | None) -> Any:
    return Task.objects.using(using).filter(id=task_id, worker_id=worker_id, status=Task.PROGRESS)


def _with_entry(owned: Any, entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return the ``errors`` update for *entry*, or None when the task is no longer owned.

    Read, then write under the same ownership guard: if the task is rescued
    in between, the guarded write changes nothing, so no entry is lost or doubled.
    """
    if entry is None:
        return {}
    rows = list(owned.values_list("errors", flat=True)[:1])
    if not rows:
        return None
    return {"errors": appended(rows[0], entry)}


def finish(
    task_id: uuid.UUID,
    worker_id: uuid.UUID,
    status: str,
    result: Any = None,
    error: str = "",
    traceback: str = "",
    using: str | None = None,
    entry: dict[str, Any] | None = None,
) -> bool:
    """Write the outcome; return False when this worker no longer owns the task.

    *entry* (see ``history_entry``) is appended to the task's ``errors``.
    """
    if status not in Task.TERMINAL:
        raise ValueError(f"finish() needs a terminal status, not {status!r}.")
    owned = _owned(task_id, worker_id, using)
    history = _with_entry(owned, entry)
    if history is None:
        return False
    updated = owned.update(
        status=status,
        result=result,
        error=one_line(error),
        traceback=traceback,
        completed_at=DatabaseNow(),
        **history,
    )
    return updated == 1


def retry(
    task_id: uuid.UUID,
    worker_id: uuid.UUID,
    delay: float,
    entry: dict[str, Any],
    using: str | None = None,
) -> bool:
    """Put a failed attempt back to QUEUED, due *delay* seconds from now (database clock)."""
    owned = _owned(task_id, worker_id, using)
    history = _with_entry(owned, entry)
    if history is None:
        return False
    updated = owned.update(
        status=Task.QUEUED,
        worker_id=None,
        run_after=DatabaseNow() + datetime.timedelta(seconds=delay),
        error=entry["error"],
        traceback=entry["traceback"],
        **history,
    )
    return updated == 1


def release(task_id: uuid.UUID, worker_id: uuid.UUID, note: str, using: str | None = None) -> bool:
    """Put a task this worker stopped back to QUEUED, its cut-short run not counted."""
    updated = _owned(task_id, worker_id, using).update(
        status=Task.QUEUED,
        worker_id=None,
        run_after=None,
        attempts=F("attempts") - 1,
        error=one_line(note),
    )
    return updated == 1

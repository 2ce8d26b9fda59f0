"""Free tasks held by workers that stopped beating: the lifeline.

A worker that is SIGKILLed, loses its machine or its network leaves its tasks
``PROGRESS``. Any other worker decides they are lost when their holder's last
heartbeat is older than ``stale_after`` seconds *on the database's clock*
(never by PID or host: containers reuse both), and puts them back to
``QUEUED`` if attempts remain, else ``FAILED``, with the lost attempt in the
task's ``errors``. Each is one guarded UPDATE per row, so a rescue, another
worker's rescue and a late outcome write from the lost worker cannot two of
them win: the owner's write requires ``worker_id = me AND status = PROGRESS``,
and a rescue requires the row to be as it read it (``PROGRESS``, same holder,
same attempt), with its holder still lost.
"""

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from django_simple_queue.models import Task, Worker
from django_simple_queue.sql import DatabaseNow
from django_simple_queue.sql.finish import appended, history_entry

WORKER_LOST = (
    "WorkerLost: the worker running this task stopped sending heartbeats (killed, crashed "
    "or cut off from the database)"
)
BATCH = 100  # rows rescued per call; the next heartbeat takes the rest


@dataclass(frozen=True)
class Rescued:
    """A task this call took from a lost worker, and what it became."""

    id: uuid.UUID
    task_name: str
    attempts: int  # the lost attempt's number
    status: str  # QUEUED (attempts remain) or FAILED


def rescue(
    stale_after: float, using: str | None = None, rescuer: uuid.UUID | None = None
) -> list[Rescued]:
    """Re-queue or fail tasks held by lost workers; return the ones this call rescued.

    Never the *rescuer*'s own: it is running them, whatever its row says.
    """
    cutoff = DatabaseNow() - datetime.timedelta(seconds=stale_after)
    live = Worker.objects.using(using).filter(
        stopped_at__isnull=True, last_heartbeat_at__gte=cutoff
    )
    # A PROGRESS row with no worker (left by 0.1.10, or written by hand) has no
    # one to finish it either.
    lost = (
        Task.objects.using(using)
        .filter(status=Task.PROGRESS)
        .filter(Q(worker_id__isnull=True) | ~Q(worker_id__in=live.values("id")))
    )
    if rescuer is not None:
        lost = lost.exclude(worker_id=rescuer)
    fields = ("id", "task_name", "worker_id", "attempts", "max_attempts", "errors")
    rescued = []
    for row in lost.order_by("id").values(*fields)[:BATCH]:
        holder, attempts = row["worker_id"], row["attempts"]
        entry = history_entry(attempts, WORKER_LOST, "", "", str(holder or ""))
        change: dict[str, Any]
        if attempts < row["max_attempts"]:
            status = Task.QUEUED
            change = {"worker_id": None, "run_after": None}
        else:
            status = Task.FAILED
            change = {"completed_at": DatabaseNow()}
        updated = lost.filter(id=row["id"], worker_id=holder, attempts=attempts).update(
            status=status,
            error=WORKER_LOST,
            traceback="",
            errors=appended(row["errors"], entry),
            **change,
        )
        if updated:
            rescued.append(Rescued(row["id"], row["task_name"], attempts, status))
    return rescued

"""Free tasks held by workers that stopped beating: the lifeline.

A worker that is SIGKILLed, loses its machine or its network leaves its tasks
``PROGRESS``. Any other worker decides they are lost when their holder's last
heartbeat is older than ``stale_after`` seconds *on the database's clock*
(never by PID or host: containers reuse both), and puts them back to
``QUEUED`` if attempts remain, else ``FAILED``. Both are single guarded
UPDATEs, so a rescue and a late outcome write from the lost worker cannot
both win: the owner's write requires ``worker_id = me AND status = PROGRESS``.
"""

import datetime

from django.db.models import F, Q

from django_simple_queue.models import Task, Worker
from django_simple_queue.sql import DatabaseNow

WORKER_LOST = (
    "WorkerLost: the worker running this task stopped sending heartbeats (killed, crashed "
    "or cut off from the database)"
)


def rescue(stale_after: float, using: str | None = None) -> tuple[int, int]:
    """Re-queue or fail tasks held by lost workers; return (re-queued, failed)."""
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
    requeued = lost.filter(attempts__lt=F("max_attempts")).update(
        status=Task.QUEUED, worker_id=None, run_after=None, error=WORKER_LOST
    )
    failed = lost.filter(attempts__gte=F("max_attempts")).update(
        status=Task.FAILED, error=WORKER_LOST, completed_at=DatabaseNow()
    )
    return requeued, failed

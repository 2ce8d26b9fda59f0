"""Worker rows: register a process start, beat, and mark it stopped."""

import os
import socket
import uuid

from django_simple_queue.models import Worker
from django_simple_queue.sql import DatabaseNow


def register(
    worker_id: uuid.UUID, queues: list[str] | None, concurrency: int, using: str | None = None
) -> uuid.UUID:
    """Insert the row for this process start (*worker_id* is new for each start)."""
    Worker.objects.using(using).create(
        id=worker_id,
        host=socket.gethostname()[:255],
        pid=os.getpid(),
        queues=",".join(queues or [])[:1000],
        concurrency=concurrency,
        started_at=DatabaseNow(),
        last_heartbeat_at=DatabaseNow(),
    )
    return worker_id


def beat(worker_id: uuid.UUID, using: str | None = None) -> bool:
    """Stamp the worker's last sign of life on the database clock; False if its row is gone."""
    updated = (
        Worker.objects.using(using).filter(id=worker_id).update(last_heartbeat_at=DatabaseNow())
    )
    return updated == 1


def stop(worker_id: uuid.UUID, using: str | None = None) -> None:
    """Mark the worker stopped."""
    Worker.objects.using(using).filter(id=worker_id).update(
        stopped_at=DatabaseNow(), last_heartbeat_at=DatabaseNow()
    )

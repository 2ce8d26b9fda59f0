"""Claim due tasks atomically: mark them PROGRESS, stamp the worker, count the attempt.

Two workers must never claim the same row. Each vendor gets the strongest
primitive it has:

* PostgreSQL: one ``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)
  RETURNING`` statement. Row locks only, on the rows picked; rows another
  claim has locked are skipped rather than waited for.
* MySQL/MariaDB: ``SELECT ... FOR UPDATE SKIP LOCKED`` then ``UPDATE`` in one
  transaction; MariaDB has no ``UPDATE ... RETURNING``, so the claimed rows
  are read back by id inside the same transaction.
* SQLite: no row locks at all, so ``BEGIN IMMEDIATE`` takes the database's
  single write lock before the read, making read-then-update one critical
  section; ``UPDATE ... RETURNING`` (SQLite >= 3.35) does both at once.
"""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from django_simple_queue.models import Task
from django_simple_queue.sql import NOW_SQL, connection_for, table

COLUMNS = "id, task_name, task_params, timeout, attempts, max_attempts, priority, created_at"


@dataclass(frozen=True)
class ClaimedTask:
    """What a worker needs to run one claimed task."""

    id: uuid.UUID
    task_name: str
    task_params: Any
    timeout: int | None
    attempts: int
    max_attempts: int


def _due_rows(connection: BaseDatabaseWrapper, queues: list[str] | None) -> tuple[str, list[Any]]:
    """Return the WHERE clause for due queued rows (on the database clock) and its params."""
    where = (
        f"status = 'QUEUED' AND (run_after IS NULL OR run_after <= {NOW_SQL[connection.vendor]})"
    )
    if queues:
        where += f" AND queue IN ({', '.join(['%s'] * len(queues))})"
    return where, list(queues or [])


def _claimed(connection: BaseDatabaseWrapper, rows: list[tuple[Any, ...]]) -> list[ClaimedTask]:
    # Claim order: priority first, then enqueue order (RETURNING keeps no order).
    rows = sorted(rows, key=lambda row: (-row[6], str(row[7])))
    return [
        ClaimedTask(
            id=uuid.UUID(str(row[0])),
            task_name=row[1],
            # Raw SQL skips JSONField's decoding; some drivers decode jsonb already.
            task_params=json.loads(row[2]) if isinstance(row[2], (str, bytes)) else row[2],
            timeout=row[3],
            attempts=row[4],
            max_attempts=row[5],
        )
        for row in rows
    ]


def _set_claimed(connection: BaseDatabaseWrapper) -> str:
    return (
        f"status = 'PROGRESS', worker_id = %s, started_at = {NOW_SQL[connection.vendor]}, "
        "completed_at = NULL, attempts = attempts + 1"
    )


def _claim_postgresql(connection, worker, queues, limit):  # type: ignore[no-untyped-def]
    where, params = _due_rows(connection, queues)
    sql = (
        f"UPDATE {table(connection)} AS t SET {_set_claimed(connection)} "
        f"FROM (SELECT id FROM {table(connection)} WHERE {where} "
        "ORDER BY priority DESC, created_at LIMIT %s FOR UPDATE SKIP LOCKED) AS picked "
        "WHERE t.id = picked.id RETURNING t.id, t.task_name, t.task_params::text, t.timeout, "
        "t.attempts, t.max_attempts, t.priority, t.created_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [worker, *params, limit])
        return cursor.fetchall()


def _claim_mysql(connection, worker, queues, limit):  # type: ignore[no-untyped-def]
    where, params = _due_rows(connection, queues)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # Locks: the picked rows, until commit; SKIP LOCKED passes over rows
        # another worker's open claim holds instead of waiting for them.
        cursor.execute(
            f"SELECT id FROM {table(connection)} WHERE {where} "
            "ORDER BY priority DESC, created_at LIMIT %s FOR UPDATE SKIP LOCKED",
            [*params, limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"UPDATE {table(connection)} SET {_set_claimed(connection)} WHERE id IN ({marks})",
            [worker, *ids],
        )
        cursor.execute(f"SELECT {COLUMNS} FROM {table(connection)} WHERE id IN ({marks})", ids)
        return cursor.fetchall()


def _claim_sqlite(connection, worker, queues, limit):  # type: ignore[no-untyped-def]
    where, params = _due_rows(connection, queues)
    sql = (
        f"UPDATE {table(connection)} SET {_set_claimed(connection)} WHERE id IN "
        f"(SELECT id FROM {table(connection)} WHERE {where} "
        f"ORDER BY priority DESC, created_at LIMIT %s) RETURNING {COLUMNS}"
    )
    with connection.cursor() as cursor:
        # The write lock first: a deferred BEGIN would let two workers read
        # the same rows and race to upgrade their locks.
        cursor.execute("BEGIN IMMEDIATE")
        try:
            cursor.execute(sql, [worker, *params, limit])
            rows = cursor.fetchall()
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")
        return rows


CLAIMERS = {"postgresql": _claim_postgresql, "mysql": _claim_mysql, "sqlite": _claim_sqlite}


def claim(
    worker_id: uuid.UUID, limit: int, queues: list[str] | None = None, using: str | None = None
) -> list[ClaimedTask]:
    """Claim up to *limit* due tasks for *worker_id*, highest priority and oldest first."""
    connection = connection_for(using)
    if connection.in_atomic_block:
        raise RuntimeError("claim() runs its own transaction; call it outside atomic().")
    claimer = CLAIMERS.get(connection.vendor)
    if claimer is None:
        raise NotImplementedError(f"Cannot claim tasks on {connection.vendor!r}.")
    worker = Task._meta.get_field("worker_id").get_db_prep_value(worker_id, connection)
    return _claimed(connection, claimer(connection, worker, queues, limit))

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
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from django_simple_queue.models import Task
from django_simple_queue.sql import NOW_SQL, connection_for, table

logger = logging.getLogger("django_simple_queue.sql")
ATTEMPTS_CAP = 2_000_000_000  # below every database's integer maximum

# created_at is read back as text, only to order the batch: a value the driver
# cannot parse as a datetime (a hand-written '-infinity') would otherwise raise
# after the claim committed, losing the whole batch. ISO text sorts as time does.
COLUMNS = (
    "id, task_name, task_params, timeout, attempts, max_attempts, priority, "
    "CAST(created_at AS CHAR), retry_on, args"
)
# SQLite keeps whatever a raw INSERT put there, in any column: read every column as
# bytes (no driver conversion, no UTF-8 decoding) and convert here, so one bad row
# fails alone instead of every claim.
SQLITE_COLUMNS = ", ".join(
    f"CAST({column} AS BLOB)"
    for column in (
        "id", "task_name", "task_params", "timeout", "attempts", "max_attempts", "priority",
        "created_at", "retry_on", "args",
    )
)  # fmt: skip


@dataclass(frozen=True)
class ClaimedTask:
    """What a worker needs to run one claimed task.

    ``problem`` is set when the row cannot be run as stored (params that do not
    decode, a timeout that is not a number): the worker fails it without running it.
    """

    id: uuid.UUID
    task_name: str
    task_params: Any
    timeout: int | None
    attempts: int
    max_attempts: int
    priority: int = 0
    created: str = ""  # enqueue time as text, for ordering the batch
    retry_on: list[str] | None = None  # exception classes retried; None: any
    args: list[Any] = field(default_factory=list)  # positional arguments (tasks framework)
    problem: str = ""


def _due_rows(connection: BaseDatabaseWrapper, queues: list[str] | None) -> tuple[str, list[Any]]:
    """Return the WHERE clause for due queued rows (on the database clock) and its params."""
    where = (
        f"status = 'QUEUED' AND (run_after IS NULL OR run_after <= {NOW_SQL[connection.vendor]})"
    )
    if queues:
        where += f" AND queue IN ({', '.join(['%s'] * len(queues))})"
    return where, list(queues or [])


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _json(value: Any) -> Any:
    # Raw SQL skips JSONField's decoding; some drivers decode jsonb already.
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _args(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"args is {type(value).__name__}, not a JSON list")
    return value


def _retry_on(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(path, str) for path in value):
        raise ValueError(f"retry_on is {value!r:.100}, not a JSON list of exception class paths")
    return value


def _number(value: Any, column: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{column} is {value!r}, not a whole number") from None


def _row_to_task(row: tuple[Any, ...]) -> ClaimedTask | None:
    """Convert one claimed row; a row that cannot be read becomes a task with a problem."""
    try:
        task_id = uuid.UUID(_text(row[0]))
    except Exception:  # noqa: BLE001
        # Nothing can address this row through the ORM; say so loudly and go on.
        logger.error("Claimed a row whose id %r is not a UUID; it stays PROGRESS", row[0])
        return None
    fields: dict[str, Any] = {"task_name": "", "task_params": {}, "timeout": None, "args": []}
    try:
        fields["task_name"] = _text(row[1])
        fields["task_params"] = _json(row[2])
        fields["retry_on"] = _retry_on(_json(row[8]))
        fields["args"] = _args(_json(row[9]))
        fields["timeout"] = _number(row[3], "timeout")
        priority = _number(row[6], "priority") or 0
        attempts = _number(row[4], "attempts") or 1
        max_attempts = _number(row[5], "max_attempts") or 1
        created = _text(row[7])
    except Exception as exc:  # noqa: BLE001 - whatever is wrong, this row alone fails
        fields["problem"] = f"InvalidTaskRow: the row cannot be run as stored: {exc}"[:500]
        priority, attempts, max_attempts, created = 0, 1, 1, ""
    return ClaimedTask(task_id, attempts=attempts, max_attempts=max_attempts,
                       priority=priority, created=created, **fields)  # fmt: skip


def _claimed(rows: list[tuple[Any, ...]]) -> list[ClaimedTask]:
    tasks = [task for task in map(_row_to_task, rows) if task is not None]
    # Claim order within the batch (RETURNING keeps none): priority, then enqueue order.
    return sorted(tasks, key=lambda task: (-task.priority, task.created))


def _set_claimed(connection: BaseDatabaseWrapper) -> str:
    return (
        f"status = 'PROGRESS', worker_id = %s, started_at = {NOW_SQL[connection.vendor]}, "
        # Capped: one row at the column's maximum must not make every claim fail.
        "completed_at = NULL, attempts = attempts + "
        f"(CASE WHEN attempts < {ATTEMPTS_CAP} THEN 1 ELSE 0 END)"
    )


def _claim_postgresql(connection, worker, queues, limit):  # type: ignore[no-untyped-def]
    where, params = _due_rows(connection, queues)
    sql = (
        f"UPDATE {table(connection)} AS t SET {_set_claimed(connection)} "
        f"FROM (SELECT id FROM {table(connection)} WHERE {where} "
        "ORDER BY priority DESC, created_at LIMIT %s FOR UPDATE SKIP LOCKED) AS picked "
        "WHERE t.id = picked.id RETURNING t.id, t.task_name, t.task_params::text, t.timeout, "
        "t.attempts, t.max_attempts, t.priority, t.created_at::text, t.retry_on::text, "
        "t.args::text"
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
        f"ORDER BY priority DESC, created_at LIMIT %s) RETURNING {SQLITE_COLUMNS}"
    )
    with connection.cursor() as cursor:
        # The write lock first: a deferred BEGIN would let two workers read
        # the same rows and race to upgrade their locks.
        cursor.execute("BEGIN IMMEDIATE")
        try:
            cursor.execute(sql, [worker, *params, limit])
            rows = cursor.fetchall()
            cursor.execute("COMMIT")
        except BaseException:
            # COMMIT itself can fail ("database is locked"): without this
            # ROLLBACK the connection would keep the write lock, and every
            # later claim would fail with "cannot start a transaction within
            # a transaction" while other processes wait on the lock.
            _rollback_quietly(cursor)
            raise
        return rows


def _rollback_quietly(cursor: Any) -> None:
    try:
        cursor.execute("ROLLBACK")
    except DatabaseError:
        pass  # no transaction was open any more


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
    return _claimed(claimer(connection, worker, queues, limit))

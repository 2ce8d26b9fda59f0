"""Outcomes waiting to be written, written in order, never lost and never stuck.

An outcome the database cannot take *now* (a lost connection, a restart)
waits and is retried. An outcome the database will *never* take (text
PostgreSQL refuses, a document MariaDB's JSON check rejects, a packet over
``max_allowed_packet``) must not block every outcome behind it: once it has
failed ``REFUSALS_BEFORE_FALLBACK`` times while the database answers
heartbeats, it is replaced by a plain ``FAILED`` outcome that says why.
"""

import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any

from django_simple_queue.conf import settings
from django_simple_queue.jsonvalue import safe_text
from django_simple_queue.models import Task
from django_simple_queue.sql import connection_for, finish, heartbeat
from django_simple_queue.worker.executor import Outcome, describe

logger = logging.getLogger("django_simple_queue.worker")

REFUSALS_BEFORE_FALLBACK = 3  # failed writes of one outcome, the database being up
REFUSED = "OutcomeNotStored: the database refused this task's outcome"
RETRIED: Any = "retried"  # what _write returns when it put the task back to QUEUED


@dataclass
class Pending:
    task_id: uuid.UUID
    outcome: Outcome
    attempts: int = 1  # this run's number
    max_attempts: int = 1
    failures: int = 0  # writes of this outcome that failed
    fallbacks: int = 0


def backoff(attempt: int) -> float:
    """Seconds to wait before the attempt after *attempt*: doubling, capped, jittered.

    The jitter (half the wait, at random) keeps tasks that failed together,
    say on one outage, from all coming back at the same moment.
    """
    wait = min(settings.RETRY_BACKOFF_MAX, settings.RETRY_BACKOFF * 2 ** (attempt - 1))
    return wait / 2 + random.uniform(0, wait / 2)


def fallback(outcome: Outcome, exc: BaseException, fallbacks: int) -> Outcome:
    """Return a FAILED outcome that any database stores: first with the reason, then bare."""
    if fallbacks == 0:
        reason = safe_text(describe(exc)).encode("ascii", "backslashreplace").decode("ascii")
        return Outcome(Task.FAILED, error=f"{REFUSED} ({outcome.status}): {reason}"[:900])
    return Outcome(Task.FAILED, error=REFUSED)


class Recorder:
    """The supervisor's queue of outcomes not yet in the database."""

    def __init__(self, worker_id: uuid.UUID, using: str | None) -> None:
        self.worker_id = worker_id
        self.using = using
        self.pending: list[Pending] = []

    def __len__(self) -> int:
        return len(self.pending)

    def add(
        self, task_id: uuid.UUID, outcome: Outcome, attempts: int = 1, max_attempts: int = 1
    ) -> None:
        self.pending.append(Pending(task_id, outcome, attempts, max_attempts))

    def flush(self) -> BaseException | None:
        """Write what is pending, oldest first; return the error that stopped it, if any."""
        while self.pending:
            item = self.pending[0]
            try:
                written = self._write(item)
            except Exception as exc:  # noqa: BLE001 - any failure must leave the outcome queued
                self._refused(item, exc)
                return exc
            self.pending.pop(0)
            _log(item, written)
        return None

    def _write(self, item: Pending) -> bool:
        outcome, entry = item.outcome, None
        if outcome.status == Task.QUEUED:  # stopped by a shutdown: back, run not counted
            return finish.release(item.task_id, self.worker_id, outcome.error, self.using)
        if outcome.status == Task.FAILED:
            entry = finish.history_entry(
                item.attempts, outcome.error, outcome.exception, outcome.traceback,
                str(self.worker_id),
            )  # fmt: skip
            if outcome.retryable and item.attempts < item.max_attempts:
                delay = backoff(item.attempts)
                written = finish.retry(item.task_id, self.worker_id, delay, entry, self.using)
                if written:
                    logger.log(
                        outcome_level(),
                        "Task %s failed (attempt %d of %d), retrying in %.1fs: %s",
                        item.task_id, item.attempts, item.max_attempts, delay, outcome.error,
                    )  # fmt: skip
                    return RETRIED
                return written
        return finish.finish(
            item.task_id, self.worker_id, outcome.status, outcome.result,
            outcome.error, outcome.traceback, self.using, entry,
        )  # fmt: skip

    def flush_each_once(self) -> None:
        """Try every pending outcome once, skipping failures: the last chance before exit."""
        for item in list(self.pending):
            try:
                written = self._write(item)
            except Exception as exc:  # noqa: BLE001
                logger.error("Task %s: outcome not written before exit (%s)", item.task_id, exc)
                continue
            self.pending.remove(item)
            _log(item, written)

    def _refused(self, item: Pending, exc: BaseException) -> None:
        if transient(exc):
            return  # a lock wait or deadlock says nothing about the outcome itself
        item.failures += 1
        if item.failures < REFUSALS_BEFORE_FALLBACK or item.fallbacks > 1 or not self._up():
            return
        logger.error("Task %s: the database refused its outcome (%s)", item.task_id, exc)
        item.outcome = fallback(item.outcome, exc, item.fallbacks)
        item.failures, item.fallbacks = 0, item.fallbacks + 1

    def _up(self) -> bool:
        """Is the database answering? Then the refusal is about the outcome itself."""
        connection = connection_for(self.using)
        try:
            connection.close_if_unusable_or_obsolete()
            heartbeat.beat(self.worker_id, self.using)
        except Exception:  # noqa: BLE001 - down is an answer here
            return False
        return True


# Errors that come from other transactions, not from the outcome: PostgreSQL's
# SQLSTATEs for lock_not_available, deadlock and serialization failures, MySQL's
# lock wait timeout and deadlock error numbers.
TRANSIENT_SQLSTATES = {"55P03", "40P01", "40001"}
TRANSIENT_MYSQL_ERRORS = {1205, 1213}


def transient(exc: BaseException) -> bool:
    """Is *exc* a lock or concurrency error that a later try can get past?"""
    for error in (exc, exc.__cause__):
        if getattr(error, "sqlstate", None) in TRANSIENT_SQLSTATES:
            return True
        args = getattr(error, "args", ())
        if args and args[0] in TRANSIENT_MYSQL_ERRORS:
            return True
    return False


def _log(item: Pending, written: Any) -> None:
    outcome = item.outcome
    if written is RETRIED:
        return
    if not written:
        logger.warning("Task %s outcome dropped: no longer owned by this worker", item.task_id)
    elif outcome.error:
        logger.log(outcome_level(), "Task %s %s: %s", item.task_id, outcome.status, outcome.error)
    else:
        logger.log(outcome_level(), "Task %s %s", item.task_id, outcome.status)


def outcome_level() -> int:
    """The level of the one line logged per task outcome (a name such as "INFO", or a number)."""
    level = settings.OUTCOME_LOG_LEVEL
    return level if isinstance(level, int) else logging.getLevelName(str(level).upper())

"""The worker's parent process: the only one that talks to the queue's tables.

It claims due tasks for idle children, hands them out, records outcomes,
beats, enforces time limits by killing the child that overruns, replaces
children that die, and shuts down on SIGTERM/SIGINT. Task code never runs
here, so no task can block a heartbeat or take the queue's connection down.
"""

import logging
import signal
import socket
import time
import uuid
from multiprocessing.connection import wait
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, InterfaceError, reset_queries
from django.db.migrations.executor import MigrationExecutor

from django_simple_queue.conf import settings
from django_simple_queue.models import Task
from django_simple_queue.registry import class_path, matches_exception
from django_simple_queue.sql import claim, connection_for, heartbeat, rescue
from django_simple_queue.sql.claim import ClaimedTask
from django_simple_queue.worker.child import READY, Child
from django_simple_queue.worker.executor import Outcome
from django_simple_queue.worker.memory import MB
from django_simple_queue.worker.recorder import Recorder

logger = logging.getLogger("django_simple_queue.worker")

STARTUP_FAILURES_MAX = 5  # children in a row that die before running anything
KILL_GRACE = 5.0  # seconds between the polite SIGTERM and SIGKILL for an overrun
BACKOFF_MAX = 30.0  # seconds: the longest wait between tries while the database is away


class Supervisor:
    """Run ``concurrency`` children against the queue until stopped (or drained, in burst mode)."""

    def __init__(
        self,
        queues: list[str] | None = None,
        concurrency: int = 1,
        burst: bool = False,
        max_tasks: int | None = None,
        poll_interval: float | None = None,
        timeout: int | None = None,
        using: str | None = None,
        grace_period: float | None = None,
        max_tasks_per_child: int | None = None,
        max_memory_per_child: int | None = None,
        task_memory_limit: int | None = None,
    ) -> None:
        self.queues = queues or None
        self.concurrency = max(1, concurrency)
        self.burst = burst
        self.max_tasks = max_tasks
        self.poll_interval = settings.POLL_INTERVAL if poll_interval is None else poll_interval
        self.timeout = timeout
        self.using = using
        self.grace_period = settings.GRACE_PERIOD if grace_period is None else grace_period
        self.stop_deadline = float("inf")  # monotonic time the grace period ends
        self.max_tasks_per_child = max_tasks_per_child or settings.MAX_TASKS_PER_CHILD
        self.max_memory_per_child = max_memory_per_child or settings.MAX_MEMORY_PER_CHILD  # MB
        self.task_memory_limit = task_memory_limit or settings.TASK_MEMORY_LIMIT  # MB
        self.worker_id = uuid.uuid4()  # new for every process start, never reused
        self.children: list[Child] = []
        self.recorder = Recorder(self.worker_id, using)  # outcomes not yet written
        # Attempts that ended outside a child (its death, a rescue): task_finished to send.
        self.ended: list[tuple[ClaimedTask | rescue.Rescued, Outcome]] = []
        self.processed = 0
        self.stopping = False
        self.drained = False
        self.failures = 0  # consecutive database errors
        self.stillborn = 0  # consecutive children that died before running a task
        self.next_beat = 0.0

    # -- lifecycle -------------------------------------------------------

    def run(self) -> int:
        """Serve until stopped; return the process exit status."""
        self._check_schema()
        self._install_signals()
        self._retry(
            lambda: heartbeat.register(self.worker_id, self.queues, self.concurrency, self.using)
        )
        logger.info(
            "Worker %s started: queues=%s concurrency=%d burst=%s",
            self.worker_id, ",".join(self.queues or ["*"]), self.concurrency, self.burst,
        )  # fmt: skip
        self.children = [self._new_child() for _ in range(self.concurrency)]
        try:
            while not self._finished():
                self._tick()
        finally:
            self._shutdown()
        return 0

    def _check_schema(self) -> None:
        """Refuse to start on a database whose queue tables are not migrated."""
        connection = connection_for(self.using)
        try:
            executor = MigrationExecutor(connection)
            graph = executor.loader.graph
            targets = [node for node in graph.leaf_nodes() if node[0] == "django_simple_queue"]
            plan = executor.migration_plan(targets)
        except (DatabaseError, InterfaceError):
            return  # the database is away: run() waits for it
        if plan:
            raise ImproperlyConfigured(
                "The django_simple_queue tables are not migrated on database "
                f"{connection.alias!r}: run 'manage.py migrate django_simple_queue' first."
            )

    def _finished(self) -> bool:
        if len(self.recorder) or self.ended:
            return False
        if any(child.task or child.notices for child in self.children):
            return False  # tasks running, or task_finished receivers (bounded by SIGNAL_TIMEOUT)
        limit_reached = self.max_tasks is not None and self.processed >= self.max_tasks
        return self.stopping or limit_reached or (self.burst and self.drained)

    def _tick(self) -> None:
        reset_queries()  # with DEBUG=True, Django would log every query of a long life
        now = time.monotonic()
        if now >= self.next_beat:
            self._db(self._beat)
            if not self.failures:  # only a worker whose own beat is written judges others
                self._db(self._rescue)
            self.next_beat = now + settings.HEARTBEAT_INTERVAL
        self._flush()
        self._announce_ended()
        claimed = self._claim()
        self._wait(0.0 if claimed else self._idle_wait())
        self._enforce_timeouts()
        if time.monotonic() >= self.stop_deadline:
            self._end_grace_period()

    def _beat(self) -> None:
        if heartbeat.beat(self.worker_id, self.using):
            return
        # Its row was deleted (by hand, a cleanup job): without one, others would
        # take it for lost and rescue the tasks it is running.
        logger.warning("Worker %s: its row was gone; registering it again", self.worker_id)
        heartbeat.register(self.worker_id, self.queues, self.concurrency, self.using)

    def _rescue(self) -> None:
        rescued = rescue.rescue(settings.STALE_AFTER, self.using, rescuer=self.worker_id)
        if not rescued:
            return
        failed = sum(1 for task in rescued if task.status == Task.FAILED)
        logger.warning(
            "Rescued tasks of lost workers: %d re-queued, %d failed",
            len(rescued) - failed, failed,
        )  # fmt: skip
        # Their attempts ended without an outcome from their own worker: the
        # rescue is that outcome, and task_finished is sent for it from here.
        lost = Outcome(Task.FAILED, error=rescue.WORKER_LOST)
        self.ended.extend((task, lost) for task in rescued)

    def _shutdown(self) -> None:
        for child in self.children:
            child.stop()
        for child in self.children:
            if child.task is None:
                child.process.join(KILL_GRACE)
        # Children still busy here mean the loop ended early (an error): their
        # tasks are failed, and every outcome gets one last try.
        self._abandon("the worker stopped while the task ran")
        self._db(lambda: heartbeat.stop(self.worker_id, self.using))
        logger.info("Worker %s stopped after %d tasks", self.worker_id, self.processed)

    # -- signals ---------------------------------------------------------

    def _install_signals(self) -> None:
        # A socket pair wakes the wait() below the moment a signal lands.
        self._wake_r, wake_w = socket.socketpair()
        wake_w.setblocking(False)
        self._wake_w = wake_w
        signal.set_wakeup_fd(wake_w.fileno())
        # SIGHUP too: a closed terminal must not kill the supervisor and
        # orphan children that sit in process groups of their own.
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.stopping:
            logger.warning("Second %s: stopping at once", signal.Signals(signum).name)
            self._abandon(f"the worker was stopped by a second {signal.Signals(signum).name}")
            raise SystemExit(1)
        logger.info(
            "%s: no more claims; running tasks get %gs to finish",
            signal.Signals(signum).name, self.grace_period,
        )  # fmt: skip
        self.stopping = True
        self.stop_deadline = time.monotonic() + self.grace_period

    # -- the database, with back-off -------------------------------------

    def _db(self, operation: Any) -> Any:
        """Run one queue operation; on a database error log, back off, and return None."""
        try:
            result = operation()
        except (DatabaseError, InterfaceError) as exc:
            self._back_off(exc)
            return None
        if self.failures:
            logger.info("Database reachable again after %d failed tries", self.failures)
            self.failures = 0
        return result

    def _back_off(self, exc: BaseException) -> None:
        self.failures += 1
        delay = min(BACKOFF_MAX, 0.5 * 2 ** min(self.failures, 6))
        logger.warning("Database error (%s); retrying in %.1fs", exc, delay)
        try:
            connection_for(self.using).close_if_unusable_or_obsolete()
        except (DatabaseError, InterfaceError):
            pass  # closing a dead connection can fail too; the next query reconnects
        self._wait(delay)

    def _retry(self, operation: Any) -> Any:
        while True:
            result = self._db(operation)
            if result is not None:
                return result
            if self.stopping:
                raise SystemExit(0)

    # -- claim, hand out, collect ----------------------------------------

    def _claim(self) -> int:
        idle = [child for child in self.children if child.idle]
        limit = len(idle)
        if self.max_tasks is not None:
            busy = sum(1 for child in self.children if child.task)
            limit = min(limit, self.max_tasks - self.processed - busy)
        if self.stopping or limit <= 0:
            return 0
        tasks = self._db(lambda: claim.claim(self.worker_id, limit, self.queues, self.using))
        if tasks is None:
            return 0
        self.drained = len(tasks) < limit
        now = time.monotonic()
        for task in tasks:
            if task.problem:
                # A row that cannot run as stored fails alone, without a child.
                self._record(task, Outcome(Task.FAILED, error=task.problem))
            else:
                idle.pop(0).send(task, now)
        return len(tasks)

    def _idle_wait(self) -> float:
        if self.burst and self.drained and not any(child.task for child in self.children):
            return 0.0
        return self.poll_interval

    def _wait(self, timeout: float) -> None:
        """Collect outcomes and deaths for up to *timeout* seconds."""
        waitables: list[Any] = [self._wake_r]
        for child in self.children:
            waitables.append(child.process.sentinel)
            if child.task or not child.ready or child.notices:
                waitables.append(child.conn)
        ready = wait(waitables, timeout)
        if self._wake_r in ready:
            self._wake_r.recv(4096)
        for child in list(self.children):
            if child.conn in ready:
                self._collect(child)
            if child.process.sentinel in ready or not child.process.is_alive():
                self._replace(child)

    def _collect(self, child: Child) -> None:
        try:
            message = child.conn.recv()
        except (EOFError, OSError):
            return  # it died mid-send; _replace() reports the task
        if message == READY:
            if child.ready:
                child.notified(time.monotonic())
            child.ready = True
            return
        task_id, outcome, rss, follows = message
        if child.task is None or task_id != child.task.id:
            # Only a process the task forked could send this; trust the child's own task only.
            logger.error("Ignored an outcome for task %s from a child not running it", task_id)
            return
        self._record(child.task, outcome)
        child.task = None
        if follows:  # it sends the task's task_finished, then READY
            child.notifying(time.monotonic())
        child.done += 1
        self._recycle_if_due(child, rss, outcome)

    def _new_child(self) -> Child:
        return Child(self.task_memory_limit, self.using)

    def _recycle_if_due(self, child: Child, rss: int, outcome: Outcome) -> None:
        """Retire a child between tasks once it has run enough of them or grown too big."""
        if outcome.exception == "builtins.MemoryError":
            reason = "after a MemoryError"  # its heap is no place for the next task
        elif self.max_tasks_per_child and child.done >= self.max_tasks_per_child:
            reason = f"after {child.done} tasks"
        elif self.max_memory_per_child and rss > self.max_memory_per_child * MB:
            reason = f"at {rss / MB:.0f} MB, over {self.max_memory_per_child} MB"
        else:
            return
        logger.info("Recycling child %s %s", child.process.pid, reason)
        child.retiring = True
        child.stop()  # it exits; _replace() starts a fresh one

    def _record(self, task: ClaimedTask, outcome: Outcome) -> None:
        self.recorder.add(task.id, outcome, task.attempts, task.max_attempts)
        self.processed += 1

    def _abandon(self, reason: str) -> None:
        """Kill the children and try once to fail what they were running."""
        for child in self.children:
            child.kill()
            if child.task is not None:
                self._record(child.task, Outcome(Task.FAILED, error=f"WorkerStopped: {reason}"))
                child.task = None
        self.recorder.flush_each_once()

    def _replace(self, dead: Child) -> None:
        if dead.process.is_alive():
            return
        if self.stopping and dead.task is None and not self._needs_announcer(dead):
            return  # stopped on purpose during shutdown: nothing to replace
        self.stillborn = 0 if dead.ready else self.stillborn + 1
        if self.stillborn >= STARTUP_FAILURES_MAX:
            # Respawning forever would hide the cause (bad settings, an import error).
            raise RuntimeError(
                f"{self.stillborn} child processes in a row {dead.death()} before they were "
                "ready; see their output above."
            )
        if dead.task is not None and dead.waiting:
            # It died in the receivers of the task before: this one never began.
            self._give_back(
                dead, f"ChildProcessError: its child {dead.death()} before the task began"
            )
        elif dead.task is not None:
            outcome = self._death_outcome(dead)
            self._record(dead.task, outcome)
            self.ended.append((dead.task, outcome))
        dead.kill()
        index = self.children.index(dead)
        self.children[index] = self._new_child()

    def _give_back(self, child: Child, error: str) -> None:
        """Put back the task that waits behind *child*'s receivers: it never began there."""
        logger.warning("Task %s re-queued: %s", child.task.id, error)
        self._record(child.task, Outcome(Task.QUEUED, error=error))
        child.task = None

    def _needs_announcer(self, dead: Child) -> bool:
        """Stopping, with task_finished owed and no other child left to send it?"""
        others = [c for c in self.children if c is not dead and not c.retiring]
        return bool(self.ended) and not any(c.process.is_alive() for c in others)

    def _announce_ended(self) -> None:
        """Have an idle child send ``task_finished`` for attempts that ended outside a child.

        Only once their outcomes are written, so that the signal carries them.
        """
        idle = [child for child in self.children if child.idle]
        if not self.ended or len(self.recorder) or not idle:
            return
        for task, outcome in self.ended:
            idle[0].report_ended(task, outcome)
        self.ended.clear()

    def _end_grace_period(self) -> None:
        """Stop what still runs; put it back (run not counted) or fail it, per ON_SHUTDOWN.

        Children still in task_finished receivers are stopped too; a task waiting
        behind them never began, so it goes back whatever ON_SHUTDOWN says.
        """
        note = f"the worker stopped; the task was still running after {self.grace_period:g}s"
        requeue = settings.ON_SHUTDOWN != "fail"
        for child in self.children:
            if child.task is None and not child.notices:
                continue
            child.notices, child.retiring = 0, True
            child.kill()
            if child.task is None:
                continue
            if child.waiting:
                self._give_back(child, f"WorkerStopped: {note}")
                continue
            outcome = Outcome(
                Task.QUEUED if requeue else Task.FAILED, error=f"WorkerStopped: {note}"
            )
            self._record(child.task, outcome)
            self.ended.append((child.task, outcome))  # it began: its task_finished is owed
            logger.warning(
                "Task %s %s: %s", child.task.id, "re-queued" if requeue else "failed", note
            )
            child.task = None
        # Once: what is left is sending the task_finished owed, from a child that
        # is idle, or one started for it (see _replace), within SIGNAL_TIMEOUT.
        self.stop_deadline = float("inf")

    def _death_outcome(self, dead: Child) -> Outcome:
        """The outcome of a task whose process died: killed for its time limit, or crashed."""
        exc: BaseException = TimeoutError() if dead.timed_out else ChildProcessError()
        error = dead.timed_out or f"ChildProcessError: the task's process {dead.death()}"
        logger.warning("Task %s failed: %s", dead.task.id, error)
        retry_on = dead.task.retry_on
        return Outcome(
            Task.FAILED,
            error=error,
            exception=class_path(type(exc)),
            retryable=retry_on is None or matches_exception(exc, retry_on),
        )

    def _flush(self) -> None:
        """Write outcomes; back off when the database could not take them."""
        error = self.recorder.flush()
        if error is not None:
            self._back_off(error)

    # -- time limits -----------------------------------------------------

    def _limit(self, task: Any) -> float | None:
        for seconds in (task.timeout, self.timeout, settings.TASK_TIMEOUT):
            if seconds is not None:
                return float(seconds) or None
        return None

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        notice_limit = settings.SIGNAL_TIMEOUT
        for child in self.children:
            if child.notices and now - child.notices_since > notice_limit:
                logger.warning(
                    "Child %s spent over %gs in task_finished receivers: replacing it",
                    child.process.pid, notice_limit,
                )  # fmt: skip
                if child.task is not None and child.waiting:
                    self._give_back(
                        child,
                        f"WorkerStopped: its child spent over {notice_limit:g}s in "
                        "task_finished receivers",
                    )
                child.notices, child.retiring = 0, True  # no task for it while it dies
                child.signal(signal.SIGKILL)
                continue
            if child.waiting:
                continue  # its clock starts once the notices before it are sent
            limit = child.task and self._limit(child.task)
            if not limit or now - child.started < limit:
                continue
            if not child.timed_out:
                unit = "second" if limit == 1 else "seconds"
                child.timed_out = f"TimeoutError: timed out after {limit:g} {unit}"
                child.signal(signal.SIGTERM)
            elif now - child.started >= limit + KILL_GRACE:
                child.signal(signal.SIGKILL)

"""A child process that runs tasks the supervisor sends it, one at a time.

Children are started with the ``spawn`` method: a fresh interpreter that
sets Django up itself, so no database connection or lock is ever inherited
across ``fork`` (and the same code runs on macOS, where fork is unsafe).
"""

import ctypes
import dataclasses
import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from django_simple_queue.worker import memory

logger = logging.getLogger("django_simple_queue.worker")

_SPAWN = multiprocessing.get_context("spawn")
PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal this process gets when its parent dies
PARENT_CHECK_INTERVAL = 1.0  # seconds, where there is no prctl
IDLE_CHECK_AFTER = 1.0  # seconds idle after which kept connections are checked before use
READY = "ready"  # the first message of every child: Django is set up, send tasks
ENDED = "ended"  # a message to a child: send task_finished for an attempt that ended elsewhere


def main(
    conn: Connection,
    task_memory_limit: int | None = None,
    using: str | None = None,
    parent: int | None = None,
) -> None:
    """Child entry point: set Django up, then run tasks until told to stop."""
    # A process group of its own: Ctrl-C in a terminal or `kill -TERM -<pgid>`
    # reaches the supervisor only, which decides how running tasks end; and a
    # time limit can kill the task's own subprocesses along with it.
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent or os.getppid())
    import django

    django.setup()

    conn.send(READY)
    me = os.getpid()
    last_task = time.monotonic()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        if message[0] == ENDED:
            from django_simple_queue.worker.framework_task import finish_ended

            _, ended_name, ended_id, ended_attempt, ended_outcome = message
            finish_ended(ended_name, ended_id, ended_attempt, ended_outcome, using)
            conn.send(READY)  # the notice is sent: this child is free again
            continue
        task_id, task_name, params, retry_on, args = message
        # Since the previous task started, not ended: a long task that never
        # touched the database leaves its connection idle just as long.
        if time.monotonic() - last_task > IDLE_CHECK_AFTER:
            drop_dead_connections()
        last_task = time.monotonic()
        try:
            outcome, then = run_task(
                task_id, task_name, params, retry_on, args, task_memory_limit, using
            )
        finally:
            if os.getpid() != me:
                # A copy of this process that the task forked came back here:
                # it must not talk to the supervisor or run other tasks.
                os._exit(0)
        # The outcome first: once the supervisor has it, nothing that follows
        # (task_finished receivers) can make the task run or be reported twice.
        # Then READY once they are done: until then no task is sent here, so no
        # receiver's time counts against the next task's time limit.
        conn.send((task_id, outcome, memory.rss(), then is not None))
        if then is not None:
            then()
        release_connections()
        if then is not None:
            conn.send(READY)


def die_with_parent(parent: int) -> None:
    """End this child, and what its task started, once the supervisor is gone.

    A supervisor that is SIGKILLed or crashes cannot stop its children, and
    its tasks are rescued once its heartbeat stops: a child still running one
    would run it beside its second run. Linux kills the child the moment its
    parent dies (``PR_SET_PDEATHSIG``); elsewhere a thread checks every second
    and kills the child's process group.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_INTERVAL)
    os.killpg(0, signal.SIGKILL)


def run_task(
    task_id: Any,
    name: str,
    params: Any,
    retry_on: Any,
    args: Any,
    memory_limit: int | None,
    using: str | None,
) -> tuple[Any, Any]:
    """Run one task under the memory ceiling; name the ceiling if the task hit it."""
    from django.db import reset_queries

    from django_simple_queue.worker.executor import run

    with memory.ceiling(memory_limit):
        outcome, then = run(name, params, retry_on, args, task_id, using)
    reset_queries()  # with DEBUG=True, Django's query log must not grow task after task
    if memory_limit and outcome.exception == "builtins.MemoryError":
        error = f"MemoryError: the task went over its memory limit of {memory_limit} MB"
        outcome = dataclasses.replace(outcome, error=error)
    return outcome, then


def release_connections() -> None:
    """Keep healthy database connections for the next task; close the ones a task broke.

    Django's ``close_old_connections()`` would also close every connection when
    ``CONN_MAX_AGE`` is 0 (its default), making each task pay for a new one.
    A task that left a transaction open, or whose connection died (a server
    restart, a killed backend), must not hand that to the next task.
    """
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        if connection.in_atomic_block or not connection.get_autocommit():
            connection.close()
        elif connection.errors_occurred and not connection.is_usable():
            connection.close()
        else:
            connection.errors_occurred = False


def drop_dead_connections() -> None:
    """Close kept connections the server dropped while this child was idle (a restart)."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.is_usable():
            connection.close()


class Child:
    """The supervisor's handle on one child process and the task it is running."""

    def __init__(self, task_memory_limit: int | None = None, using: str | None = None) -> None:
        self.conn, child_conn = _SPAWN.Pipe()
        # Not daemonic: a task may start processes of its own (multiprocessing
        # refuses that in a daemonic process). The supervisor kills children itself.
        self.process = _SPAWN.Process(
            target=main, args=(child_conn, task_memory_limit, using, os.getpid()), daemon=False
        )
        self.process.start()
        child_conn.close()
        self.ready = False  # True once the child has set Django up
        self.task: Any = None  # the ClaimedTask being run, or None when idle
        self.notices = 0  # task_finished notices it is sending (READY ends each)
        self.notices_since = 0.0  # monotonic time the oldest of them began
        self.waiting = False  # its task waits behind those notices: its clock has not started
        self.started: float = 0.0  # monotonic time the current task was sent, or began waiting
        self.done = 0  # tasks completed by this process
        self.timed_out: str | None = None  # the error to record once an overrun is killed
        self.retiring = False  # asked to exit after its current task (recycled)

    @property
    def idle(self) -> bool:
        return self.ready and not self.retiring and self.task is None and self.process.is_alive()

    def notifying(self, now: float) -> None:
        """Count one more notice this child sends before its next task (a READY ends it)."""
        if not self.notices:
            self.notices_since = now
        self.notices += 1

    def notified(self, now: float) -> None:
        """One notice is sent; after the last, a task sent meanwhile starts, and its clock."""
        self.notices = max(0, self.notices - 1)
        if not self.notices and self.waiting:
            self.waiting, self.started = False, now

    def send(self, task: Any, now: float) -> None:
        """Hand *task* over; if the child died meanwhile, the supervisor reports the task.

        A child still sending notices gets it all the same (the claim overlaps
        them), but its time limit counts from when they are done.
        """
        self.task, self.started, self.timed_out = task, now, None
        self.waiting = bool(self.notices)
        try:
            self.conn.send((task.id, task.task_name, task.task_params, task.retry_on, task.args))
        except OSError:  # BrokenPipeError: it died while the claim ran
            pass

    def report_ended(self, task: Any, outcome: Any) -> None:
        """Ask this child to send ``task_finished`` for *task*, whose attempt ended elsewhere."""
        try:
            self.conn.send((ENDED, task.task_name, task.id, task.attempts, outcome))
        except OSError:
            return  # it died too; the signal is lost, the outcome is not
        self.notifying(time.monotonic())

    def stop(self) -> None:
        """Ask the child to exit after its current task."""
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass

    def signal(self, signum: int) -> None:
        """Send *signum* to the child and everything the task started in its group."""
        try:
            os.killpg(self.process.pid, signum)  # type: ignore[arg-type]
        except (ProcessLookupError, PermissionError):
            # Not yet in its own group (just spawned) or already gone.
            if self.process.is_alive():
                os.kill(self.process.pid, signum)  # type: ignore[arg-type]

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.process.join(5)
        self.conn.close()

    def death(self) -> str:
        """Describe how the process ended, for the task's error."""
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with status {code}"

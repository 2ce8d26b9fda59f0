"""Task bodies the tests enqueue. Each one is small and says what it proves."""

import asyncio
import os
import sys
import time
from json import dumps  # noqa: F401 - imported, not defined here: never runnable

from django.core.management import call_command  # noqa: F401 - the same
from django.db import IntegrityError, transaction


def add(a, b):
    return a + b


def noop():
    return None


def record(key):
    """Insert one uniquely-keyed row: a second run of the same task raises IntegrityError."""
    from tests.testapp.models import Execution

    Execution.objects.create(task_id=key, pid=os.getpid())
    return key


def sleep(seconds):
    time.sleep(seconds)
    return seconds


async def async_add(a, b):
    await asyncio.sleep(0)
    return a + b


def countdown(start):
    yield from range(start, 0, -1)


def fail(message):
    raise ValueError(message)


def unprintable():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no str for you")

    raise Unprintable()


def returns_object():
    return object()


def duplicate(key):
    """Raise IntegrityError inside the task by inserting the same key twice."""
    from tests.testapp.models import Execution

    Execution.objects.create(task_id=key, pid=os.getpid())
    with transaction.atomic():
        Execution.objects.create(task_id=key, pid=os.getpid())


def crash():
    os.abort()


NOT_CALLABLE = 42
__all__ = ["IntegrityError"]


def connection_id():
    """Return the database server's id for this connection, where the server has one."""
    from django.db import connection

    sql = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
    if connection.vendor not in sql:
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql[connection.vendor])
        return cursor.fetchone()[0]


def leave_transaction_open(key):
    """Write inside a transaction and never commit it."""
    from django.db import transaction

    from tests.testapp.models import Execution

    transaction.set_autocommit(False)
    Execution.objects.create(task_id=key, pid=os.getpid())
    return key


def fail_unstorable():
    raise ValueError("nul\x00 and lone \udcff")


def returns_unstorable():
    return "a\x00b"


def fork_and_return():
    """Fork, and let both processes return from the task."""
    os.fork()
    return "done"


def start_sleeper(path, seconds):
    """Run a shell that touches *path* after *seconds*, and wait for it."""
    import subprocess

    subprocess.Popen(["sh", "-c", f"sleep {seconds}; touch {path}"]).wait()


def flaky(path, failures):
    """Raise ConnectionError on the first *failures* runs, then return the run's number."""
    from pathlib import Path as FilePath

    counter = FilePath(path)
    run = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(run))
    if run <= failures:
        raise ConnectionError(f"run {run} failed")
    return run


def use_a_pool():
    """Start processes of its own, as multiprocessing users do."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(abs, (-3,))


def pid():
    return os.getpid()


_HELD = []


def hold_memory(mb):
    """Keep *mb* megabytes alive after the task returns, as a leak would."""
    _HELD.append(bytearray(mb * 1024 * 1024))
    return len(_HELD)


def allocate(mb):
    """Allocate *mb* megabytes for the length of the task."""
    block = bytearray(mb * 1024 * 1024)
    return len(block) // (1024 * 1024)


def queries_logged():
    """How many queries Django's debug log holds in this process right now."""
    from django.db import connection

    return len(connection.queries_log)


def spin_ignoring_sigterm():
    """Ignore the polite signal and never return."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass


def read_null_pointer():
    import ctypes

    return ctypes.string_at(0)


def exit_hard(status):
    os._exit(status)


def exit_softly(status):
    sys.exit(status)


def interrupt():
    raise KeyboardInterrupt("pressed by the task itself")


def chaos(key, seconds):
    """Sleep a while, then record the task's side effect idempotently."""
    from tests.testapp.models import Execution

    time.sleep(seconds)
    Execution.objects.get_or_create(task_id=key, defaults={"pid": os.getpid()})
    return key

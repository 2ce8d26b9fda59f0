"""Run a real worker over what the test enqueued, and bring its log back into the test.

Django's tests of ``ImmediateBackend`` expect a task to have run by the time
``enqueue()`` returns, and read what Django's tasks framework logged while it
ran (``assertLogs("django.tasks")``). With this backend the task runs in a
worker: ``drain()`` runs ``manage.py worker --burst`` against the test database,
with the ``TASKS`` the test has in force, and replays what the framework logged
in the worker's processes (its receivers of ``task_started`` and
``task_finished``) into the test's own logging, in the order it was written.
"""

import json
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from tests.conftest import ROOT, worker_command, worker_env

WORKER_TIMEOUT = 120  # seconds; a burst over a handful of tasks takes one or two
SIMPLE_QUEUE_BACKEND = "django_simple_queue.backend.SimpleQueueBackend"


class RelayHandler(logging.Handler):
    """Append each record to *filename* as one JSON line (used in the worker's processes).

    One ``write()`` per record on a file opened for appending, so the
    supervisor's and the children's lines never interleave.
    """

    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = filename

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = json.dumps(
                {
                    "name": record.name,
                    "levelno": record.levelno,
                    "levelname": record.levelname,
                    "msg": record.getMessage(),
                    "exc_text": (
                        logging.Formatter().formatException(record.exc_info)
                        if record.exc_info
                        else record.exc_text
                    ),
                }
            )
            fd = os.open(self.filename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        except Exception:  # noqa: BLE001 - logging must never fail the task
            self.handleError(record)


def replay(path: Path) -> None:
    """Hand every record in *path* to the test process's logger of the same name."""
    for line in path.read_text().splitlines():
        fields = json.loads(line)
        record = logging.makeLogRecord({**fields, "args": None})
        logging.getLogger(record.name).handle(record)


def worker_tasks_setting() -> dict[str, Any]:
    """The test's ``TASKS`` aliases that this backend serves, stand-ins replaced by it.

    Other aliases (the backends a test defines, or one it names to see it fail)
    are left out: the worker's system checks would refuse to start over them.
    """
    from tests.django_suite.backends import STAND_INS

    ours = {SIMPLE_QUEUE_BACKEND, *STAND_INS, *STAND_INS.values()}
    return {
        alias: {**params, "BACKEND": SIMPLE_QUEUE_BACKEND}
        for alias, params in settings.TASKS.items()
        if params.get("BACKEND") in ours
    }


def drain() -> None:
    """Run ``manage.py worker --burst`` until nothing is due; fail the test if it fails."""
    if connection.in_atomic_block:
        # The worker reads committed rows only (and on SQLite would wait for our lock).
        raise RuntimeError("A worker cannot run tasks enqueued in an uncommitted transaction.")
    with tempfile.TemporaryDirectory(dir=ROOT / "tmp") as directory:
        log = Path(directory) / "django-tasks.jsonl"
        env = worker_env()
        env["DJANGO_SETTINGS_MODULE"] = "tests.django_suite.settings"
        env["DSQ_DJANGO_SUITE_TASKS"] = json.dumps(worker_tasks_setting())
        env["DSQ_DJANGO_SUITE_LOG"] = str(log)
        completed = subprocess.run(
            worker_command("--burst"),
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
        )
        if completed.returncode:
            raise AssertionError(
                f"The worker exited with status {completed.returncode}:\n{completed.stderr}"
            )
        if log.exists():
            replay(log)

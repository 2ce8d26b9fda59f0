"""Shared fixtures: real worker subprocesses against this run's test database."""

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def worker_env() -> dict[str, str]:
    """Environment for a worker subprocess that uses the test database."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["DSQ_TEST_DB_NAME"] = str(connection.settings_dict["NAME"])
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def worker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", "worker", *args]


@pytest.fixture
def run_worker():
    """Run ``manage.py worker ARGS`` to completion; return the CompletedProcess."""

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            worker_command(*args),
            env=worker_env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


class Output:
    """Read a worker's stdout and stderr while it runs: a full pipe would block it."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.chunks: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.threads = [
            threading.Thread(target=self._read, args=(name,), daemon=True) for name in self.chunks
        ]
        for thread in self.threads:
            thread.start()

    def _read(self, name: str) -> None:
        for line in iter(getattr(self.process, name).readline, ""):
            self.chunks[name].append(line)

    def text(self, name: str = "stderr") -> str:
        """Return what the worker wrote to *name* so far."""
        return "".join(self.chunks[name])

    def join(self, timeout: float = 60) -> None:
        for thread in self.threads:
            thread.join(timeout)


def children_of(process: subprocess.Popen) -> list[Any]:
    """The worker's child processes (psutil), multiprocessing's resource tracker left out."""
    import psutil

    try:
        kids = psutil.Process(process.pid).children()
    except psutil.NoSuchProcess:
        return []
    return [kid for kid in kids if "resource_tracker" not in " ".join(kid.cmdline())]


@pytest.fixture
def start_worker():
    """Start ``manage.py worker ARGS`` in the background; every one is killed at teardown.

    The returned process has an ``output`` attribute (an ``Output``) that keeps
    reading its pipes.
    """
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            worker_command(*args),
            env=worker_env(),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        process.output = Output(process)  # type: ignore[attr-defined]
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        process.output.join()  # type: ignore[attr-defined]

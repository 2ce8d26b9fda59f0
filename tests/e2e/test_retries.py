"""Retries: max_attempts counts runs exactly, retry_on picks what is retried."""

import signal
import time

import pytest

from django_simple_queue import enqueue
from django_simple_queue.models import Task

T = "tests.testapp.tasks."
pytestmark = pytest.mark.django_db(transaction=True)


def runs(path):
    return int(path.read_text()) if path.exists() else 0


@pytest.fixture
def drain(start_worker):
    """Run a worker until every given task is terminal, then stop it; return the tasks.

    Not --burst: a retry is due a moment after the failure, and a burst worker
    exits as soon as nothing is due.
    """

    def run(*tasks):
        worker = start_worker()
        ids = [task.id for task in tasks]
        deadline = time.monotonic() + 60
        while Task.objects.filter(id__in=ids).exclude(status__in=Task.TERMINAL).exists():
            assert time.monotonic() < deadline, "tasks not finished in time"
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        found = Task.objects.in_bulk(ids)
        return [found[task_id] for task_id in ids]

    return run


def test_a_flaky_task_is_retried_until_it_succeeds(drain, tmp_path):
    counter = tmp_path / "runs"
    task = enqueue(T + "flaky", {"path": str(counter), "failures": 2}, max_attempts=3)
    (task,) = drain(task)
    assert (task.status, task.result, task.attempts, runs(counter)) == ("COMPLETED", 3, 3, 3)
    assert [(e["attempt"], e["error"], e["exception"]) for e in task.errors] == [
        (1, "ConnectionError: run 1 failed", "builtins.ConnectionError"),
        (2, "ConnectionError: run 2 failed", "builtins.ConnectionError"),
    ]
    assert all(
        e["traceback"].startswith("Traceback (most recent call last):") for e in task.errors
    )


def test_attempts_run_out(drain, tmp_path):
    counter = tmp_path / "runs"
    task = enqueue(T + "flaky", {"path": str(counter), "failures": 5}, max_attempts=2)
    (task,) = drain(task)
    assert (task.status, task.attempts, runs(counter)) == ("FAILED", 2, 2)
    assert task.error == "ConnectionError: run 2 failed"
    assert [e["attempt"] for e in task.errors] == [1, 2]


def test_max_attempts_one_means_one_run(drain, tmp_path):
    counter = tmp_path / "runs"
    task = enqueue(T + "flaky", {"path": str(counter), "failures": 1})
    (task,) = drain(task)
    assert (task.status, task.attempts, runs(counter), len(task.errors)) == ("FAILED", 1, 1, 1)


@pytest.mark.parametrize(
    ("retry_on", "status", "attempts"),
    [
        ([KeyError], "FAILED", 1),
        (["builtins.OSError"], "COMPLETED", 2),  # ConnectionError is an OSError
        ([ConnectionError, "json.JSONDecodeError"], "COMPLETED", 2),
    ],
)
def test_retry_on_picks_the_exceptions_that_are_retried(
    drain, tmp_path, retry_on, status, attempts
):
    counter = tmp_path / "runs"
    task = enqueue(
        T + "flaky", {"path": str(counter), "failures": 1}, max_attempts=3, retry_on=retry_on
    )
    (task,) = drain(task)
    assert (task.status, task.attempts, runs(counter)) == (status, attempts, attempts)


def test_a_timed_out_task_is_retried_and_each_attempt_is_kept(drain):
    task = enqueue(T + "sleep", {"seconds": 30}, timeout=1, max_attempts=2)
    (task,) = drain(task)
    assert (task.status, task.attempts, task.error) == (
        "FAILED", 2, "TimeoutError: timed out after 1 second",
    )  # fmt: skip
    assert [(e["attempt"], e["exception"]) for e in task.errors] == [
        (1, "builtins.TimeoutError"), (2, "builtins.TimeoutError"),
    ]  # fmt: skip


def test_failures_that_a_rerun_cannot_fix_are_not_retried(drain):
    not_allowed = Task.objects.create(task_name="os.system", max_attempts=3)
    not_json = enqueue(T + "returns_object", max_attempts=3)
    for task in drain(not_allowed, not_json):
        assert (task.status, task.attempts) == ("FAILED", 1)

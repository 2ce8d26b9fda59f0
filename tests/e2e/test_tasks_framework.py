"""Tasks written against Django's tasks framework, run by a real ``manage.py worker``."""

import datetime
import os
import signal
import time
import uuid
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from django_simple_queue import enqueue, frameworks
from django_simple_queue.models import Task, Worker

if not frameworks.installed():
    pytest.skip("neither django.tasks nor the django_tasks backport", allow_module_level=True)

from tests.testapp import tasks_framework as tf  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)
TASK_FAILED = "django_simple_queue.exceptions.TaskFailed"


@pytest.fixture
def signal_log(tmp_path, monkeypatch):
    """Every tasks signal sent in this process or a worker's, one line each."""
    path = tmp_path / "signals.log"
    monkeypatch.setenv("DSQ_SIGNAL_LOG", str(path))

    def read():
        if not path.exists():
            return []
        return [line.split() for line in path.read_text().splitlines()]

    return read


def test_every_kind_of_task_runs_and_its_result_is_fetched(run_worker):
    results = {
        "add": tf.add.enqueue(2, 3),
        "keyword": tf.greet.enqueue(name="Bo", punctuation="."),
        "async": tf.async_multiply.enqueue(6, 7),
        "context": tf.describe_context.enqueue("ctx"),
        "tuple": tf.returns_tuple.enqueue(),
        "not_json": tf.returns_object.enqueue(),
        "raises": tf.fail.enqueue("boom"),
    }
    done = run_worker("--burst", "--concurrency", "2", "--queue", "default", "--queue", "mail")
    assert done.returncode == 0, done.stderr
    got = {key: result.task.get_result(result.id) for key, result in results.items()}
    assert {key: str(result.status) for key, result in got.items()} == {
        "add": "SUCCESSFUL", "keyword": "SUCCESSFUL", "async": "SUCCESSFUL",
        "context": "SUCCESSFUL", "tuple": "SUCCESSFUL", "not_json": "FAILED", "raises": "FAILED",
    }  # fmt: skip
    assert [got[key].return_value for key in ("add", "keyword", "async", "tuple")] == [
        5, "Hello, Bo.", 42, [1, 2],
    ]  # fmt: skip
    assert got["context"].return_value == {
        "label": "ctx", "attempt": 1, "id": results["context"].id, "status": "RUNNING",
    }  # fmt: skip
    worker = str(Worker.objects.get().id)
    for result in got.values():
        assert (result.worker_ids, result.attempts) == ([worker], 1)
        assert result.enqueued_at <= result.started_at <= result.finished_at
        assert result.last_attempted_at == result.started_at
    assert [e.exception_class_path for e in got["raises"].errors] == ["builtins.ValueError"]
    assert got["raises"].errors[0].traceback.endswith("ValueError: boom\n")
    assert got["not_json"].errors[0].exception_class is TypeError
    assert Task.objects.get(id=results["raises"].id).error == "ValueError: boom"


def test_max_attempts_retries_and_every_attempt_is_kept(run_worker):
    result = tf.fail_twice.enqueue()
    # Not --burst: the retries are not due yet when the queue first looks drained.
    assert run_worker("--max-tasks", "3").returncode == 0
    result.refresh()
    assert (result.status, result.return_value, result.attempts) == ("SUCCESSFUL", 3, 3)
    assert [e.exception_class_path for e in result.errors] == ["builtins.ConnectionError"] * 2
    assert result.worker_ids == [str(Worker.objects.get().id)] * 3


def test_retry_on_stops_other_exceptions_at_the_first_attempt(run_worker):
    result = tf.fail_not_retried.enqueue()
    assert run_worker("--burst").returncode == 0
    result.refresh()
    assert (result.status, result.attempts) == ("FAILED", 1)
    assert [e.exception_class_path for e in result.errors] == ["builtins.ValueError"]


def test_the_timeout_option_kills_an_overrunning_task(run_worker):
    result = tf.sleep.enqueue(60)
    after = tf.add.enqueue(1, 1)
    assert run_worker("--burst").returncode == 0
    result.refresh()
    assert (result.status, result.attempts) == ("FAILED", 1)
    assert [(e.exception_class_path, e.traceback) for e in result.errors] == [
        ("builtins.TimeoutError", "TimeoutError: timed out after 1 second"),
    ]
    assert tf.add.get_result(after.id).return_value == 2


def test_signals_are_sent_once_per_attempt_by_the_worker(run_worker, signal_log):
    ok = tf.add.enqueue(1, 2)
    retried = tf.fail_twice.enqueue()
    killed = tf.sleep.enqueue(60)
    assert run_worker("--max-tasks", "5").returncode == 0
    lines = signal_log()
    counts = Counter((name, task_id) for name, task_id, *_ in lines)
    assert counts == {
        ("enqueued", ok.id): 1, ("started", ok.id): 1, ("finished", ok.id): 1,
        ("enqueued", retried.id): 1, ("started", retried.id): 3, ("finished", retried.id): 3,
        ("enqueued", killed.id): 1, ("started", killed.id): 1, ("finished", killed.id): 1,
    }  # fmt: skip
    assert {sender for *_, sender, _pid in lines} == {"SimpleQueueBackend"}
    by_signal = {name: {pid for n, *_, pid in lines if n == name} for name in ("enqueued",)}
    assert by_signal["enqueued"] == {str(os.getpid())}
    assert str(os.getpid()) not in {pid for name, *_, pid in lines if name != "enqueued"}
    retried_lines = [
        line[2:4] for line in lines if line[1] == retried.id and line[0] != "enqueued"
    ]
    assert retried_lines == [
        ["RUNNING", "1"], ["FAILED", "1"], ["RUNNING", "2"], ["FAILED", "2"],
        ["RUNNING", "3"], ["SUCCESSFUL", "3"],
    ]  # fmt: skip
    assert [line[2] for line in lines if line[1] == killed.id] == ["READY", "RUNNING", "FAILED"]


def test_priority_and_run_after_are_honoured(run_worker):
    low = tf.add.using(priority=-10).enqueue(1, 1)
    high = tf.add.using(priority=10).enqueue(2, 2)
    later = tf.add.using(run_after=timezone.now() + datetime.timedelta(hours=1)).enqueue(3, 3)
    assert run_worker("--burst").returncode == 0
    low, high, later = (tf.add.get_result(r.id) for r in (low, high, later))
    assert (low.status, high.status, later.status) == ("SUCCESSFUL", "SUCCESSFUL", "READY")
    assert high.started_at < low.started_at


def test_framework_and_plain_rows_run_on_one_worker(run_worker):
    framework = tf.add.enqueue(1, 2)
    plain = enqueue("tests.testapp.tasks.add", {"a": 3, "b": 4})
    created = Task.objects.create(
        task_name="tests.testapp.tasks.add", task_params={"a": 5, "b": 6}
    )
    by_path = Task.objects.create(task_name="tests.testapp.tasks_framework.add", args=[7, 8])
    assert run_worker("--burst").returncode == 0
    assert tf.add.get_result(framework.id).return_value == 3
    rows = Task.objects.in_bulk([plain.id, created.id, by_path.id])
    outcomes = [(rows[key].status, rows[key].result) for key in (plain.id, created.id, by_path.id)]
    assert outcomes == [("COMPLETED", 7), ("COMPLETED", 11), ("COMPLETED", 15)]
    assert tf.add.get_result(str(by_path.id)).return_value == 15


def test_rows_that_cannot_run_fail_alone(run_worker):
    bad = {
        "unlisted": Task.objects.create(task_name="tests.testapp.tasks_framework.plain"),
        "args_not_list": Task.objects.create(
            task_name="tests.testapp.tasks_framework.add", args={"a": 1}
        ),
        "wrong_arity": Task.objects.create(
            task_name="tests.testapp.tasks_framework.add", args=[1]
        ),
    }
    ok = tf.add.enqueue(1, 1)
    assert run_worker("--burst").returncode == 0
    rows = {key: Task.objects.get(id=row.id) for key, row in bad.items()}
    assert {key: (row.status, row.error) for key, row in rows.items()} == {
        "unlisted": ("FAILED", "TaskNotAllowed: Task 'tests.testapp.tasks_framework.plain' is "
                     "not allowed: add it to DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, define it in "
                     "the tasks module of an installed app, or declare it with @task in an "
                     "installed app."),
        "args_not_list": ("FAILED", "InvalidTaskRow: the row cannot be run as stored: args is "
                          "dict, not a JSON list"),
        "wrong_arity": ("FAILED", "TypeError: add() missing 1 required positional argument: 'b'"),
    }  # fmt: skip
    assert tf.add.get_result(ok.id).return_value == 2


def held_by_a_lost_worker(result, max_attempts=1):
    """Make *result*'s row look like a worker took it, started attempt 1 and was lost."""
    lost = Worker.objects.create(
        host="gone", pid=1, started_at=timezone.now(), last_heartbeat_at=timezone.now()
    )
    Worker.objects.filter(id=lost.id).update(
        last_heartbeat_at=timezone.now() - datetime.timedelta(hours=1)
    )
    Task.objects.filter(id=result.id).update(
        status="PROGRESS", worker_id=lost.id, attempts=1, max_attempts=max_attempts,
        started_at=timezone.now(),
    )  # fmt: skip
    return str(lost.id)


def test_a_lost_workers_task_reads_as_failed_with_the_reason(run_worker, signal_log):
    result = tf.add.enqueue(1, 1)
    lost = held_by_a_lost_worker(result)
    assert run_worker("--burst").returncode == 0
    result.refresh()
    assert (result.status, result.attempts) == ("FAILED", 1)
    assert [e.exception_class_path for e in result.errors] == [TASK_FAILED]
    assert result.errors[0].traceback.startswith("WorkerLost: ")
    assert result.worker_ids == [lost]
    assert uuid.UUID(result.id) == Task.objects.get().id
    # The rescuing worker sends the lost attempt's task_finished.
    assert [line[:4] for line in signal_log()] == [
        ["enqueued", result.id, "READY", "0"], ["finished", result.id, "FAILED", "1"],
    ]  # fmt: skip


def test_a_lost_attempt_is_finished_then_the_task_runs_again(run_worker, signal_log):
    result = tf.add.enqueue(2, 2)
    lost = held_by_a_lost_worker(result, max_attempts=2)
    assert run_worker("--burst").returncode == 0
    result.refresh()
    assert (result.status, result.return_value, result.attempts) == ("SUCCESSFUL", 4, 2)
    assert [e.traceback for e in result.errors] == [Task.objects.get().errors[0]["error"]]
    assert result.errors[0].traceback.startswith("WorkerLost: ")
    assert result.worker_ids == [lost, str(Worker.objects.exclude(id=lost).get().id)]
    assert [line[:4] for line in signal_log()] == [
        ["enqueued", result.id, "READY", "0"],
        ["finished", result.id, "FAILED", "1"],
        ["started", result.id, "RUNNING", "2"],
        ["finished", result.id, "SUCCESSFUL", "2"],
    ]  # fmt: skip


def test_slow_task_finished_receivers_do_not_eat_the_next_tasks_time(
    run_worker, signal_log, monkeypatch
):
    monkeypatch.setenv("DSQ_SLOW_FINISHED", "3")
    first = tf.add.enqueue(1, 2)
    after = enqueue("tests.testapp.tasks.add", {"a": 2, "b": 2}, timeout=2, priority=-1)
    done = run_worker("--burst", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert tf.add.get_result(first.id).return_value == 3
    after = Task.objects.get(id=after.id)
    assert (after.status, after.result, after.error) == ("COMPLETED", 4, "")


def test_a_child_stuck_in_task_finished_receivers_is_replaced(run_worker, signal_log, monkeypatch):
    monkeypatch.setenv("DSQ_SLOW_FINISHED", "60")
    monkeypatch.setenv("DSQ_SIGNAL_TIMEOUT", "1")
    first = tf.add.enqueue(1, 2)
    after = enqueue("tests.testapp.tasks.add", {"a": 2, "b": 2}, priority=-1)
    done = run_worker("--burst", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert "spent over 1s in task_finished receivers: replacing it" in done.stderr
    assert tf.add.get_result(first.id).return_value == 3
    # Handed to that child behind the receivers, it never began there: not counted.
    assert (
        f"Task {after.id} QUEUED: WorkerStopped: its child spent over 1s in task_finished "
        "receivers" in done.stderr
    )
    after = Task.objects.get(id=after.id)
    assert (after.status, after.result, after.attempts) == ("COMPLETED", 4, 1), done.stderr


def test_a_connection_the_server_dropped_between_tasks_costs_no_attempt(run_worker):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no server to drop a connection")
    # The next task starts at once on the same child, before any idle check.
    lost = tf.lose_my_connection.using(priority=1).enqueue()
    after = tf.add.enqueue(2, 3)
    done = run_worker("--burst", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert str(tf.lose_my_connection.get_result(lost.id).status) == "SUCCESSFUL"
    after = tf.add.get_result(after.id)
    assert (str(after.status), after.return_value, after.attempts) == ("SUCCESSFUL", 5, 1)


def test_a_receiver_that_raises_system_exit_is_logged_and_the_child_goes_on(
    run_worker, signal_log, monkeypatch
):
    monkeypatch.setenv("DSQ_FINISHED_ENDS", "SystemExit")
    first = tf.pid.enqueue()
    second = tf.pid.using(priority=-1).enqueue()
    done = run_worker("--burst", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert f"Task {first.id}: a receiver of a tasks signal raised SystemExit(5)" in done.stderr
    first, second = tf.pid.get_result(first.id), tf.pid.get_result(second.id)
    assert first.return_value == second.return_value  # the same child ran both


def test_a_child_that_dies_in_receivers_gives_back_the_task_waiting_behind_them(
    run_worker, signal_log, monkeypatch
):
    monkeypatch.setenv("DSQ_FINISHED_ENDS", "os._exit")
    monkeypatch.setenv("DSQ_SLOW_FINISHED", "1")  # the next task is handed over meanwhile
    first = tf.add.enqueue(1, 2)
    after = enqueue("tests.testapp.tasks.add", {"a": 2, "b": 2}, priority=-1)
    done = run_worker("--burst", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert tf.add.get_result(first.id).return_value == 3  # written before the receivers ran
    assert (
        f"Task {after.id} re-queued: ChildProcessError: its child exited with status 5 before "
        "the task began" in done.stderr
    )
    after = Task.objects.get(id=after.id)
    assert (after.status, after.result, after.attempts) == ("COMPLETED", 4, 1)


def test_a_worker_that_stops_lets_task_finished_receivers_finish(
    run_worker, signal_log, monkeypatch
):
    monkeypatch.setenv("DSQ_SLOW_FINISHED", "6")  # longer than the 5 s a stopping child gets
    result = tf.add.enqueue(1, 2)
    done = run_worker("--burst")
    assert done.returncode == 0, done.stderr
    assert ["slept", result.id] in signal_log()


@pytest.mark.parametrize(("policy", "status"), [("requeue", "READY"), ("fail", "FAILED")])
def test_a_task_cut_short_by_the_grace_period_still_gets_its_task_finished(
    start_worker, signal_log, monkeypatch, policy, status
):
    monkeypatch.setenv("DSQ_ON_SHUTDOWN", policy)
    result = tf.nap.enqueue(60)
    worker = start_worker("--grace-period", "1")
    deadline = time.monotonic() + 30
    while Task.objects.get(id=result.id).status != "PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0, worker.output.text()
    assert str(tf.nap.get_result(result.id).status) == status
    assert [line[:3] for line in signal_log()] == [
        ["enqueued", result.id, "READY"], ["started", result.id, "RUNNING"],
        ["finished", result.id, "FAILED"],
    ]  # fmt: skip

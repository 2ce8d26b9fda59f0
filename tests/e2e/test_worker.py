"""The worker as users run it: a real ``manage.py worker`` subprocess."""

import datetime
import signal
import socket
import time

import psutil
import pytest

from django_simple_queue import enqueue
from django_simple_queue.models import Task, Worker
from tests.conftest import children_of
from tests.testapp.models import Execution

T = "tests.testapp.tasks."
pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_burst_runs_every_failure_path_and_keeps_going(run_worker, tmp_path):
    marker = tmp_path / "ran"
    rows = {
        "ok": enqueue(T + "add", {"a": 2, "b": 3}),
        "async": enqueue(T + "async_add", {"a": 1, "b": 1}),
        "generator": enqueue(T + "countdown", {"start": 2}),
        "unknown_module": Task.objects.create(task_name="tests.testapp.tasks_gone.f"),
        "missing_function": Task.objects.create(task_name=T + "gone"),
        "bad_kwargs": Task.objects.create(task_name=T + "add", task_params={"a": 1, "z": 2}),
        "params_not_object": Task.objects.create(task_name=T + "add", task_params=[1, 2]),
        "not_json": enqueue(T + "returns_object"),
        "unprintable": enqueue(T + "unprintable"),
        "huge": enqueue(T + "fail", {"message": "m" * 1_000_000}),
        "unicode": enqueue(T + "fail", {"message": "ünïcödé ✓ 漢字 🚀"}),
        "integrity": enqueue(T + "duplicate", {"key": "dup"}),
        "after_integrity": enqueue(T + "record", {"key": "after"}),
        "os_system": Task.objects.create(
            task_name="os.system", task_params={"command": f"touch {marker}"}
        ),
        "eval": Task.objects.create(task_name="builtins.eval", task_params={"source": "1"}),
        "crash": enqueue(T + "crash"),
        "after_crash": enqueue(T + "add", {"a": 10, "b": 20}),
    }
    done = run_worker("--burst", "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    got = {key: Task.objects.get(id=task.id) for key, task in rows.items()}
    assert {key: row.status for key, row in got.items() if row.status == "COMPLETED"} == {
        "ok": "COMPLETED", "async": "COMPLETED", "generator": "COMPLETED",
        "after_integrity": "COMPLETED", "after_crash": "COMPLETED",
    }  # fmt: skip
    assert (got["ok"].result, got["async"].result, got["generator"].result) == (5, 2, [2, 1])
    assert (got["after_integrity"].result, got["after_crash"].result) == ("after", 30)
    errors = {key: row.error for key, row in got.items() if row.status == "FAILED"}
    assert errors == {
        "unknown_module": "TaskNotAllowed: Task 'tests.testapp.tasks_gone.f' is not allowed: "
        "add it to DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, define it in the tasks module of an "
        "installed app, or declare it with @task in an installed app.",
        "missing_function": "TaskNotFound: Task 'tests.testapp.tasks.gone': module "
        "'tests.testapp.tasks' has no attribute 'gone'.",
        "bad_kwargs": "TypeError: add() got an unexpected keyword argument 'z'",
        "params_not_object": "TypeError: task_params must be a JSON object, not list",
        "not_json": "TypeError: The result cannot be stored as JSON: the return value is of "
        "type object, which is not JSON serialisable",
        "unprintable": "unprintable.<locals>.Unprintable: <str() of the exception raised "
        "RuntimeError>",
        "huge": "ValueError: " + "m" * 987 + "\u2026",
        "unicode": "ValueError: ünïcödé ✓ 漢字 🚀",
        "integrity": errors["integrity"],
        "os_system": "TaskNotAllowed: Task 'os.system' is not allowed: it is never run.",
        "eval": "TaskNotAllowed: Task 'builtins.eval' is not allowed: it is never run.",
        "crash": "ChildProcessError: the task's process killed by signal SIGABRT",
    }
    assert errors["integrity"].startswith("IntegrityError: ")
    assert got["huge"].traceback.endswith("ValueError: " + "m" * 1_000_000 + "\n")
    assert "not allowed" in got["os_system"].error and not marker.exists()
    assert all(row.attempts == 1 and row.completed_at for row in got.values())
    assert list(Execution.objects.order_by("task_id").values_list("task_id", flat=True)) == [
        "after", "dup",
    ]  # fmt: skip


def test_quiet_verbosity_logs_nothing(run_worker):
    enqueue(T + "add", {"a": 1, "b": 1})
    done = run_worker("--burst", "-v", "0")
    assert (done.returncode, done.stderr) == (0, "")


def test_worker_registers_and_stops_its_row(run_worker):
    enqueue(T + "add", {"a": 1, "b": 1})
    done = run_worker("--burst", "--queue", "default", "--concurrency", "2")
    assert done.returncode == 0
    worker = Worker.objects.get()
    task = Task.objects.get()
    # With no LOGGING of its own for the package, the worker logs to stderr.
    assert (
        f"INFO django_simple_queue.worker: Worker {worker.id} started: queues=default "
        "concurrency=2 burst=True" in done.stderr
    )
    assert f"INFO django_simple_queue.worker: Task {task.id} COMPLETED\n" in done.stderr
    assert f"Worker {worker.id} stopped after 1 tasks" in done.stderr
    assert (worker.host, worker.queues, worker.concurrency) == (
        socket.gethostname(), "default", 2,
    )  # fmt: skip
    assert worker.pid > 0 and worker.stopped_at >= worker.started_at
    assert Task.objects.get().worker_id == worker.id


def test_queue_option_serves_only_those_queues(run_worker):
    mail = enqueue(T + "add", {"a": 1, "b": 1}, queue="mail")
    other = enqueue(T + "add", {"a": 1, "b": 1}, queue="reports")
    assert run_worker("--burst", "--queue", "mail", "--queue", "sms").returncode == 0
    assert Task.objects.get(id=mail.id).status == "COMPLETED"
    assert Task.objects.get(id=other.id).status == "QUEUED"


def test_max_tasks_exits_after_that_many(run_worker):
    for n in range(5):
        enqueue(T + "add", {"a": n, "b": 0})
    done = run_worker("--max-tasks", "3", "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    assert Task.objects.filter(status="COMPLETED").count() == 3
    assert Task.objects.filter(status="QUEUED").count() == 2


def test_timeout_fails_the_task_and_the_worker_goes_on(run_worker):
    slow = enqueue(T + "sleep", {"seconds": 60}, timeout=1)
    after = enqueue(T + "add", {"a": 1, "b": 2})
    started = time.monotonic()
    assert run_worker("--burst").returncode == 0
    assert time.monotonic() - started < 30
    slow = Task.objects.get(id=slow.id)
    assert (slow.status, slow.error) == ("FAILED", "TimeoutError: timed out after 1 second")
    assert Task.objects.get(id=after.id).result == 3


def test_worker_timeout_option_applies_to_tasks_without_one(run_worker):
    slow = enqueue(T + "sleep", {"seconds": 60})
    assert run_worker("--burst", "--timeout", "1").returncode == 0
    assert Task.objects.get(id=slow.id).error == "TimeoutError: timed out after 1 second"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_lets_the_running_task_finish_then_exits_zero(start_worker, signum):
    task = enqueue(T + "sleep", {"seconds": 2})
    waiting = enqueue(T + "add", {"a": 1, "b": 1}, priority=-1)
    worker = start_worker()
    wait_for(lambda: Task.objects.get(id=task.id).status == "PROGRESS")
    worker.send_signal(signum)
    assert worker.wait(timeout=30) == 0
    assert (Task.objects.get(id=task.id).status, Task.objects.get(id=task.id).result) == (
        "COMPLETED", 2,
    )  # fmt: skip
    assert Task.objects.get(id=waiting.id).status == "QUEUED"
    assert Worker.objects.get().stopped_at is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "0"], "argument --concurrency: invalid positive_int value: '0'"),
        (["--poll-interval", "0"], "--poll-interval must be a positive number of seconds."),
        (["--max-tasks", "x"], "argument --max-tasks: invalid positive_int value: 'x'"),
    ],
)
def test_bad_options_are_refused_clearly(run_worker, args, message):
    done = run_worker(*args)
    assert done.returncode != 0
    assert message in done.stderr


def test_worker_refuses_an_unmigrated_database(run_worker):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("django_simple_queue", None)])
    try:
        done = run_worker("--burst")
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert done.returncode == 1
    assert done.stderr.endswith(
        "CommandError: The django_simple_queue tables are not migrated on database 'default': "
        "run 'manage.py migrate django_simple_queue' first.\n"
    )
    assert "Traceback" not in done.stderr


def test_children_that_cannot_start_stop_the_worker(run_worker, monkeypatch):
    task = enqueue(T + "add", {"a": 1, "b": 1})
    monkeypatch.setenv("DSQ_BREAK_CHILD_SETUP", "1")
    done = run_worker("--burst", "--concurrency", "1")
    assert done.returncode == 1
    assert (
        "RuntimeError: 5 child processes in a row exited with status 1 before they were ready"
        in done.stderr
    )
    # Nothing was handed to a child that could not run it.
    assert Task.objects.get(id=task.id).status == "QUEUED"


def test_time_limit_starts_when_a_ready_child_gets_the_task(run_worker):
    # Children take a while to set Django up; that time must not count
    # against the first tasks' limits.
    tasks = [enqueue(T + "add", {"a": n, "b": 1}, timeout=1) for n in range(4)]
    assert run_worker("--burst", "--concurrency", "2").returncode == 0
    assert [Task.objects.get(id=t.id).status for t in tasks] == ["COMPLETED"] * 4


def test_children_keep_healthy_connections_and_drop_open_transactions(run_worker):
    first, second = (enqueue(T + "connection_id", priority=9 - n) for n in range(2))
    enqueue(T + "leave_transaction_open", {"key": "uncommitted"}, priority=5)
    after = enqueue(T + "connection_id", priority=1)
    assert run_worker("--burst", "--concurrency", "1").returncode == 0
    ids = [Task.objects.get(id=t.id).result for t in (first, second, after)]
    assert Task.objects.filter(status="COMPLETED").count() == 4
    # What the task wrote but never committed was rolled back, not committed by the next task.
    assert not Execution.objects.filter(task_id="uncommitted").exists()
    if ids[0] is not None:  # the server gives connections ids (not SQLite)
        assert ids[0] == ids[1]  # one connection served both tasks
        assert ids[2] != ids[1]  # the abandoned transaction's connection was closed


def test_a_second_signal_stops_at_once_and_fails_the_running_task(start_worker):
    task = enqueue(T + "sleep", {"seconds": 30})
    worker = start_worker()
    wait_for(lambda: Task.objects.get(id=task.id).status == "PROGRESS")
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 1
    task = Task.objects.get(id=task.id)
    assert (task.status, task.error) == (
        "FAILED",
        "WorkerStopped: the worker was stopped by a second SIGTERM",
    )


def test_a_connection_the_server_dropped_while_idle_is_replaced(start_worker):
    from django.db import connection

    kill = {"postgresql": "SELECT pg_terminate_backend(%s)", "mysql": "KILL %s"}
    if connection.vendor not in kill:
        pytest.skip("the database has no server-side connections to drop")
    first = enqueue(T + "connection_id")
    start_worker("--concurrency", "1")
    wait_for(lambda: Task.objects.get(id=first.id).status == "COMPLETED")
    backend = Task.objects.get(id=first.id).result
    with connection.cursor() as cursor:
        cursor.execute(kill[connection.vendor], [backend])
    time.sleep(1.5)  # idle long enough for the child to check its connection first
    second = enqueue(T + "connection_id")
    wait_for(lambda: Task.objects.get(id=second.id).status != "QUEUED")
    wait_for(lambda: Task.objects.get(id=second.id).status != "PROGRESS")
    second = Task.objects.get(id=second.id)
    assert second.status == "COMPLETED", second.error
    assert second.result != backend


def make_stale(worker_id):
    old = Worker.objects.get(id=worker_id).last_heartbeat_at - datetime.timedelta(hours=1)
    Worker.objects.filter(id=worker_id).update(last_heartbeat_at=old)


@pytest.mark.parametrize(
    ("max_attempts", "status", "attempts"), [(2, "COMPLETED", 2), (1, "FAILED", 1)]
)
def test_tasks_of_a_killed_worker_are_rescued_by_another(
    start_worker, run_worker, max_attempts, status, attempts
):
    task = enqueue(T + "sleep", {"seconds": 1}, max_attempts=max_attempts)
    lost = start_worker()
    wait_for(lambda: Task.objects.get(id=task.id).status == "PROGRESS")
    lost.kill()  # SIGKILL: no chance to record anything
    lost.wait(timeout=10)
    make_stale(Task.objects.get(id=task.id).worker_id)
    done = run_worker("--burst")
    assert done.returncode == 0, done.stderr
    task = Task.objects.get(id=task.id)
    assert (task.status, task.attempts) == (status, attempts)
    if status == "FAILED":
        assert task.error.startswith("WorkerLost: ")
    else:
        assert task.result == 1 and task.worker_id != Worker.objects.order_by("started_at")[0].id
    assert "Rescued tasks of lost workers: " in done.stderr


def test_a_worker_whose_row_was_deleted_registers_again(start_worker, monkeypatch):
    # Without a row it would look lost, and another worker would rescue what it runs.
    monkeypatch.setenv("DSQ_HEARTBEAT", "0.5")
    task = enqueue(T + "sleep", {"seconds": 3})
    worker = start_worker()
    wait_for(lambda: Task.objects.get(id=task.id).status == "PROGRESS")
    holder = Task.objects.get(id=task.id).worker_id
    Worker.objects.filter(id=holder).delete()
    wait_for(lambda: Worker.objects.filter(id=holder).exists())
    wait_for(lambda: Task.objects.get(id=task.id).status == "COMPLETED")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert f"Worker {holder}: its row was gone; registering it again" in worker.output.text()
    assert Task.objects.get(id=task.id).attempts == 1


def test_children_do_not_outlive_a_killed_supervisor(start_worker):
    # Its task would be rescued and run again while the orphan still ran it.
    task = enqueue(T + "sleep", {"seconds": 60})
    worker = start_worker("--concurrency", "2")
    wait_for(lambda: Task.objects.get(id=task.id).status == "PROGRESS")
    children = children_of(worker)
    assert len(children) == 2
    worker.kill()
    worker.wait(timeout=10)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert (len(gone), alive) == (2, [])


@pytest.mark.parametrize(
    ("policy", "status", "attempts"), [("requeue", "QUEUED", 0), ("fail", "FAILED", 1)]
)
def test_tasks_still_running_after_the_grace_period_are_put_back_or_failed(
    start_worker, monkeypatch, policy, status, attempts
):
    monkeypatch.setenv("DSQ_ON_SHUTDOWN", policy)
    task = enqueue(T + "sleep", {"seconds": 60})
    worker = start_worker("--grace-period", "1")
    wait_for(lambda: Task.objects.get(id=task.id).status == "PROGRESS")
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert time.monotonic() - started < 10
    task = Task.objects.get(id=task.id)
    assert (task.status, task.attempts, task.worker_id is None) == (
        status, attempts, status == "QUEUED",
    )  # fmt: skip
    assert task.error == ("WorkerStopped: the worker stopped; the task was still running after 1s")
    assert Worker.objects.get().stopped_at is not None


def test_a_task_that_ignores_the_polite_signal_is_killed_after_the_grace(run_worker):
    task = enqueue(T + "spin_ignoring_sigterm", timeout=1)
    after = enqueue(T + "add", {"a": 1, "b": 1}, priority=-1)
    started = time.monotonic()
    assert run_worker("--burst").returncode == 0
    assert time.monotonic() - started < 20  # 1 s limit + 5 s grace + start-up
    task = Task.objects.get(id=task.id)
    assert (task.status, task.error) == ("FAILED", "TimeoutError: timed out after 1 second")
    assert Task.objects.get(id=after.id).result == 2


@pytest.mark.parametrize(
    ("name", "params", "error"),
    [
        (
            "read_null_pointer",
            {},
            "ChildProcessError: the task's process killed by signal SIGSEGV",
        ),
        ("exit_hard", {"status": 3}, "ChildProcessError: the task's process exited with status 3"),
    ],
)
def test_a_task_whose_process_dies_fails_with_how_it_died(run_worker, name, params, error):
    task = enqueue(T + name, params)
    after = enqueue(T + "add", {"a": 2, "b": 2}, priority=-1)
    assert run_worker("--burst").returncode == 0
    assert (Task.objects.get(id=task.id).status, Task.objects.get(id=task.id).error) == (
        "FAILED", error,
    )  # fmt: skip
    assert Task.objects.get(id=after.id).result == 4


def test_sys_exit_and_keyboard_interrupt_in_a_task_fail_it_and_leave_its_process(run_worker):
    before = enqueue(T + "pid", priority=3)
    exits = enqueue(T + "exit_softly", {"status": 3}, priority=2, max_attempts=1)
    interrupted = enqueue(T + "interrupt", priority=1, max_attempts=1)
    after = enqueue(T + "pid")
    assert run_worker("--burst", "--concurrency", "1").returncode == 0
    exits, interrupted = Task.objects.get(id=exits.id), Task.objects.get(id=interrupted.id)
    assert (exits.status, exits.error) == ("FAILED", "SystemExit: 3")
    assert exits.traceback.endswith("SystemExit: 3\n")
    assert (interrupted.status, interrupted.error) == (
        "FAILED", "KeyboardInterrupt: pressed by the task itself",
    )  # fmt: skip
    # The same child ran the task after them: neither ended its process.
    assert Task.objects.get(id=after.id).result == Task.objects.get(id=before.id).result


def test_the_outcome_log_level_is_configurable(run_worker, monkeypatch):
    task = enqueue(T + "add", {"a": 1, "b": 1})
    monkeypatch.setenv("DSQ_OUTCOME_LOG_LEVEL", "debug")
    quiet = run_worker("--burst")  # the console shows INFO and up by default
    assert quiet.returncode == 0 and f"Task {task.id} COMPLETED" not in quiet.stderr
    task = enqueue(T + "add", {"a": 1, "b": 1})
    shown = run_worker("--burst", "-v", "2")
    assert f"DEBUG django_simple_queue.worker: Task {task.id} COMPLETED" in shown.stderr

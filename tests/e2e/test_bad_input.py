"""Rows and results the database or the worker could choke on fail alone."""

import time

import pytest
from django.db import DataError, connection

from django_simple_queue import enqueue
from django_simple_queue.models import Task

T = "tests.testapp.tasks."
pytestmark = pytest.mark.django_db(transaction=True)


def set_raw_params(task, text):
    table = connection.ops.quote_name(Task._meta.db_table)
    pk = Task._meta.pk.get_db_prep_value(task.id, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET task_params = %s WHERE id = %s", [text, pk])


def test_a_row_whose_params_cannot_be_read_fails_alone(run_worker):
    good = [enqueue(T + "add", {"a": n, "b": 1}) for n in range(2)]
    bad = enqueue(T + "add", {"a": 1, "b": 1})
    # Valid JSON to every database, but Python will not parse a 5,000-digit integer.
    set_raw_params(bad, '{"a": ' + "1" * 5000 + ', "b": 1}')
    done = run_worker("--burst", "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    assert [Task.objects.get(id=t.id).result for t in good] == [1, 2]
    # Read without task_params: the ORM cannot decode that row either.
    status, error = Task.objects.filter(id=bad.id).values_list("status", "error").get()
    assert status == "FAILED"
    assert error.startswith(
        "InvalidTaskRow: the row cannot be run as stored: Exceeds the limit (4300 digits)"
    )


def test_a_row_of_invalid_utf8_fails_alone_where_the_database_stores_one(run_worker):
    bad = enqueue(T + "add", {"a": 1, "b": 1})
    try:
        set_raw_params(bad, b'{"a": "\xff"}')
    except (DataError, UnicodeDecodeError, Exception) as exc:  # noqa: BLE001
        if connection.vendor == "sqlite":
            raise
        pytest.skip(f"{connection.vendor} refuses invalid UTF-8 on write ({type(exc).__name__})")
    good = enqueue(T + "add", {"a": 2, "b": 2})
    done = run_worker("--burst")
    assert done.returncode == 0, done.stderr
    assert Task.objects.get(id=good.id).result == 4
    status, error = Task.objects.filter(id=bad.id).values_list("status", "error").get()
    assert (status, error) == (
        "FAILED",
        "InvalidTaskRow: the row cannot be run as stored: 'utf-8' codec can't decode byte 0xff "
        "in position 7: invalid start byte",
    )


def test_unstorable_errors_and_results_fail_clearly_and_the_worker_goes_on(run_worker):
    error = enqueue(T + "fail_unstorable")
    result = enqueue(T + "returns_unstorable")
    after = enqueue(T + "add", {"a": 1, "b": 2})
    done = run_worker("--burst")
    assert done.returncode == 0, done.stderr
    assert Task.objects.get(id=error.id).error == "ValueError: nul\\x00 and lone \\udcff"
    assert Task.objects.get(id=result.id).error == (
        "TypeError: The result cannot be stored as JSON: the return value has text holding a "
        "NUL character, which the database cannot store"
    )
    assert Task.objects.get(id=after.id).result == 3


def test_a_task_that_forks_does_not_confuse_the_worker(run_worker):
    forked = enqueue(T + "fork_and_return", priority=1)
    after = [enqueue(T + "add", {"a": n, "b": 0}) for n in range(3)]
    done = run_worker("--burst", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert Task.objects.get(id=forked.id).result == "done"
    assert [Task.objects.get(id=t.id).result for t in after] == [0, 1, 2]
    assert "Ignored an outcome" not in done.stderr and "dropped" not in done.stderr


def test_a_time_limit_also_stops_the_tasks_subprocesses(run_worker, tmp_path):
    marker = tmp_path / "sleeper-finished"
    task = enqueue(T + "start_sleeper", {"path": str(marker), "seconds": 3}, timeout=1)
    done = run_worker("--burst")
    assert done.returncode == 0, done.stderr
    assert Task.objects.get(id=task.id).error == "TimeoutError: timed out after 1 second"
    time.sleep(3.5)
    assert not marker.exists()


def test_a_created_at_the_driver_cannot_read_does_not_lose_the_batch(run_worker):
    tasks = [enqueue(T + "add", {"a": n, "b": 0}) for n in range(3)]
    table = connection.ops.quote_name(Task._meta.db_table)
    pk = Task._meta.pk.get_db_prep_value(tasks[0].id, connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET created_at = '-infinity' WHERE id = %s", [pk])
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"{connection.vendor} has no infinite timestamps ({type(exc).__name__})")
    done = run_worker("--burst", "--concurrency", "3")
    assert done.returncode == 0, done.stderr
    results = Task.objects.filter(id__in=[t.id for t in tasks]).values_list("status", "result")
    assert sorted(results) == [("COMPLETED", 0), ("COMPLETED", 1), ("COMPLETED", 2)]


def raw_status(task):
    table = connection.ops.quote_name(Task._meta.db_table)
    pk = Task._meta.pk.get_db_prep_value(task.id, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, error FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()


@pytest.mark.parametrize(
    ("assignment", "runs"),
    [
        ("max_attempts = 'abc'", False),
        ("priority = 9e999", False),
        ("timeout = CAST(X'FF' AS TEXT)", False),
        # Only used to order a batch, or rewritten by the claim: the task still runs.
        ("created_at = '2020-13-45 00:00:00'", True),
        ("attempts = CAST(X'FF' AS TEXT)", True),
    ],
)
def test_garbage_in_any_column_affects_that_row_alone(run_worker, assignment, runs):
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite stores any value in any column")
    bad = enqueue(T + "add", {"a": 1, "b": 1})
    good = enqueue(T + "add", {"a": 2, "b": 2})
    table = connection.ops.quote_name(Task._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignment} WHERE id = %s", [bad.id.hex])
    done = run_worker("--burst", "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    assert raw_status(good) == ("COMPLETED", "")
    status, error = raw_status(bad)
    if runs:
        assert (status, error) == ("COMPLETED", "")
    else:
        assert status == "FAILED"
        assert error.startswith("InvalidTaskRow: the row cannot be run as stored: ")


def test_a_row_at_the_attempts_maximum_does_not_block_the_queue(run_worker):
    capped = enqueue(T + "add", {"a": 1, "b": 1})
    Task.objects.filter(id=capped.id).update(attempts=2_000_000_000, max_attempts=2_000_000_000)
    good = enqueue(T + "add", {"a": 2, "b": 2})
    done = run_worker("--burst", "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    assert Task.objects.get(id=good.id).result == 4
    capped = Task.objects.get(id=capped.id)
    assert (capped.status, capped.result, capped.attempts) == ("COMPLETED", 2, 2_000_000_000)


@pytest.mark.parametrize(
    "retry_on", [[None], [{"x": 1}, 5], "builtins.ValueError", {"builtins.ValueError": 1}]
)
def test_a_retry_on_that_is_not_a_list_of_paths_fails_its_row_alone(run_worker, retry_on):
    # A time limit is matched against retry_on in the supervisor: it must not get there.
    bad = enqueue(T + "sleep", {"seconds": 5}, timeout=1, max_attempts=2)
    Task.objects.filter(id=bad.id).update(retry_on=retry_on)
    good = enqueue(T + "add", {"a": 2, "b": 2})
    done = run_worker("--burst", "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    assert Task.objects.get(id=good.id).result == 4
    bad = Task.objects.get(id=bad.id)
    assert (bad.status, bad.attempts) == ("FAILED", 1)
    assert bad.error == (
        f"InvalidTaskRow: the row cannot be run as stored: retry_on is {retry_on!r}, not a "
        "JSON list of exception class paths"
    )


def test_retry_on_never_makes_a_worker_import_a_module(run_worker, tmp_path, monkeypatch):
    mark = tmp_path / "imported"
    monkeypatch.setenv("DSQ_IMPORT_MARK", str(mark))
    retry_on = ["tests.never_imported.Boom"]
    timed_out = enqueue(T + "sleep", {"seconds": 5}, timeout=1, max_attempts=2)
    raised = enqueue(T + "fail", {"message": "x"}, max_attempts=2)
    Task.objects.filter(id__in=[timed_out.id, raised.id]).update(retry_on=retry_on)
    done = run_worker("--burst", "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    # Neither exception is a Boom, so neither is retried; and nobody imported the module.
    assert sorted(Task.objects.values_list("status", "attempts", "error")) == [
        ("FAILED", 1, "TimeoutError: timed out after 1 second"),
        ("FAILED", 1, "ValueError: x"),
    ]
    assert not mark.exists()


@pytest.mark.parametrize("errors", [5, True, "garbage", {"a": 1}])
def test_an_error_history_that_is_not_a_list_is_replaced_not_a_jam(run_worker, errors):
    bad = enqueue(T + "fail", {"message": "x"})
    Task.objects.filter(id=bad.id).update(errors=errors)
    good = enqueue(T + "add", {"a": 2, "b": 2}, priority=-1)
    done = run_worker("--burst")
    assert done.returncode == 0, done.stderr
    bad = Task.objects.get(id=bad.id)
    assert (bad.status, bad.error) == ("FAILED", "ValueError: x")
    assert [entry["error"] for entry in bad.errors] == ["ValueError: x"]
    assert Task.objects.get(id=good.id).result == 4


def test_a_task_may_start_processes_of_its_own(run_worker):
    task = enqueue(T + "use_a_pool")
    assert run_worker("--burst").returncode == 0
    task = Task.objects.get(id=task.id)
    assert (task.status, task.result) == ("COMPLETED", 3), task.error

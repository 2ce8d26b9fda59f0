import uuid

import pytest
from django.db import DataError

from django_simple_queue import enqueue
from django_simple_queue.models import Task
from django_simple_queue.sql import finish
from django_simple_queue.sql.claim import claim
from django_simple_queue.worker.executor import Outcome
from django_simple_queue.worker.recorder import REFUSALS_BEFORE_FALLBACK, Recorder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def claimed():
    worker = uuid.uuid4()
    for n in range(2):
        enqueue("tests.testapp.tasks.add", {"a": n, "b": 0}, priority=1 - n)
    return worker, claim(worker, 2)


def refuse(task_id, monkeypatch):
    real = finish.finish

    def finish_refusing(tid, *args, **kwargs):
        if tid == task_id:
            raise DataError("value too long for this column")
        return real(tid, *args, **kwargs)

    monkeypatch.setattr(finish, "finish", finish_refusing)


def test_outcomes_are_written_in_order(claimed):
    worker, (first, second) = claimed
    recorder = Recorder(worker, None)
    recorder.add(first.id, Outcome("COMPLETED", result=0))
    recorder.add(second.id, Outcome("FAILED", error="ValueError: x", traceback="tb"))
    assert recorder.flush() is None and len(recorder) == 0
    rows = {t.id: (t.status, t.result, t.error) for t in Task.objects.all()}
    assert rows == {first.id: ("COMPLETED", 0, ""), second.id: ("FAILED", None, "ValueError: x")}


def test_a_refused_outcome_waits_then_is_replaced_and_unblocks_the_rest(claimed, monkeypatch):
    worker, (first, second) = claimed
    recorder = Recorder(worker, None)
    recorder.add(first.id, Outcome("COMPLETED", result="x" * 10))
    recorder.add(second.id, Outcome("COMPLETED", result=1))
    refuse(first.id, monkeypatch)
    for _ in range(REFUSALS_BEFORE_FALLBACK - 1):
        assert isinstance(recorder.flush(), DataError)
        assert len(recorder) == 2  # kept: it may be the database, not the outcome
    assert isinstance(recorder.flush(), DataError)  # the third refusal, the database up
    monkeypatch.undo()
    assert recorder.flush() is None
    first_row, second_row = Task.objects.get(id=first.id), Task.objects.get(id=second.id)
    assert (first_row.status, first_row.result, first_row.error) == (
        "FAILED",
        None,
        "OutcomeNotStored: the database refused this task's outcome (COMPLETED): "
        "DataError: value too long for this column",
    )
    assert (second_row.status, second_row.result) == ("COMPLETED", 1)


def test_the_fallback_is_bare_when_even_the_reason_is_refused(claimed, monkeypatch):
    worker, (first, _) = claimed
    recorder = Recorder(worker, None)
    recorder.add(first.id, Outcome("COMPLETED", result=1))
    real = finish.finish

    def refuse_unless_bare(tid, worker_id, status, result, error, *args):
        if error != "OutcomeNotStored: the database refused this task's outcome":
            raise DataError("no")
        return real(tid, worker_id, status, result, error, *args)

    monkeypatch.setattr(finish, "finish", refuse_unless_bare)
    for _ in range(2 * REFUSALS_BEFORE_FALLBACK):
        assert recorder.flush() is not None
    assert recorder.flush() is None
    assert Task.objects.get(id=first.id).error == (
        "OutcomeNotStored: the database refused this task's outcome"
    )


def test_an_outcome_for_a_task_no_longer_owned_is_dropped(claimed):
    worker, (first, _) = claimed
    Task.objects.filter(id=first.id).update(status="CANCELLED")
    recorder = Recorder(worker, None)
    recorder.add(first.id, Outcome("COMPLETED", result=1))
    assert recorder.flush() is None and len(recorder) == 0
    assert Task.objects.get(id=first.id).status == "CANCELLED"


def test_backoff_doubles_is_jittered_and_capped(settings):
    from django_simple_queue.worker.recorder import backoff

    settings.DJANGO_SIMPLE_QUEUE_RETRY_BACKOFF = 2
    settings.DJANGO_SIMPLE_QUEUE_RETRY_BACKOFF_MAX = 10
    for attempt, wait in [(1, 2), (2, 4), (3, 8), (4, 10), (9, 10)]:
        delays = [backoff(attempt) for _ in range(50)]
        assert all(wait / 2 <= d <= wait for d in delays)
        assert len(set(delays)) > 1


def test_a_retry_by_a_worker_that_no_longer_owns_the_task_changes_nothing(claimed):
    worker, (first, _) = claimed
    entry = finish.history_entry(1, "E: x", "builtins.E", "tb")
    assert finish.retry(first.id, uuid.uuid4(), 1.0, entry) is False
    assert finish.retry(first.id, worker, 1.0, entry) is True
    row = Task.objects.get(id=first.id)
    assert (row.status, row.worker_id, row.error, row.errors) == ("QUEUED", None, "E: x", [entry])
    assert row.run_after is not None


def test_the_error_history_keeps_the_newest_entries(claimed):
    worker, (first, _) = claimed
    old = [finish.history_entry(n, f"E: {n}", "builtins.E", "") for n in range(1, 21)]
    Task.objects.filter(id=first.id).update(errors=old)
    newest = finish.history_entry(21, "E: 21", "builtins.E", "")
    assert finish.finish(first.id, worker, "FAILED", error="E: 21", entry=newest) is True
    errors = Task.objects.get(id=first.id).errors
    assert [e["attempt"] for e in errors] == list(range(2, 22))


def test_the_last_flush_before_exit_tries_every_outcome(claimed, monkeypatch):
    worker, (first, second) = claimed
    recorder = Recorder(worker, None)
    recorder.add(first.id, Outcome("COMPLETED", result=0))
    recorder.add(second.id, Outcome("FAILED", error="WorkerStopped: x"))
    refuse(first.id, monkeypatch)
    recorder.flush_each_once()
    assert [item.task_id for item in recorder.pending] == [first.id]
    assert Task.objects.get(id=second.id).error == "WorkerStopped: x"


def test_lock_waits_and_deadlocks_never_count_as_a_refusal(claimed, monkeypatch):
    from django.db import OperationalError

    from django_simple_queue.worker.recorder import transient

    class LockNotAvailable(Exception):
        sqlstate = "55P03"

    wrapped = OperationalError("canceling statement due to lock timeout")
    wrapped.__cause__ = LockNotAvailable()
    mysql = OperationalError(1205, "Lock wait timeout exceeded; try restarting transaction")
    assert transient(wrapped) and transient(mysql)
    assert not transient(DataError("value too long")) and not transient(OperationalError(2006))
    worker, (first, _) = claimed
    recorder = Recorder(worker, None)
    recorder.add(first.id, Outcome("COMPLETED", result=0))
    monkeypatch.setattr(finish, "finish", lambda *a, **k: (_ for _ in ()).throw(mysql))
    for _ in range(3 * REFUSALS_BEFORE_FALLBACK):
        assert recorder.flush() is mysql
    assert recorder.pending[0].outcome.status == "COMPLETED"  # never replaced

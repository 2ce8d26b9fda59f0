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

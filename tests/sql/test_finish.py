import uuid

import pytest

from django_simple_queue import enqueue
from django_simple_queue.models import Task
from django_simple_queue.sql.claim import claim
from django_simple_queue.sql.finish import ERROR_MAX_LENGTH, finish, one_line

ADD = "tests.testapp.tasks.add"
NOOP = "tests.testapp.tasks.noop"
pytestmark = pytest.mark.django_db(transaction=True)


def test_finish_records_the_outcome_for_the_owner():
    enqueue(NOOP)
    worker = uuid.uuid4()
    (task,) = claim(worker, 1)
    assert finish(task.id, worker, "COMPLETED", result={"n": [1, 2]}) is True
    row = Task.objects.get()
    assert (row.status, row.result, row.error, row.traceback) == (
        "COMPLETED",
        {"n": [1, 2]},
        "",
        "",
    )
    assert row.completed_at >= row.started_at


def test_finish_by_another_worker_changes_nothing():
    enqueue(NOOP)
    owner = uuid.uuid4()
    (task,) = claim(owner, 1)
    assert finish(task.id, uuid.uuid4(), "FAILED", error="late") is False
    assert Task.objects.get().status == "PROGRESS"


def test_a_task_has_exactly_one_terminal_state():
    enqueue(NOOP)
    worker = uuid.uuid4()
    (task,) = claim(worker, 1)
    assert finish(task.id, worker, "COMPLETED", result=1) is True
    assert finish(task.id, worker, "FAILED", error="second write") is False
    row = Task.objects.get()
    assert (row.status, row.result, row.error) == ("COMPLETED", 1, "")


def test_finish_of_a_cancelled_task_changes_nothing():
    enqueue(NOOP)
    worker = uuid.uuid4()
    (task,) = claim(worker, 1)
    Task.objects.filter(id=task.id).update(status="CANCELLED")
    assert finish(task.id, worker, "COMPLETED", result=3) is False
    assert Task.objects.get().status == "CANCELLED"


def test_finish_needs_a_terminal_status():
    with pytest.raises(ValueError, match="terminal status, not 'QUEUED'"):
        finish(uuid.uuid4(), uuid.uuid4(), "QUEUED")


def test_one_line_folds_and_cuts_the_error():
    assert one_line("a\nb\r\n  c\td") == "a b c d"
    cut = one_line("x" * 5000)
    assert len(cut) == ERROR_MAX_LENGTH
    assert cut.endswith("\u2026")

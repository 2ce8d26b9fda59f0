import datetime
import uuid

import pytest
from django.utils import timezone

from django_simple_queue.models import Task, Worker
from django_simple_queue.sql.rescue import WORKER_LOST, Rescued, rescue

pytestmark = pytest.mark.django_db(transaction=True)
NOOP = "tests.testapp.tasks.noop"


def worker(seconds_since_beat, stopped=False):
    now = timezone.now()
    beat = now - datetime.timedelta(seconds=seconds_since_beat)
    return Worker.objects.create(
        host="h", pid=1, started_at=beat, last_heartbeat_at=beat,
        stopped_at=now if stopped else None,
    ).id  # fmt: skip


def held(worker_id, attempts=1, max_attempts=1):
    return Task.objects.create(
        task_name=NOOP, status="PROGRESS", worker_id=worker_id, attempts=attempts,
        max_attempts=max_attempts, started_at=timezone.now(),
    ).id  # fmt: skip


def statuses(rescued):
    return sorted(task.status for task in rescued)


def test_tasks_of_live_workers_are_left_alone():
    task = held(worker(5))
    assert rescue(60) == []
    assert Task.objects.get(id=task).status == "PROGRESS"


def test_tasks_of_a_stale_worker_are_requeued_while_attempts_remain():
    stale = worker(120)
    again = held(stale, attempts=1, max_attempts=3)
    spent = held(stale, attempts=3, max_attempts=3)
    assert sorted(rescue(60), key=lambda task: task.status) == [
        Rescued(spent, NOOP, 3, "FAILED"), Rescued(again, NOOP, 1, "QUEUED"),
    ]  # fmt: skip
    again, spent = Task.objects.get(id=again), Task.objects.get(id=spent)
    assert (again.status, again.worker_id, again.attempts, again.error) == (
        "QUEUED", None, 1, WORKER_LOST,
    )  # fmt: skip
    assert (spent.status, spent.error, spent.worker_id) == ("FAILED", WORKER_LOST, stale)
    assert spent.completed_at is not None
    # The lost attempt joins each task's history of failed attempts, naming its worker.
    for task in (again, spent):
        assert task.errors == [
            {"attempt": task.attempts, "worker": str(stale), "error": WORKER_LOST,
             "exception": "", "traceback": ""},
        ]  # fmt: skip


def test_the_lost_attempt_is_added_after_the_earlier_ones():
    earlier = {"attempt": 1, "worker": "w", "error": "ValueError: x", "exception":
               "builtins.ValueError", "traceback": "Traceback ..."}  # fmt: skip
    task = held(worker(120), attempts=2, max_attempts=3)
    Task.objects.filter(id=task).update(errors=[earlier], traceback="Traceback ...")
    assert statuses(rescue(60)) == ["QUEUED"]
    task = Task.objects.get(id=task)
    assert [entry["error"] for entry in task.errors] == ["ValueError: x", WORKER_LOST]
    assert (task.errors[1]["attempt"], task.traceback) == (2, "")


def test_a_task_is_rescued_once():
    task = held(worker(120), max_attempts=2)
    assert [rescued.id for rescued in rescue(60)] == [task]
    assert rescue(60) == []
    assert len(Task.objects.get(id=task).errors) == 1


def test_an_outcome_written_between_the_read_and_the_write_wins(monkeypatch):
    from django_simple_queue.sql import rescue as module
    from django_simple_queue.sql.finish import finish

    stale = worker(120)
    task = held(stale, max_attempts=2)
    original = module.history_entry

    def late_outcome_first(*args, **kwargs):
        # The lost worker comes back and records its outcome just after the rescue read.
        assert finish(task, stale, "COMPLETED", result=7) is True
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "history_entry", late_outcome_first)
    assert rescue(60) == []
    task = Task.objects.get(id=task)
    assert (task.status, task.result, task.errors, task.error) == ("COMPLETED", 7, [], "")


def test_tasks_of_stopped_missing_or_no_worker_are_lost():
    tasks = [held(worker(1, stopped=True)), held(uuid.uuid4()), held(None)]
    assert statuses(rescue(60)) == ["FAILED"] * 3
    assert set(Task.objects.values_list("status", flat=True)) == {"FAILED"}
    assert [Task.objects.get(id=t).error for t in tasks] == [WORKER_LOST] * 3


def test_only_progress_rows_are_touched():
    stale = worker(120)
    for status in ["QUEUED", "COMPLETED", "FAILED", "CANCELLED"]:
        Task.objects.create(task_name=NOOP, status=status, worker_id=stale)
    assert rescue(60) == []


def test_the_lost_workers_late_outcome_changes_nothing():
    from django_simple_queue.sql.finish import finish

    stale = worker(120)
    task = held(stale, max_attempts=2)
    rescue(60)
    assert finish(task, stale, "COMPLETED", result=1) is False
    assert Task.objects.get(id=task).status == "QUEUED"


def test_the_rescuer_never_takes_its_own_tasks():
    # Its own row looks lost (a database outage just ended), but it is running them.
    me = worker(120)
    mine = held(me, max_attempts=2)
    assert rescue(60, rescuer=me) == []
    assert Task.objects.get(id=mine).status == "PROGRESS"
    assert [task.id for task in rescue(60)] == [mine]

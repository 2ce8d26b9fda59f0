import datetime
import uuid

import pytest
from django.utils import timezone

from django_simple_queue.models import Task, Worker
from django_simple_queue.sql.rescue import WORKER_LOST, rescue

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


def test_tasks_of_live_workers_are_left_alone():
    task = held(worker(5))
    assert rescue(60) == (0, 0)
    assert Task.objects.get(id=task).status == "PROGRESS"


def test_tasks_of_a_stale_worker_are_requeued_while_attempts_remain():
    stale = worker(120)
    again = held(stale, attempts=1, max_attempts=3)
    spent = held(stale, attempts=3, max_attempts=3)
    assert rescue(60) == (1, 1)
    again, spent = Task.objects.get(id=again), Task.objects.get(id=spent)
    assert (again.status, again.worker_id, again.attempts, again.error) == (
        "QUEUED", None, 1, WORKER_LOST,
    )  # fmt: skip
    assert (spent.status, spent.error, spent.worker_id) == ("FAILED", WORKER_LOST, stale)
    assert spent.completed_at is not None


def test_tasks_of_stopped_missing_or_no_worker_are_lost():
    tasks = [held(worker(1, stopped=True)), held(uuid.uuid4()), held(None)]
    assert rescue(60) == (0, 3)
    assert set(Task.objects.values_list("status", flat=True)) == {"FAILED"}
    assert [Task.objects.get(id=t).error for t in tasks] == [WORKER_LOST] * 3


def test_only_progress_rows_are_touched():
    stale = worker(120)
    for status in ["QUEUED", "COMPLETED", "FAILED", "CANCELLED"]:
        Task.objects.create(task_name=NOOP, status=status, worker_id=stale)
    assert rescue(60) == (0, 0)


def test_the_lost_workers_late_outcome_changes_nothing():
    from django_simple_queue.sql.finish import finish

    stale = worker(120)
    task = held(stale, max_attempts=2)
    rescue(60)
    assert finish(task, stale, "COMPLETED", result=1) is False
    assert Task.objects.get(id=task).status == "QUEUED"

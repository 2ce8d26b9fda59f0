import datetime
import uuid

import pytest
from django.utils import timezone

from django_simple_queue import enqueue
from django_simple_queue.models import Task
from django_simple_queue.sql.claim import claim

ADD = "tests.testapp.tasks.add"
NOOP = "tests.testapp.tasks.noop"
pytestmark = pytest.mark.django_db(transaction=True)


def test_claim_marks_rows_in_progress_for_the_worker():
    task = enqueue(ADD, {"a": 1, "b": 2}, max_attempts=3, timeout=7)
    worker = uuid.uuid4()
    (claimed,) = claim(worker, 10)
    assert (claimed.id, claimed.task_name, claimed.task_params) == (task.id, ADD, {"a": 1, "b": 2})
    assert (claimed.attempts, claimed.max_attempts, claimed.timeout) == (1, 3, 7)
    row = Task.objects.get()
    assert (row.status, row.worker_id, row.attempts) == ("PROGRESS", worker, 1)
    assert row.started_at is not None
    assert claim(uuid.uuid4(), 10) == []


def test_claim_orders_by_priority_then_enqueue_order():
    base = timezone.now() - datetime.timedelta(minutes=1)
    names = []
    for index, priority in enumerate([0, 5, 0, 5, -1]):
        task = Task.objects.create(
            task_name=ADD, priority=priority, created_at=base + datetime.timedelta(seconds=index)
        )
        names.append((priority, index, task.id))
    expected = [task_id for _, _, task_id in sorted(names, key=lambda n: (-n[0], n[1]))]
    first = claim(uuid.uuid4(), 2)
    rest = claim(uuid.uuid4(), 10)
    assert [t.id for t in first + rest] == expected


def test_claim_respects_the_limit_and_queues():
    a1, a2, b, c = (enqueue(NOOP, queue=queue) for queue in ["a", "a", "b", "c"])
    worker = uuid.uuid4()
    assert [t.id for t in claim(worker, 1, ["a"])] == [a1.id]
    assert {t.id for t in claim(worker, 10, ["a", "b"])} == {a2.id, b.id}
    assert [t.id for t in claim(worker, 10)] == [c.id]


def test_future_run_after_is_not_claimed_until_due():
    enqueue(NOOP, run_after=timezone.now() + datetime.timedelta(hours=1))
    due = enqueue(NOOP, run_after=timezone.now() - datetime.timedelta(seconds=1))
    assert [t.id for t in claim(uuid.uuid4(), 10)] == [due.id]


def test_only_queued_rows_are_claimed():
    for status in ["PROGRESS", "COMPLETED", "FAILED", "CANCELLED"]:
        Task.objects.create(task_name=NOOP, status=status)
    assert claim(uuid.uuid4(), 10) == []


def test_claim_refuses_to_run_inside_a_transaction():
    from django.db import transaction

    with transaction.atomic(), pytest.raises(RuntimeError, match="outside atomic"):
        claim(uuid.uuid4(), 1)


def test_claim_uses_the_database_clock_not_the_workers(monkeypatch):
    due_in_an_hour = enqueue(NOOP, delay=3600)
    # A worker whose clock runs a day fast must still not see the task as due.
    fast = timezone.now() + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: fast)
    assert claim(uuid.uuid4(), 10) == []
    assert Task.objects.get(id=due_in_an_hour.id).status == "QUEUED"


def test_a_failed_commit_on_sqlite_releases_the_write_lock(monkeypatch):
    from django.db import OperationalError, connection

    if connection.vendor != "sqlite":
        pytest.skip("only SQLite claims with BEGIN IMMEDIATE ... COMMIT by hand")
    task = enqueue(NOOP)
    real_cursor = connection.cursor

    class FailingCommit:
        def __init__(self, cursor):
            self.cursor = cursor

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.cursor.close()

        def execute(self, sql, params=None):
            if sql == "COMMIT":
                raise OperationalError("database is locked")
            return self.cursor.execute(sql, params)

        def fetchall(self):
            return self.cursor.fetchall()

    monkeypatch.setattr(connection, "cursor", lambda: FailingCommit(real_cursor()))
    with pytest.raises(OperationalError, match="database is locked"):
        claim(uuid.uuid4(), 1)
    monkeypatch.undo()
    assert connection.connection.in_transaction is False
    assert Task.objects.get(id=task.id).status == "QUEUED"  # the claim was rolled back
    assert [t.id for t in claim(uuid.uuid4(), 1)] == [task.id]

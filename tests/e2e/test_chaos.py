"""Chaos: kill children and supervisors at random, restart the database, lose nothing.

Three workers with two children each drain 1,000 tasks of mixed length while
the test SIGKILLs a random child or supervisor every second or two (starting
a new supervisor for each one killed) and, where it may, restarts the database
server once. At the end every task is terminal, every COMPLETED task's side
effect is recorded exactly once, and every FAILED task says why.
"""

import random
import signal
import time
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count

from django_simple_queue.models import Task
from tests.conftest import children_of
from tests.e2e.test_database_trouble import can_control_server, start_server, stop_server
from tests.testapp.models import Execution

TASKS = 1000
WORKERS = 3
CHAOS_FOR = 30.0  # seconds of killing
FINISH_LIMIT = 150.0  # seconds for everything to end after the killing stops
REASONS = ("WorkerLost: ", "ChildProcessError: ", "WorkerStopped: ")
pytestmark = pytest.mark.django_db(transaction=True)


def settle(limit):
    deadline = time.monotonic() + limit
    while True:
        try:
            if not Task.objects.exclude(status__in=Task.TERMINAL).exists():
                return
        except Exception:  # noqa: BLE001 - our own connection may have died with the server
            connection.close()
        if time.monotonic() > deadline:
            counts = dict(Task.objects.values_list("status").annotate(n=Count("id")))
            pytest.fail(f"not settled after {limit:g} s: {counts}")
        time.sleep(0.5)


def test_nothing_is_lost_or_doubled_under_chaos(start_worker, monkeypatch):
    monkeypatch.setenv("DSQ_HEARTBEAT", "0.5")
    monkeypatch.setenv("DSQ_STALE_AFTER", "2")
    rng = random.Random(20261203)
    Task.objects.bulk_create(
        [
            Task(
                task_name="tests.testapp.tasks.chaos",
                task_params={"key": f"c{n}", "seconds": rng.choice([0, 0, 0.05, 0.2, 1])},
                max_attempts=5,
            )
            for n in range(TASKS)
        ]
    )
    workers = [start_worker("--concurrency", "2") for _ in range(WORKERS)]
    kills = Counter()
    restart_at = time.monotonic() + CHAOS_FOR / 2 if can_control_server() else None
    end = time.monotonic() + CHAOS_FOR
    while time.monotonic() < end:
        time.sleep(rng.uniform(1, 2))
        if restart_at and time.monotonic() >= restart_at:
            stop_server()
            time.sleep(2)
            start_server()
            restart_at, kills["database restarts"] = None, 1
            continue
        victim = rng.randrange(len(workers))
        kids = children_of(workers[victim])
        if kids and rng.random() < 0.6:
            rng.choice(kids).kill()
            kills["children"] += 1
        else:
            workers[victim].kill()
            workers[victim] = start_worker("--concurrency", "2")
            kills["supervisors"] += 1
    settle(FINISH_LIMIT)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    statuses = [worker.wait(timeout=60) for worker in workers]
    failed = [worker.output.text()[-3000:] for worker in workers if worker.returncode]
    assert statuses == [0] * WORKERS, failed

    statuses = Counter(Task.objects.values_list("status", flat=True))
    completed = set(Task.objects.filter(status="COMPLETED").values_list("result", flat=True))
    recorded = Counter(Execution.objects.values_list("task_id", flat=True))
    failed = list(Task.objects.filter(status="FAILED").values_list("error", flat=True))
    retried = Task.objects.filter(status="COMPLETED", attempts__gt=1).count()
    print(f"\nchaos: {dict(kills)}; {dict(statuses)}; {retried} completed on a later attempt")
    assert sum(statuses.values()) == TASKS and set(statuses) <= {"COMPLETED", "FAILED"}
    assert all(recorded[key] == 1 for key in completed)  # each side effect exactly once
    assert all(error.startswith(REASONS) for error in failed), failed[:5]
    assert kills["children"] + kills["supervisors"] > 5

"""Four workers with two children each drain 2,000 tasks: every task runs exactly once.

Each task inserts a row keyed by its own key into ``Execution``, whose unique
constraint turns a second run of the same task into an ``IntegrityError`` and
so into a FAILED task. Exactly-once therefore shows as: 2,000 COMPLETED, none
FAILED, one attempt each, and exactly the 2,000 keys in ``Execution``.
"""

import signal
import time
from collections import Counter

import pytest
from django.db.models import Count

from django_simple_queue.models import Task, Worker
from tests.testapp.models import Execution

TASKS = 2000
WORKERS = 4
CONCURRENCY = 2  # children per worker
DRAIN_LIMIT = 300.0  # seconds: the longest the drain may take before the test fails
STOP_LIMIT = 60.0  # seconds a worker gets to exit after SIGTERM
POLL = 0.5  # seconds between looks at the table while the workers drain it


def unfinished_counts():
    """Return {status: count} for the tasks still QUEUED or PROGRESS."""
    rows = (
        Task.objects.filter(status__in=[Task.QUEUED, Task.PROGRESS])
        .values("status")
        .annotate(n=Count("id"))
    )
    return {row["status"]: row["n"] for row in rows}


def wait_until_drained(outputs):
    """Wait until no task is QUEUED or PROGRESS; fail at once if a worker dies meanwhile."""
    deadline = time.monotonic() + DRAIN_LIMIT
    while True:
        counts = unfinished_counts()
        if not counts:
            return
        for output in outputs:
            code = output.process.poll()
            if code is not None:
                output.join()
                pytest.fail(
                    f"worker pid {output.process.pid} exited with {code} while {counts} "
                    f"were unfinished:\n{output.text()}"
                )
        if time.monotonic() > deadline:
            pytest.fail(f"not drained after {DRAIN_LIMIT:g} s: {counts} unfinished")
        time.sleep(POLL)


def stop(outputs):
    """SIGTERM every worker; return {pid: (exit status, stderr)}."""
    for output in outputs:
        output.process.send_signal(signal.SIGTERM)
    stopped = {}
    for output in outputs:
        code = output.process.wait(STOP_LIMIT)
        output.join()
        stopped[output.process.pid] = (code, output.text())
    return stopped


def report(elapsed, stopped):
    """Print the drain time, how the tasks were shared and any worker warnings (``pytest -s``)."""
    pids = dict(Worker.objects.values_list("id", "pid"))
    shares = Counter(Task.objects.values_list("worker_id", flat=True))
    rate = TASKS / elapsed
    print(f"\n{TASKS} tasks drained by {WORKERS} workers in {elapsed:.1f} s ({rate:.0f} tasks/s)")
    for worker_id, count in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  worker {worker_id} (pid {pids.get(worker_id)}): {count} tasks")
    for pid, (_, stderr) in stopped.items():
        # The worker logs every task at INFO; anything else is worth seeing.
        unusual = [line for line in stderr.splitlines() if line and " INFO " not in line]
        if unusual:
            print(f"  stderr of pid {pid}:\n" + "\n".join(unusual[-40:]))


@pytest.mark.django_db(transaction=True)
def test_four_workers_run_each_of_2000_tasks_exactly_once(start_worker):
    keys = [f"task-{number:04d}" for number in range(TASKS)]
    # bulk_create skips save() and signals: rows written this way must run too.
    Task.objects.bulk_create(
        [Task(task_name="tests.testapp.tasks.record", task_params={"key": key}) for key in keys],
        batch_size=500,
    )
    started = time.monotonic()
    # No --burst: a worker that found the queue empty before the others were up
    # would exit early; these keep serving until the SIGTERM below.
    outputs = [start_worker("--concurrency", str(CONCURRENCY)).output for _ in range(WORKERS)]
    wait_until_drained(outputs)
    elapsed = time.monotonic() - started
    stopped = stop(outputs)
    report(elapsed, stopped)

    assert {pid: code for pid, (code, _) in stopped.items()} == {
        output.process.pid: 0 for output in outputs
    }, stopped
    statuses = dict(Task.objects.values_list("status").annotate(n=Count("id")))
    errors = list(Task.objects.failed().values_list("error", flat=True)[:5])
    assert statuses == {Task.COMPLETED: TASKS}, errors
    assert dict(Task.objects.values_list("attempts").annotate(n=Count("id"))) == {1: TASKS}
    assert sorted(Task.objects.values_list("result", flat=True)) == keys
    assert Execution.objects.count() == TASKS
    assert set(Execution.objects.values_list("task_id", flat=True)) == set(keys)
    # The work was shared: several workers, and several child processes, ran tasks.
    worker_ids = set(Task.objects.values_list("worker_id", flat=True))
    assert worker_ids <= set(Worker.objects.values_list("id", flat=True))
    assert Worker.objects.filter(stopped_at__isnull=False).count() == WORKERS
    assert len(worker_ids) > 1
    assert len(set(Execution.objects.values_list("pid", flat=True))) > 1

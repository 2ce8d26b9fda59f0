"""Bounded memory: children are recycled between tasks, a task has a memory ceiling."""

import pytest

from django_simple_queue import enqueue
from django_simple_queue.models import Task

T = "tests.testapp.tasks."
pytestmark = pytest.mark.django_db(transaction=True)


def results(tasks):
    return [Task.objects.get(id=task.id).result for task in tasks]


def test_a_child_is_replaced_after_max_tasks_per_child(run_worker):
    tasks = [enqueue(T + "pid", priority=-n) for n in range(5)]
    done = run_worker("--burst", "--max-tasks-per-child", "2")
    assert done.returncode == 0, done.stderr
    pids = results(tasks)
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert done.stderr.count("Recycling child ") == 2


def test_a_child_that_grew_past_max_memory_is_replaced(run_worker):
    leak = enqueue(T + "hold_memory", {"mb": 120}, priority=2)
    first, second = enqueue(T + "pid", priority=1), enqueue(T + "pid")
    done = run_worker("--burst", "--max-memory-per-child", "100")
    assert done.returncode == 0, done.stderr
    assert Task.objects.get(id=leak.id).status == "COMPLETED"
    # The leaking child was retired after its task; each later task ran in a fresh
    # child that stayed under the limit.
    assert results([first]) == results([second])
    assert "over 100 MB" in done.stderr


def test_a_task_over_its_memory_limit_fails_alone(run_worker):
    greedy = enqueue(T + "allocate", {"mb": 400}, priority=1)
    modest = enqueue(T + "allocate", {"mb": 20})
    done = run_worker("--burst", "--task-memory-limit", "200")
    assert done.returncode == 0, done.stderr
    greedy = Task.objects.get(id=greedy.id)
    assert (greedy.status, greedy.error) == (
        "FAILED", "MemoryError: the task went over its memory limit of 200 MB",
    )  # fmt: skip
    assert results([modest]) == [20]


def test_the_debug_query_log_does_not_grow_in_children(run_worker, settings, monkeypatch):
    monkeypatch.setenv("DSQ_DEBUG", "1")
    for n in range(30):
        enqueue(T + "record", {"key": f"k{n}"}, priority=1)
    probe = enqueue(T + "queries_logged")
    done = run_worker("--burst", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert results([probe]) == [0]

"""The 0.1.10 API kept for code written against it: ``create_task`` and ``task_worker``."""

import subprocess
import sys
import uuid

import pytest

from django_simple_queue.exceptions import TaskNotAllowed, TaskNotFound
from django_simple_queue.models import Task
from django_simple_queue.utils import create_task
from tests.conftest import ROOT, worker_env

ADD = "tests.testapp.tasks.add"


@pytest.mark.django_db
def test_create_task_returns_the_id_of_a_queued_task_with_those_params():
    task_id = create_task(ADD, {"a": 1, "b": 2})

    assert isinstance(task_id, uuid.UUID)
    task = Task.objects.get()
    assert task.id == task_id
    assert (task.task_name, task.task_params, task.status) == (ADD, {"a": 1, "b": 2}, "QUEUED")
    assert (task.queue, task.priority, task.attempts, task.run_after) == ("default", 0, 0, None)


@pytest.mark.django_db
def test_create_task_accepts_an_empty_dict():
    task_id = create_task("tests.testapp.tasks.noop", {})

    assert Task.objects.get().task_params == {}
    assert Task.objects.get().id == task_id


@pytest.mark.django_db
@pytest.mark.parametrize("args", [None, [1, 2], '{"a": 1, "b": 2}', (("a", 1), ("b", 2)), 3])
def test_create_task_rejects_args_that_are_not_a_dict_and_writes_nothing(args):
    with pytest.raises(TypeError) as excinfo:
        create_task(ADD, args)

    # Exactly 0.1.10's exception, so code that catches it keeps working.
    assert excinfo.type is TypeError
    assert str(excinfo.value) == "args should be of type dict."
    assert Task.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("task_name", "error", "message"),
    [
        ("os.system", TaskNotAllowed, "Task 'os.system' is not allowed: it is never run."),
        (
            "json.dumps",
            TaskNotAllowed,
            "Task 'json.dumps' is not allowed: add it to DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, "
            "define it in the tasks module of an installed app, or declare it with @task in "
            "an installed app.",
        ),
        (
            "tests.testapp.tasks.missing",
            TaskNotFound,
            "Task 'tests.testapp.tasks.missing': module 'tests.testapp.tasks' has no "
            "attribute 'missing'.",
        ),
    ],
)
def test_create_task_rejects_a_task_that_may_not_run_and_writes_nothing(task_name, error, message):
    with pytest.raises(error) as excinfo:
        create_task(task_name, {"command": "true"})

    assert str(excinfo.value) == message
    assert Task.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_task_worker_is_an_alias_of_worker():
    first = create_task(ADD, {"a": 1, "b": 2})
    second = create_task(ADD, {"a": 20, "b": 22})

    process = subprocess.run(
        [sys.executable, "-m", "django", "task_worker", "--burst"],
        env=worker_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert process.returncode == 0, process.stderr
    outcomes = {task.id: (task.status, task.result, task.attempts) for task in Task.objects.all()}
    assert outcomes == {first: ("COMPLETED", 3, 1), second: ("COMPLETED", 42, 1)}

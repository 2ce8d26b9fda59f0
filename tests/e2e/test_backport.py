"""One TASKS setting, two frameworks: django.tasks and the django_tasks backport.

A project's own tasks may use ``django.tasks`` while its libraries (Wagtail,
for one) use the backport, which reads the same setting. Both kinds run on
one worker, and each framework's own API reads their results back. On
Django 5.2 the backport alone does. Without either, the rest of the package
works and only the backend refuses to import, naming the extra to install.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap
from types import ModuleType
from typing import Any

import pytest

from django_simple_queue import enqueue
from django_simple_queue.models import Task
from tests.conftest import ROOT, worker_env

pytestmark = pytest.mark.django_db(transaction=True)

needs_backport = pytest.mark.skipif(
    importlib.util.find_spec("django_tasks") is None,
    reason="the django_tasks backport is not installed (the test install brings it)",
)
needs_django_tasks = pytest.mark.skipif(
    importlib.util.find_spec("django.tasks") is None,
    reason="django.tasks needs Django 6.0 or later",
)

# Put first on PYTHONPATH, this makes every Python process (the worker's
# children too) see neither framework, as on Django 5.2 without the extra.
HIDE_FRAMEWORKS = '''\
import sys

HIDDEN = ("django.tasks", "django_tasks")


class HideTasksFrameworks:
    """A meta path finder that finds the tasks frameworks missing."""

    def find_spec(self, name, path=None, target=None):
        if any(name == hidden or name.startswith(hidden + ".") for hidden in HIDDEN):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, HideTasksFrameworks())
'''


def run_burst(run_worker) -> None:
    done = run_worker("--burst", "--queue", "default")
    assert done.returncode == 0, done.stderr
    assert "FAILED" not in done.stderr, done.stderr


def read_back(framework: ModuleType, enqueued: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """Fetch each result through *framework*'s own API, both ways; return the return values.

    ``enqueued`` maps a name to (task, the TaskResult its enqueue() returned).
    """
    returned = {}
    for name, (task, first) in enqueued.items():
        by_task = task.get_result(first.id)
        by_backend = framework.default_task_backend.get_result(first.id)
        for result in (by_task, by_backend):
            assert type(result) is framework.TaskResult, name
            assert result.status == framework.TaskResultStatus.SUCCESSFUL, name
            assert result.task.func is task.func, name
            assert len(result.worker_ids) == 1 and result.finished_at is not None, name
        assert by_task.return_value == by_backend.return_value, name
        returned[name] = by_task.return_value
    return returned


def enqueue_backport_tasks() -> dict[str, tuple[Any, Any]]:
    import django_tasks

    from tests.testapp import framework_tasks as ft

    enqueued = {
        "join": (ft.backport_join, ft.backport_join.enqueue(["a", "b", "c"], sep="+")),
        "square": (ft.backport_square, ft.backport_square.enqueue(7)),
        "describe": (ft.backport_describe, ft.backport_describe.enqueue(label="backport")),
    }
    for _, result in enqueued.values():
        assert type(result) is django_tasks.TaskResult
        assert result.status == django_tasks.TaskResultStatus.READY
    return enqueued


BACKPORT_RETURNS = {
    "join": "a+b+c",
    "square": 49,
    "describe": {"label": "backport", "attempt": 1, "context": "django_tasks.base"},
}


@needs_backport
@needs_django_tasks
def test_tasks_of_both_frameworks_run_on_one_worker_and_read_back_through_each(run_worker):
    import django.tasks
    import django_tasks

    from tests.testapp import framework_tasks as ft

    core = {
        "add": (ft.core_add, ft.core_add.enqueue(2, 3)),
        "describe": (ft.core_describe, ft.core_describe.enqueue("core", upper=True)),
    }
    for _, result in core.values():
        assert type(result) is django.tasks.TaskResult
    backport = enqueue_backport_tasks()
    assert Task.objects.count() == 5

    run_burst(run_worker)

    assert read_back(django.tasks, core) == {
        "add": 5,
        "describe": {"label": "CORE", "attempt": 1, "context": "django.tasks.base"},
    }
    assert read_back(django_tasks, backport) == BACKPORT_RETURNS
    assert list(Task.objects.values_list("status", flat=True)) == [Task.COMPLETED] * 5


@needs_backport
def test_backport_tasks_alone_run_and_read_back(run_worker):
    """What Django 5.2 has: the backport only (on 6.x it also runs beside django.tasks)."""
    import django_tasks

    backport = enqueue_backport_tasks()
    assert Task.objects.count() == 3

    run_burst(run_worker)

    assert read_back(django_tasks, backport) == BACKPORT_RETURNS
    assert list(Task.objects.values_list("status", flat=True)) == [Task.COMPLETED] * 3


# Run with neither framework importable: every module but the backend imports,
# the backend's ImportError names the extra, the system checks pass.
WITHOUT_FRAMEWORKS = textwrap.dedent(
    """
    import importlib, pkgutil
    import django
    django.setup()
    from django.core.management import call_command
    import django_simple_queue
    from django_simple_queue import frameworks

    assert frameworks.installed() == (), frameworks.installed()
    names = [info.name for info in pkgutil.walk_packages(
        django_simple_queue.__path__, "django_simple_queue.")]
    assert "django_simple_queue.backend" in names
    for name in names:
        if name != "django_simple_queue.backend":
            importlib.import_module(name)
    try:
        import django_simple_queue.backend
    except ImportError as exc:
        print("ImportError:", exc)
    else:
        raise AssertionError("the backend imported without a tasks framework")
    call_command("check")
    """
)


def without_frameworks_env(tmp_path) -> dict[str, str]:
    (tmp_path / "sitecustomize.py").write_text(HIDE_FRAMEWORKS)
    env = worker_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    return env


def test_without_either_framework_the_rest_works_and_the_backend_names_the_extra(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_FRAMEWORKS],
        env=without_frameworks_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert message.startswith("ImportError: "), done.stdout
    assert "pip install 'django-simple-queue[tasks]'" in message
    assert "Django 6.0" in message


def test_without_either_framework_the_worker_runs_plain_tasks(tmp_path):
    task = enqueue("tests.testapp.tasks.add", {"a": 2, "b": 3})
    done = subprocess.run(
        [sys.executable, "-m", "django", "worker", "--burst"],
        env=without_frameworks_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    task.refresh_from_db()
    assert (task.status, task.result) == (Task.COMPLETED, 5), done.stderr

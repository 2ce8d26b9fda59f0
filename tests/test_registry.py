import sys

import pytest

from django_simple_queue.exceptions import TaskNotAllowed
from django_simple_queue.registry import (
    allowed_patterns,
    check_allowed,
    matches_exception,
    resolve,
)
from tests.testapp import tasks


def test_default_allowlist_is_the_tasks_module_of_every_installed_app():
    assert "tests.testapp.tasks.*" in allowed_patterns()
    assert "django_simple_queue.tasks.*" in allowed_patterns()
    assert "django.contrib.auth.tasks.*" in allowed_patterns()


def test_resolve_returns_the_callable():
    assert resolve("tests.testapp.tasks.add") is tasks.add


@pytest.mark.parametrize(
    "name",
    ["os.system", "builtins.eval", "subprocess.run", "sys.exit", "importlib.import_module",
     "pickle.loads", "elsewhere.tasks.f", "tests.testapp.tasks._private",
     "tests.testapp.tasks.add.__globals__", "django_simple_queue.tasks.x"],
)  # fmt: skip
def test_names_outside_the_allowlist_are_refused_before_import(name, monkeypatch):
    imported = []
    monkeypatch.setattr("importlib.import_module", lambda *a: imported.append(a))
    with pytest.raises(TaskNotAllowed):
        resolve(name)
    assert imported == []


def test_unlisted_names_in_an_installed_app_run_only_if_declared_with_task(monkeypatch):
    pytest.importorskip("tests.testapp.tasks_framework", exc_type=ImportError)
    from tests.testapp import tasks_framework

    assert resolve("tests.testapp.tasks_framework.add") is tasks_framework.add
    with pytest.raises(TaskNotAllowed) as raised:
        resolve("tests.testapp.tasks_framework.plain")
    assert str(raised.value) == (
        "Task 'tests.testapp.tasks_framework.plain' is not allowed: add it to "
        "DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, define it in the tasks module of an installed app, "
        "or declare it with @task in an installed app."
    )
    with pytest.raises(TaskNotAllowed, match="or declare it with @task"):
        resolve("tests.testapp.models.Execution")


def test_a_task_outside_installed_apps_never_runs_even_once_imported(monkeypatch):
    pytest.importorskip("tests.testapp.tasks_framework", exc_type=ImportError)
    monkeypatch.delitem(sys.modules, "tests.outside_tasks", raising=False)
    with pytest.raises(TaskNotAllowed, match="or declare it with @task in an installed app"):
        resolve("tests.outside_tasks.double")
    assert "tests.outside_tasks" not in sys.modules  # refused before any import
    from tests import outside_tasks  # noqa: F401 - imported by the web process, say

    with pytest.raises(TaskNotAllowed, match="or declare it with @task in an installed app"):
        resolve("tests.outside_tasks.double")


def test_a_task_of_a_library_an_installed_apps_config_extends_runs(monkeypatch):
    pytest.importorskip("tests.testapp.tasks_framework", exc_type=ImportError)
    monkeypatch.delitem(sys.modules, "tests.library.jobs", raising=False)
    assert resolve("tests.library.jobs.triple").func(2) == 6
    with pytest.raises(TaskNotAllowed, match="or declare it with @task in an installed app"):
        resolve("tests.library.jobs.frameworks")  # imported, but not a @task


def test_setting_replaces_the_default(settings):
    settings.DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS = ["tests.testapp.tasks.add", "json.*"]
    assert resolve("json.dumps").__name__ == "dumps"
    check_allowed("tests.testapp.tasks.add")
    with pytest.raises(TaskNotAllowed) as raised:
        check_allowed("tests.testapp.tasks.fail")
    assert str(raised.value) == (
        "Task 'tests.testapp.tasks.fail' is not allowed: it is not in "
        "DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, which replaces the default (the tasks module of "
        "every installed app): add it there, or declare it with @task in an installed app."
    )


def test_denied_modules_stay_denied_even_when_listed(settings):
    settings.DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS = ["os.system", "subprocess.*", "builtins.eval"]
    for name in ("os.system", "subprocess.run", "builtins.eval"):
        with pytest.raises(TaskNotAllowed, match="it is never run"):
            check_allowed(name)


def test_a_callable_reexported_from_a_denied_module_is_refused(settings):
    settings.DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS = ["tests.testapp.reexport.*"]
    with pytest.raises(TaskNotAllowed) as raised:
        resolve("tests.testapp.reexport.system")
    assert str(raised.value) == (
        "Task 'tests.testapp.reexport.system' is not allowed: it comes from 'posix'."
    )


@pytest.mark.parametrize(
    ("name", "origin"),
    [
        ("tests.testapp.tasks.call_command", "django.core.management"),
        ("tests.testapp.tasks.dumps", "json"),
        ("tests.testapp.tasks.IntegrityError", "django.db.utils"),
    ],
)
def test_a_wildcard_admits_only_what_the_module_defines(name, origin):
    with pytest.raises(TaskNotAllowed) as raised:
        resolve(name)
    assert str(raised.value) == (
        f"Task {name!r} is not allowed: it is defined in {origin!r}, not in "
        f"'tests.testapp.tasks'; list {name!r} in DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS to allow it."
    )


def test_an_imported_callable_listed_exactly_is_allowed(settings):
    settings.DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS = ["tests.testapp.tasks.call_command"]
    from django.core.management import call_command

    assert resolve("tests.testapp.tasks.call_command") is call_command


@pytest.mark.parametrize(
    ("exc", "paths", "matches"),
    [
        (ConnectionResetError(), ["builtins.ConnectionError"], True),  # a subclass
        (ConnectionResetError(), ["builtins.ConnectionResetError"], True),
        (ValueError(), ["builtins.ConnectionError", "builtins.Exception"], True),
        (ValueError(), ["builtins.TypeError"], False),
        (ValueError(), [], False),
        (ValueError(), ["tests.never_imported.Boom"], False),
    ],
)
def test_retry_on_matches_along_the_exception_classes_mro(exc, paths, matches):
    assert matches_exception(exc, paths) is matches
    assert "tests.never_imported" not in sys.modules

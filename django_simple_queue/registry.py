"""Dotted path -> callable, guarded by the allowlist.

The allowlist is checked on the *string* before anything is imported, because
importing a module runs its code: a row inserted straight into the table must
not be able to make the worker import an arbitrary module.
"""

import importlib
from typing import Any

from django.apps import apps

from django_simple_queue import frameworks
from django_simple_queue.conf import settings
from django_simple_queue.exceptions import TaskNotAllowed, TaskNotFound

# Modules whose callables never run, whatever the allowlist says: they run
# shell commands, evaluate code or load arbitrary objects.
DENIED_MODULES = frozenset(
    {
        "builtins", "os", "posix", "nt", "subprocess", "sys", "shutil", "importlib",
        "pickle", "marshal", "ctypes", "code", "codeop", "runpy", "pty", "socket",
        "multiprocessing", "signal", "pdb", "bdb", "webbrowser", "timeit", "cProfile",
        "profile", "trace", "asyncio", "django_simple_queue",
    }
)  # fmt: skip


def allowed_patterns() -> list[str]:
    """Return the allowlist: the setting, or ``<app>.tasks.*`` for every installed app."""
    configured = settings.ALLOWED_TASKS
    if configured is not None:
        return list(configured)
    return [f"{config.name}.tasks.*" for config in apps.get_app_configs()]


def _matches(task_name: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        module, _, attribute = task_name.rpartition(".")
        return module == pattern[:-2] and bool(attribute)
    return task_name == pattern


def _listed_exactly(task_name: str) -> bool:
    return any(task_name == pattern for pattern in allowed_patterns())


def _check_shape(task_name: str) -> None:
    """Refuse what is not a dotted path, or names a denied module or a private name."""
    if not isinstance(task_name, str) or not task_name:
        raise TaskNotAllowed(f"Task name must be a non-empty string, not {task_name!r}.")
    module, _, attribute = task_name.rpartition(".")
    parts = task_name.split(".")
    if not module or not all(part.isidentifier() for part in parts):
        raise TaskNotAllowed(f"Task {task_name!r} is not a dotted path like 'app.tasks.func'.")
    if parts[0] in DENIED_MODULES or any(part.startswith("_") for part in parts):
        raise TaskNotAllowed(f"Task {task_name!r} is not allowed: it is never run.")


def _not_listed(task_name: str) -> TaskNotAllowed:
    if settings.ALLOWED_TASKS is not None:
        return TaskNotAllowed(
            f"Task {task_name!r} is not allowed: it is not in DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, "
            "which replaces the default (the tasks module of every installed app): add it "
            "there, or declare it with @task in an installed app."
        )
    return TaskNotAllowed(
        f"Task {task_name!r} is not allowed: add it to DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, "
        "define it in the tasks module of an installed app, or declare it with @task in an "
        "installed app."
    )


def check_allowed(task_name: str) -> None:
    """Raise ``TaskNotAllowed`` unless *task_name* may run; import nothing."""
    _check_shape(task_name)
    if not any(_matches(task_name, pattern) for pattern in allowed_patterns()):
        raise _not_listed(task_name)


def may_import(task_name: str) -> bool:
    """May an unlisted *task_name* be imported to see whether it is a ``@task``?

    Only inside the package of an installed app, or of an app whose config an
    installed app's config extends: a library's tasks that another app ships,
    such as modelsearch's under Wagtail's ``wagtail.search``. The rule is the
    same in every process of a project, so what enqueues also runs.
    """
    module_name = task_name.rpartition(".")[0]
    return any(
        module_name == package or module_name.startswith(package + ".")
        for package in _app_packages()
    )


def _app_packages() -> set[str]:
    if not apps.ready:
        return set()
    packages = set()
    for config in apps.get_app_configs():
        packages.add(config.name)
        for cls in type(config).__mro__:
            declared = vars(cls).get("name")
            if isinstance(declared, str) and declared:
                packages.add(declared)
    return packages


def resolve(task_name: str) -> Any:
    """Return the callable (or ``@task`` object) *task_name* names, checking the allowlist.

    An unlisted name is imported only if ``may_import()`` says so, and then
    runs only if what it names was declared with ``@task`` (either framework):
    that declaration is the project saying "this runs in the background".
    """
    _check_shape(task_name)
    listed = any(_matches(task_name, pattern) for pattern in allowed_patterns())
    if not listed and not may_import(task_name):
        raise _not_listed(task_name)
    try:
        func = _import(task_name)
    except TaskNotFound:
        if listed:
            raise
        raise _not_listed(task_name) from None
    if frameworks.of(func) is not None:
        origin = func.func.__module__
    elif listed:
        origin = getattr(func, "__module__", None) or ""
    else:
        raise _not_listed(task_name)
    module_name = task_name.rpartition(".")[0]
    if origin.split(".")[0] in DENIED_MODULES:
        # A tasks module that did ``from os import system`` re-exports it.
        raise TaskNotAllowed(
            f"Task {task_name!r} is not allowed: it comes from {origin.split('.')[0]!r}."
        )
    if origin != module_name and not _listed_exactly(task_name):
        # ``module.*`` means what the module defines, not everything it imports:
        # ``from django.core.management import call_command`` in a tasks module
        # must not make call_command (and so any command) runnable.
        raise TaskNotAllowed(
            f"Task {task_name!r} is not allowed: it is defined in {origin!r}, not in "
            f"{module_name!r}; list {task_name!r} in DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS to "
            "allow it."
        )
    return func


def _import(task_name: str) -> Any:
    module_name, _, attribute = task_name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise TaskNotFound(f"Task {task_name!r}: no module named {exc.name!r}.") from exc
    try:
        func = getattr(module, attribute)
    except AttributeError:
        raise TaskNotFound(
            f"Task {task_name!r}: module {module_name!r} has no attribute {attribute!r}."
        ) from None
    if not callable(func) and frameworks.of(func) is None:
        raise TaskNotFound(f"Task {task_name!r} is not callable: it is {type(func).__name__}.")
    return func


def class_path(cls: type) -> str:
    """Return ``module.QualName`` for *cls*, as stored in ``retry_on`` and ``errors``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _exception_class(path: str) -> type[BaseException] | None:
    """Import the exception class a dotted path names, or return None."""
    module_name, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name or "builtins"), name)
    except (ImportError, AttributeError, ValueError):
        return None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def exception_path(value: Any) -> str:
    """Return ``module.QualName`` for an exception class, or a dotted path naming one."""
    if isinstance(value, str):
        value = _exception_class(value) or value
    if isinstance(value, type) and issubclass(value, BaseException):
        return class_path(value)
    raise TaskNotFound(f"{value!r} is not an exception class or the dotted path of one.")


def matches_exception(exc: BaseException, paths: list[str]) -> bool:
    """Is *exc* an instance of one of the exception classes *paths* name?

    Matched by name along the class's MRO, with the paths as ``enqueue()``
    stores them: nothing is imported, so a row's ``retry_on`` cannot make a
    worker's process import a module.
    """
    names = set(paths)
    return any(class_path(cls) in names for cls in type(exc).__mro__)

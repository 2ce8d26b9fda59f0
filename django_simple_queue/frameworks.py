"""Django's tasks framework, in whichever forms are installed.

The framework exists twice: as ``django.tasks`` (Django 6.0 and later) and as
the ``django_tasks`` backport, which libraries such as Wagtail import even on
Django 6. Both read the same ``TASKS`` setting, have the same classes under
the same names and differ only in which module they live in. ``Framework``
names one of them, so the backend and the worker can build each framework's
own ``TaskResult`` and send its own signals without importing either directly.
"""

import functools
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

PACKAGES = ("django.tasks", "django_tasks")
EXTRA_HINT = (
    "Django's tasks framework is not installed: it needs Django 6.0 or later, or the "
    "django-tasks backport (pip install 'django-simple-queue[tasks]')."
)


@dataclass(frozen=True)
class Framework:
    """One installed form of the framework, and the classes it defines."""

    name: str  # "django.tasks" or "django_tasks"
    package: ModuleType
    base: ModuleType  # Task, TaskResult, TaskResultStatus, TaskError, TaskContext
    exceptions: ModuleType
    signals: ModuleType
    BaseTaskBackend: Any

    def __getattr__(self, name: str) -> Any:
        """``framework.Task``, ``framework.TaskResult``... from its ``base`` module."""
        return getattr(self.base, name)

    @property
    def InvalidTask(self) -> type[Exception]:  # noqa: N802 - named as Django names it
        # The backport calls it InvalidTaskError.
        return getattr(self.exceptions, "InvalidTask", None) or self.exceptions.InvalidTaskError

    @property
    def TaskResultDoesNotExist(self) -> type[Exception]:  # noqa: N802
        return self.exceptions.TaskResultDoesNotExist  # type: ignore[no-any-return]

    def normalize_json(self, value: Any) -> Any:
        """The framework's own conversion of arguments and results; TypeError if not JSON."""
        return self.base.normalize_json(value)

    def backend_for(self, obj: Any) -> bool:
        """Did this framework's ``task_backends`` create *obj*?"""
        return any(backend is obj for backend in self.package.task_backends.all(True))


def _load(name: str) -> Framework | None:
    try:
        package = importlib.import_module(name)
    except ImportError:
        return None
    return Framework(
        name=name,
        package=package,
        base=importlib.import_module(f"{name}.base"),
        exceptions=importlib.import_module(f"{name}.exceptions"),
        signals=importlib.import_module(f"{name}.signals"),
        BaseTaskBackend=importlib.import_module(f"{name}.backends.base").BaseTaskBackend,
    )


@functools.cache
def installed() -> tuple[Framework, ...]:
    """The installed forms, ``django.tasks`` first."""
    return tuple(found for found in map(_load, PACKAGES) if found is not None)


def primary() -> Framework:
    """``django.tasks`` where Django has it, else the backport; ImportError if neither."""
    found = installed()
    if not found:
        raise ImportError(EXTRA_HINT)
    return found[0]


def of(obj: Any) -> Framework | None:
    """The framework whose ``Task`` *obj* is, or None for anything else."""
    for framework in installed():
        if isinstance(obj, framework.Task):
            return framework
    return None

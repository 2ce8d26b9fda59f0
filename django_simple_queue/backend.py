"""``SimpleQueueBackend``: Django's tasks framework on this queue's table and worker.

    TASKS = {"default": {"BACKEND": "django_simple_queue.backend.SimpleQueueBackend"}}

``enqueue`` writes one task row in the caller's transaction; ``manage.py
worker`` runs it with the same retries, time limits and recovery as any other
row; ``get_result`` reads the row back as a ``TaskResult``. The same class
serves ``django.tasks`` and the ``django_tasks`` backport, which both read
``TASKS``: each call works out which framework it is serving from the task it
is given, or from the row it reads.
"""

import inspect
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import router

from django_simple_queue import frameworks
from django_simple_queue.conf import settings
from django_simple_queue.exceptions import EnqueueError
from django_simple_queue.jsonvalue import problem
from django_simple_queue.registry import exception_path, resolve

try:
    from django_simple_queue.models import BACKEND_MAX_LENGTH, Task
except RuntimeError as exc:  # Django's "isn't in an application in INSTALLED_APPS"
    raise ImproperlyConfigured(
        "SimpleQueueBackend keeps tasks in django_simple_queue's table: add "
        "'django_simple_queue' to INSTALLED_APPS and run migrate."
    ) from exc

logger = logging.getLogger("django_simple_queue.backend")

_PRIMARY = frameworks.primary()  # ImportError naming the extra when neither is installed

# Our statuses as the framework's: CANCELLED has no counterpart and reads as FAILED.
STATUSES = {
    Task.QUEUED: "READY",
    Task.PROGRESS: "RUNNING",
    Task.COMPLETED: "SUCCESSFUL",
    Task.FAILED: "FAILED",
    Task.CANCELLED: "FAILED",
}
# What an error history entry names when the failure was not an exception the
# task raised (a worker stop, a row that could not be read).
NOT_AN_EXCEPTION = "django_simple_queue.exceptions.TaskFailed"
WORKER_IDS_MAX = 1000  # attempts a TaskResult lists


def _task_class(base: type) -> type:
    """The framework's ``Task`` with this queue's own options, for ``@task(...)``."""

    @dataclass(frozen=True, slots=True, kw_only=True)
    class SimpleQueueTask(base):  # type: ignore[valid-type,misc]
        max_attempts: int | None = None  # runs in all; None: DJANGO_SIMPLE_QUEUE_MAX_ATTEMPTS
        timeout: int | None = None  # seconds; None: the worker's limit
        retry_on: tuple[Any, ...] | None = None  # exception classes retried; None: any

    return SimpleQueueTask


# One per installed framework, importable by name so that tasks pickle.
SimpleQueueTask = _task_class(_PRIMARY.Task)
SimpleQueueTask.__qualname__ = SimpleQueueTask.__name__ = "SimpleQueueTask"
TASK_CLASSES = {_PRIMARY.name: SimpleQueueTask}
if len(frameworks.installed()) > 1:
    BackportTask = _task_class(frameworks.installed()[1].Task)
    BackportTask.__qualname__ = BackportTask.__name__ = "BackportTask"
    TASK_CLASSES[frameworks.installed()[1].name] = BackportTask


class SimpleQueueBackend(_PRIMARY.BaseTaskBackend):  # type: ignore[name-defined,misc]
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    @property
    def framework(self) -> frameworks.Framework:
        """The framework whose ``task_backends`` made this instance (the primary if none)."""
        for framework in frameworks.installed():
            if framework.backend_for(self):
                return framework
        return _PRIMARY

    @property  # type: ignore[override]
    def task_class(self) -> type:
        """What ``@task`` builds: the framework's Task, plus max_attempts/timeout/retry_on."""
        return TASK_CLASSES[self.framework.name]

    @property
    def database(self) -> str:
        return self.options.get("DATABASE") or router.db_for_write(Task)  # type: ignore[no-any-return]

    def validate_task(self, task: Any) -> None:
        framework = frameworks.of(task) or self.framework
        framework.BaseTaskBackend.validate_task(self, task)
        invalid = framework.InvalidTask
        if len(task.module_path) > Task.TASK_NAME_MAX_LENGTH:
            raise invalid(
                f"The task's module path is over {Task.TASK_NAME_MAX_LENGTH} characters."
            )
        if not task.queue_name or len(task.queue_name) > Task.QUEUE_MAX_LENGTH:
            raise invalid(f"Queue names must be 1 to {Task.QUEUE_MAX_LENGTH} characters.")
        if len(self.alias) > BACKEND_MAX_LENGTH:
            raise invalid(f"Backend aliases must be at most {BACKEND_MAX_LENGTH} characters.")
        max_attempts = getattr(task, "max_attempts", None)
        timeout = getattr(task, "timeout", None)
        retry_on = getattr(task, "retry_on", None)
        if max_attempts is not None and (not _whole(max_attempts) or max_attempts < 1):
            raise invalid(f"max_attempts must be a positive whole number, not {max_attempts!r}.")
        if timeout is not None and (not _whole(timeout) or timeout < 1):
            raise invalid(f"timeout must be a positive whole number of seconds, not {timeout!r}.")
        if retry_on is not None:
            try:
                [exception_path(value) for value in retry_on]
            except (EnqueueError, TypeError) as exc:
                raise invalid(f"retry_on must list exception classes: {exc}") from None

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        framework = frameworks.of(task)
        if framework is None:
            raise TypeError(f"{task!r} is not a task of Django's tasks framework.")
        self.validate_task(task)
        args, kwargs = _as_json(framework, list(args), dict(kwargs))
        _check_runnable(task, framework, args, kwargs)
        retry_on = getattr(task, "retry_on", None)
        row = Task(
            id=uuid.uuid4(),
            task_name=task.module_path,
            task_params=kwargs,
            args=args,
            queue=task.queue_name,
            priority=task.priority,
            run_after=task.run_after,
            backend=self.alias,
            max_attempts=getattr(task, "max_attempts", None) or settings.MAX_ATTEMPTS,
            timeout=getattr(task, "timeout", None),
            retry_on=None if retry_on is None else [exception_path(value) for value in retry_on],
        )
        row.save(force_insert=True, using=self.database)
        result = task_result(row, task, framework)
        framework.signals.task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: Any) -> Any:
        missing = self.framework.TaskResultDoesNotExist
        try:
            pk = uuid.UUID(str(result_id))
        except ValueError:
            raise missing(f"No task has the id {result_id!r}.") from None
        row = Task.objects.using(self.database).filter(pk=pk).first()
        if row is None:
            raise missing(f"No task has the id {result_id!r}.")
        try:
            task = resolve(row.task_name)
        except EnqueueError as exc:
            raise missing(f"Task {result_id} cannot be read: {exc}") from None
        framework = frameworks.of(task)
        if framework is None:
            raise missing(f"Task {result_id} is not a task of Django's tasks framework.")
        return task_result(row, task, framework)


# A subclass of one framework's base class, and registered as one of the other's, so
# that isinstance() checks in either framework's code hold.
for _other in frameworks.installed()[1:]:
    _other.BaseTaskBackend.register(SimpleQueueBackend)


def _as_json(framework: Any, args: list[Any], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """The arguments as the framework converts them; TypeError naming the one that cannot be."""
    try:
        args, kwargs = framework.normalize_json(args), framework.normalize_json(kwargs)
    except TypeError as exc:  # Django's text ("Unsupported type: ...") names no argument: add it
        found = problem(args, "args") or problem(kwargs, "kwargs")
        detail = f"{found} ({exc})" if found else str(exc)
        raise TypeError(f"Task arguments cannot be stored: {detail}.") from None
    found = problem(args, "args") or problem(kwargs, "kwargs")
    if found:
        raise TypeError(f"Task arguments cannot be stored: {found}.")
    return args, kwargs


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_runnable(task: Any, framework: frameworks.Framework, args: Any, kwargs: Any) -> None:
    """Refuse at enqueue what the worker would refuse: not allowed, or arguments that don't fit."""
    try:
        resolve(task.module_path)
    except EnqueueError as exc:
        raise framework.InvalidTask(str(exc)) from None
    try:
        signature = inspect.signature(task.func)
    except (TypeError, ValueError):
        return
    context = [None] if task.takes_context else []
    try:
        signature.bind(*context, *args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"Arguments do not fit {task.module_path}{signature}: {exc}.") from None


def task_result(
    row: Task, task: Any, framework: frameworks.Framework, attempt: int | None = None
) -> Any:
    """The framework's ``TaskResult`` for *row*, whose task is *task*.

    With *attempt*, errors and worker ids stop at that attempt, even if a later
    one has begun since: the result a ``task_finished`` for that attempt carries.
    """
    up_to = attempt if attempt is not None and attempt < (row.attempts or 0) else None
    try:
        # The options the row was enqueued with, as the task read back.
        task = task.using(
            priority=row.priority,
            queue_name=row.queue,
            run_after=row.run_after,
            backend=row.backend or None,
        )
    except Exception:  # noqa: BLE001 - settings changed since: keep the task as declared
        pass
    result = framework.TaskResult(
        task=task,
        id=str(row.id),
        # A status no worker writes (set by hand) will never run: it reads as FAILED.
        status=framework.TaskResultStatus[STATUSES.get(row.status, "FAILED")],
        enqueued_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.completed_at if row.status in Task.TERMINAL else None,
        last_attempted_at=row.started_at,
        args=row.args if isinstance(row.args, list) else [],
        kwargs=row.task_params if isinstance(row.task_params, dict) else {},
        backend=row.backend or task.backend,
        errors=[
            framework.TaskError(exception_class_path=path, traceback=traceback)
            for path, traceback in _errors(row, up_to)
        ],
        worker_ids=_worker_ids(row)[:up_to],
    )
    if row.status == Task.COMPLETED:
        object.__setattr__(result, "_return_value", row.result)
    return result


def _history(row: Task) -> list[dict[str, Any]]:
    """The row's failed attempts, each with a whole-number ``attempt`` (others are skipped)."""
    errors = row.errors if isinstance(row.errors, list) else []
    return [
        entry
        for entry in errors
        if isinstance(entry, dict)
        and (entry.get("attempt") is None or type(entry.get("attempt")) is int)
    ]


def _errors(row: Task, up_to: int | None = None) -> list[tuple[str, str]]:
    """(exception class path, traceback) per failed attempt, oldest first (to *up_to*)."""
    history = _history(row)
    if up_to is not None:
        history = [entry for entry in history if (entry.get("attempt") or 0) <= up_to]
    errors = [
        (_text(entry, "exception") or NOT_AN_EXCEPTION, _entry_text(entry)) for entry in history
    ]
    failed_without_entry = row.status == Task.FAILED and (
        not history or history[-1].get("attempt") != row.attempts
    )
    if up_to is None and (failed_without_entry or row.status == Task.CANCELLED):
        # Failed outside any attempt's run, or cancelled: no exception, only the reason.
        reason = row.traceback or row.error
        if reason:
            errors.append((NOT_AN_EXCEPTION, reason))
    return errors


def _text(entry: dict[str, Any], key: str) -> str:
    """*entry*'s *key* if it is text (a history written by hand may hold anything)."""
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _entry_text(entry: dict[str, Any]) -> str:
    return _text(entry, "traceback") or _text(entry, "error")


def _worker_ids(row: Task) -> list[str]:
    """One entry per attempt made (so ``TaskResult.attempts`` is the row's count).

    Failed attempts name their worker in the error history; the current or last
    attempt is the row's ``worker_id``; a rescue records the lost worker's
    attempt. An attempt nobody recorded is an empty string. A row with more
    than ``WORKER_IDS_MAX`` attempts (written by hand) lists its latest ones.
    """
    by_attempt = {entry.get("attempt"): _text(entry, "worker") for entry in _history(row)}
    attempts = row.attempts or 0
    if row.worker_id is not None and attempts:
        by_attempt[attempts] = str(row.worker_id)
    first = max(1, attempts - WORKER_IDS_MAX + 1)
    return [by_attempt.get(attempt, "") for attempt in range(first, attempts + 1)]

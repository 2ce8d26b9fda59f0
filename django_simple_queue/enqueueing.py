"""``enqueue()``: validate everything, then insert in the caller's transaction."""

import datetime
import inspect
import json
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from django_simple_queue import frameworks, jsonvalue
from django_simple_queue.conf import settings
from django_simple_queue.exceptions import EnqueueError, InvalidParams
from django_simple_queue.models import Task
from django_simple_queue.registry import exception_path, resolve


def validate_params(params: Any) -> dict[str, Any]:
    """Return *params* as a dict of JSON values, or raise ``InvalidParams``."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidParams(
            f"Task params must be a dict of keyword arguments, not {type(params).__name__}."
        )
    found = jsonvalue.problem(params, "params")
    if found:
        raise InvalidParams(f"Task params are not JSON: {found}.")
    return json.loads(json.dumps(params))


def _check_signature(task_name: str, func: Any, params: dict[str, Any]) -> None:
    """Refuse params the callable cannot take, so the mistake surfaces here, not in the worker."""
    context = []
    if frameworks.of(func) is not None:  # a @task: the worker calls its function
        context = [None] if func.takes_context else []
        func = func.func
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return  # some builtins and C callables have no signature to check against
    try:
        signature.bind(*context, **params)
    except TypeError as exc:
        raise InvalidParams(f"Task params do not fit {task_name}{signature}: {exc}.") from None


def _run_after(run_after: datetime.datetime | None, delay: Any) -> datetime.datetime | None:
    if run_after is not None and delay is not None:
        raise EnqueueError("Pass run_after or delay, not both.")
    if delay is not None:
        if isinstance(delay, bool) or not isinstance(delay, (datetime.timedelta, int, float)):
            raise EnqueueError(
                f"delay must be a timedelta or a number of seconds, not {type(delay).__name__}."
            )
        if not isinstance(delay, datetime.timedelta):
            delay = datetime.timedelta(seconds=delay)
        return timezone.now() + delay
    if run_after is not None and not isinstance(run_after, datetime.datetime):
        raise EnqueueError(
            f"run_after must be an aware datetime, not {type(run_after).__name__} (a timedelta "
            "or a number of seconds goes in delay)."
        )
    if run_after is not None and timezone.is_naive(run_after):
        raise EnqueueError("run_after must be an aware datetime.")
    return run_after


def _check_options(
    task_name: str, queue: str, priority: Any, max_attempts: Any, timeout: Any
) -> None:
    if len(task_name) > Task.TASK_NAME_MAX_LENGTH:
        raise EnqueueError(
            f"Task name is {len(task_name)} characters; at most {Task.TASK_NAME_MAX_LENGTH} fit."
        )
    if not queue or len(queue) > Task.QUEUE_MAX_LENGTH:
        raise EnqueueError(f"Queue name must be 1 to {Task.QUEUE_MAX_LENGTH} characters.")
    if not isinstance(priority, int) or not -32768 <= priority <= 32767:
        raise EnqueueError(f"priority must be an integer from -32768 to 32767, not {priority!r}.")
    if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 1):
        raise EnqueueError(f"max_attempts must be a positive integer, not {max_attempts!r}.")
    if timeout is not None and (not isinstance(timeout, int) or timeout < 1):
        raise EnqueueError(f"timeout must be a positive number of seconds, not {timeout!r}.")


def enqueue(
    task_name: str,
    params: dict[str, Any] | None = None,
    *,
    queue: str = "default",
    priority: int = 0,
    run_after: datetime.datetime | None = None,
    delay: float | datetime.timedelta | None = None,
    max_attempts: int | None = None,
    timeout: int | None = None,
    retry_on: list[Any] | None = None,
    on_commit: bool = False,
    using: str | None = None,
) -> Task:
    """Validate a task and insert it; on bad input raise ``EnqueueError`` and insert nothing.

    ``retry_on`` lists the exception classes (or their dotted paths) that are
    retried while attempts remain; others fail at once. Unset, any is retried.

    The insert joins the caller's transaction. With ``on_commit=True`` it is
    deferred until that transaction commits, and the returned task is not yet
    saved (its ``id`` is already final).
    """
    if isinstance(task_name, str):
        _check_options(task_name, queue, priority, max_attempts, timeout)
    if retry_on is not None and not isinstance(retry_on, (list, tuple)):
        raise EnqueueError(f"retry_on must be a list of exception classes, not {retry_on!r}.")
    params = validate_params(params)
    _check_signature(task_name, resolve(task_name), params)
    task = Task(
        id=uuid.uuid4(),
        task_name=task_name,
        task_params=params,
        queue=queue,
        priority=priority,
        run_after=_run_after(run_after, delay),
        max_attempts=max_attempts or settings.MAX_ATTEMPTS,
        timeout=timeout,
        retry_on=None if retry_on is None else [exception_path(value) for value in retry_on],
    )
    if on_commit:
        transaction.on_commit(lambda: task.save(force_insert=True, using=using), using=using)
    else:
        task.save(force_insert=True, using=using)
    return task

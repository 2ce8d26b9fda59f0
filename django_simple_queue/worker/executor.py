"""Run one task in the current process and describe what happened.

Nothing here touches the queue's tables: the outcome goes back to the
supervisor, which records it. Every failure becomes an ``Outcome``; the only
exceptions that escape are the ones that should end the process
(``SystemExit``, ``KeyboardInterrupt``).
"""

import asyncio
import inspect
import json
import traceback as tb
from dataclasses import dataclass
from typing import Any

from django_simple_queue.jsonvalue import problem, safe_text
from django_simple_queue.models import Task
from django_simple_queue.registry import class_path, matches_exception, resolve


@dataclass(frozen=True)
class Outcome:
    """The terminal status of one run, with its result or error."""

    status: str
    result: Any = None
    error: str = ""
    traceback: str = ""
    exception: str = ""  # dotted path of the exception's class, for the error history
    retryable: bool = False  # may run again while attempts remain


def describe(exc: BaseException) -> str:
    """Return ``ClassName: message`` on one line, even when ``str(exc)`` itself raises."""
    name = type(exc).__qualname__
    try:
        message = str(exc)
    except Exception as problem:  # noqa: BLE001 - a broken __str__ must not escape
        message = f"<str() of the exception raised {type(problem).__name__}>"
    message = " ".join(message.split())
    return safe_text(f"{name}: {message}" if message else name)


def _call(func: Any, params: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(func):
        return asyncio.run(func(**params))
    value = func(**params)
    if inspect.isgenerator(value):
        # 0.1.10 ran generator tasks for their yielded values: keep them all.
        return list(value)
    if inspect.iscoroutine(value):
        return asyncio.run(value)
    return value


def _as_json(value: Any) -> Any:
    """Return *value* as it will read back from the JSON column, or raise TypeError."""
    found = problem(value, "the return value")
    if found:
        raise TypeError(f"The result cannot be stored as JSON: {found}")
    return json.loads(json.dumps(value))


def failed(exc: BaseException, retryable: bool, traceback: str = "") -> Outcome:
    """Return the FAILED outcome for *exc*."""
    return Outcome(
        Task.FAILED,
        error=describe(exc),
        traceback=safe_text(traceback),
        exception=class_path(type(exc)),
        retryable=retryable,
    )


def execute(task_name: str, params: Any, retry_on: list[str] | None = None) -> Outcome:
    """Resolve *task_name* (allowlist first), call it with *params* and report.

    A name that does not resolve, params that are not an object and a result
    that cannot be stored fail for good: running again would change nothing.
    What the call raises is retried when ``retry_on`` is None or names its class.
    """
    try:
        if not isinstance(params, dict):
            raise TypeError(f"task_params must be a JSON object, not {type(params).__name__}")
        func = resolve(task_name)
    except Exception as exc:  # noqa: BLE001 - every task failure is an outcome
        return failed(exc, False, tb.format_exc())
    try:
        value = _call(func, params)
    except Exception as exc:  # noqa: BLE001
        retryable = retry_on is None or matches_exception(exc, retry_on)
        return failed(exc, retryable, tb.format_exc())
    try:
        return Outcome(Task.COMPLETED, result=_as_json(value))
    except TypeError as exc:
        return failed(exc, False, tb.format_exc())

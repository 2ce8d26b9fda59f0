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
from django_simple_queue.registry import resolve


@dataclass(frozen=True)
class Outcome:
    """The terminal status of one run, with its result or error."""

    status: str
    result: Any = None
    error: str = ""
    traceback: str = ""


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


def execute(task_name: str, params: Any) -> Outcome:
    """Resolve *task_name* (allowlist first), call it with *params* and report."""
    try:
        if not isinstance(params, dict):
            raise TypeError(f"task_params must be a JSON object, not {type(params).__name__}")
        func = resolve(task_name)
        result = _as_json(_call(func, params))
    except Exception as exc:  # noqa: BLE001 - every task failure is an outcome
        return Outcome(Task.FAILED, error=describe(exc), traceback=safe_text(tb.format_exc()))
    return Outcome(Task.COMPLETED, result=result)

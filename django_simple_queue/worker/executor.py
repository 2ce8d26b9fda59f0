"""Run one task in the current process and describe what happened.

Nothing here touches the queue's tables: the outcome goes back to the
supervisor, which records it. Every failure becomes an ``Outcome``, a task's
``sys.exit()`` and ``raise KeyboardInterrupt`` included: the child ignores
SIGINT and dies of SIGTERM without raising, so those two only come from the
task's own code, and its error should say so rather than end the process.
"""

import asyncio
import inspect
import json
import traceback as tb
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django_simple_queue.jsonvalue import problem, safe_text
from django_simple_queue.models import Task
from django_simple_queue.registry import class_path, matches_exception, resolve
from django_simple_queue.worker import framework_task

# What a task's call may raise and the worker records as the task's failure.
TASK_FAILURES = (Exception, SystemExit, KeyboardInterrupt)


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


def _call(func: Any, args: list[Any], params: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(func):
        return asyncio.run(func(*args, **params))
    value = func(*args, **params)
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


def _outcome(
    call: Callable[[], Any], retry_on: list[str] | None, convert: Callable[[Any], Any] = _as_json
) -> Outcome:
    """Call; a raise is retried per *retry_on*, a value *convert* refuses fails for good."""
    try:
        value = call()
    except TASK_FAILURES as exc:  # every task failure is an outcome
        retryable = retry_on is None or matches_exception(exc, retry_on)
        return failed(exc, retryable, tb.format_exc())
    try:
        return Outcome(Task.COMPLETED, result=convert(value))
    except TypeError as exc:
        return failed(exc, False, tb.format_exc())


def run(
    task_name: str,
    params: Any,
    retry_on: list[str] | None = None,
    args: Any = None,
    task_id: uuid.UUID | None = None,
    using: str | None = None,
) -> tuple[Outcome, Callable[[], None] | None]:
    """Resolve *task_name* (allowlist first), call it with *args* and *params*, and report.

    Returns the outcome and what to do once the supervisor has it: send
    ``task_finished`` for a task of Django's tasks framework, None otherwise.
    A name that does not resolve, arguments of the wrong shape and a result
    that cannot be stored fail for good: running again would change nothing.
    What the call raises is retried when ``retry_on`` is None or names its class.
    """
    args = [] if args is None else args
    try:
        if not isinstance(params, dict):
            raise TypeError(f"task_params must be a JSON object, not {type(params).__name__}")
        if not isinstance(args, list):
            raise TypeError(f"args must be a JSON list, not {type(args).__name__}")
        func = resolve(task_name)
    except Exception as exc:  # noqa: BLE001
        return failed(exc, False, tb.format_exc()), None
    if framework_task.is_task(func):
        return _run_framework_task(func, task_id, args, params, retry_on, using)
    return _outcome(lambda: _call(func, args, params), retry_on), None


def _run_framework_task(
    task: Any, task_id: Any, args: list[Any], params: dict[str, Any], retry_on: Any, using: Any
) -> tuple[Outcome, Callable[[], None] | None]:
    try:
        result = framework_task.start(task, task_id, using)  # reads the row: the database
    except Exception as exc:  # noqa: BLE001 - may be back next time
        return failed(exc, True, tb.format_exc()), None
    positional = [*framework_task.context(task, result), *args]
    raised: list[BaseException] = []  # for task_finished, whose receivers read exc_info()

    def call() -> Any:
        try:
            return _call(task.func, positional, params)
        except TASK_FAILURES as exc:
            raised.append(exc)
            raise

    outcome = _outcome(
        call, retry_on, lambda value: _as_json(framework_task.normalize(task, value))
    )
    return outcome, lambda: framework_task.finish(
        task, result, outcome, raised[0] if raised else None
    )


def execute(
    task_name: str, params: Any, retry_on: list[str] | None = None, **options: Any
) -> Outcome:
    """``run()``, then at once what follows the outcome; return the outcome."""
    outcome, then = run(task_name, params, retry_on, **options)
    if then is not None:
        then()
    return outcome

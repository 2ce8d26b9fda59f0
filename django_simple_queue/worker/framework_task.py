"""What running a task of Django's tasks framework adds: its context and its signals.

The row is read back before the call, so the ``TaskResult`` that the context
and ``task_started`` carry is the one ``get_result()`` would return at that
moment: ``RUNNING``, this attempt counted, earlier attempts' errors listed.
Signals are sent with ``send_robust``: a receiver that raises is logged and
neither fails the task nor stops the worker.
"""

import dataclasses
import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.utils import timezone

from django_simple_queue import frameworks
from django_simple_queue.exceptions import TaskFailed
from django_simple_queue.jsonvalue import problem
from django_simple_queue.models import Task
from django_simple_queue.sql import connection_for

logger = logging.getLogger("django_simple_queue.worker")


def is_task(obj: Any) -> bool:
    """Is *obj* a task declared with ``@task`` (either framework)?"""
    return frameworks.of(obj) is not None


def _framework(task: Any) -> frameworks.Framework:
    framework = frameworks.of(task)
    if framework is None:  # the caller checked is_task(); this names the mistake if not
        raise TypeError(f"{task!r} is not a task of Django's tasks framework.")
    return framework


def start(task: Any, task_id: Any, using: str | None) -> Any:
    """Return the claimed row as a ``TaskResult`` and send ``task_started``."""
    from django_simple_queue.backend import task_result

    if task_id is None:
        raise ValueError("A task of Django's tasks framework runs from a row: no task id given.")
    framework = _framework(task)
    result = task_result(_read(task_id, using), task, framework)
    _send(framework.signals.task_started, result)
    return result


def _read(task_id: Any, using: str | None) -> Task:
    """The claimed row, on a new connection if the server dropped the kept one.

    A child keeps its connection between tasks and checks it only after a
    second idle; a server restarted meanwhile must not cost the task an attempt.
    """
    try:
        return Task.objects.using(using).get(pk=task_id)
    except (OperationalError, InterfaceError):
        connection = connection_for(using)
        if connection.in_atomic_block or connection.is_usable():
            raise
        connection.close()
    return Task.objects.using(using).get(pk=task_id)


def context(task: Any, result: Any) -> list[Any]:
    """The leading positional argument of a ``takes_context`` task; nothing otherwise."""
    if not task.takes_context:
        return []
    return [_framework(task).TaskContext(task_result=result)]


def normalize(task: Any, value: Any) -> Any:
    """The return value as the framework converts it (tuples to lists); TypeError if not JSON."""
    try:
        return _framework(task).normalize_json(value)
    except TypeError as exc:  # Django's text ("Unsupported type: ...") does not say what it was
        found = problem(value, "the return value")
        detail = f"{found} ({exc})" if found else str(exc)
        raise TypeError(f"The result cannot be stored as JSON: {detail}") from None


def finish(
    task: Any,
    result: Any,
    outcome: Any,
    exc: BaseException | None = None,
    add_error: bool = True,
) -> None:
    """Send ``task_finished`` for this attempt: ``SUCCESSFUL``, or ``FAILED`` with its error.

    A failed attempt that will be retried is reported ``FAILED`` too: the
    signal describes the attempt; the row is back to ``READY`` meanwhile.
    A failure is sent while *exc* (what the task raised, or ``TaskFailed``
    naming the error) is being handled, as Django's own backends do: its log
    receiver reads the traceback from ``sys.exc_info()``.
    *add_error* is False when *result* was read after the error was written.
    """
    framework = _framework(task)
    succeeded = outcome.status == Task.COMPLETED
    errors = list(result.errors)
    if not succeeded and add_error:
        from django_simple_queue.backend import NOT_AN_EXCEPTION

        errors.append(
            framework.TaskError(
                exception_class_path=outcome.exception or NOT_AN_EXCEPTION,
                traceback=outcome.traceback or outcome.error,
            )
        )
    finished = dataclasses.replace(
        result,
        status=framework.TaskResultStatus["SUCCESSFUL" if succeeded else "FAILED"],
        finished_at=timezone.now(),
        errors=errors,
    )
    if succeeded:
        object.__setattr__(finished, "_return_value", outcome.result)
        _send(framework.signals.task_finished, finished)
        return
    try:
        raise exc or TaskFailed(outcome.error)
    except BaseException:
        _send(framework.signals.task_finished, finished)


def finish_ended(
    task_name: str, task_id: Any, attempt: int, outcome: Any, using: str | None
) -> None:
    """Send ``task_finished`` for an attempt that ended outside its child.

    Its process died (a time limit, a crash), or its whole worker was lost and
    this worker rescued the task. The supervisor asks a child to do it once the
    outcome is written, so the receivers run in a child, never in the
    supervisor, and read what ``get_result()`` would as of *attempt* (a retry
    may have begun since). A plain task's name needs nothing sent.
    """
    from django_simple_queue.backend import task_result
    from django_simple_queue.registry import resolve

    try:
        task = resolve(task_name)
        if not is_task(task):
            return
        row = Task.objects.using(using).get(pk=task_id)
        result = task_result(row, task, _framework(task), attempt)
        finish(task, result, outcome, add_error=False)
    except Exception as exc:  # noqa: BLE001 - a notice must never take the child down
        logger.error("Task %s: task_finished not sent (%s)", task_id, exc)


def _send(signal: Any, result: Any) -> None:
    from django_simple_queue.backend import SimpleQueueBackend

    try:
        responses = signal.send_robust(SimpleQueueBackend, task_result=result)
    except (SystemExit, KeyboardInterrupt) as exc:  # send_robust catches Exception only
        logger.error("Task %s: a receiver of a tasks signal raised %r", result.id, exc)
        return
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error(
                "Task %s: a receiver of a tasks signal raised: %r (%s)",
                result.id, receiver, response,
            )  # fmt: skip

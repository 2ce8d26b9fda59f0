"""``SimpleQueueBackend`` in the places where Django's tests configure its own backends.

Django's tests name ``DummyBackend`` or ``ImmediateBackend`` in their ``TASKS``
(on the class, on a method, or in a ``with override_settings``). While the
suite runs, ``create_connection`` builds one of these subclasses instead; every
other backend path is built as written.

- ``DummyStandIn``: what ``DummyBackend`` does, enqueue and keep the result, is
  what ``SimpleQueueBackend`` does when no worker runs. It adds the two test
  helpers ``DummyBackend`` has: ``results`` (read back from the table, so the
  rows must be committed: the tests run as ``TransactionTestCase``) and ``clear()``.
- ``ImmediateStandIn``: ``ImmediateBackend`` runs the task inside ``enqueue()``.
  This one enqueues, runs a real worker (``drain()``), and returns the result as
  ``get_result()`` reads it back.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections
from django.tasks import TaskBackendHandler
from django.utils.module_loading import import_string

from django_simple_queue.backend import SimpleQueueBackend
from django_simple_queue.models import Task
from tests.django_suite.drain import drain

STAND_INS = {
    "django.tasks.backends.dummy.DummyBackend": "tests.django_suite.backends.DummyStandIn",
    "django.tasks.backends.immediate.ImmediateBackend": (
        "tests.django_suite.backends.ImmediateStandIn"
    ),
}
_original_create_connection = TaskBackendHandler.create_connection


class DummyStandIn(SimpleQueueBackend):
    """``SimpleQueueBackend`` with ``DummyBackend``'s ``results`` and ``clear()``."""

    def _rows(self) -> Any:
        return Task.objects.using(self.database).filter(backend=self.alias)

    def _read_results(self) -> list[Any]:
        ids = self._rows().order_by("created_at", "id").values_list("id", flat=True)
        return [self.get_result(str(pk)) for pk in ids]

    @property
    def results(self) -> list[Any]:
        """Every result enqueued through this alias, oldest first, as ``get_result()`` reads it."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._read_results()
        # An async test reads it as a plain attribute: query from a thread of its own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(_closing_connections, self._read_results).result()

    def clear(self) -> None:
        """Delete every task enqueued through this alias."""
        self._rows().delete()


class ImmediateStandIn(SimpleQueueBackend):
    """``SimpleQueueBackend`` whose ``enqueue()`` returns once a worker has run the task."""

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        result = super().enqueue(task, args, kwargs)
        drain()
        return self.get_result(result.id)


def _closing_connections(read: Any) -> Any:
    try:
        return read()
    finally:
        connections.close_all()


def create_connection(handler: TaskBackendHandler, alias: str) -> Any:
    """Build the backend *alias* names, a stand-in where Django's tests name its own."""
    params = handler.settings[alias]
    stand_in = STAND_INS.get(params["BACKEND"])
    if stand_in is None:
        return _original_create_connection(handler, alias)
    return import_string(stand_in)(alias=alias, params=params)

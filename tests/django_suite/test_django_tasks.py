"""Django's own tests of its tasks framework (``tests/tasks/`` of its source), on this backend.

Each class below is Django's test class, unchanged, run as a ``TransactionTestCase``:
the backend writes rows, and a worker (or the ``results`` read of the stand-in for
``DummyBackend``) only sees committed ones.
Every ``DummyBackend`` and ``ImmediateBackend`` the tests configure is built as
a ``SimpleQueueBackend`` stand-in (``backends.py``). Tests that check something
only Django's own backends are or do are skipped with the reason; the list, and
why, is in docs/django-tests.md.
"""

import unittest
from typing import Any

from django.tasks import task_backends
from django.test import SimpleTestCase, TransactionTestCase, override_settings
from tasks import test_custom_backend, test_dummy_backend, test_immediate_backend, test_tasks

from tests.django_suite.backends import DummyStandIn, ImmediateStandIn

IS_DUMMY = "it checks that the backend is DummyBackend"
IS_IMMEDIATE = "it checks that the backend is ImmediateBackend"
NOT_APPLICABLE = {
    "TaskTestCase": {
        "test_using_correct_backend": IS_DUMMY,
        "test_get_backend": "it checks that the backends are DummyBackend and ImmediateBackend",
        "test_refresh_result": (
            "it calls the synchronous refresh() inside an async test, which only a backend "
            "that keeps results in memory allows: Django refuses a database query there "
            "(SynchronousOnlyOperation)"
        ),
    },
    "DummyBackendTestCase": {
        "test_using_correct_backend": IS_DUMMY,
        "test_refresh_result": (
            "it edits the result object DummyBackend keeps in memory and expects refresh() "
            "to see the edit; this backend's stored result is a row"
        ),
        "test_refresh_result_async": "as test_refresh_result",
        "test_clear": "clear() is DummyBackend's own helper (the stand-in's is test code)",
    },
    "ImmediateBackendTestCase": {
        "test_using_correct_backend": IS_IMMEDIATE,
        "test_throws_keyboard_interrupt": (
            "ImmediateBackend runs the task in the caller, so a KeyboardInterrupt reaches "
            "the caller; here the task runs in a worker's child process, where it is "
            "recorded as the task's failure"
        ),
        "test_cannot_get_result": "this backend supports get_result (supports_get_result)",
        "test_cannot_refresh_result": "this backend supports refresh (supports_get_result)",
        "test_cannot_pass_run_after": "this backend supports run_after (supports_defer)",
    },
    "ImmediateBackendTransactionTestCase": {
        "test_doesnt_wait_until_transaction_commit_by_default": (
            "ImmediateBackend runs the task inside the caller's open transaction; a worker "
            "cannot see a row before it is committed, which is this backend's design"
        ),
    },
}
APPS = ["django_simple_queue", "tasks"]  # the tables a TransactionTestCase flushes


def adapt(case: type) -> type:
    """Django's test class *case* as a ``TransactionTestCase``, inapplicable tests skipped."""
    attributes: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": case.__name__,
        "available_apps": APPS,
    }
    for name, reason in NOT_APPLICABLE.get(case.__name__, {}).items():
        attributes[name] = unittest.skip(f"Not applicable: {reason}.")(getattr(case, name))
    return type(case.__name__, (case, TransactionTestCase), attributes)


# Enqueues on the DummyBackend stand-in, and on the ImmediateBackend one (a worker runs).
TaskTestCase = adapt(test_tasks.TaskTestCase)
# Enqueues only: results stay READY, as they do on DummyBackend.
DummyBackendTestCase = adapt(test_dummy_backend.DummyBackendTestCase)
DummyBackendTransactionTestCase = adapt(test_dummy_backend.DummyBackendTransactionTestCase)
# Every enqueue runs a worker before the test reads the result.
ImmediateBackendTestCase = adapt(test_immediate_backend.ImmediateBackendTestCase)
ImmediateBackendTransactionTestCase = adapt(
    test_immediate_backend.ImmediateBackendTransactionTestCase
)
# Backends the tests define themselves, run as shipped: tasks declared through this
# backend's task class work on them.
CustomBackendTestCase = test_custom_backend.CustomBackendTestCase
CustomTaskTestCase = test_custom_backend.CustomTaskTestCase


class StandInTestCase(SimpleTestCase):
    """The harness itself: Django's backends, as its tests name them, are built as this one."""

    def test_django_backends_are_built_as_stand_ins(self):
        with override_settings(TASKS=test_tasks.TaskTestCase._overridden_settings["TASKS"]):
            self.assertIsInstance(task_backends["default"], DummyStandIn)
            self.assertIsInstance(task_backends["immediate"], ImmediateStandIn)

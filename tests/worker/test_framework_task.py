"""One run of a ``@task`` in this process: its TaskResult, context and signals."""

import sys
import uuid

import pytest

from django_simple_queue import frameworks
from django_simple_queue.models import Task
from django_simple_queue.worker import framework_task
from django_simple_queue.worker.executor import Outcome, execute

if not frameworks.installed():
    pytest.skip("neither django.tasks nor the django_tasks backport", allow_module_level=True)

from tests.testapp import tasks_framework as tf  # noqa: E402

FRAMEWORK = frameworks.primary()
pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    """(signal, status, attempts, class of the exception being handled) per signal sent."""
    sent = []

    def receiver(signal_name):
        def receive(sender, task_result, **kwargs):
            handling = sys.exc_info()[0]
            sent.append((signal_name, str(task_result.status), task_result.attempts, handling))

        return receive

    receivers = {name: receiver(name) for name in ("started", "finished")}
    for name, receive in receivers.items():
        getattr(FRAMEWORK.signals, f"task_{name}").connect(receive)
    yield sent
    for name, receive in receivers.items():
        getattr(FRAMEWORK.signals, f"task_{name}").disconnect(receive)


def claimed(result) -> Task:
    """Mark the row of *result* as a worker's claim would."""
    Task.objects.filter(id=result.id).update(status=Task.PROGRESS, attempts=1)
    return Task.objects.get(id=result.id)


def run(row: Task) -> Outcome:
    return execute(row.task_name, row.task_params, row.retry_on, args=row.args, task_id=row.id)


def test_a_success_sends_started_then_finished_outside_any_exception(received):
    outcome = run(claimed(tf.add.enqueue(2, 3)))
    assert (outcome.status, outcome.result) == ("COMPLETED", 5)
    assert received == [("started", "RUNNING", 1, None), ("finished", "SUCCESSFUL", 1, None)]


def test_a_failure_is_finished_while_its_exception_is_handled(received):
    outcome = run(claimed(tf.fail.enqueue("boom")))
    assert (outcome.status, outcome.error, outcome.exception) == (
        "FAILED", "ValueError: boom", "builtins.ValueError",
    )  # fmt: skip
    assert received == [("started", "RUNNING", 1, None), ("finished", "FAILED", 1, ValueError)]


def test_a_result_that_is_not_json_fails_for_good_with_task_failed_handled(received):
    outcome = run(claimed(tf.returns_object.enqueue()))
    assert (outcome.status, outcome.retryable) == ("FAILED", False)
    assert outcome.error == (
        "TypeError: The result cannot be stored as JSON: the return value is of type object, "
        "which is not JSON serialisable (Unsupported type: <class 'object'>)"
    )
    assert received[-1][:2] == ("finished", "FAILED")
    assert received[-1][3].__name__ == "TaskFailed"


def test_the_context_carries_the_running_result_and_the_attempt():
    result = tf.describe_context.enqueue("here")
    row = claimed(result)
    Task.objects.filter(id=row.id).update(attempts=2)
    outcome = run(row)
    assert outcome.result == {"label": "here", "attempt": 2, "id": result.id, "status": "RUNNING"}


def test_a_receiver_that_raises_fails_neither_the_task_nor_the_run(caplog):
    def broken(sender, task_result, **kwargs):
        raise RuntimeError("receiver broke")

    FRAMEWORK.signals.task_started.connect(broken)
    try:
        outcome = run(claimed(tf.add.enqueue(1, 1)))
    finally:
        FRAMEWORK.signals.task_started.disconnect(broken)
    assert (outcome.status, outcome.result) == ("COMPLETED", 2)
    assert "a receiver of a tasks signal raised" in caplog.text
    assert "receiver broke" in caplog.text


def test_a_missing_row_is_a_retryable_failure_before_anything_runs(received):
    result = tf.add.enqueue(1, 1)
    Task.objects.filter(id=result.id).delete()
    outcome = execute("tests.testapp.tasks_framework.add", {}, args=[1, 1], task_id=result.id)
    assert (outcome.status, outcome.retryable) == ("FAILED", True)
    assert outcome.error == "Task.DoesNotExist: Task matching query does not exist."
    assert received == []


def test_a_framework_task_needs_its_row():
    outcome = execute("tests.testapp.tasks_framework.add", {}, args=[1, 1])
    assert outcome.error == (
        "ValueError: A task of Django's tasks framework runs from a row: no task id given."
    )


def test_finish_ended_reports_a_dead_attempt_from_its_written_row(received):
    row = claimed(tf.sleep.enqueue(60))
    history = [{"attempt": 1, "error": "TimeoutError: timed out after 1 second",
                "exception": "builtins.TimeoutError", "traceback": "", "worker": ""}]  # fmt: skip
    Task.objects.filter(id=row.id).update(status=Task.FAILED, errors=history)
    outcome = Outcome(
        Task.FAILED,
        error="TimeoutError: timed out after 1 second",
        exception="builtins.TimeoutError",
    )
    framework_task.finish_ended(row.task_name, row.id, 1, outcome, None)
    assert received == [("finished", "FAILED", 1, framework_task.TaskFailed)]


def test_finish_ended_reports_the_attempt_it_names_when_a_later_one_has_begun(received):
    worker = uuid.uuid4()
    row = claimed(tf.add.enqueue(1, 1))
    history = [{"attempt": 1, "error": "WorkerLost: gone", "exception": "", "traceback": "",
                "worker": "lost-worker"}]  # fmt: skip
    # Rescued, then claimed again by another worker before the notice was sent.
    Task.objects.filter(id=row.id).update(
        status=Task.PROGRESS, attempts=2, worker_id=worker, errors=history
    )
    seen = []

    def keep(sender, task_result, **kwargs):
        seen.append(task_result)

    FRAMEWORK.signals.task_finished.connect(keep)
    try:
        framework_task.finish_ended(row.task_name, row.id, 1, Outcome(Task.FAILED), None)
    finally:
        FRAMEWORK.signals.task_finished.disconnect(keep)
    assert received == [("finished", "FAILED", 1, framework_task.TaskFailed)]
    assert (seen[0].worker_ids, [e.traceback for e in seen[0].errors]) == (
        ["lost-worker"], ["WorkerLost: gone"],
    )  # fmt: skip


def test_finish_ended_sends_nothing_for_a_plain_task_or_a_vanished_row(received, caplog):
    plain = Task.objects.create(task_name="tests.testapp.tasks.add")
    framework_task.finish_ended(plain.task_name, plain.id, 1, Outcome(Task.FAILED), None)
    gone = tf.add.enqueue(1, 1)
    Task.objects.filter(id=gone.id).delete()
    framework_task.finish_ended(gone.task.module_path, gone.id, 1, Outcome(Task.FAILED), None)
    assert received == []
    assert f"Task {gone.id}: task_finished not sent (Task matching query does not exist.)" in (
        caplog.text
    )

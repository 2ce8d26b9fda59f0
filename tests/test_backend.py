"""SimpleQueueBackend in the web process: enqueue, validation, get_result, status mapping."""

import datetime
import pickle
import subprocess
import sys
import textwrap
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from django_simple_queue import frameworks
from django_simple_queue.models import Task

if not frameworks.installed():
    pytest.skip("neither django.tasks nor the django_tasks backport", allow_module_level=True)

from django_simple_queue.backend import SimpleQueueBackend  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.testapp import tasks_framework as tf  # noqa: E402

FRAMEWORK = frameworks.primary()
InvalidTask = FRAMEWORK.InvalidTask
DoesNotExist = FRAMEWORK.TaskResultDoesNotExist
backend = FRAMEWORK.package.task_backends["default"]
pytestmark = pytest.mark.django_db


def test_backend_supports_every_feature_of_the_framework():
    assert isinstance(backend, SimpleQueueBackend)
    assert (
        backend.supports_defer,
        backend.supports_async_task,
        backend.supports_get_result,
        backend.supports_priority,
    ) == (True, True, True, True)


def test_the_backend_is_a_backend_of_every_installed_framework():
    for framework in frameworks.installed():
        assert isinstance(backend, framework.BaseTaskBackend), framework.name


def test_enqueue_writes_one_row_and_returns_its_result():
    result = tf.greet.enqueue("Ann", punctuation="?")
    row = Task.objects.get()
    assert result.id == str(row.id)
    assert (row.task_name, row.args, row.task_params) == (
        "tests.testapp.tasks_framework.greet", ["Ann"], {"punctuation": "?"},
    )  # fmt: skip
    assert (row.status, row.queue, row.priority, row.backend, row.max_attempts) == (
        "QUEUED", "mail", 5, "default", 1,
    )  # fmt: skip
    assert (result.status, result.args, result.kwargs, result.backend) == (
        "READY", ["Ann"], {"punctuation": "?"}, "default",
    )  # fmt: skip
    assert (result.enqueued_at, result.started_at, result.finished_at) == (
        row.created_at, None, None,
    )  # fmt: skip
    assert (result.errors, result.worker_ids, result.attempts) == ([], [], 0)
    assert result.task.func is tf.greet.func
    with pytest.raises(ValueError, match="Task has not finished yet"):
        _ = result.return_value


def test_enqueue_joins_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        result = tf.add.enqueue(1, 2)
        assert Task.objects.count() == 1
        raise RuntimeError("roll back")
    assert Task.objects.count() == 0
    with pytest.raises(DoesNotExist):
        backend.get_result(result.id)


def test_enqueue_on_commit_with_transaction_on_commit(django_capture_on_commit_callbacks):
    results = []
    with django_capture_on_commit_callbacks(execute=True):
        transaction.on_commit(lambda: results.append(tf.add.enqueue(1, 2)))
        assert Task.objects.count() == 0
    assert Task.objects.get().id == uuid.UUID(results[0].id)


def test_task_options_are_stored_on_the_row():
    when = timezone.now() + datetime.timedelta(hours=1)
    tf.add.using(priority=-100, queue_name="mail", run_after=when).enqueue(1, 2)
    tf.fail_twice.enqueue()
    tf.sleep.enqueue(1)
    tf.fail_not_retried.enqueue()
    rows = {row.task_name.rpartition(".")[2]: row for row in Task.objects.all()}
    assert (rows["add"].priority, rows["add"].queue, rows["add"].run_after) == (-100, "mail", when)
    assert (rows["fail_twice"].max_attempts, rows["fail_twice"].timeout) == (3, None)
    assert (rows["sleep"].max_attempts, rows["sleep"].timeout) == (1, 1)
    assert rows["fail_not_retried"].retry_on == ["builtins.KeyError"]
    assert rows["add"].retry_on is None


def test_our_options_are_fields_of_the_task_class():
    assert type(tf.fail_twice).__name__ in ("SimpleQueueTask", "BackportTask")
    assert (tf.fail_twice.max_attempts, tf.sleep.timeout, tf.fail_not_retried.retry_on) == (
        3, 1, (KeyError,),
    )  # fmt: skip
    if hasattr(FRAMEWORK.Task, "_reconstruct"):  # django.tasks pickles tasks; the backport not
        assert pickle.loads(pickle.dumps(tf.fail_twice)) == tf.fail_twice


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be a positive whole number, not 0."),
        ({"max_attempts": "3"}, "max_attempts must be a positive whole number, not '3'."),
        ({"timeout": 0}, "timeout must be a positive whole number of seconds, not 0."),
        ({"timeout": 1.5}, "timeout must be a positive whole number of seconds, not 1.5."),
        ({"retry_on": ("no.such.Error",)}, "retry_on must list exception classes: "
         "'no.such.Error' is not an exception class or the dotted path of one."),
        ({"retry_on": (42,)}, "retry_on must list exception classes: 42 is not an exception "
         "class or the dotted path of one."),
        ({"priority": 101}, "priority must be a whole number between -100 and 100."),
        ({"queue_name": "reports"}, "Queue 'reports' is not valid for backend."),
    ],
)  # fmt: skip
def test_bad_options_raise_invalid_task_at_decoration(options, message):
    with pytest.raises(InvalidTask) as raised:
        FRAMEWORK.package.task(**options)(tf.plain)
    assert str(raised.value).startswith(message)


def test_bad_using_raises_invalid_task_and_writes_nothing():
    with pytest.raises(InvalidTask, match="run_after must be an aware datetime"):
        tf.add.using(run_after=datetime.datetime(2030, 1, 1)).enqueue(1, 2)
    with pytest.raises(InvalidTask, match="Queue 'nowhere' is not valid for backend"):
        tf.add.using(queue_name="nowhere")
    assert Task.objects.count() == 0


def test_a_task_the_worker_would_refuse_is_refused_at_enqueue():
    from tests import outside_tasks

    with pytest.raises(InvalidTask) as raised:
        outside_tasks.double.enqueue(2)
    assert str(raised.value) == (
        "Task 'tests.outside_tasks.double' is not allowed: add it to "
        "DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, define it in the tasks module of an installed app, "
        "or declare it with @task in an installed app."
    )
    assert Task.objects.count() == 0


def test_a_function_not_at_module_level_is_refused():
    def inner():
        return 1

    with pytest.raises(InvalidTask, match="Task function must be defined at a module level"):
        FRAMEWORK.package.task(inner)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((object(),), {}, TypeError, "Task arguments cannot be stored: args[0] is of type "
         "object, which is not JSON serialisable (Unsupported type: <class 'object'>)."),
        ((1,), {"b": datetime.date(2026, 1, 1)}, TypeError, "Task arguments cannot be stored: "
         "kwargs['b'] is of type date, which is not JSON serialisable (Unsupported type: "
         "<class 'datetime.date'>)."),
        ((1,), {}, TypeError, "Arguments do not fit tests.testapp.tasks_framework.add(a, b): "
         "missing a required argument: 'b'."),
        ((1, 2), {"c": 3}, TypeError, "Arguments do not fit tests.testapp.tasks_framework."
         "add(a, b): got an unexpected keyword argument 'c'."),
        ((float("nan"), 1), {}, TypeError, "Task arguments cannot be stored: "),
    ],
)  # fmt: skip
def test_bad_arguments_raise_and_write_nothing(args, kwargs, error, message):
    with pytest.raises(error) as raised:
        tf.add.enqueue(*args, **kwargs)
    assert message in str(raised.value)
    assert Task.objects.count() == 0


def test_enqueued_signal_is_sent_once_with_the_backend_class(monkeypatch):
    sent = []

    def receiver(sender, task_result, **kwargs):
        sent.append((sender, task_result.id, task_result.status))

    FRAMEWORK.signals.task_enqueued.connect(receiver)
    try:
        result = tf.add.enqueue(1, 2)
    finally:
        FRAMEWORK.signals.task_enqueued.disconnect(receiver)
    assert sent == [(SimpleQueueBackend, result.id, "READY")]


@pytest.mark.parametrize("bad_id", ["not-a-uuid", str(uuid.uuid4()), 42])
def test_get_result_of_an_unknown_id_raises_does_not_exist(bad_id):
    with pytest.raises(DoesNotExist, match="No task has the id"):
        backend.get_result(bad_id)


def test_aget_result_reads_the_row_too():
    result = tf.add.enqueue(1, 2)
    fetched = async_to_sync(backend.aget_result)(result.id)
    assert (fetched.id, fetched.status, fetched.args) == (result.id, "READY", [1, 2])
    assert async_to_sync(tf.add.aget_result)(result.id).id == result.id


def test_get_result_of_a_row_that_is_not_a_framework_task_raises_does_not_exist():
    row = Task.objects.create(task_name="tests.testapp.tasks.add", task_params={"a": 1, "b": 2})
    with pytest.raises(DoesNotExist, match="is not a task of Django's tasks framework"):
        backend.get_result(row.id)


def _row_as(status, **fields):
    result = tf.add.enqueue(1, 2)
    Task.objects.filter(id=result.id).update(status=status, **fields)
    return backend.get_result(result.id)


@pytest.mark.parametrize(
    ("status", "framework_status", "finished"),
    [
        ("QUEUED", "READY", False),
        ("PROGRESS", "RUNNING", False),
        ("COMPLETED", "SUCCESSFUL", True),
        ("FAILED", "FAILED", True),
        ("CANCELLED", "FAILED", True),
    ],
)
def test_statuses_map_to_the_frameworks(status, framework_status, finished):
    now = timezone.now()
    result = _row_as(status, started_at=now, completed_at=now, attempts=1)
    assert (result.status, result.is_finished) == (framework_status, finished)
    assert result.finished_at == (now if finished else None)
    assert (result.started_at, result.last_attempted_at) == (now, now)


def test_a_completed_row_gives_its_return_value():
    result = _row_as("COMPLETED", result={"total": 3}, attempts=1)
    assert result.return_value == {"total": 3}


def test_errors_and_worker_ids_come_from_every_attempt():
    first, second = uuid.uuid4(), uuid.uuid4()
    history = [
        {"attempt": 1, "error": "ConnectionError: a", "exception": "builtins.ConnectionError",
         "traceback": "Traceback 1", "worker": str(first)},
        {"attempt": 2, "error": "KeyError: 'k'", "exception": "builtins.KeyError",
         "traceback": "Traceback 2", "worker": str(second)},
    ]  # fmt: skip
    result = _row_as("FAILED", errors=history, attempts=2, worker_id=second)
    assert [(e.exception_class_path, e.traceback) for e in result.errors] == [
        ("builtins.ConnectionError", "Traceback 1"), ("builtins.KeyError", "Traceback 2"),
    ]  # fmt: skip
    assert result.errors[1].exception_class is KeyError
    assert (result.worker_ids, result.attempts) == ([str(first), str(second)], 2)
    with pytest.raises(ValueError, match="Task failed"):
        _ = result.return_value


def test_a_cancelled_or_rescued_task_names_the_reason_as_its_error():
    result = _row_as("FAILED", error="WorkerLost: no heartbeat for 60s", attempts=1)
    assert [(e.exception_class_path, e.traceback) for e in result.errors] == [
        ("django_simple_queue.exceptions.TaskFailed", "WorkerLost: no heartbeat for 60s"),
    ]
    assert result.errors[0].exception_class.__name__ == "TaskFailed"


def test_a_task_cancelled_after_a_failed_attempt_lists_both():
    history = [{"attempt": 1, "error": "ValueError: x", "exception": "builtins.ValueError",
                "traceback": "Traceback ... ValueError: x", "worker": "w"}]  # fmt: skip
    result = _row_as("CANCELLED", errors=history, attempts=1, error="TaskCancelled: by admin")
    assert [(e.exception_class_path, e.traceback) for e in result.errors] == [
        ("builtins.ValueError", "Traceback ... ValueError: x"),
        ("django_simple_queue.exceptions.TaskFailed", "TaskCancelled: by admin"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "status", "errors", "worker_ids"),
    [
        # A status no worker writes: it will never run.
        ({"status": "WEIRD"}, "FAILED", [], []),
        # A history of the wrong types: what is not text reads as missing.
        ({"status": "FAILED", "attempts": 1, "errors": [
            {"attempt": 1, "exception": 5, "traceback": ["a"], "error": None, "worker": 7}]},
         "FAILED", [("django_simple_queue.exceptions.TaskFailed", "")], [""]),
        # A history that is not a list, or whose attempt numbers are not numbers.
        ({"status": "FAILED", "attempts": 1, "errors": 5}, "FAILED", [], [""]),
        ({"status": "FAILED", "attempts": 1, "errors": [{"attempt": [1], "error": "x"}]},
         "FAILED", [], [""]),
        # More attempts than anyone could list: the latest ones.
        ({"status": "FAILED", "attempts": 2_000_000_000}, "FAILED", [], [""] * 1000),
    ],
)  # fmt: skip
def test_a_row_written_by_hand_still_reads_as_a_result(fields, status, errors, worker_ids):
    result = tf.add.enqueue(1, 2)
    Task.objects.filter(id=result.id).update(**fields)
    result = backend.get_result(result.id)
    assert str(result.status) == status
    assert [(e.exception_class_path, e.traceback) for e in result.errors] == errors
    assert result.worker_ids == worker_ids
    for error in result.errors:
        assert error.exception_class.__name__ == "TaskFailed"


def test_refresh_reads_the_row_again():
    result = tf.add.enqueue(1, 2)
    Task.objects.filter(id=result.id).update(status="COMPLETED", result=3, attempts=1)
    result.refresh()
    assert (result.status, result.return_value) == ("SUCCESSFUL", 3)


def test_enqueue_by_dotted_path_checks_a_declared_tasks_signature():
    from django_simple_queue import enqueue
    from django_simple_queue.exceptions import InvalidParams

    with pytest.raises(InvalidParams) as raised:
        enqueue("tests.testapp.tasks_framework.describe_context", {"other": 1})
    assert str(raised.value) == (
        "Task params do not fit tests.testapp.tasks_framework.describe_context(context, label): "
        "missing a required argument: 'label'."
    )
    row = enqueue("tests.testapp.tasks_framework.describe_context", {"label": "x"})
    assert (Task.objects.get().id, row.task_params) == (row.id, {"label": "x"})


def test_aenqueue_writes_the_row_too():
    result = async_to_sync(tf.add.aenqueue)(4, 5)
    assert (Task.objects.get().id, Task.objects.get().args) == (uuid.UUID(result.id), [4, 5])


def test_the_backend_without_the_app_installed_says_what_to_add():
    script = textwrap.dedent(
        """
        import django
        from django.conf import settings

        settings.configure(
            INSTALLED_APPS=[],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            TASKS={"default": {"BACKEND": "django_simple_queue.backend.SimpleQueueBackend"}},
        )
        django.setup()
        try:
            import django_simple_queue.backend
        except Exception as exc:
            print(f"{type(exc).__name__}: {exc}")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == (
        "ImproperlyConfigured: SimpleQueueBackend keeps tasks in django_simple_queue's table: "
        "add 'django_simple_queue' to INSTALLED_APPS and run migrate."
    ), done.stderr

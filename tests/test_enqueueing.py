import datetime
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from django_simple_queue import enqueue
from django_simple_queue.exceptions import (
    EnqueueError,
    InvalidParams,
    TaskNotAllowed,
    TaskNotFound,
)
from django_simple_queue.models import Task

ADD = "tests.testapp.tasks.add"


def nested(levels):
    value = 1
    for _ in range(levels):
        value = [value]
    return value


NOOP = "tests.testapp.tasks.noop"


@pytest.mark.django_db
def test_enqueue_inserts_a_queued_task_with_every_option():
    when = timezone.now() + datetime.timedelta(hours=1)
    task = enqueue(
        ADD, {"a": 1, "b": 2}, queue="mail", priority=7, run_after=when, max_attempts=3, timeout=9
    )
    row = Task.objects.get(id=task.id)
    assert isinstance(row.id, uuid.UUID)
    assert (row.task_name, row.task_params, row.status) == (ADD, {"a": 1, "b": 2}, "QUEUED")
    assert (row.queue, row.priority, row.max_attempts, row.timeout) == ("mail", 7, 3, 9)
    assert row.run_after == when
    assert (row.attempts, row.result, row.error, row.worker_id) == (0, None, "", None)


@pytest.mark.django_db
def test_enqueue_defaults():
    row = Task.objects.get(id=enqueue(NOOP).id)
    assert row.task_name == NOOP
    assert (row.task_params, row.queue, row.priority, row.run_after) == ({}, "default", 0, None)
    assert (row.max_attempts, row.timeout) == (1, None)


@pytest.mark.django_db
def test_delay_sets_run_after_in_the_future():
    before = timezone.now()
    row = enqueue(NOOP, delay=30)
    assert before + datetime.timedelta(seconds=30) <= row.run_after
    assert row.run_after <= timezone.now() + datetime.timedelta(seconds=30)
    assert enqueue(NOOP, delay=datetime.timedelta(minutes=1)).run_after > before


@pytest.mark.django_db
def test_max_attempts_default_comes_from_the_setting(settings):
    settings.DJANGO_SIMPLE_QUEUE_MAX_ATTEMPTS = 4
    assert enqueue(NOOP).max_attempts == 4


@pytest.mark.parametrize(
    ("name", "params", "options", "error", "message"),
    [
        ("tests.testapp.nothere.f", None, {}, TaskNotAllowed,
         "Task 'tests.testapp.nothere.f' is not allowed: add it to "
         "DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, define it in the tasks module of an "
         "installed app, or declare it with @task in an installed app."),
        ("tests.testapp.tasks.missing", None, {}, TaskNotFound,
         "Task 'tests.testapp.tasks.missing': module 'tests.testapp.tasks' has no attribute "
         "'missing'."),
        ("tests.testapp.tasks.NOT_CALLABLE", None, {}, TaskNotFound,
         "Task 'tests.testapp.tasks.NOT_CALLABLE' is not callable: it is int."),
        ("os.system", {"command": "true"}, {}, TaskNotAllowed,
         "Task 'os.system' is not allowed: it is never run."),
        ("builtins.eval", None, {}, TaskNotAllowed,
         "Task 'builtins.eval' is not allowed: it is never run."),
        ("noddots", None, {}, TaskNotAllowed,
         "Task 'noddots' is not a dotted path like 'app.tasks.func'."),
        (ADD, [1, 2], {}, InvalidParams,
         "Task params must be a dict of keyword arguments, not list."),
        (ADD, {"a": datetime.date(2020, 1, 1)}, {}, InvalidParams,
         "Task params are not JSON: params['a'] is of type date, which is not JSON "
         "serialisable."),
        (ADD, {"a": {"deep": [1, {2}]}}, {}, InvalidParams,
         "Task params are not JSON: params['a']['deep'][1] is of type set, which is not JSON "
         "serialisable."),
        (ADD, {"a": {1: "x"}}, {}, InvalidParams,
         "Task params are not JSON: params['a'] has key 1 of type int; keys must be str."),
        (ADD, {"a": float("nan")}, {}, InvalidParams,
         "Task params are not JSON: params['a'] is nan, which JSON cannot represent."),
        (ADD, {"a": "x\x00y"}, {}, InvalidParams,
         "Task params are not JSON: params['a'] has text holding a NUL character, which the "
         "database cannot store."),
        (ADD, {"a": 10**4100}, {}, InvalidParams,
         "Task params are not JSON: params['a'] is an integer of more than 4000 digits."),
        (ADD, {"a": nested(31)}, {},
         InvalidParams, "Task params are not JSON: params['a']" + "[0]" * 30
         + " is nested deeper than 30 levels."),
        ("tests.testapp.tasks." + "x" * 250, None, {}, EnqueueError,
         "Task name is 270 characters; at most 255 fit."),
        (ADD, None, {"queue": ""}, EnqueueError, "Queue name must be 1 to 100 characters."),
        (ADD, None, {"max_attempts": 0}, EnqueueError,
         "max_attempts must be a positive integer, not 0."),
        (ADD, None, {"timeout": -1}, EnqueueError,
         "timeout must be a positive number of seconds, not -1."),
        (ADD, None, {"priority": 40000}, EnqueueError,
         "priority must be an integer from -32768 to 32767, not 40000."),
        (NOOP, None, {"delay": 5, "run_after": timezone.now()}, EnqueueError,
         "Pass run_after or delay, not both."),
        (NOOP, None, {"run_after": datetime.datetime(2030, 1, 1)}, EnqueueError,
         "run_after must be an aware datetime."),
        (NOOP, None, {"run_after": datetime.timedelta(hours=1)}, EnqueueError,
         "run_after must be an aware datetime, not timedelta (a timedelta or a number of "
         "seconds goes in delay)."),
        (NOOP, None, {"run_after": datetime.date(2030, 1, 1)}, EnqueueError,
         "run_after must be an aware datetime, not date (a timedelta or a number of seconds "
         "goes in delay)."),
        (NOOP, None, {"delay": "60"}, EnqueueError,
         "delay must be a timedelta or a number of seconds, not str."),
        (NOOP, None, {"delay": True}, EnqueueError,
         "delay must be a timedelta or a number of seconds, not bool."),
    ],
)  # fmt: skip
@pytest.mark.django_db
def test_bad_enqueue_raises_a_clear_error_and_inserts_nothing(
    name, params, options, error, message
):
    with pytest.raises(error) as raised:
        enqueue(name, params, **options)
    assert str(raised.value) == message
    assert Task.objects.count() == 0


@pytest.mark.django_db
def test_enqueue_errors_are_value_errors_and_params_errors_type_errors():
    assert issubclass(TaskNotAllowed, ValueError)
    with pytest.raises(TypeError):
        enqueue(ADD, "a=1")


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_task():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(ADD, {"a": 1, "b": 2})
        raise RuntimeError("roll back")
    assert Task.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_leaves_no_task_but_keeps_the_outer_one():
    with transaction.atomic():
        kept = enqueue(ADD, {"a": 1, "b": 2})
        try:
            with transaction.atomic():
                enqueue(ADD, {"a": 3, "b": 4})
                raise RuntimeError("roll back the savepoint")
        except RuntimeError:
            pass
    assert list(Task.objects.values_list("id", flat=True)) == [kept.id]


@pytest.mark.django_db(transaction=True)
def test_on_commit_inserts_only_when_the_transaction_commits():
    with transaction.atomic():
        task = enqueue(ADD, {"a": 1, "b": 2}, on_commit=True)
        assert Task.objects.count() == 0
    assert Task.objects.get().id == task.id
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(NOOP, on_commit=True)
        raise RuntimeError("roll back")
    assert Task.objects.count() == 1


@pytest.mark.django_db
def test_objects_create_needs_only_name_and_params():
    task = Task.objects.create(task_name=ADD, task_params={"a": 1, "b": 2})
    task.refresh_from_db()
    assert (task.status, task.queue, task.priority, task.attempts, task.max_attempts) == (
        "QUEUED", "default", 0, 0, 1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"a": 1}, "Task params do not fit tests.testapp.tasks.add(a, b): "
         "missing a required argument: 'b'."),
        ({"a": 1, "b": 2, "c": 3}, "Task params do not fit tests.testapp.tasks.add(a, b): "
         "got an unexpected keyword argument 'c'."),
    ],
)  # fmt: skip
@pytest.mark.django_db
def test_params_that_do_not_fit_the_signature_are_refused(params, message):
    with pytest.raises(InvalidParams) as raised:
        enqueue(ADD, params)
    assert str(raised.value) == message
    assert Task.objects.count() == 0


@pytest.mark.django_db
def test_retry_on_is_stored_as_dotted_paths():
    import json as json_module

    task = enqueue(NOOP, retry_on=[KeyError, "json.JSONDecodeError", json_module.JSONDecodeError])
    assert Task.objects.get(id=task.id).retry_on == [
        "builtins.KeyError", "json.decoder.JSONDecodeError", "json.decoder.JSONDecodeError",
    ]  # fmt: skip
    assert Task.objects.get(id=enqueue(NOOP).id).retry_on is None


@pytest.mark.parametrize(
    ("retry_on", "error", "message"),
    [
        ("KeyError", EnqueueError,
         "retry_on must be a list of exception classes, not 'KeyError'."),
        (["json.nothere"], TaskNotFound,
         "'json.nothere' is not an exception class or the dotted path of one."),
        ([dict], TaskNotFound,
         "<class 'dict'> is not an exception class or the dotted path of one."),
    ],
)  # fmt: skip
@pytest.mark.django_db
def test_bad_retry_on_is_refused(retry_on, error, message):
    with pytest.raises(error) as raised:
        enqueue(NOOP, retry_on=retry_on)
    assert str(raised.value) == message
    assert Task.objects.count() == 0

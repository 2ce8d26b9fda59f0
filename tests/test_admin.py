"""The admin: task list, read-only task page, re-queue and cancel, the add form, workers."""

import datetime
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from django_simple_queue.admin import format_duration
from django_simple_queue.models import Task, Worker

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_simple_queue_task_changelist"
ADD = "admin:django_simple_queue_task_add"
XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
T0 = datetime.datetime(2025, 1, 1, 12, 0, tzinfo=datetime.UTC)


def make_task(**fields) -> Task:
    values = {"task_name": "tests.testapp.tasks.add", "task_params": {"a": 1, "b": 2}}
    values.update(fields)
    return Task.objects.create(**values)


def finished(seconds: float, **fields) -> Task:
    """A completed task that ran for *seconds*."""
    return make_task(
        status=Task.COMPLETED,
        started_at=T0,
        completed_at=T0 + datetime.timedelta(seconds=seconds),
        **fields,
    )


def listed(client, **query) -> list[uuid.UUID]:
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return [task.id for task in response.context["cl"].result_list]


def change_url(task: Task) -> str:
    return reverse("admin:django_simple_queue_task_change", args=[task.id])


def act(client, action: str, tasks: list[Task]) -> list[str]:
    """Run a list action on *tasks*; return the messages it left."""
    data = {"action": action, "_selected_action": [str(task.id) for task in tasks]}
    response = client.post(reverse(CHANGELIST), data)
    assert response.status_code == 302
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def viewer_client(client, django_user_model):
    """A staff user who may view tasks but not change them."""
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_task", content_type__app_label="django_simple_queue")
    )
    client.force_login(user)
    return client


# The list


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (None, "\u2014"),
        (datetime.timedelta(0), "0.00 s"),
        (datetime.timedelta(milliseconds=250), "0.25 s"),
        (datetime.timedelta(seconds=59.994), "59.99 s"),
        (datetime.timedelta(seconds=185), "3 min 5 s"),
        (datetime.timedelta(hours=2, minutes=5, seconds=59), "2 h 5 min"),
        (datetime.timedelta(days=1, hours=1), "25 h 0 min"),
    ],
)
def test_format_duration_is_readable(duration, text):
    assert format_duration(duration) == text


def test_list_shows_columns_and_readable_duration(admin_client):
    finished(2.5, queue="emails", priority=7)
    make_task(status=Task.QUEUED)
    response = admin_client.get(reverse(CHANGELIST))
    content = response.content.decode()
    for header in ("Task", "Status", "Queue", "Priority", "Attempts", "Created", "Duration"):
        assert f">{header}</a>" in content
    assert '<td class="field-duration">2.50 s</td>' in content
    assert '<td class="field-duration">\u2014</td>' in content
    assert '<td class="field-queue">emails</td>' in content
    assert '<td class="field-status">Completed</td>' in content
    assert '<td class="field-status">Queued</td>' in content


def test_list_is_newest_first(admin_client):
    old = make_task(created_at=T0)
    new = make_task(created_at=T0 + datetime.timedelta(hours=1))
    middle = make_task(created_at=T0 + datetime.timedelta(minutes=1))
    assert listed(admin_client) == [new.id, middle.id, old.id]


def test_list_sorts_by_duration(admin_client):
    one, three, two = finished(1), finished(3), finished(2)
    # Column 7: the selection checkbox is column 0, duration the seventh after it.
    assert listed(admin_client, o="7") == [one.id, two.id, three.id]
    assert listed(admin_client, o="-7") == [three.id, two.id, one.id]


def test_list_filters_by_status_queue_and_task_name(admin_client):
    failed = make_task(status=Task.FAILED)
    emails = make_task(queue="emails")
    countdown = make_task(task_name="tests.testapp.tasks.countdown", task_params={"start": 2})
    assert listed(admin_client, status__exact=Task.FAILED) == [failed.id]
    assert listed(admin_client, queue="emails") == [emails.id]
    assert listed(admin_client, task_name="tests.testapp.tasks.countdown") == [countdown.id]
    assert len(listed(admin_client, queue="default")) == 2


def test_search_matches_exact_id_or_task_name(admin_client):
    add = make_task()
    countdown = make_task(task_name="tests.testapp.tasks.countdown", task_params={"start": 2})
    assert listed(admin_client, q=str(add.id)) == [add.id]
    assert listed(admin_client, q=f"  {countdown.id.hex.upper()} ") == [countdown.id]
    assert listed(admin_client, q="countdown") == [countdown.id]
    assert listed(admin_client, q=str(uuid.uuid4())) == []
    # Part of an id is not an id: it is looked for in task names, and found nowhere.
    assert listed(admin_client, q=str(add.id)[:8]) == []


# The read-only task page


def test_detail_page_escapes_and_pretty_prints_everything(admin_client):
    task = make_task(
        task_name=f"tests.testapp.tasks.{XSS}",
        status=Task.FAILED,
        task_params={"x": XSS},
        result={"y": [XSS]},
        error=f"ValueError: {XSS}",
        traceback=f"Traceback (most recent call last):\n  ...\nValueError: {XSS}",
    )
    response = admin_client.get(change_url(task))
    assert response.status_code == 200
    content = response.content.decode()
    assert XSS not in content
    assert f"{{\n  &quot;x&quot;: &quot;{ESCAPED_XSS}&quot;\n}}</pre>" in content
    assert f"&quot;y&quot;: [\n    &quot;{ESCAPED_XSS}&quot;\n  ]" in content
    assert f">ValueError: {ESCAPED_XSS}</pre>" in content
    assert f"  ...\nValueError: {ESCAPED_XSS}</pre>" in content
    assert f"tests.testapp.tasks.{ESCAPED_XSS}" in content


def test_detail_page_lists_every_failed_attempt_escaped(admin_client):
    task = make_task(
        status=Task.FAILED,
        errors=[
            {"attempt": 1, "error": f"ConnectionError: {XSS}", "exception": "x", "traceback": ""},
            {"attempt": 2, "error": "ConnectionError: run 2", "exception": "x", "traceback": ""},
        ],
    )
    content = admin_client.get(change_url(task)).content.decode()
    assert XSS not in content
    assert (
        f">attempt 1: ConnectionError: {ESCAPED_XSS}\nattempt 2: ConnectionError: run 2</pre>"
        in (content)
    )


def test_detail_page_is_read_only(admin_client):
    task = finished(1.5, result=3)
    response = admin_client.get(change_url(task))
    content = response.content.decode()
    assert 'name="_save"' not in content
    assert 'name="task_name"' not in content
    assert "1.50 s" in content
    response = admin_client.post(change_url(task), {"task_name": "tests.testapp.tasks.sleep"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.task_name == "tests.testapp.tasks.add"


def test_detail_page_links_the_worker(admin_client):
    worker = Worker.objects.create(host="box", pid=42, started_at=T0, last_heartbeat_at=T0)
    task = make_task(status=Task.PROGRESS, worker_id=worker.id, started_at=T0)
    content = admin_client.get(change_url(task)).content.decode()
    url = reverse("admin:django_simple_queue_worker_change", args=[worker.id])
    assert f'<a href="{url}">{worker.id}</a>' in content


# Actions


def one_in_each_state() -> dict[str, Task]:
    return {status: make_task(status=status) for status, _ in Task.STATUS_CHOICES}


def statuses() -> dict[uuid.UUID, str]:
    return dict(Task.objects.values_list("id", "status"))


def test_requeue_resets_failed_and_cancelled_tasks_only(admin_client):
    tasks = one_in_each_state()
    Task.objects.filter(status__in=(Task.FAILED, Task.CANCELLED, Task.COMPLETED)).update(
        worker_id=uuid.uuid4(),
        started_at=T0,
        completed_at=T0,
        error="ValueError: no",
        traceback="Traceback ...",
        result={"partial": True},
        run_after=T0,
        attempts=3,
    )
    messages = act(admin_client, "requeue", list(tasks.values()))
    assert messages == [
        "2 tasks re-queued, 3 skipped (only failed or cancelled tasks are re-queued)."
    ]
    expected = {task.id: status for status, task in tasks.items()}
    expected[tasks[Task.FAILED].id] = expected[tasks[Task.CANCELLED].id] = Task.QUEUED
    assert statuses() == expected
    for status in (Task.FAILED, Task.CANCELLED):
        task = Task.objects.get(id=tasks[status].id)
        assert (task.worker_id, task.started_at, task.completed_at, task.run_after) == (
            None,
            None,
            None,
            None,
        )
        assert (task.error, task.traceback, task.result, task.attempts) == ("", "", None, 0)
    completed = Task.objects.get(id=tasks[Task.COMPLETED].id)
    assert (completed.attempts, completed.error) == (3, "ValueError: no")


def test_cancel_stops_queued_tasks_only(admin_client):
    tasks = one_in_each_state()
    messages = act(admin_client, "cancel", list(tasks.values()))
    assert messages == ["1 task cancelled, 4 skipped (only queued tasks are cancelled)."]
    expected = {task.id: status for status, task in tasks.items()}
    expected[tasks[Task.QUEUED].id] = Task.CANCELLED
    assert statuses() == expected
    cancelled = Task.objects.get(id=tasks[Task.QUEUED].id)
    assert abs(cancelled.completed_at - timezone.now()) < datetime.timedelta(minutes=1)
    assert (cancelled.error, cancelled.traceback) == (
        "TaskCancelled: cancelled in the admin by admin", "",
    )  # fmt: skip
    assert Task.objects.filter(completed_at__isnull=False).count() == 1


def test_cancel_skips_a_task_claimed_after_the_page_was_drawn(admin_client):
    queued, claimed = make_task(), make_task()
    worker_id = uuid.uuid4()
    # A worker claims it between the list being shown and the action being posted.
    Task.objects.filter(id=claimed.id).update(status=Task.PROGRESS, worker_id=worker_id)
    messages = act(admin_client, "cancel", [queued, claimed])
    assert messages == ["1 task cancelled, 1 skipped (only queued tasks are cancelled)."]
    claimed.refresh_from_db()
    assert (claimed.status, claimed.worker_id, claimed.completed_at) == (
        Task.PROGRESS,
        worker_id,
        None,
    )


def test_action_with_nothing_to_do_warns(admin_client):
    task = make_task(status=Task.COMPLETED)
    response = admin_client.post(
        reverse(CHANGELIST), {"action": "requeue", "_selected_action": [str(task.id)]}
    )
    [message] = get_messages(response.wsgi_request)
    assert (message.level_tag, str(message)) == (
        "warning",
        "0 tasks re-queued, 1 skipped (only failed or cancelled tasks are re-queued).",
    )
    assert statuses() == {task.id: Task.COMPLETED}


def test_actions_need_change_permission(viewer_client):
    task = make_task(status=Task.FAILED)
    response = viewer_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert 'value="requeue"' not in response.content.decode()
    data = {"action": "requeue", "_selected_action": [str(task.id)]}
    assert viewer_client.post(reverse(CHANGELIST), data).status_code == 200
    assert statuses() == {task.id: Task.FAILED}


# The add form


def add_data(**fields) -> dict[str, str]:
    data = {
        "task_name": "tests.testapp.tasks.add",
        "task_params": '{"a": 1, "b": 2}',
        "queue": "default",
        "priority": "0",
        "run_after_0": "",
        "run_after_1": "",
        "max_attempts": "1",
        "timeout": "",
    }
    data.update(fields)
    return data


def test_add_form_enqueues_one_queued_task(admin_client):
    data = add_data(
        task_params='{"a": 2, "b": 3}',
        queue="reports",
        priority="5",
        run_after_0="2030-01-02",
        run_after_1="03:04:05",
        max_attempts="3",
        timeout="60",
    )
    response = admin_client.post(reverse(ADD), data)
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.task_name, task.task_params, task.status) == (
        "tests.testapp.tasks.add",
        {"a": 2, "b": 3},
        Task.QUEUED,
    )
    assert (task.queue, task.priority, task.max_attempts, task.timeout) == ("reports", 5, 3, 60)
    assert task.run_after == datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert (task.attempts, task.worker_id, task.started_at) == (0, None, None)


def test_add_form_takes_empty_params_as_no_arguments(admin_client):
    response = admin_client.post(reverse(ADD), add_data(task_params=""))
    assert response.status_code == 302
    assert Task.objects.get().task_params == {}


def test_add_form_offers_the_configured_defaults(admin_client, settings):
    settings.DJANGO_SIMPLE_QUEUE_MAX_ATTEMPTS = 4
    settings.DJANGO_SIMPLE_QUEUE_DEFAULT_QUEUE = "main"
    form = admin_client.get(reverse(ADD)).context["adminform"].form
    assert (form["max_attempts"].initial, form["queue"].initial) == (4, "main")


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        (
            {"task_name": "os.system"},
            "task_name",
            "Task 'os.system' is not allowed: it is never run.",
        ),
        (
            {"task_name": "django.contrib.auth.models.User"},
            "task_name",
            "Task 'django.contrib.auth.models.User' is not allowed: add it to "
            "DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, define it in the tasks module of an "
            "installed app, or declare it with @task in an installed app.",
        ),
        (
            {"task_name": "tests.testapp.tasks.missing"},
            "task_name",
            "Task 'tests.testapp.tasks.missing': module 'tests.testapp.tasks' has no "
            "attribute 'missing'.",
        ),
        (
            {"task_name": "tests.testapp.tasks.NOT_CALLABLE"},
            "task_name",
            "Task 'tests.testapp.tasks.NOT_CALLABLE' is not callable: it is int.",
        ),
        (
            {"task_params": "[1, 2]"},
            "task_params",
            "Task params must be a dict of keyword arguments, not list.",
        ),
        (
            {"task_params": '{"a": 1,'},
            "task_params",
            "Enter valid JSON: an object of keyword arguments.",
        ),
        (
            {"task_params": '{"a": NaN}'},
            "task_params",
            "Task params are not JSON: params['a'] is nan, which JSON cannot represent.",
        ),
        (
            {"max_attempts": "0"},
            "max_attempts",
            "Ensure this value is greater than or equal to 1.",
        ),
        ({"timeout": "0"}, "timeout", "Ensure this value is greater than or equal to 1."),
        ({"queue": ""}, "queue", "This field is required."),
    ],
)
def test_add_form_rejects_bad_input_and_enqueues_nothing(admin_client, fields, field, error):
    response = admin_client.post(reverse(ADD), add_data(**fields))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {field: [error]}
    assert Task.objects.count() == 0


# Workers


def test_worker_list_is_read_only(admin_client):
    worker = Worker.objects.create(
        host="box-1",
        pid=4242,
        queues="default,emails",
        concurrency=2,
        started_at=T0,
        last_heartbeat_at=T0 + datetime.timedelta(seconds=5),
    )
    response = admin_client.get(reverse("admin:django_simple_queue_worker_changelist"))
    assert [row.id for row in response.context["cl"].result_list] == [worker.id]
    content = response.content.decode()
    for header in ("ID", "Host", "Pid", "Queues", "Concurrency", "Started", "Last seen"):
        assert f">{header}</a>" in content
    assert '<td class="field-queues">default,emails</td>' in content
    assert '<td class="field-stopped_at nowrap">\u2014</td>' in content
    assert reverse("admin:django_simple_queue_worker_add") not in content
    assert 'value="delete_selected"' not in content
    assert admin_client.get(reverse("admin:django_simple_queue_worker_add")).status_code == 403
    detail = reverse("admin:django_simple_queue_worker_change", args=[worker.id])
    assert 'name="_save"' not in admin_client.get(detail).content.decode()
    assert admin_client.post(detail, {"host": "elsewhere"}).status_code == 403
    delete = reverse("admin:django_simple_queue_worker_delete", args=[worker.id])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Worker.objects.get().host == "box-1"


def test_worker_list_shows_state_and_the_tasks_each_runs(admin_client):
    from django.utils import timezone

    now = timezone.now()
    live = Worker.objects.create(host="a", pid=1, started_at=now, last_heartbeat_at=now)
    lost = Worker.objects.create(
        host="b", pid=2, started_at=T0, last_heartbeat_at=now - datetime.timedelta(hours=1)
    )
    Worker.objects.create(host="c", pid=3, started_at=T0, last_heartbeat_at=T0, stopped_at=now)
    task = make_task(
        task_name=f"tests.testapp.tasks.{XSS}", status=Task.PROGRESS, worker_id=live.id
    )
    make_task(status=Task.COMPLETED, worker_id=lost.id)
    content = admin_client.get(reverse("admin:django_simple_queue_worker_changelist")).content
    content = content.decode()
    states = [cell.split("<")[0] for cell in content.split('<td class="field-state">')[1:]]
    assert sorted(states) == ["live", "lost", "stopped"]
    link = reverse("admin:django_simple_queue_task_change", args=[task.id])
    assert f'<a href="{link}">tests.testapp.tasks.{ESCAPED_XSS}</a>' in content
    assert XSS not in content
    assert content.count('<td class="field-running">\u2014</td>') == 2


def test_detail_page_shows_positional_arguments_and_the_tasks_backend(admin_client):
    task = make_task(args=[1, XSS], backend="default")
    content = admin_client.get(change_url(task)).content.decode()
    assert XSS not in content
    assert f"[\n  1,\n  &quot;{ESCAPED_XSS}&quot;\n]</pre>" in content
    assert '<div class="readonly">default</div>' in content

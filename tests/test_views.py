"""The 0.1.10 status page: staff only, escaped, HTML or JSON."""

import uuid
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from django_simple_queue.models import Task

pytestmark = pytest.mark.django_db

URL = "/django_simple_queue/task"
XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def task() -> Task:
    return Task.objects.create(
        task_name="tests.testapp.tasks.add",
        task_params={"a": 1, "b": 2},
        status=Task.COMPLETED,
        result=3,
    )


def user_client(client, django_user_model, *, is_staff: bool, codenames: tuple[str, ...] = ()):
    user = django_user_model.objects.create_user("someone", password="pw", is_staff=is_staff)
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(
                codename=codename, content_type__app_label="django_simple_queue"
            )
        )
    client.force_login(user)
    return client


def test_url_name_is_the_0_1_10_path():
    assert reverse("django_simple_queue:task") == URL


def test_anonymous_user_is_sent_to_the_admin_login(client, task):
    for query in (f"task_id={task.id}", f"task_id={task.id}&type=json"):
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={quote(f'{URL}?{query}', safe='/')}"


def test_logged_in_non_staff_user_is_redirected_and_sees_nothing(client, django_user_model, task):
    client = user_client(client, django_user_model, is_staff=False, codenames=("view_task",))
    for query in (f"task_id={task.id}", f"task_id={task.id}&type=json"):
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=")
        assert task.task_name not in response.content.decode()


def test_staff_without_permission_to_view_tasks_is_forbidden(client, django_user_model, task):
    client = user_client(client, django_user_model, is_staff=True)
    assert client.get(URL, {"task_id": str(task.id)}).status_code == 403
    assert client.get(URL, {"task_id": str(task.id), "type": "json"}).status_code == 403


@pytest.mark.parametrize("codename", ["view_task", "change_task"])
def test_staff_with_permission_sees_the_page(client, django_user_model, task, codename):
    client = user_client(client, django_user_model, is_staff=True, codenames=(codename,))
    response = client.get(URL, {"task_id": str(task.id)})
    assert response.status_code == 200
    content = response.content.decode()
    assert "<code>tests.testapp.tasks.add</code>" in content
    assert "<td>Completed</td>" in content


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"task_id": ""},
        {"task_id": "nope"},
        {"task_id": "1234"},
        {"task_id": str(uuid.uuid4())},
    ],
)
@pytest.mark.parametrize("kind", ["html", "json"])
def test_bad_or_unknown_task_id_is_a_bad_request(admin_client, task, query, kind):
    response = admin_client.get(URL, {**query, "type": kind})
    assert response.status_code == 400
    assert response.content == b"Invalid task_id requested."


def test_html_page_escapes_everything(admin_client):
    task = Task.objects.create(
        task_name=f"tests.testapp.tasks.{XSS}",
        task_params={"x": XSS},
        status=Task.FAILED,
        result=[XSS],
        error=f"ValueError: {XSS}",
        traceback=f"Traceback (most recent call last):\nValueError: {XSS}",
    )
    content = admin_client.get(URL, {"task_id": str(task.id)}).content.decode()
    assert XSS not in content
    assert f"<code>tests.testapp.tasks.{ESCAPED_XSS}</code>" in content
    assert f"<pre>{{\n  &quot;x&quot;: &quot;{ESCAPED_XSS}&quot;\n}}</pre>" in content
    assert f"<pre>[\n  &quot;{ESCAPED_XSS}&quot;\n]</pre>" in content
    assert f"<pre>ValueError: {ESCAPED_XSS}</pre>" in content
    assert f"<pre>Traceback (most recent call last):\nValueError: {ESCAPED_XSS}</pre>" in content


def test_html_page_refreshes_only_while_the_task_can_change(admin_client, task):
    refresh = '<meta http-equiv="refresh" content="5">'
    assert refresh not in admin_client.get(URL, {"task_id": str(task.id)}).content.decode()
    for status in (Task.QUEUED, Task.PROGRESS):
        Task.objects.filter(id=task.id).update(status=status)
        assert refresh in admin_client.get(URL, {"task_id": str(task.id)}).content.decode()


def test_json_page_keeps_the_0_1_10_keys(admin_client, task):
    response = admin_client.get(URL, {"task_id": str(task.id), "type": "json"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert {key: data[key] for key in ("id", "task", "args", "status")} == {
        "id": str(task.id),
        "task": "tests.testapp.tasks.add",
        "args": {"a": 1, "b": 2},
        "status": "Completed",
    }
    assert (data["status_code"], data["result"], data["error"]) == (Task.COMPLETED, 3, "")


def test_json_page_returns_markup_as_data(admin_client):
    task = Task.objects.create(task_name="tests.testapp.tasks.add", task_params={"x": XSS})
    data = admin_client.get(URL, {"task_id": str(task.id), "type": "json"}).json()
    assert data["args"] == {"x": XSS}


def test_html_page_shows_positional_arguments_when_there_are_some(admin_client, task):
    plain = admin_client.get(URL, {"task_id": str(task.id)}).content.decode()
    assert "Positional arguments" not in plain
    framework = Task.objects.create(task_name="tests.testapp.tasks.add", args=[1, XSS])
    content = admin_client.get(URL, {"task_id": str(framework.id)}).content.decode()
    assert XSS not in content
    assert (
        "<tr><th>Positional arguments</th><td><pre>[\n  1,\n  "
        f"&quot;{ESCAPED_XSS}&quot;\n]</pre></td></tr>" in content
    )

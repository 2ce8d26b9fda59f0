"""The 0.1.10 status page (``task?task_id=...``), now for logged-in staff only."""

import json
import uuid
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render

from django_simple_queue.models import Task

# Either lets a user read tasks in the admin; the page shows no more than that.
VIEW_PERMISSIONS = ("django_simple_queue.view_task", "django_simple_queue.change_task")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@staff_member_required
def view_task_status(request: HttpRequest) -> HttpResponse:
    """Show one task as an auto-refreshing page, or as JSON with ``&type=json``.

    Staff without permission to view tasks in the admin get 403 here too, so
    the page never shows more than the admin would.
    """
    if not any(request.user.has_perm(permission) for permission in VIEW_PERMISSIONS):
        raise PermissionDenied
    try:
        task = Task.objects.get(id=uuid.UUID(request.GET.get("task_id", "")))
    except (ValueError, Task.DoesNotExist):
        return HttpResponseBadRequest("Invalid task_id requested.")
    if request.GET.get("type") == "json":
        return JsonResponse(task.as_dict)
    context = {
        "task": task,
        "args_json": _pretty(task.args) if task.args else "",
        "params_json": _pretty(task.task_params),
        "result_json": None if task.result is None else _pretty(task.result),
    }
    return render(request, "django_simple_queue/task_status.html", context)

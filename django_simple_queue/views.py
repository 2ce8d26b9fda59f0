"""The 0.1.10 status page (``task?task_id=...``), now for logged-in staff only."""

import uuid

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render

from django_simple_queue.models import Task


@staff_member_required
def view_task_status(request: HttpRequest) -> HttpResponse:
    """Show one task as an auto-refreshing page, or as JSON with ``&type=json``."""
    try:
        task = Task.objects.get(id=uuid.UUID(request.GET.get("task_id", "")))
    except (ValueError, Task.DoesNotExist):
        return HttpResponseBadRequest("Invalid task_id requested.")
    if request.GET.get("type") == "json":
        return JsonResponse(task.as_dict)
    return render(request, "django_simple_queue/task_status.html", {"task": task})

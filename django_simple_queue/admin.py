"""Admin pages: the task list with re-queue and cancel, a read-only task page, the workers."""

import datetime
import json
import uuid
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import DurationField, ExpressionWrapper, F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_simple_queue.conf import settings
from django_simple_queue.forms import TaskAddForm
from django_simple_queue.models import Task, Worker
from django_simple_queue.sql import DatabaseNow
from django_simple_queue.sql.finish import one_line

EMPTY = "\u2014"  # an em dash, for a value that is not known (yet)

# Everything a re-queued task must forget: it runs again as if new.
REQUEUE_VALUES: dict[str, Any] = {
    "status": Task.QUEUED,
    "worker_id": None,
    "started_at": None,
    "completed_at": None,
    "error": "",
    "traceback": "",
    "result": None,
    "run_after": None,
    "attempts": 0,
}

DETAIL_FIELDSETS: Any = (
    (None, {"fields": ("id", "task_name", "status", "queue", "priority", "backend")}),
    (
        _("Timing"),
        {"fields": ("created_at", "run_after", "started_at", "completed_at", "duration")},
    ),
    (_("Attempts"), {"fields": ("attempts", "max_attempts", "timeout", "worker")}),
    (
        _("Input and outcome"),
        {
            "fields": (
                "args_json",
                "params_json",
                "result_json",
                "error_text",
                "traceback_text",
                "retry_on",
                "errors_text",
            )
        },
    ),
)


def format_duration(duration: datetime.timedelta | None) -> str:
    """Render *duration* as "0.25 s", "3 min 5 s" or "2 h 7 min"; an em dash when unknown."""
    if duration is None:
        return EMPTY
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, whole_seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {whole_seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def preformatted(text: str) -> SafeString:
    """Wrap *text* in <pre>, escaped: task data is whatever the task's caller put there."""
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


def pretty_json(value: Any) -> SafeString:
    """Indent a JSON value for reading, escaped."""
    return preformatted(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Tasks: newest first, searchable by exact id or by name; existing ones are read-only."""

    list_display = (
        "task_name",
        "status",
        "queue",
        "priority",
        "attempts",
        "created_at",
        "duration",
    )
    list_filter = ("status", "queue", "task_name")
    search_fields = ("task_name",)
    ordering = ("-created_at",)
    empty_value_display = EMPTY
    actions = ("requeue", "cancel")
    # Counting a table of millions of rows on every list page is the slow part.
    show_full_result_count = False

    def has_change_permission(self, request: HttpRequest, obj: Task | None = None) -> bool:
        """Never edit a task in place; without an object, answer for the bulk actions."""
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = TaskAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Task | None = None) -> Any:
        if obj is None:
            return ((None, {"fields": TaskAddForm.Meta.fields}),)
        return DETAIL_FIELDSETS

    def get_readonly_fields(self, request: HttpRequest, obj: Task | None = None) -> Any:
        return () if obj is None else flatten_fieldsets(DETAIL_FIELDSETS)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Task], search_term: str
    ) -> tuple[QuerySet[Task], bool]:
        """Match a UUID against the id exactly, anything else against the task name."""
        try:
            task_id = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(id=task_id), False

    @admin.display(
        description=_("duration"),
        ordering=ExpressionWrapper(F("completed_at") - F("started_at"), DurationField()),
    )
    def duration(self, obj: Task) -> str:
        return format_duration(obj.duration)

    @admin.display(description=_("worker"))
    def worker(self, obj: Task) -> str:
        if obj.worker_id is None:
            return EMPTY
        url = reverse(
            f"{self.admin_site.name}:django_simple_queue_worker_change", args=[obj.worker_id]
        )
        return format_html('<a href="{}">{}</a>', url, obj.worker_id)

    @admin.display(description=_("positional arguments"))
    def args_json(self, obj: Task) -> SafeString:
        return pretty_json(obj.args)

    @admin.display(description=_("parameters"))
    def params_json(self, obj: Task) -> SafeString:
        return pretty_json(obj.task_params)

    @admin.display(description=_("result"))
    def result_json(self, obj: Task) -> str:
        return EMPTY if obj.result is None else pretty_json(obj.result)

    @admin.display(description=_("error"))
    def error_text(self, obj: Task) -> str:
        return preformatted(obj.error) if obj.error else EMPTY

    @admin.display(description=_("traceback"))
    def traceback_text(self, obj: Task) -> str:
        return preformatted(obj.traceback) if obj.traceback else EMPTY

    @admin.display(description=_("errors of each failed attempt"))
    def errors_text(self, obj: Task) -> str:
        if not obj.errors:
            return EMPTY
        if not isinstance(obj.errors, list):  # written by hand: show it as stored
            return preformatted(json.dumps(obj.errors))
        lines = [
            f"attempt {e.get('attempt')}: {e.get('error')}"
            if isinstance(e, dict)
            else json.dumps(e)
            for e in obj.errors
        ]
        return preformatted("\n".join(lines))

    @admin.action(
        description=_("Re-queue selected failed or cancelled tasks"), permissions=["change"]
    )
    def requeue(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        """Run failed or cancelled tasks again from scratch; leave the others alone."""
        selected = queryset.count()
        # One filtered UPDATE: a task whose state changed since the page was
        # drawn is skipped by the WHERE, never overwritten.
        done = queryset.filter(status__in=(Task.FAILED, Task.CANCELLED)).update(**REQUEUE_VALUES)
        message = ngettext(
            "%(done)d task re-queued, %(skipped)d skipped (only failed or cancelled tasks are "
            "re-queued).",
            "%(done)d tasks re-queued, %(skipped)d skipped (only failed or cancelled tasks are "
            "re-queued).",
            done,
        )
        self._report(request, message % {"done": done, "skipped": selected - done}, done)

    @admin.action(description=_("Cancel selected queued tasks"), permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        """Cancel tasks no worker has claimed yet; leave the others alone."""
        selected = queryset.count()
        # The status guard is what keeps a task a worker claimed meanwhile running.
        reason = f"TaskCancelled: cancelled in the admin by {request.user.get_username()}"
        done = queryset.filter(status=Task.QUEUED).update(
            status=Task.CANCELLED, completed_at=DatabaseNow(), error=one_line(reason), traceback=""
        )
        message = ngettext(
            "%(done)d task cancelled, %(skipped)d skipped (only queued tasks are cancelled).",
            "%(done)d tasks cancelled, %(skipped)d skipped (only queued tasks are cancelled).",
            done,
        )
        self._report(request, message % {"done": done, "skipped": selected - done}, done)

    def _report(self, request: HttpRequest, message: str, done: int) -> None:
        self.message_user(request, message, messages.SUCCESS if done else messages.WARNING)


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """Worker processes, as they report themselves: read-only, since workers own these rows."""

    list_display = (
        "id",
        "state",
        "host",
        "pid",
        "queues",
        "concurrency",
        "started_at",
        "last_heartbeat_at",
        "stopped_at",
        "running",
    )
    list_filter = ("host",)
    search_fields = ("host",)
    ordering = ("-started_at",)
    empty_value_display = EMPTY

    @admin.display(description=_("state"))
    def state(self, obj: Worker) -> str:
        """Stopped, live, or lost (no heartbeat for longer than the rescue threshold)."""
        if obj.stopped_at:
            return str(_("stopped"))
        silent = (timezone.now() - obj.last_heartbeat_at).total_seconds()
        return str(_("live")) if silent <= settings.STALE_AFTER else str(_("lost"))

    @admin.display(description=_("running"))
    def running(self, obj: Worker) -> str:
        # One small query per row: the list shows few workers, and a value kept
        # on this shared admin object would leak between concurrent requests.
        tasks = Task.objects.running().filter(worker_id=obj.id).values_list("id", "task_name")
        if not tasks:
            return EMPTY
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:django_simple_queue_task_change", args=[pk]), name)
             for pk, name in tasks),
        )  # fmt: skip
        return links

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Worker | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Worker | None = None) -> bool:
        return False

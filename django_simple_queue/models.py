"""The task table, the worker table and their querysets. No raw SQL here."""

import uuid
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TaskQuerySet(models.QuerySet["Task"]):
    def queued(self) -> "TaskQuerySet":
        return self.filter(status=Task.QUEUED)

    def running(self) -> "TaskQuerySet":
        return self.filter(status=Task.PROGRESS)

    def finished(self) -> "TaskQuerySet":
        return self.filter(status__in=Task.TERMINAL)

    def failed(self) -> "TaskQuerySet":
        return self.filter(status=Task.FAILED)


BACKEND_MAX_LENGTH = 100


class Task(models.Model):
    """One enqueued call of a dotted-path callable with JSON keyword arguments."""

    QUEUED = "QUEUED"
    PROGRESS = "PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    STATUS_CHOICES = [
        (QUEUED, _("Queued")),
        (PROGRESS, _("In progress")),
        (COMPLETED, _("Completed")),
        (FAILED, _("Failed")),
        (CANCELLED, _("Cancelled")),
    ]
    TERMINAL = (COMPLETED, FAILED, CANCELLED)
    TASK_NAME_MAX_LENGTH = 255
    QUEUE_MAX_LENGTH = 100

    id = models.UUIDField(_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    task_name = models.CharField(
        _("task"), max_length=TASK_NAME_MAX_LENGTH, help_text=_("Dotted path of the callable.")
    )
    task_params = models.JSONField(
        _("parameters"), default=dict, blank=True, help_text=_("Keyword arguments, as JSON.")
    )
    args = models.JSONField(
        _("positional arguments"), default=list, blank=True, help_text=_("A JSON list.")
    )
    backend = models.CharField(
        _("tasks backend"),
        max_length=BACKEND_MAX_LENGTH,
        blank=True,
        default="",
        help_text=_("The TASKS alias it was enqueued through; empty for enqueue()."),
    )
    status = models.CharField(_("status"), max_length=10, choices=STATUS_CHOICES, default=QUEUED)
    queue = models.CharField(_("queue"), max_length=QUEUE_MAX_LENGTH, default="default")
    priority = models.SmallIntegerField(_("priority"), default=0, help_text=_("Higher first."))
    run_after = models.DateTimeField(
        _("run after"), null=True, blank=True, help_text=_("Not claimed before this time.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, editable=False)
    attempts = models.PositiveIntegerField(_("attempts"), default=0, editable=False)
    max_attempts = models.PositiveIntegerField(_("max attempts"), default=1)
    retry_on = models.JSONField(
        _("retry on"),
        null=True,
        blank=True,
        help_text=_("Exception classes (dotted paths) that are retried; empty retries any."),
    )
    timeout = models.PositiveIntegerField(
        _("timeout"), null=True, blank=True, help_text=_("Seconds; empty means the worker's.")
    )
    result = models.JSONField(_("result"), null=True, blank=True, editable=False)
    error = models.TextField(_("error"), blank=True, default="", editable=False)
    traceback = models.TextField(_("traceback"), blank=True, default="", editable=False)
    errors = models.JSONField(
        _("errors of earlier attempts"), default=list, blank=True, editable=False
    )
    worker_id = models.UUIDField(_("worker"), null=True, blank=True, editable=False)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            # Lead with status so the claim reads only queued rows, in claim
            # order. PostgreSQL and SQLite also get a partial index on queued
            # rows (migration 0002); it is not declared here because MariaDB
            # and MySQL have none and Django would warn on every check.
            models.Index(fields=["status", "-priority", "created_at"], name="dsq_task_claim"),
            models.Index(fields=["worker_id", "status"], name="dsq_task_worker"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} ({self.id})"

    @property
    def duration(self) -> Any:
        """Time from start to completion, or None while either is missing."""
        if self.started_at and self.completed_at:
            return self.completed_at - self.started_at
        return None

    @property
    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the row (the 0.1.10 status page's shape, extended)."""
        return {
            "id": str(self.id),
            "task": self.task_name,
            "args": self.task_params,
            "positional_args": self.args,
            "backend": self.backend,
            "status": self.get_status_display(),
            "status_code": self.status,
            "queue": self.queue,
            "priority": self.priority,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "created": self.created_at.isoformat() if self.created_at else None,
            "started": self.started_at.isoformat() if self.started_at else None,
            "completed": self.completed_at.isoformat() if self.completed_at else None,
            "result": self.result,
            "error": self.error,
            "traceback": self.traceback,
        }


class Worker(models.Model):
    """One worker process start: its identity and its last sign of life."""

    id = models.UUIDField(_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    host = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("pid"))
    queues = models.CharField(_("queues"), max_length=1000, blank=True, default="")
    concurrency = models.PositiveIntegerField(_("concurrency"), default=1)
    started_at = models.DateTimeField(_("started"))
    last_heartbeat_at = models.DateTimeField(_("last seen"))
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")

    def __str__(self) -> str:
        return f"{self.host}:{self.pid} ({self.id})"

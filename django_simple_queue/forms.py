"""The admin's form for enqueueing a task by hand, validated like ``enqueue()``."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from django_simple_queue.conf import settings
from django_simple_queue.enqueueing import validate_params
from django_simple_queue.exceptions import EnqueueError
from django_simple_queue.models import Task
from django_simple_queue.registry import resolve


class TaskAddForm(forms.ModelForm):
    """Accept only an allowed, importable task name and a JSON object of parameters."""

    task_params = forms.JSONField(
        label=_("parameters"),
        required=False,
        initial=dict,
        help_text=_('Keyword arguments as a JSON object, such as {"a": 1, "b": 2}.'),
        error_messages={"invalid": _("Enter valid JSON: an object of keyword arguments.")},
    )
    max_attempts = forms.IntegerField(label=_("max attempts"), min_value=1)
    timeout = forms.IntegerField(
        label=_("timeout"),
        min_value=1,
        required=False,
        help_text=_("Seconds; empty means the worker's."),
    )

    class Meta:
        model = Task
        fields = [
            "task_name",
            "task_params",
            "queue",
            "priority",
            "run_after",
            "max_attempts",
            "timeout",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read here, not at import time, so a changed setting shows on the next page.
        self.fields["queue"].initial = settings.DEFAULT_QUEUE
        self.fields["max_attempts"].initial = settings.MAX_ATTEMPTS

    def clean_task_name(self) -> str:
        """Check the allowlist and import the callable, as the worker will."""
        task_name = self.cleaned_data["task_name"].strip()
        try:
            resolve(task_name)
        except EnqueueError as exc:
            raise forms.ValidationError(str(exc), code="task_name") from exc
        return task_name

    def clean_task_params(self) -> dict[str, Any]:
        """Require a JSON object (or nothing, meaning no arguments)."""
        try:
            return validate_params(self.cleaned_data.get("task_params"))
        except EnqueueError as exc:
            raise forms.ValidationError(str(exc), code="task_params") from exc

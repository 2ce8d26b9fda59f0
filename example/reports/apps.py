"""The demo's app: word statistics over public-domain texts, computed by queued tasks."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Text reports computed by queued tasks."""

    name = "reports"
    verbose_name = "Text reports"

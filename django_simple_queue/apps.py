from django.apps import AppConfig


class DjangoSimpleQueueConfig(AppConfig):
    name = "django_simple_queue"
    verbose_name = "Simple queue"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from django_simple_queue import checks  # noqa: F401  (registers the checks)

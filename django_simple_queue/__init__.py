"""A background task queue for Django whose only broker is the project's database."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_simple_queue.models import Task

__all__ = ["enqueue"]
__version__ = "1.0.0.dev0"


def enqueue(task_name: str, params: dict[str, Any] | None = None, **options: Any) -> "Task":
    """Validate and insert one task; see ``django_simple_queue.enqueueing.enqueue``."""
    # Imported here so that importing the package never touches the app registry.
    from django_simple_queue.enqueueing import enqueue as _enqueue

    return _enqueue(task_name, params, **options)

"""The 0.1.10 helper, kept for code written against that release."""

import uuid
from typing import Any

from django_simple_queue.enqueueing import enqueue


def create_task(task: str, args: dict[str, Any]) -> uuid.UUID:
    """Enqueue *task* with keyword arguments *args* and return the task's id."""
    if not isinstance(args, dict):
        raise TypeError("args should be of type dict.")
    return enqueue(task, args).id

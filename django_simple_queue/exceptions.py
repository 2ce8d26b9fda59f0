"""Exceptions raised by the public API."""


class EnqueueError(ValueError):
    """A task could not be enqueued; nothing was written."""


class TaskNotAllowed(EnqueueError):
    """The dotted path is not on the allowlist."""


class TaskNotFound(EnqueueError):
    """The dotted path does not name an importable callable."""


class InvalidParams(EnqueueError, TypeError):
    """The keyword arguments are not a JSON object."""


class TaskFailed(Exception):
    """A task ended without an exception of its own: its worker was lost, it was stopped.

    ``TaskResult.errors`` names this class for such attempts of tasks enqueued
    through Django's tasks framework.
    """

"""Exceptions raised by the public API."""


class EnqueueError(ValueError):
    """A task could not be enqueued; nothing was written."""


class TaskNotAllowed(EnqueueError):
    """The dotted path is not on the allowlist."""


class TaskNotFound(EnqueueError):
    """The dotted path does not name an importable callable."""


class InvalidParams(EnqueueError, TypeError):
    """The keyword arguments are not a JSON object."""

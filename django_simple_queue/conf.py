"""The one settings object: every ``DJANGO_SIMPLE_QUEUE_*`` setting, read lazily."""

from typing import Any

from django.conf import settings as django_settings

PREFIX = "DJANGO_SIMPLE_QUEUE_"

DEFAULTS: dict[str, Any] = {
    # None: callables in the ``tasks`` module of an installed app.
    "ALLOWED_TASKS": None,
    "DEFAULT_QUEUE": "default",
    "MAX_ATTEMPTS": 1,  # runs per task: 1 means no retry
    "RETRY_BACKOFF": 2.0,  # seconds before the first retry; doubled each attempt, jittered
    "RETRY_BACKOFF_MAX": 600.0,  # seconds: the longest wait between attempts
    "TASK_TIMEOUT": 3600,  # seconds; enforced by the worker's supervisor
    "OUTCOME_LOG_LEVEL": "INFO",  # level of the one log line per task outcome
    "POLL_INTERVAL": 1.0,  # seconds between claims when the queue is empty
    "HEARTBEAT_INTERVAL": 5.0,  # seconds between worker heartbeats (and rescues)
    "STALE_AFTER": 60.0,  # seconds without a heartbeat before a worker's tasks are rescued
    "CONCURRENCY": 1,  # child processes per worker
    "MAX_TASKS_PER_CHILD": None,  # recycle a child after this many tasks; None: never
    "MAX_MEMORY_PER_CHILD": None,  # MB: recycle a child that holds more after a task
    "TASK_MEMORY_LIMIT": None,  # MB one task may add before it fails with MemoryError
    "GRACE_PERIOD": 30.0,  # seconds running tasks get to finish after a stop signal
    "ON_SHUTDOWN": "requeue",  # tasks still running after the grace period: requeue or fail
    "SIGNAL_TIMEOUT": 60.0,  # seconds a child may spend in task_finished receivers per notice
}


class Settings:
    """Attribute access to the queue's settings, read from Django's on every access."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown setting {PREFIX}{name}")
        return getattr(django_settings, PREFIX + name, DEFAULTS[name])


settings = Settings()

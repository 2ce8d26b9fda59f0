"""``manage.py worker``: claim and run queued tasks."""

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from django_simple_queue.conf import settings
from django_simple_queue.worker.supervisor import Supervisor


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _log_to_console(verbosity: int) -> None:
    """Show the worker's log on stderr unless the project configured the logger itself."""
    logger = logging.getLogger("django_simple_queue")
    if logger.handlers or verbosity == 0:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    logger.propagate = False


class Command(BaseCommand):
    help = "Claim queued tasks and run them in child processes."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--queue", action="append", dest="queues", metavar="NAME",
            help="Serve this queue (repeatable). Default: every queue.",
        )  # fmt: skip
        parser.add_argument(
            "--concurrency", type=positive_int, default=None, metavar="N",
            help="Child processes that run tasks (default: DJANGO_SIMPLE_QUEUE_CONCURRENCY, 1).",
        )  # fmt: skip
        parser.add_argument("--burst", action="store_true", help="Run what is due, then exit 0.")
        parser.add_argument(
            "--max-tasks", type=positive_int, default=None, metavar="N",
            help="Exit 0 after running N tasks.",
        )  # fmt: skip
        parser.add_argument(
            "--poll-interval", type=float, default=None, metavar="SECONDS",
            help="Wait between claims when nothing is due (default 1).",
        )  # fmt: skip
        parser.add_argument(
            "--timeout", type=int, default=None, metavar="SECONDS",
            help="Time limit for tasks that set none (default: DJANGO_SIMPLE_QUEUE_TASK_TIMEOUT).",
        )  # fmt: skip
        parser.add_argument(
            "--grace-period", type=float, default=None, metavar="SECONDS",
            help="After SIGTERM/SIGINT, how long running tasks may finish (default 30).",
        )  # fmt: skip
        parser.add_argument(
            "--max-tasks-per-child", type=positive_int, default=None, metavar="N",
            help="Replace a child after it has run N tasks.",
        )  # fmt: skip
        parser.add_argument(
            "--max-memory-per-child", type=positive_int, default=None, metavar="MB",
            help="Replace a child that holds more than MB after a task.",
        )  # fmt: skip
        parser.add_argument(
            "--task-memory-limit", type=positive_int, default=None, metavar="MB",
            help="Fail a task that allocates more than MB (off by default).",
        )  # fmt: skip
        parser.add_argument("--database", default=None, help="Database alias of the task table.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["poll_interval"] is not None and options["poll_interval"] <= 0:
            raise CommandError("--poll-interval must be a positive number of seconds.")
        if options["grace_period"] is not None and options["grace_period"] < 0:
            raise CommandError("--grace-period must be 0 or a positive number of seconds.")
        if options["timeout"] is not None and options["timeout"] < 0:
            raise CommandError("--timeout must be 0 (no limit) or a positive number of seconds.")
        _log_to_console(options["verbosity"])
        supervisor = Supervisor(
            queues=options["queues"],
            concurrency=options["concurrency"] or settings.CONCURRENCY,
            burst=options["burst"],
            max_tasks=options["max_tasks"],
            poll_interval=options["poll_interval"],
            timeout=options["timeout"],
            using=options["database"],
            grace_period=options["grace_period"],
            max_tasks_per_child=options["max_tasks_per_child"],
            max_memory_per_child=options["max_memory_per_child"],
            task_memory_limit=options["task_memory_limit"],
        )
        try:
            status = supervisor.run()
        except ImproperlyConfigured as exc:  # the tables are not migrated
            raise CommandError(str(exc)) from None
        if status:
            raise SystemExit(status)

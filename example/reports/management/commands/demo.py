"""``manage.py demo``: enqueue text reports, drain them with a burst worker, show the outcomes."""

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from django_simple_queue.models import Task
from reports import demo

WORKER_ARGS = ["worker", "--burst", "--concurrency", "2"]
WORKER_TIMEOUT = 120  # seconds; the batch takes a few

NEXT_STEPS = """
The reports the tasks wrote are in example/reports_out/.
Next, to look at the tasks in the admin (from the repository root):
  cd example
  ../.venv/bin/python manage.py createsuperuser
  ../.venv/bin/python manage.py runserver
then open http://127.0.0.1:8000/admin/ and log in.
To run a worker that waits for new tasks: ../.venv/bin/python manage.py worker
"""


class Command(BaseCommand):
    help = (
        "Enqueue a batch of word-statistics tasks over the texts in data/, run "
        "`manage.py worker --burst --concurrency 2` on them, and print how each ended. "
        "Exits non-zero unless every task but the deliberate failure completed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = demo.clear_previous()
        tasks = demo.enqueue_batch()
        self.stdout.write(
            f"Deleted {deleted} task(s) of earlier runs; enqueued {len(tasks)} "
            f"(one of them fails on purpose)."
        )
        self.run_worker(verbose=options["verbosity"] > 1)
        finished = Task.objects.in_bulk([task.id for task in tasks])
        problems = [
            f"task {task.id} is gone from the table" for task in tasks if task.id not in finished
        ]
        tasks = [finished[task.id] for task in tasks if task.id in finished]
        self.stdout.write("")
        # The table fits the terminal; piped output gets 120 columns.
        width = shutil.get_terminal_size((120, 24)).columns
        for line in demo.table(tasks, width=min(width, 160), style=self.style_status):
            self.stdout.write(line)
        self.stdout.write(NEXT_STEPS)
        problems += demo.problems(tasks)
        if problems:
            raise CommandError("The queue did not work as planned:\n  " + "\n  ".join(problems))

    def run_worker(self, verbose: bool) -> None:
        """Run the burst worker to its end; show its log with -v 2, or when it fails."""
        command = [sys.executable, "manage.py", *WORKER_ARGS]
        self.stdout.write(f"Running `manage.py {' '.join(WORKER_ARGS)}` ...")
        started = time.monotonic()
        try:
            done = subprocess.run(
                command, cwd=Path(settings.BASE_DIR), capture_output=True, text=True,
                timeout=WORKER_TIMEOUT,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise CommandError(f"The worker was still running after {WORKER_TIMEOUT}s.") from exc
        elapsed = time.monotonic() - started
        if verbose or done.returncode:
            self.stdout.write((done.stdout + done.stderr).rstrip())
        if done.returncode:
            raise CommandError(f"The worker exited with status {done.returncode}.")
        self.stdout.write(f"The worker drained the queue and exited 0 in {elapsed:.1f}s.")

    def style_status(self, task: Task, text: str) -> str:
        """Colour a status: green when completed, yellow for the planned failure, else red."""
        if task.status == Task.COMPLETED:
            return self.style.SUCCESS(text)
        if demo.is_expected_failure(task) and task.status == Task.FAILED:
            return self.style.WARNING(text)
        return self.style.ERROR(text)

"""Watch a worker's memory while it runs many short tasks.

Usage (from the repository root)::

    python bench/memory.py --database sqlite|postgres|mariadb [--tasks 50000]
        [--concurrency 2] [--task add|record] [--debug] [--every 5]

Inserts the tasks, starts one ``manage.py worker --burst``, and prints the
resident memory (RSS) of its supervisor and of each child every few seconds
until the queue is drained. It uses the same database as bench/throughput.py
and asserts nothing: see docs/benchmarks.md for the figures.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.throughput import (  # noqa: E402 - after the path is set
    ROOT,
    URLS,
    bulk_insert,
    configure,
    create_database,
    empty,
    machine,
)

MB = 1024 * 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=sorted(URLS), default="sqlite")
    parser.add_argument("--tasks", type=int, default=50_000, metavar="N")
    parser.add_argument("--concurrency", type=int, default=2, metavar="C")
    parser.add_argument("--task", choices=["add", "record"], default="add")
    parser.add_argument("--debug", action="store_true", help="Run the worker with DEBUG=True.")
    parser.add_argument("--every", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--url", help="DATABASE_URL to use instead of the local default.")
    parser.add_argument("--conn-max-age", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def sample(worker: psutil.Process) -> tuple[float, list[float]]:
    """Return the supervisor's RSS and each child's, in MB."""
    rss = []
    for child in worker.children():
        try:
            if "resource_tracker" in " ".join(child.cmdline()):
                continue  # multiprocessing's helper, not a task-running child
            rss.append(child.memory_info().rss / MB)
        except psutil.NoSuchProcess:
            continue
    return worker.memory_info().rss / MB, rss


def watch(args: argparse.Namespace, env: dict[str, str]) -> None:
    from django_simple_queue.models import Task

    command = [sys.executable, "-m", "django", "worker", "--burst", "-v", "0",
               "--concurrency", str(args.concurrency)]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    worker = psutil.Process(process.pid)
    print(f"{'seconds':>8} {'done':>8} {'supervisor MB':>14}  children MB")
    while process.poll() is None:
        time.sleep(args.every)
        try:
            supervisor, children = sample(worker)
        except psutil.NoSuchProcess:
            break
        if process.poll() is not None:
            break
        done = Task.objects.filter(status=Task.COMPLETED).count()
        kids = " ".join(f"{rss:6.1f}" for rss in children)
        print(f"{time.monotonic() - started:8.0f} {done:8d} {supervisor:14.1f}  {kids}")
    process.wait()
    total = time.monotonic() - started
    done = Task.objects.filter(status=Task.COMPLETED).count()
    print(f"{done} of {args.tasks} tasks completed in {total:.0f} s (exit {process.returncode})")


def main() -> None:
    args = parse_args()
    env = configure(args)
    if args.debug:
        env["DSQ_DEBUG"] = os.environ["DSQ_DEBUG"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    create_database()
    call_command("migrate", verbosity=0)
    empty()
    bulk_insert(args.task, args.tasks)
    print(machine())
    print(f"{args.tasks} {args.task} tasks, 1 worker x {args.concurrency} children, "
          f"DEBUG={'True' if args.debug else 'False'}\n")  # fmt: skip
    watch(args, env)


if __name__ == "__main__":
    main()

"""Measure enqueue and drain throughput of django-simple-queue on one database.

Usage (from the repository root)::

    python bench/throughput.py --database sqlite|postgres|mariadb \
        [--tasks 5000] [--workers 1] [--concurrency 2] [--task add|record|framework] \
        [--conn-max-age SECONDS] [--url DATABASE_URL]

The script owns its database: ``tmp/bench.sqlite3`` (deleted and rebuilt on
every run), or ``dsq_bench`` on the local PostgreSQL / MariaDB server (created
when missing, migrated, emptied before each phase). It prints figures and
asserts nothing; see docs/benchmarks.md for the figures and how to read them.
"""

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE_FILE = ROOT / "tmp" / "bench.sqlite3"
WORKER_LOG = ROOT / "tmp" / "bench-workers.log"
BENCH_DB = "dsq_bench"
URLS = {
    "sqlite": f"sqlite:///{SQLITE_FILE}",
    "postgres": f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
    "mariadb": f"mysql://root@127.0.0.1:3306/{BENCH_DB}",
}
# add: no database work, so the figures are the queue's own overhead. record: one
# INSERT per task, like most real tasks (the worker's child then needs a connection).
# framework: the same no-op declared with Django's @task and enqueued with .enqueue()
# (the child reads the row back for the TaskResult and sends the start/finish signals).
TASKS = {
    "add": ("tests.testapp.tasks.add", lambda number: {"a": number, "b": 1}),
    "framework": ("tests.testapp.tasks_framework.add", lambda number: {"a": number, "b": 1}),
    "record": ("tests.testapp.tasks.record", lambda number: {"key": f"bench-{number}"}),
}
BULK_BATCH = 1000  # rows per INSERT in the bulk_create phase
DRAIN_POLL = 0.05  # seconds between looks at the table while the workers drain it
DRAIN_LIMIT = 3600.0  # seconds: give up on a drain that takes longer than this


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=sorted(URLS), default="sqlite")
    parser.add_argument("--tasks", type=int, default=5000, metavar="N")
    parser.add_argument("--workers", type=int, default=1, metavar="W")
    parser.add_argument("--concurrency", type=int, default=2, metavar="C")
    parser.add_argument("--task", choices=sorted(TASKS), default="add")
    parser.add_argument(
        "--conn-max-age", type=int, default=0, metavar="SECONDS",
        help="CONN_MAX_AGE for every process (default 0, Django's: a connection per task).",
    )  # fmt: skip
    parser.add_argument("--url", help="DATABASE_URL to use instead of the local default.")
    return parser.parse_args()


def configure(args: argparse.Namespace) -> dict[str, str]:
    """Point bench.settings at the bench database, here and in the workers' environment."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=args.url or URLS[args.database],
        DSQ_DB=args.database,
        DSQ_BENCH_CONN_MAX_AGE=str(args.conn_max_age),
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    os.environ.pop("DSQ_TEST_DB_NAME", None)  # would redirect the workers to a test database
    sys.path.insert(0, str(ROOT))
    return dict(os.environ)


def create_database() -> None:
    """Start from an empty SQLite file, or create the server database when missing."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
        return
    # _nodb_cursor() connects to the server without the (maybe missing) database.
    with connection._nodb_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
        else:
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS {connection.ops.quote_name(name)} "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )


def database_version() -> str:
    """Return the database product and server version."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute("SELECT VERSION()")
        return f"MySQL/MariaDB {cursor.fetchone()[0]}"


def machine() -> str:
    """Describe the machine, the interpreter, Django and the database."""
    import django

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}\n"
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"{database_version()}\n"
        # Other processes on the machine skew every figure: say how busy it was
        # (read before the run, whose own processes raise it).
        f"load average at start: {os.getloadavg()[0]:.2f}"
    )


def empty() -> None:
    """Delete every task, worker and recorded execution."""
    from django_simple_queue.models import Task, Worker
    from tests.testapp.models import Execution

    Task.objects.all().delete()
    Worker.objects.all().delete()
    Execution.objects.all().delete()


def timed(operation: Callable[[], None]) -> float:
    started = time.perf_counter()
    operation()
    return time.perf_counter() - started


def enqueue_each(task: str, tasks: int) -> None:
    """Enqueue one task at a time, each insert committing on its own (autocommit)."""
    from django_simple_queue import enqueue

    name, params = TASKS[task]
    if task == "framework":
        from tests.testapp.tasks_framework import add

        for number in range(tasks):
            add.enqueue(**params(number))
        return
    for number in range(tasks):
        enqueue(name, params(number))


def enqueue_in_one_transaction(task: str, tasks: int) -> None:
    """Enqueue one task at a time inside a single transaction: one commit in all."""
    from django.db import transaction

    with transaction.atomic():
        enqueue_each(task, tasks)


def bulk_insert(task: str, tasks: int) -> None:
    """Insert every task with ``bulk_create`` (no validation, one INSERT per batch)."""
    from django_simple_queue.models import Task

    name, params = TASKS[task]
    Task.objects.bulk_create(
        [Task(task_name=name, task_params=params(number)) for number in range(tasks)],
        batch_size=BULK_BATCH,
    )


def start_workers(args: argparse.Namespace, env: dict[str, str]) -> list[subprocess.Popen]:
    """Start the burst workers, their log (one INFO line per task) going to WORKER_LOG."""
    command = [sys.executable, "-m", "django", "worker", "--burst"]
    command += ["--concurrency", str(args.concurrency)]
    with open(WORKER_LOG, "w") as log:
        return [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            for _ in range(args.workers)
        ]


def wait_for_drain(workers: list[subprocess.Popen]) -> None:
    """Return once no task is QUEUED or PROGRESS; exit if the workers die first."""
    from django_simple_queue.models import Task

    deadline = time.monotonic() + DRAIN_LIMIT
    unfinished = Task.objects.filter(status__in=[Task.QUEUED, Task.PROGRESS])
    while unfinished.exists():
        if all(worker.poll() is not None for worker in workers) or time.monotonic() > deadline:
            codes = [worker.poll() for worker in workers]
            raise SystemExit(f"drain stopped with {unfinished.count()} unfinished; exits {codes}")
        time.sleep(DRAIN_POLL)


def drain(args: argparse.Namespace, env: dict[str, str]) -> tuple[float, float]:
    """Run the burst workers over the queued tasks; return (wall seconds, db-clock seconds).

    The wall time counts from starting the worker processes (interpreter, Django
    and child start-up included) to the last task COMPLETED. The db-clock time
    runs from the first claim to the last outcome written: the steady rate.
    """
    from django.db.models import Count, Max, Min

    from django_simple_queue.models import Task

    started = time.perf_counter()
    workers = start_workers(args, env)
    wait_for_drain(workers)
    wall = time.perf_counter() - started
    for worker in workers:
        worker.wait(60)
    span = Task.objects.aggregate(first=Min("started_at"), last=Max("completed_at"))
    statuses = dict(Task.objects.values_list("status").annotate(n=Count("id")))
    if statuses != {Task.COMPLETED: args.tasks}:
        print(f"warning: not every task COMPLETED: {statuses}; see {WORKER_LOG}", file=sys.stderr)
    return wall, (span["last"] - span["first"]).total_seconds()


def measure(args: argparse.Namespace, env: dict[str, str]) -> list[tuple[str, float]]:
    """Run every phase on an empty table; return (label, seconds) rows."""
    rows = []
    phases = [
        ("enqueue(), one commit each", enqueue_each),
        ("enqueue(), all in one transaction", enqueue_in_one_transaction),
        (f"bulk_create, batches of {BULK_BATCH}", bulk_insert),
    ]
    for label, phase in phases:
        empty()
        rows.append((label, timed(lambda phase=phase: phase(args.task, args.tasks))))
    # The bulk_create phase left N queued tasks: drain those.
    wall, steady = drain(args, env)
    workers = f"{args.workers} worker(s) x {args.concurrency} children"
    rows.append((f"drain, {workers}: start to all COMPLETED", wall))
    rows.append(("drain, first claim to last outcome (db clock)", steady))
    return rows


def print_table(args: argparse.Namespace, header: str, rows: list[tuple[str, float]]) -> None:
    print(
        f"django-simple-queue throughput: {args.database}, {args.tasks} tasks of "
        f"{TASKS[args.task][0]}, CONN_MAX_AGE={args.conn_max_age}"
    )
    print(header)
    print()
    width = max(len(label) for label, _ in rows)
    print(f"{'phase':<{width}}  {'seconds':>8}  {'tasks/s':>8}")
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds:>8.2f}  {args.tasks / seconds:>8.0f}")


def main() -> None:
    args = parse_args()
    env = configure(args)
    import django

    django.setup()
    from django.core.management import call_command

    create_database()
    call_command("migrate", verbosity=0)
    header = machine()
    print_table(args, header, measure(args, env))


if __name__ == "__main__":
    main()

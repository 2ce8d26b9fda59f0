"""Upgrading a 0.1.10 database: every row is carried forward and queued work still runs.

Each test puts the task table back into its 0.1.10 shape (migration 0001),
writes rows the way 0.1.10 wrote them (raw SQL, its column names), and then
migrates. The ``legacy_schema`` fixture always brings the schema back to the
latest migration, so a failure here never leaves later tests on 0.1.10's table.
"""

import datetime
import uuid

import pytest
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor

from django_simple_queue.models import Task

APP = "django_simple_queue"
LEGACY = [(APP, "0001_initial")]
TABLE = "django_simple_queue_task"
ADD = "tests.testapp.tasks.add"
INSERT = (
    f"INSERT INTO {TABLE} (id, created, modified, task, args, status, output) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
BASE = datetime.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)
# What 0.1.10 stored for a failing task: repr(e), a blank line, then format_exc()
# (taken from a real 0.1.10 run; only the paths differ).
FAILED_OUTPUT = (
    "ValueError('boom')\n\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/venv/lib/python3.11/site-packages/django_simple_queue/management/commands/'
    'task_worker.py", line 54, in process_task\n'
    "    task_obj.output = func(**args)\n"
    "                      ^^^^^^^^^^^^\n"
    '  File "/srv/app/tests/testapp/tasks.py", line 37, in fail\n'
    "    raise ValueError(message)\n"
    "ValueError: boom\n"
)
# name: (status, task, args, output), as 0.1.10 left them.
LEGACY_ROWS = {
    "queued": (0, ADD, '{"a": 1, "b": 2}', None),
    "queued_null_args": (0, ADD, None, None),
    "queued_invalid_json": (0, ADD, "{'a': 1, 'b': 2}", None),
    "queued_json_list": (0, ADD, "[1, 2]", None),
    # 0.1.10 set output to "" just before it marked a task in progress.
    "progress": (1, ADD, '{"a": 2, "b": 2}', ""),
    "completed": (2, ADD, '{"a": 1, "b": 2}', "3"),
    "failed": (3, "tests.testapp.tasks.fail", '{"message": "boom"}', FAILED_OUTPUT),
    "cancelled": (4, ADD, '{"a": 5, "b": 5}', None),
}
NOT_JSON = (
    "Cannot upgrade 0.1.10 task: args is not valid JSON (Expecting property name enclosed "
    "in double quotes: line 1 column 2 (char 1)): {'a': 1, 'b': 2}"
)
NOT_OBJECT = "Cannot upgrade 0.1.10 task: args is a JSON list, not an object: [1, 2]"
# name: (status, task_params, result, error, traceback, attempts, completed), right
# after the migration; completed says whether completed_at is the old ``modified``.
MIGRATED = {
    "queued": ("QUEUED", {"a": 1, "b": 2}, None, "", "", 0, False),
    "queued_null_args": ("QUEUED", {}, None, "", "", 0, False),
    "queued_invalid_json": ("FAILED", {}, None, NOT_JSON, "", 0, True),
    "queued_json_list": ("FAILED", {}, None, NOT_OBJECT, "", 0, True),
    "progress": ("PROGRESS", {"a": 2, "b": 2}, None, "", "", 1, False),
    "completed": ("COMPLETED", {"a": 1, "b": 2}, "3", "", "", 1, True),
    "failed": ("FAILED", {"message": "boom"}, None, "ValueError('boom')", FAILED_OUTPUT, 1, True),
    "cancelled": ("CANCELLED", {"a": 5, "b": 5}, None, "", "", 0, True),
}


def migrate(targets: list[tuple[str, str]]) -> None:
    """Migrate the task app to *targets* with a fresh executor (it reloads what is applied)."""
    MigrationExecutor(connection).migrate(targets)


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes(APP)


def at_latest() -> bool:
    executor = MigrationExecutor(connection)
    return set(executor.loader.graph.leaf_nodes(APP)) <= executor.loader.applied_migrations.keys()


@pytest.fixture
def legacy_schema(request, transactional_db):
    """Put the task table in its 0.1.10 shape; the latest schema is restored whatever happens."""

    def restore() -> None:
        if at_latest():
            return
        # The rows belong to the test, and the test may have failed because the
        # forward migration cannot carry them: drop them so the schema comes back.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")
        migrate(latest())

    # Registered before migrating, so a failure in the backwards migration is undone too.
    request.addfinalizer(restore)
    migrate(LEGACY)


LegacyRow = tuple[uuid.UUID, datetime.datetime, datetime.datetime]


def legacy_row(position: int, name: str) -> tuple[LegacyRow, list]:
    """Return ((id, created, modified), INSERT parameters) for LEGACY_ROWS[name]."""
    status, task, args, output = LEGACY_ROWS[name]
    row_id = uuid.uuid4()
    created = BASE + datetime.timedelta(minutes=position)
    modified = created + datetime.timedelta(seconds=30, microseconds=position)
    params = [
        models.UUIDField().get_db_prep_value(row_id, connection),
        connection.ops.adapt_datetimefield_value(created),
        connection.ops.adapt_datetimefield_value(modified),
        task, args, status, output,
    ]  # fmt: skip
    return (row_id, created, modified), params


def insert_legacy_rows(names: list[str]) -> dict[str, LegacyRow]:
    """Insert the named LEGACY_ROWS as 0.1.10 did; return name -> (id, created, modified)."""
    rows = {}
    with connection.cursor() as cursor:
        for position, name in enumerate(names):
            rows[name], params = legacy_row(position, name)
            cursor.execute(INSERT, params)
    return rows


def legacy_columns(row_id: uuid.UUID) -> tuple[int, str | None, str | None]:
    """Read (status, args, output) of one row of the 0.1.10 table."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status, args, output FROM {TABLE} WHERE id = %s",
            [models.UUIDField().get_db_prep_value(row_id, connection)],
        )
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_migration_carries_every_legacy_state_forward(legacy_schema):
    rows = insert_legacy_rows(list(LEGACY_ROWS))
    migrate(latest())

    assert Task.objects.count() == len(LEGACY_ROWS)
    for name, (row_id, created, modified) in rows.items():
        task = Task.objects.get(id=row_id)
        status, params, result, error, traceback, attempts, completed = MIGRATED[name]
        assert (task.status, task.task_params, task.result) == (status, params, result), name
        assert (task.error, task.traceback, task.attempts) == (error, traceback, attempts), name
        assert task.completed_at == (modified if completed else None), name
        assert task.created_at == created, name
        assert task.task_name == LEGACY_ROWS[name][1], name
        assert (task.queue, task.priority, task.max_attempts) == ("default", 0, 1), name
        assert (task.run_after, task.started_at, task.timeout, task.worker_id) == (
            None, None, None, None
        ), name  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_upgraded_queued_tasks_run_on_the_new_worker(legacy_schema, run_worker):
    rows = insert_legacy_rows(list(LEGACY_ROWS))
    migrate(latest())
    before = {name: Task.objects.get(id=row_id) for name, (row_id, _, _) in rows.items()}

    process = run_worker("--burst")

    assert process.returncode == 0, process.stderr
    ran = Task.objects.get(id=rows["queued"][0])
    assert (ran.status, ran.result, ran.error, ran.attempts) == ("COMPLETED", 3, "", 1)
    assert ran.started_at is not None and ran.completed_at >= ran.started_at
    # NULL args became {}: the task is called with no arguments (0.1.10's own
    # worker crashed on json.loads(None) and left the row queued forever).
    no_args = Task.objects.get(id=rows["queued_null_args"][0])
    assert (no_args.status, no_args.attempts, no_args.result) == ("FAILED", 1, None)
    assert no_args.error == "TypeError: add() missing 2 required positional arguments: 'a' and 'b'"
    # The in-progress row has no worker: the new worker's rescue treats it as
    # lost and, its one attempt spent, fails it instead of running it again.
    lost = Task.objects.get(id=rows["progress"][0])
    assert (lost.status, lost.attempts, lost.worker_id) == ("FAILED", 1, None)
    assert lost.error.startswith("WorkerLost: ") and lost.completed_at is not None
    # Nothing else is claimed: the upgrade already failed the rows whose args
    # could not be read.
    for name in ("queued_invalid_json", "queued_json_list", "completed", "failed", "cancelled"):
        task = Task.objects.get(id=rows[name][0])
        old = before[name]
        now = (task.status, task.error, task.attempts, task.result, task.completed_at)
        assert now == (old.status, old.error, old.attempts, old.result, old.completed_at), name
        assert (task.started_at, task.worker_id) == (None, None), name


@pytest.mark.django_db(transaction=True)
def test_migrating_back_restores_legacy_status_args_and_output(legacy_schema):
    names = ["queued", "queued_null_args", "completed", "failed", "cancelled"]
    rows = insert_legacy_rows(names)
    migrate(latest())
    finished = Task.objects.create(
        task_name=ADD, task_params={"a": 20, "b": 22}, status=Task.COMPLETED, result=42
    )

    migrate(LEGACY)

    assert legacy_columns(rows["queued"][0]) == (0, '{"a": 1, "b": 2}', None)
    # The migration cannot tell NULL args from {} any more; both mean "no arguments".
    assert legacy_columns(rows["queued_null_args"][0]) == (0, "{}", None)
    assert legacy_columns(rows["completed"][0]) == (2, '{"a": 1, "b": 2}', "3")
    assert legacy_columns(rows["failed"][0]) == (3, '{"message": "boom"}', FAILED_OUTPUT)
    assert legacy_columns(rows["cancelled"][0]) == (4, '{"a": 5, "b": 5}', None)
    assert legacy_columns(finished.id) == (2, '{"a": 20, "b": 22}', "42")


@pytest.mark.django_db(transaction=True)
def test_migration_converts_every_row_of_a_table_larger_than_one_batch(legacy_schema):
    names = list(LEGACY_ROWS) * 320  # 2,560 rows: several pages of any sensible batch size
    rows = [legacy_row(position, name) for position, name in enumerate(names)]
    with connection.cursor() as cursor:
        cursor.executemany(INSERT, [params for _, params in rows])

    migrate(latest())

    migrated = {task.id: task for task in Task.objects.all()}
    assert len(migrated) == len(names)
    for ((row_id, _, modified), _), name in zip(rows, names, strict=True):
        status, params, result, error, traceback, attempts, completed = MIGRATED[name]
        task = migrated[row_id]
        assert (task.status, task.task_params, task.result, task.attempts) == (
            status, params, result, attempts
        ), name  # fmt: skip
        assert task.completed_at == (modified if completed else None), name

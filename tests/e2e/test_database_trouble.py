"""The worker outlives its database: restarts, outages, killed connections, SQLite's lock.

These tests stop and start the local database servers, so they run only where
this process may do that (the servers of the test machine, as root).
"""

import glob
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest
from django.db import connection

from django_simple_queue import enqueue
from django_simple_queue.models import Task

T = "tests.testapp.tasks."
pytestmark = pytest.mark.django_db(transaction=True)
UP_LIMIT = 60  # seconds a restarted server gets to answer again


def pg_cluster():
    versions = [os.path.basename(p) for p in glob.glob("/etc/postgresql/*")]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main"] if versions else []


def can_control_server():
    if os.geteuid() != 0:
        return False
    if connection.vendor == "postgresql":
        return bool(pg_cluster()) and shutil.which("pg_ctlcluster") is not None
    if connection.vendor == "mysql":
        return os.path.exists("/usr/sbin/mariadbd") and shutil.which("mysqladmin") is not None
    return False


def server_up():
    if connection.vendor == "postgresql":
        check = ["pg_isready", "-h", "127.0.0.1", "-p", "5432"]
    else:
        check = ["mysqladmin", "-h", "127.0.0.1", "-uroot", "ping"]
    return subprocess.run(check, capture_output=True).returncode == 0


def stop_server():
    if connection.vendor == "postgresql":
        subprocess.run([*pg_cluster(), "stop"], check=True, capture_output=True)
    else:
        subprocess.run(["mysqladmin", "-h", "127.0.0.1", "-uroot", "shutdown"], check=True)
    connection.close()


def start_server():
    if connection.vendor == "postgresql":
        subprocess.run([*pg_cluster(), "start"], capture_output=True)
    else:
        subprocess.run(
            [
                "start-stop-daemon",
                "--start",
                "--oknodo",
                "--background",
                "--exec",
                "/usr/sbin/mariadbd",
            ],  # fmt: skip
            check=True,
        )
    deadline = time.monotonic() + UP_LIMIT
    while not server_up():
        assert time.monotonic() < deadline, "the database server did not come back"
        time.sleep(0.5)
    connection.close()


@pytest.fixture
def server():
    if not can_control_server():
        pytest.skip("this process cannot stop and start the database server")
    yield
    if not server_up():
        start_server()


def wait_until_finished(ids, limit=120):
    deadline = time.monotonic() + limit
    while True:
        try:
            if not Task.objects.filter(id__in=ids).exclude(status__in=Task.TERMINAL).exists():
                return
        except Exception:  # noqa: BLE001 - the test's own connection may be the broken one
            connection.close()
        assert time.monotonic() < deadline, "tasks did not finish"
        time.sleep(0.2)


@pytest.mark.parametrize("outage", [0, 15], ids=["restart", "outage-15s"])
def test_outcomes_computed_while_the_database_is_down_are_written_later(
    server, start_worker, outage
):
    tasks = [enqueue(T + "sleep", {"seconds": 3}) for _ in range(2)]
    worker = start_worker("--concurrency", "2")
    deadline = time.monotonic() + 30
    while Task.objects.filter(status="PROGRESS").count() < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    stop_server()  # the tasks finish while the server is down
    time.sleep(outage or 4)
    start_server()
    after = enqueue(T + "add", {"a": 1, "b": 2})
    wait_until_finished([t.id for t in tasks] + [after.id])
    assert [Task.objects.get(id=t.id).status for t in tasks] == ["COMPLETED", "COMPLETED"]
    assert Task.objects.get(id=after.id).result == 3
    assert worker.poll() is None  # it lived through it
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    assert "Database error (" in worker.output.text()
    assert "Database reachable again after " in worker.output.text()


def test_sqlite_database_is_locked_only_delays_the_worker(start_worker, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's single write lock")
    monkeypatch.setenv("DSQ_SQLITE_TIMEOUT", "0.5")  # the worker gives up waiting quickly
    worker = start_worker()
    first = enqueue(T + "add", {"a": 1, "b": 1})
    wait_until_finished([first.id])
    due_soon = enqueue(T + "add", {"a": 2, "b": 2}, delay=1)
    blocker = sqlite3.connect(connection.settings_dict["NAME"], timeout=30)
    blocker.execute("BEGIN IMMEDIATE")  # the write lock, held longer than the worker waits
    time.sleep(5)
    blocker.rollback()
    blocker.close()
    wait_until_finished([due_soon.id])
    assert Task.objects.get(id=due_soon.id).result == 4
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    assert "Database error (database is locked)" in worker.output.text()


def test_every_connection_killed_mid_run_loses_nothing(start_worker):
    kill_all = {
        "postgresql": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        "mysql": None,
    }
    if connection.vendor not in kill_all:
        pytest.skip("the database has no server-side connections to kill")
    tasks = [enqueue(T + "sleep", {"seconds": 2}) for _ in range(2)]
    after = enqueue(T + "add", {"a": 1, "b": 2}, priority=-1)
    worker = start_worker("--concurrency", "2")
    deadline = time.monotonic() + 30
    while Task.objects.filter(status="PROGRESS").count() < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with connection.cursor() as cursor:  # the supervisor's and the children's connections
        if connection.vendor == "postgresql":
            cursor.execute(kill_all["postgresql"])
        else:
            cursor.execute(
                "SELECT id FROM information_schema.processlist "
                "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
            )
            for (backend,) in cursor.fetchall():
                cursor.execute(f"KILL {int(backend)}")
    wait_until_finished([t.id for t in tasks] + [after.id])
    assert [Task.objects.get(id=t.id).status for t in tasks] == ["COMPLETED", "COMPLETED"]
    assert Task.objects.get(id=after.id).result == 3
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0


def test_a_stop_signal_during_a_blocked_claim_leaves_no_task_held(start_worker, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite makes a claim wait for a lock (the others skip locked rows)")
    worker = start_worker()
    warm = enqueue(T + "add", {"a": 0, "b": 0})
    wait_until_finished([warm.id])
    task = enqueue(T + "add", {"a": 1, "b": 1}, delay=1)
    blocker = sqlite3.connect(connection.settings_dict["NAME"], timeout=30)
    blocker.execute("BEGIN IMMEDIATE")
    time.sleep(2)  # the worker is now waiting in its claim for the write lock
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    blocker.rollback()
    blocker.close()
    assert worker.wait(timeout=60) == 0
    task = Task.objects.get(id=task.id)
    # Claimed before the stop took effect and run, or never claimed: never left held.
    assert task.status in ("COMPLETED", "QUEUED")
    assert Task.objects.filter(status="PROGRESS").count() == 0

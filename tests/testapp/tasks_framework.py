"""Tasks declared with Django's ``@task``: allowed by their declaration alone.

This module is not named ``tasks``, so nothing here is on the default
allowlist; the worker runs these because ``@task`` declared them.
"""

import asyncio
import os
import time

from django_simple_queue import frameworks

task = frameworks.primary().package.task


@task
def add(a, b):
    return a + b


@task(priority=5, queue_name="mail")
def greet(name, *, punctuation="!"):
    return f"Hello, {name}{punctuation}"


@task
async def async_multiply(a, b):
    await asyncio.sleep(0)
    return a * b


@task(takes_context=True)
def describe_context(context, label):
    return {
        "label": label,
        "attempt": context.attempt,
        "id": context.task_result.id,
        "status": str(context.task_result.status),
    }


@task
def returns_tuple():
    return (1, 2)


@task
def returns_object():
    return object()


@task
def fail(message):
    raise ValueError(message)


@task(takes_context=True, max_attempts=3)
def fail_twice(context):
    """Fail on the first two attempts, succeed on the third."""
    if context.attempt < 3:
        raise ConnectionError(f"attempt {context.attempt} failed")
    return context.attempt


@task(timeout=1)
def sleep(seconds):
    time.sleep(seconds)
    return seconds


@task(max_attempts=2, retry_on=(KeyError,))
def fail_not_retried():
    raise ValueError("not a KeyError")


@task
def record(path):
    """Append this process's pid to *path*: a second run shows up as a second line."""
    with open(path, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    return "recorded"


@task
def nap(seconds):
    time.sleep(seconds)
    return seconds


@task
def pid():
    return os.getpid()


@task
def lose_my_connection():
    """Have the server drop this process's connection, from another one, as a restart would.

    This process's own connection sees no error, so the worker keeps it for the next task.
    """
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()" if connection.vendor == "mysql" else
                       "SELECT pg_backend_pid()")  # fmt: skip
        (backend,) = cursor.fetchone()
    other = connections.create_connection(connection.alias)
    try:
        with other.cursor() as cursor:
            if connection.vendor == "mysql":
                cursor.execute(f"KILL {int(backend)}")
            else:
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    finally:
        other.close()
    return backend


def plain(a):
    """Not declared with @task and not in a tasks module: never runs."""
    return a

"""Settings for running Django's own tests of its tasks framework against this backend.

The suite's settings (database chosen by DSQ_DB, and so on), plus Django's
``tests/tasks/`` package, fetched by ``python -m tests.django_suite.fetch``,
importable and installed as the app ``tasks``, as Django's own test runner
installs it. Worker subprocesses use these settings too; they get the test's
``TASKS`` and a log file from the environment (see ``drain.py``).
"""

import json
import os
import sys

from django.core.exceptions import ImproperlyConfigured

from tests.django_suite.fetch import PACKAGE, tests_dir
from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

DJANGO_TESTS = tests_dir()
if not (DJANGO_TESTS / PACKAGE / "__init__.py").is_file():
    raise ImproperlyConfigured(
        f"Django's tests are not in {DJANGO_TESTS}: run `python -m tests.django_suite.fetch` "
        "(`make test-django-suite` does)."
    )
if str(DJANGO_TESTS) not in sys.path:
    sys.path.insert(0, str(DJANGO_TESTS))

INSTALLED_APPS = [*INSTALLED_APPS, PACKAGE]

# A worker subprocess serves the TASKS the test had in force when it started it.
if os.environ.get("DSQ_DJANGO_SUITE_TASKS"):
    TASKS = json.loads(os.environ["DSQ_DJANGO_SUITE_TASKS"])

# A worker subprocess writes what Django's tasks framework logs to a file that the
# test reads back into its own logging (``assertLogs``).
if os.environ.get("DSQ_DJANGO_SUITE_LOG"):
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "relay": {
                "class": "tests.django_suite.drain.RelayHandler",
                "filename": os.environ["DSQ_DJANGO_SUITE_LOG"],
            }
        },
        "loggers": {"django.tasks": {"handlers": ["relay"], "level": "DEBUG"}},
    }

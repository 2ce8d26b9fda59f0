"""Run Django's tests of its tasks framework only under this directory's settings.

``make test-django-suite`` fetches them and runs
``pytest --ds tests.django_suite.settings tests/django_suite``; the project's own
runs (``tests.settings``) leave this directory out.
"""

import os

import pytest

SETTINGS = "tests.django_suite.settings"

if os.environ.get("DJANGO_SETTINGS_MODULE") != SETTINGS:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(autouse=True, scope="session")
def _stand_ins():
    """Build ``SimpleQueueBackend`` stand-ins wherever a test names Django's own backends."""
    from django.tasks import TaskBackendHandler  # Django >= 6.0: imported only when run

    from tests.django_suite.backends import create_connection

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TaskBackendHandler, "create_connection", create_connection)
        yield

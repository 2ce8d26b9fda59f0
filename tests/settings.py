"""Settings for the test suite: one database per run, chosen by DSQ_DB."""

import os
from pathlib import Path

import dj_database_url

ROOT = Path(__file__).resolve().parent.parent
TMP = ROOT / "tmp"
TMP.mkdir(exist_ok=True)

DB = os.environ.get("DSQ_DB", "sqlite")
URLS = {
    "sqlite": f"sqlite:///{TMP / 'dsq.sqlite3'}",
    "postgres": "postgres://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql://root@127.0.0.1:3306/test",
}
if DB not in URLS:
    raise RuntimeError(f"DSQ_DB must be one of {', '.join(URLS)}, not {DB!r}")

# DSQ_RUN names this run's test database, so that runs side by side never collide.
RUN = os.environ.get("DSQ_RUN", "dsq")
default = dj_database_url.parse(os.environ.get("DATABASE_URL", URLS[DB]))
default["TEST"] = {"NAME": f"test_{RUN}"}
if default["ENGINE"].endswith("sqlite3"):
    # A file, never :memory:, so that real worker processes share it; WAL lets
    # readers run beside the single writer.
    default["TEST"] = {"NAME": str(TMP / f"test_{RUN}.sqlite3")}
    default["OPTIONS"] = {
        "timeout": float(os.environ.get("DSQ_SQLITE_TIMEOUT", "30")),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
elif default["ENGINE"].endswith("mysql"):
    default["OPTIONS"] = {"charset": "utf8mb4"}
    default["TEST"].update(CHARSET="utf8mb4", COLLATION="utf8mb4_unicode_ci")
# Worker subprocesses started by the tests point straight at the test database.
if os.environ.get("DSQ_TEST_DB_NAME"):
    default["NAME"] = os.environ["DSQ_TEST_DB_NAME"]
DATABASES = {"default": default}

SECRET_KEY = "tests-only-not-secret"
DEBUG = bool(os.environ.get("DSQ_DEBUG"))  # the memory tests turn it on for workers
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_simple_queue",
    "tests.testapp",
    "tests.extended",  # its config extends the uninstalled tests.library's
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
# Django's tasks framework (django.tasks on 6.x, the django_tasks backport on 5.2).
TASKS = {
    "default": {
        "BACKEND": "django_simple_queue.backend.SimpleQueueBackend",
        "QUEUES": ["default", "mail"],
    }
}
DJANGO_SIMPLE_QUEUE_POLL_INTERVAL = 0.2
DJANGO_SIMPLE_QUEUE_OUTCOME_LOG_LEVEL = os.environ.get("DSQ_OUTCOME_LOG_LEVEL", "INFO")
DJANGO_SIMPLE_QUEUE_ON_SHUTDOWN = os.environ.get("DSQ_ON_SHUTDOWN", "requeue")
# The chaos test shortens the lifeline: beats every 0.5 s, lost after 2 s.
DJANGO_SIMPLE_QUEUE_HEARTBEAT_INTERVAL = float(os.environ.get("DSQ_HEARTBEAT", "5"))
DJANGO_SIMPLE_QUEUE_STALE_AFTER = float(os.environ.get("DSQ_STALE_AFTER", "60"))
DJANGO_SIMPLE_QUEUE_SIGNAL_TIMEOUT = float(os.environ.get("DSQ_SIGNAL_TIMEOUT", "60"))
DJANGO_SIMPLE_QUEUE_RETRY_BACKOFF = 0.05  # seconds: retries in tests come back at once

# For the test that proves a worker stops when its children cannot start.
if os.environ.get("DSQ_BREAK_CHILD_SETUP"):
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        raise ImportError("child set-up broken on purpose by DSQ_BREAK_CHILD_SETUP")

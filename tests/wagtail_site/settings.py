"""Settings for a Wagtail site on a SQLite file, its tasks on SimpleQueueBackend.

The test and the worker it starts share the database file and the media
folder through DSQ_WAGTAIL_DIR.
"""

import os
from pathlib import Path

if not os.environ.get("DSQ_WAGTAIL_DIR"):
    raise RuntimeError("Set DSQ_WAGTAIL_DIR to the folder of the site's database and media.")
DIR = Path(os.environ["DSQ_WAGTAIL_DIR"])

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DIR / "wagtail.sqlite3"),
        "OPTIONS": {
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        },
    }
}
MEDIA_ROOT = str(DIR / "media")
MEDIA_URL = "/media/"

SECRET_KEY = "tests-only-not-secret"
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.wagtail_site.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "tests.wagtail_site.home",
    "wagtail.images",
    "wagtail.search",
    "wagtail.users",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_simple_queue",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
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
STATIC_URL = "/static/"

# The one setting both django.tasks and the django_tasks backport read;
# Wagtail's tasks are the backport's.
TASKS = {"default": {"BACKEND": "django_simple_queue.backend.SimpleQueueBackend"}}

WAGTAIL_SITE_NAME = "Queue test site"
WAGTAILADMIN_BASE_URL = "http://testserver"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
# Uploading an image enqueues set_image_focal_point_task (OpenCV finds the features).
WAGTAILIMAGES_FEATURE_DETECTION_ENABLED = True

DJANGO_SIMPLE_QUEUE_POLL_INTERVAL = 0.2

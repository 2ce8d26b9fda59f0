"""A minimal Wagtail site whose tasks (from the django_tasks backport) run on this queue."""

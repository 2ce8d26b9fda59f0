"""The 0.1.10 status page, for projects that include these URLs."""

from django.urls import path

from django_simple_queue.views import view_task_status

app_name = "django_simple_queue"
urlpatterns = [
    path("task", view_task_status, name="task"),
]

"""URLs of the demo project: the admin, and the queue's task status page."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("django_simple_queue/", include("django_simple_queue.urls")),
]

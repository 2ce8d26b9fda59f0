from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("django_simple_queue/", include("django_simple_queue.urls")),
]

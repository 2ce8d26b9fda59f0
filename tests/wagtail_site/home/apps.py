from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "tests.wagtail_site.home"
    label = "home"
    default_auto_field = "django.db.models.AutoField"

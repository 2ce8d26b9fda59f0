from django.db import models
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index


class HomePage(Page):
    """A page with an image on it, so that publishing it records a reference to the image."""

    hero = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = RichTextField(blank=True)

    search_fields = [*Page.search_fields, index.SearchField("body")]

"""A library app that is not installed itself: ``tests.extended``'s config extends its config.

As Wagtail's ``wagtail.search`` extends modelsearch's: the library's ``@task``
functions run although only the extending app is in ``INSTALLED_APPS``.
"""

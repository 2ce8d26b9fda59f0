"""Tasks of one project declared with both forms of Django's tasks framework.

``django.tasks`` (Django 6.0 and later) and the ``django_tasks`` backport, side
by side, as in a project whose own tasks use Django's and whose libraries use
the backport. On Django 5.2 only the backport's are defined.
"""

import asyncio

import django_tasks

try:
    import django.tasks as django_core_tasks
except ImportError:  # Django 5.2
    django_core_tasks = None


@django_tasks.task
def backport_join(words, sep=" "):
    return sep.join(words)


@django_tasks.task
async def backport_square(n):
    await asyncio.sleep(0)
    return n * n


@django_tasks.task(takes_context=True)
def backport_describe(context, label):
    return {"label": label, "attempt": context.attempt, "context": type(context).__module__}


if django_core_tasks is not None:

    @django_core_tasks.task
    def core_add(a, b):
        return a + b

    @django_core_tasks.task(takes_context=True, priority=3)
    def core_describe(context, label, *, upper=False):
        return {
            "label": label.upper() if upper else label,
            "attempt": context.attempt,
            "context": type(context).__module__,
        }

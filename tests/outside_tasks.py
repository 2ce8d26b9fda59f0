"""A ``@task`` outside every installed app: never run, even once something imported it."""

from django_simple_queue import frameworks

task = frameworks.primary().package.task


@task
def double(n):
    return 2 * n

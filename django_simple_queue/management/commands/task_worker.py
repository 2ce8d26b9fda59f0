"""``manage.py task_worker``: the 0.1.10 name of ``worker``, kept as an alias."""

from django_simple_queue.management.commands.worker import Command as WorkerCommand


class Command(WorkerCommand):
    help = "Alias of 'worker' (the command's name in 0.1.10)."

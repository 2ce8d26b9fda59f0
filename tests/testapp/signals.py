"""Receivers that log the tasks framework's signals to the file ``DSQ_SIGNAL_LOG`` names.

Connected in every process that sets Django up (the tests, the worker's
supervisor and children), so a test can count what each process sent.
``DSQ_SLOW_FINISHED`` makes the task_finished receiver take that many seconds
(then it logs ``slept <id>``); ``DSQ_FINISHED_ENDS`` makes it raise ``SystemExit``
or call ``os._exit``.
"""

import os
import time

from django_simple_queue import frameworks


def log_signal(signal_name):
    def receiver(sender, task_result, **kwargs):
        path = os.environ.get("DSQ_SIGNAL_LOG")
        if not path:
            return
        line = (
            f"{signal_name} {task_result.id} {task_result.status} "
            f"{len(task_result.worker_ids)} {sender.__name__} {os.getpid()}\n"
        )
        with open(path, "a") as handle:
            handle.write(line)
        if signal_name != "finished":
            return
        if os.environ.get("DSQ_SLOW_FINISHED"):
            time.sleep(float(os.environ["DSQ_SLOW_FINISHED"]))
            with open(path, "a") as handle:
                handle.write(f"slept {task_result.id}\n")
        ending = os.environ.get("DSQ_FINISHED_ENDS")
        if ending == "SystemExit":
            raise SystemExit(5)
        if ending == "os._exit":
            os._exit(5)

    return receiver


RECEIVERS = {name: log_signal(name) for name in ("enqueued", "started", "finished")}


def connect():
    for framework in frameworks.installed():
        for name, receiver in RECEIVERS.items():
            getattr(framework.signals, f"task_{name}").connect(receiver)

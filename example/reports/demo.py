"""The demo's batch of tasks, and the table that shows how each of them ended."""

import textwrap
from typing import Any

from django.db import transaction

import django_simple_queue
from django_simple_queue.models import Task

PREFIX = "reports.tasks."
TEXTS = [
    "gettysburg.txt",
    "second_inaugural.txt",
    "declaration.txt",
    "bill_of_rights.txt",
    "sonnets.txt",
    "raven.txt",
]
# The one task meant to fail: its text does not exist.
MISSING_TEXT = "missing.txt"
EXPECTED_ERROR = "FileNotFoundError: no text 'missing.txt' in data/"


def batch() -> list[tuple[str, dict[str, Any]]]:
    """Return ``(task name, params)`` for every task of the demo, in enqueue order."""
    items: list[tuple[str, dict[str, Any]]] = []
    for text in TEXTS:
        items.append((PREFIX + "word_frequencies", {"path": text, "top": 5}))
        items.append((PREFIX + "longest_words", {"path": text, "n": 3}))
    comparisons = {
        "lincoln": ["gettysburg.txt", "second_inaugural.txt"],
        "founding": ["declaration.txt", "bill_of_rights.txt"],
        "all-texts": TEXTS,
    }
    for name, paths in comparisons.items():
        items.append((PREFIX + "compare", {"paths": paths, "name": name, "top": 5}))
    items.append((PREFIX + "word_frequencies", {"path": MISSING_TEXT}))
    return items


def clear_previous() -> int:
    """Delete the tasks of earlier demo runs; return how many there were."""
    deleted, _ = Task.objects.filter(task_name__startswith=PREFIX).delete()
    return deleted


def enqueue_batch() -> list[Task]:
    """Enqueue the whole batch in one transaction: the worker sees all of it or none."""
    with transaction.atomic():
        return [django_simple_queue.enqueue(name, params) for name, params in batch()]


def is_expected_failure(task: Task) -> bool:
    """Tell whether *task* is the one meant to fail."""
    return task.task_params.get("path") == MISSING_TEXT


def problems(tasks: list[Task]) -> list[str]:
    """Describe every task that did not end as planned (all COMPLETED but the one failure)."""
    found = []
    for task in tasks:
        if is_expected_failure(task):
            if task.status != Task.FAILED or not task.error.startswith(EXPECTED_ERROR):
                found.append(f"{label(task)} should have FAILED with {EXPECTED_ERROR!r}")
        elif task.status != Task.COMPLETED:
            found.append(f"{label(task)} ended {task.status}: {task.error or 'no error recorded'}")
    return found


def label(task: Task) -> str:
    """Name *task* by its function and what it read: ``word_frequencies(raven.txt)``."""
    function = task.task_name.rpartition(".")[2]
    params = task.task_params
    argument = params.get("path") or f"{params.get('name')}: {len(params.get('paths', []))} texts"
    return f"{function}({argument})"


def _words(pairs: list[list[Any]]) -> str:
    return " ".join(f"{word}({count})" for word, count in pairs)


def summary(task: Task) -> str:
    """Say in one line what *task* found, or why it failed."""
    result = task.result
    if task.status != Task.COMPLETED:
        return task.error or task.status
    if not isinstance(result, dict):
        return repr(result)
    if "top" in result:
        counts = f"{result['words']:,} words, {result['distinct']:,} distinct"
        return f"{counts}: {_words(result['top'])}"
    if "longest" in result:
        return f"average length {result['average_length']}; longest: {_words(result['longest'])}"
    return (
        f"{result['words']:,} words; {result['shared']} in every text: "
        f"{_words(result['shared_top'])}"
    )


def _milliseconds(task: Task) -> str:
    duration = task.duration
    return f"{duration.total_seconds() * 1000:,.0f}" if duration is not None else "-"


def table(tasks: list[Task], width: int = 120, style: Any = None) -> list[str]:
    """Return the lines of a table of *tasks*: name, status, duration and summary.

    The summary column takes what is left of *width* (at least 30 characters)
    and is cut at a word. ``style(task, text)``, when given, colours *text*:
    the task's status already padded to its column, so colour codes never
    skew the layout.
    """
    header = ("task", "status", "ms", "result")
    rows = [(label(task), task.status, _milliseconds(task), summary(task)) for task in tasks]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    room = max(30, width - sum(widths) - 6)

    def line(row: tuple[str, str, str, str], status: str) -> str:
        result = textwrap.shorten(row[3], room, placeholder=" …")
        return f"{row[0]:<{widths[0]}}  {status}  {row[2]:>{widths[2]}}  {result}"

    lines = [line(header, f"{header[1]:<{widths[1]}}")]
    lines.append(line(("-" * widths[0], "", "-" * widths[2], "-" * 6), "-" * widths[1]))
    for task, row in zip(tasks, rows, strict=True):
        status = f"{row[1]:<{widths[1]}}"
        lines.append(line(row, style(task, status) if style else status))
    return lines

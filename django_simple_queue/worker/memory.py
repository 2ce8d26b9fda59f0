"""Memory: what a process holds, and a ceiling for one task.

psutil reads the resident set size the same way on Linux and macOS; the
ceiling is ``RLIMIT_AS`` (address space), lowered for the length of one task
and raised again after it, so a task that allocates past it gets a
``MemoryError`` in its own process instead of the machine's OOM killer
choosing a victim.
"""

import contextlib
import resource
from collections.abc import Iterator

import psutil

MB = 1024 * 1024


def rss() -> int:
    """Bytes this process holds in memory now."""
    return int(psutil.Process().memory_info().rss)


@contextlib.contextmanager
def ceiling(extra_mb: int | None) -> Iterator[None]:
    """Allow the task at most *extra_mb* more address space than the process has now."""
    if not extra_mb:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = int(psutil.Process().memory_info().vms) + extra_mb * MB
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

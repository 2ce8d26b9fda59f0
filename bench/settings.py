"""Settings for the benchmarks: the test settings, plus the connection lifetime to measure."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

# 0 (Django's default) closes a connection at the end of each task in the
# worker's children; a positive value keeps it for that many seconds.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DSQ_BENCH_CONN_MAX_AGE", "0"))

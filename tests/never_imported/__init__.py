"""A package no test imports on purpose: a worker that imported it would leave a mark.

``tests/e2e/test_bad_input.py`` names ``tests.never_imported.Boom`` in a row's
``retry_on``; importing this package writes the importing process's id to the
file ``DSQ_IMPORT_MARK`` names.
"""

import os

if os.environ.get("DSQ_IMPORT_MARK"):
    with open(os.environ["DSQ_IMPORT_MARK"], "a") as mark:
        mark.write(f"{os.getpid()}\n")


class Boom(Exception):
    pass

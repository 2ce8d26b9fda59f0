import pytest
from django.db import connection

from django_simple_queue.models import Task


@pytest.mark.django_db
def test_the_claim_indexes_exist_after_every_migration():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Task._meta.db_table)
    assert {"dsq_task_claim", "dsq_task_worker"} <= set(constraints)
    # The partial index on queued rows survives later migrations that rebuild
    # the table on SQLite; MariaDB has no partial indexes.
    supported = connection.features.supports_partial_indexes
    assert ("dsq_task_queued" in constraints) is supported

from django.db import models


class Execution(models.Model):
    """One row per task run; the unique constraint catches a double run."""

    task_id = models.CharField(max_length=64, unique=True)
    pid = models.IntegerField()

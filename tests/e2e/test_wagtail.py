"""A real Wagtail 8 site on SimpleQueueBackend: Wagtail's own tasks run on our worker.

Wagtail declares its tasks with the django_tasks backport, even on Django 6.
Uploading an image and publishing a page enqueue them through the ``TASKS``
setting; ``manage.py worker --burst`` runs them, and what they are for (the
reference index, the image's focal point, the search index) is then done.

The site has its own settings module (tests.wagtail_site.settings) and its
own SQLite file, so each step runs in a subprocess with that environment:
the site's editor actions, the worker, and the report read back from the
database they share.
"""

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from django.db import connection

from tests.conftest import ROOT, worker_command

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("wagtail") is None,
        reason="Wagtail is not installed (the Django 6.1 test install brings Wagtail 8)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("cv2") is None,
        reason="OpenCV is not installed: Wagtail's image feature detection needs it",
    ),
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="the Wagtail site lives in a SQLite file of its own: it runs in the SQLite run",
    ),
]

FOCAL_POINT = "wagtail.images.tasks.set_image_focal_point_task"
SEARCH_INDEX = "modelsearch.tasks.insert_or_update_object_task"
REFERENCE_INDEX = "wagtail.tasks.update_reference_index_task"


@pytest.fixture
def wagtail_site(tmp_path):
    """Run a command against a fresh Wagtail site whose database and media are in tmp_path."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.wagtail_site.settings"
    env["DSQ_WAGTAIL_DIR"] = str(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])

    def run(command: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
        done = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stderr}"
        return done

    return run


def scenario(run, action: str) -> dict:
    done = run([sys.executable, "-m", "tests.wagtail_site.scenario", action])
    return json.loads(done.stdout)


def test_wagtails_own_tasks_run_on_our_worker(wagtail_site):
    built = scenario(wagtail_site, "build")
    image = str(built["image"])
    page = str(built["page"])

    before = scenario(wagtail_site, "report")
    # The upload enqueues three tasks for the image; creating the page, saving
    # its revision and publishing it save the page three times, two tasks each.
    enqueued = Counter((task["name"], *task["args"]) for task in before["tasks"])
    assert enqueued == {
        (FOCAL_POINT, "wagtailimages", "image", image): 1,
        (SEARCH_INDEX, "wagtailimages", "image", image): 1,
        (REFERENCE_INDEX, "wagtailimages", "image", image): 1,
        (SEARCH_INDEX, "home", "homepage", page): 3,
        (REFERENCE_INDEX, "home", "homepage", page): 3,
    }
    assert {task["status"] for task in before["tasks"]} == {"QUEUED"}
    # Nothing of what the tasks do has happened yet (the upload form indexes
    # the image itself, so the image is in the search index already).
    assert before["page"]["live"] is True
    assert before["image"]["focal_point"] == [None, None, None, None]
    assert before["references"] == []
    assert before["search_index"] == [["image", image]]

    worker = wagtail_site(worker_command("--burst"))
    assert "FAILED" not in worker.stderr, worker.stderr

    after = scenario(wagtail_site, "report")
    # Setting the focal point saves the image, which enqueues (from inside the
    # worker) its reference-index and search-index tasks once more: the burst
    # runs those too.
    ran = Counter((task["name"], *task["args"]) for task in after["tasks"])
    assert ran == enqueued + Counter(
        {
            (SEARCH_INDEX, "wagtailimages", "image", image): 1,
            (REFERENCE_INDEX, "wagtailimages", "image", image): 1,
        }
    )
    assert [task for task in after["tasks"] if task["status"] != "COMPLETED"] == []

    x, y, width, height = after["image"]["focal_point"]
    assert 0 <= x <= 240 and 0 <= y <= 160, after["image"]
    assert width >= 100 and height >= 100, after["image"]  # Wagtail's smallest focal area
    assert ["hero", "page", "image"] in after["references"]
    assert ["collection", "image", "collection"] in after["references"]
    assert after["search_index"] == [["homepage", page], ["image", image]]

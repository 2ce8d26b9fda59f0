"""The demo project: its tasks as plain functions, its table, and ``manage.py demo`` itself.

``reports`` is not an installed app of the test settings, so its tasks are
called directly here; the command is run in a copy of ``example/`` with the
project's own settings, so that the copy's SQLite file is the one written.
"""

import datetime
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from reports import demo, tasks

from django_simple_queue.models import Task

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example"
TEXTS = sorted(path.name for path in (EXAMPLE / "data").glob("*.txt"))
AVAILABLE = ", ".join(TEXTS)
DEMO_LIMIT = 120  # seconds for migrate + demo in a subprocess


@pytest.fixture(autouse=True)
def reports_in_tmp(tmp_path, monkeypatch):
    """Write reports under the test's own directory, never into example/."""
    monkeypatch.setattr(tasks, "OUTPUT_DIR", tmp_path / "reports_out")
    return tmp_path / "reports_out"


def words_by_splitting(name: str) -> list[str]:
    """Count words another way than the tasks do: split on non-letters, trim apostrophes."""
    body = (EXAMPLE / "data" / name).read_text(encoding="utf-8").split("\n", 1)[1].lower()
    spaced = "".join(char if char.isalpha() or char == "'" else " " for char in body)
    return [word.strip("'") for word in spaced.split() if word.strip("'")]


def test_example_ships_six_texts_each_with_a_title_line():
    assert TEXTS == [
        "bill_of_rights.txt", "declaration.txt", "gettysburg.txt",
        "raven.txt", "second_inaugural.txt", "sonnets.txt",
    ]  # fmt: skip
    for name in TEXTS:
        title, words = tasks.read_text(name)
        assert ", by " in title, title
        assert len(words) > 250, name


def test_word_frequencies_counts_the_gettysburg_address_exactly(reports_in_tmp):
    result = tasks.word_frequencies("gettysburg.txt", top=5)

    assert result == {
        "text": "gettysburg.txt",
        "title": "The Gettysburg Address, by Abraham Lincoln (19 November 1863)",
        "words": 272,
        "distinct": 138,
        "top": [["that", 13], ["the", 11], ["we", 10], ["here", 8], ["to", 8]],
        "report": "reports_out/gettysburg-frequencies.txt",
    }
    report = (reports_in_tmp / "gettysburg-frequencies.txt").read_text(encoding="utf-8")
    assert report.splitlines()[:4] == [
        "Word frequencies of data/gettysburg.txt",
        "The Gettysburg Address, by Abraham Lincoln (19 November 1863)",
        "",
        "272 words, 138 distinct",
    ]
    assert report.splitlines()[6] == "   1  that                13    4.8%"
    assert not list(reports_in_tmp.glob(".*.tmp"))


@pytest.mark.parametrize("name", TEXTS)
def test_word_frequencies_agrees_with_an_independent_count(name):
    expected = Counter(words_by_splitting(name))
    ranked = sorted(expected.items(), key=lambda item: (-item[1], item[0]))[:10]

    result = tasks.word_frequencies(name)

    assert result["words"] == sum(expected.values())
    assert result["distinct"] == len(expected)
    assert result["top"] == [[word, count] for word, count in ranked]


def test_longest_words_of_the_gettysburg_address():
    words = words_by_splitting("gettysburg.txt")

    result = tasks.longest_words("gettysburg.txt", n=3)

    assert result["longest"] == [["consecrated", 11], ["proposition", 11], ["altogether", 10]]
    assert result["average_length"] == round(sum(map(len, words)) / len(words), 2) == 4.22


def test_compare_counts_the_words_every_text_shares(reports_in_tmp):
    paths = ["gettysburg.txt", "second_inaugural.txt"]
    first, second = (Counter(words_by_splitting(path)) for path in paths)
    shared = set(first) & set(second)
    both = first + second

    result = tasks.compare(paths, name="lincoln", top=3)

    assert result["texts"] == [
        {"text": "gettysburg.txt", "words": 272, "distinct": 138},
        {"text": "second_inaugural.txt", "words": 701, "distinct": 337},
    ]
    assert result["words"] == 973
    assert result["distinct"] == len(set(first) | set(second))
    assert result["shared"] == len(shared) == 64
    assert result["shared_top"] == [["the", both["the"]], ["to", both["to"]], ["and", both["and"]]]
    assert result["report"] == "reports_out/lincoln.txt"
    report = (reports_in_tmp / "lincoln.txt").read_text(encoding="utf-8")
    assert report.startswith("Comparison of 2 texts\n")


@pytest.mark.parametrize(
    "path", ["../manage.py", "/etc/passwd", "../../pyproject.toml", "sub/../../demo_site/urls.py"]
)
def test_paths_outside_data_are_refused(path):
    with pytest.raises(ValueError) as caught:
        tasks.word_frequencies(path)
    assert str(caught.value) == f"path {path!r} is outside data/; give a path relative to data/"


def test_a_symlink_out_of_data_is_refused(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "escape.txt").symlink_to(EXAMPLE / "manage.py")
    monkeypatch.setattr(tasks, "DATA_DIR", data)

    with pytest.raises(ValueError, match=r"^path 'escape.txt' is outside data/"):
        tasks.longest_words("escape.txt")


def test_the_deliberate_failure_is_a_clear_file_not_found():
    with pytest.raises(FileNotFoundError) as caught:
        tasks.word_frequencies("missing.txt")
    assert str(caught.value) == f"no text 'missing.txt' in data/ (available: {AVAILABLE})"


@pytest.mark.parametrize("top", [0, 101, True, "5", 2.0])
def test_word_frequencies_refuses_a_bad_top(top):
    with pytest.raises(ValueError) as caught:
        tasks.word_frequencies("raven.txt", top=top)
    assert str(caught.value) == f"top must be an integer from 1 to 100, not {top!r}"


@pytest.mark.parametrize(
    ("paths", "name", "message"),
    [
        (["raven.txt"], "x", "paths must be a list of at least two texts, not ['raven.txt']"),
        ("raven.txt", "x", "paths must be a list of at least two texts, not 'raven.txt'"),
        (["raven.txt", "raven.txt"], "x", "paths must name each text once: "
         "['raven.txt', 'raven.txt']"),
        (["raven.txt", "sonnets.txt"], "../x", "name must be 1 to 64 lower-case letters, "
         "digits, '-' or '_', not '../x'"),
    ],
)  # fmt: skip
def test_compare_refuses_bad_arguments(paths, name, message):
    with pytest.raises(ValueError) as caught:
        tasks.compare(paths, name=name)
    assert str(caught.value) == message


def test_the_demo_batch_covers_every_text_and_one_failure():
    items = demo.batch()

    assert len(items) == 16
    assert Counter(name for name, _ in items) == {
        "reports.tasks.word_frequencies": 7,
        "reports.tasks.longest_words": 6,
        "reports.tasks.compare": 3,
    }
    assert sorted(demo.TEXTS) == TEXTS
    assert items[-1] == ("reports.tasks.word_frequencies", {"path": "missing.txt"})


def finished(name: str, params: dict, status: str, result=None, error: str = "") -> Task:
    """An unsaved task as the worker leaves it, 1.5 ms after it started."""
    started = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    return Task(
        task_name=f"reports.tasks.{name}", task_params=params, status=status, result=result,
        error=error, started_at=started,
        completed_at=started + datetime.timedelta(microseconds=1500),
    )  # fmt: skip


def test_the_table_shows_each_task_with_its_summary_or_error():
    error = f"FileNotFoundError: no text 'missing.txt' in data/ (available: {AVAILABLE})"
    rows = [
        finished("word_frequencies", {"path": "a.txt"}, Task.COMPLETED,
                 {"words": 1234, "distinct": 56, "top": [["the", 9], ["of", 4]]}),
        finished("longest_words", {"path": "a.txt"}, Task.COMPLETED,
                 {"longest": [["consecrated", 11]], "average_length": 4.5}),
        finished("compare", {"paths": ["a.txt", "b.txt"], "name": "ab"}, Task.COMPLETED,
                 {"words": 2000, "shared": 7, "shared_top": [["the", 20]]}),
        finished("word_frequencies", {"path": "missing.txt"}, Task.FAILED, error=error),
    ]  # fmt: skip

    lines = demo.table(rows, width=100)

    assert lines == [
        "task                           status     ms  result",
        "-----------------------------  ---------  --  ------",
        "word_frequencies(a.txt)        COMPLETED   2  1,234 words, 56 distinct: the(9) of(4)",
        "longest_words(a.txt)           COMPLETED   2  average length 4.5; longest:"
        " consecrated(11)",
        "compare(ab: 2 texts)           COMPLETED   2  2,000 words; 7 in every text: the(20)",
        "word_frequencies(missing.txt)  FAILED      2  FileNotFoundError: no text 'missing.txt' in"
        " data/ …",
    ]
    assert demo.problems(rows) == []


def test_problems_name_every_task_that_did_not_end_as_planned():
    rows = [
        finished("longest_words", {"path": "a.txt"}, Task.FAILED, error="OSError: boom"),
        finished("word_frequencies", {"path": "missing.txt"}, Task.COMPLETED, {"top": []}),
    ]

    assert demo.problems(rows) == [
        "longest_words(a.txt) ended FAILED: OSError: boom",
        "word_frequencies(missing.txt) should have FAILED with "
        "\"FileNotFoundError: no text 'missing.txt' in data/\"",
    ]


def run_demo(project: Path) -> subprocess.CompletedProcess:
    """Migrate a fresh SQLite file and run ``manage.py demo`` in *project*, like ``make demo``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="200")
    for args in (["migrate", "-v0"], ["demo", "--no-color"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=project, env=env, capture_output=True,
            text=True, timeout=DEMO_LIMIT,
        )  # fmt: skip
        if done.returncode:
            break
    return done


@pytest.fixture
def project(tmp_path):
    """A copy of example/ without its database or reports."""
    copy = tmp_path / "example"
    shutil.copytree(
        EXAMPLE, copy, ignore=shutil.ignore_patterns("db.sqlite3*", "reports_out", "__pycache__")
    )
    return copy


def test_demo_command_runs_the_batch_and_exits_0(project):
    done = run_demo(project)

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "Deleted 0 task(s) of earlier runs; enqueued 16 (one of them fails on purpose)."
    )
    # Columns are two or more spaces apart; a task's label has single spaces at most.
    rows = [
        re.split(r"\s{2,}", line.strip())
        for line in lines
        if line.startswith(("word_", "longest_", "compare("))
    ]
    assert len(rows) == 16
    assert Counter(row[1] for row in rows) == {"COMPLETED": 15, "FAILED": 1}
    assert rows[0][0] == "word_frequencies(gettysburg.txt)"
    assert rows[0][3] == "272 words, 138 distinct: that(13) the(11) we(10) here(8) to(8)"
    assert rows[14][0] == "compare(all-texts: 6 texts)"
    assert rows[15][:2] == ["word_frequencies(missing.txt)", "FAILED"]
    assert rows[15][3].startswith("FileNotFoundError: no text 'missing.txt' in data/")
    assert "  ../.venv/bin/python manage.py runserver" in lines
    assert sorted(path.name for path in (project / "reports_out").iterdir()) == sorted(
        [f"{Path(text).stem}-frequencies.txt" for text in TEXTS]
        + ["all-texts.txt", "founding.txt", "lincoln.txt"]
    )


def test_demo_command_exits_non_zero_when_a_task_fails_unplanned(project):
    (project / "data" / "raven.txt").unlink()

    done = run_demo(project)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "CommandError: The queue did not work as planned:" in done.stderr
    assert "longest_words(raven.txt) ended FAILED: FileNotFoundError: no text 'raven.txt'" in (
        done.stderr
    )

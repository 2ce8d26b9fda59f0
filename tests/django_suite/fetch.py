"""Fetch the tests of Django's tasks framework from the source release of the installed Django.

    python -m tests.django_suite.fetch

Django's wheel has no tests; its source distribution has them in ``tests/tasks/``.
This downloads that archive with pip into ``tmp/`` (ignored by git) and extracts
``tests/tasks/`` to ``tmp/django-tests/<version>/tasks/``, the package name under
which the tests import their own task module. Nothing is fetched twice.
"""

import subprocess
import sys
import tarfile
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent.parent
TMP = ROOT / "tmp"
PACKAGE = "tasks"  # the directory of Django's tests/ that is fetched, and its import name


def tests_dir(version: str | None = None) -> Path:
    """Where the tests of *version* (the installed Django's by default) are kept."""
    return TMP / "django-tests" / (version or django.__version__)


def download(version: str) -> Path:
    """Download Django's source archive for *version* into ``tmp/`` and return its path."""
    target = TMP / "django-sdist"
    found = sorted(target.glob(f"[Dd]jango-{version}.tar.gz"))
    if found:
        return found[0]
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--no-binary", ":all:", "--dest", str(target), f"Django=={version}",
        ],
        check=True,
    )  # fmt: skip
    found = sorted(target.glob(f"[Dd]jango-{version}.tar.gz"))
    if not found:
        raise RuntimeError(f"pip downloaded no source archive of Django {version} to {target}")
    return found[0]


def extract(archive: Path, destination: Path) -> None:
    """Extract ``tests/tasks/`` of *archive* (and nothing else) into *destination*."""
    with tarfile.open(archive) as tar:
        members = [
            member
            for member in tar.getmembers()
            if member.isfile() and member.name.split("/")[1:3] == ["tests", PACKAGE]
        ]
        if not members:
            raise RuntimeError(f"{archive.name} has no tests/{PACKAGE}/ directory")
        partial = destination.with_name(destination.name + ".partial")
        for member in members:
            # Keep the path from tests/ on: <destination>/tasks/test_tasks.py.
            member.name = "/".join(member.name.split("/")[2:])
            tar.extract(member, partial, filter="data")
        partial.rename(destination)


def fetch(version: str | None = None) -> Path:
    """Make sure the tests of *version* are extracted; return the directory to import from."""
    version = version or django.__version__
    destination = tests_dir(version)
    if (destination / PACKAGE / "__init__.py").is_file():
        return destination
    extract(download(version), destination)
    return destination


if __name__ == "__main__":
    print(fetch(*sys.argv[1:2]))

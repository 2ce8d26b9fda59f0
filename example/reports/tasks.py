"""Tasks of the demo: word statistics over the public-domain texts in ``data/``.

Every task names its texts by paths relative to ``data/`` and refuses any
other file, so a row in the task table cannot make the worker read
``/etc/passwd``. Each returns a JSON-ready summary; ``word_frequencies`` and
``compare`` also write a plain-text report under ``reports_out/``.

A text file starts with one line naming the work and its author; the words
are counted in the lines after it.
"""

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = EXAMPLE_DIR / "data"
OUTPUT_DIR = EXAMPLE_DIR / "reports_out"
MAX_COUNT = 100  # the longest list of words a task will return

# A word is a run of letters with inner apostrophes kept ("o'er", "men's");
# digits, hyphens and dashes separate words, so "battle-field" is two.
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
REPORT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def text_path(path: str) -> Path:
    """Return the file *path* names inside ``data/``; raise if it is elsewhere or missing."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"path must be a non-empty string relative to data/, not {path!r}")
    data_dir = DATA_DIR.resolve()
    # resolve() follows "..", symlinks and absolute paths before the check.
    candidate = (data_dir / path).resolve()
    if not candidate.is_relative_to(data_dir):
        raise ValueError(f"path {path!r} is outside data/; give a path relative to data/")
    if not candidate.is_file():
        available = ", ".join(sorted(item.name for item in data_dir.glob("*.txt")))
        raise FileNotFoundError(f"no text {path!r} in data/ (available: {available})")
    return candidate


def read_text(path: str) -> tuple[str, list[str]]:
    """Return the title line and the lower-cased words of the text at *path* in ``data/``."""
    lines = text_path(path).read_text(encoding="utf-8").splitlines()
    title = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:]).replace("\u2019", "'").lower()
    return title, WORD.findall(body)


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise ValueError(f"{name} must be an integer from 1 to {MAX_COUNT}, not {value!r}")


def _ranked(counts: Counter[str], limit: int) -> list[tuple[str, int]]:
    # Ties are broken alphabetically so that the same text always gives the same list.
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def _write_report(name: str, lines: list[str]) -> str:
    """Write *lines* to ``reports_out/<name>`` and return that path, relative to the project."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    target = OUTPUT_DIR / name
    # Write then rename: a reader never sees half a report, even while a rerun rewrites it.
    partial = target.with_name(f".{name}.{os.getpid()}.tmp")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial.replace(target)
    return f"{OUTPUT_DIR.name}/{name}"


def word_frequencies(path: str, top: int = 10) -> dict[str, Any]:
    """Count the words of one text; return the totals and the *top* most frequent words."""
    _check_count("top", top)
    title, words = read_text(path)
    counts = Counter(words)
    ranked = _ranked(counts, top)
    lines = [
        f"Word frequencies of data/{path}",
        title,
        "",
        f"{len(words):,} words, {len(counts):,} distinct",
        "",
        f"{'rank':>4}  {'word':<16}{'count':>6}  {'share':>6}",
    ]
    for rank, (word, count) in enumerate(ranked, start=1):
        lines.append(f"{rank:>4}  {word:<16}{count:>6}  {count / len(words):>6.1%}")
    report = _write_report(f"{Path(path).stem}-frequencies.txt", lines)
    return {
        "text": path,
        "title": title,
        "words": len(words),
        "distinct": len(counts),
        "top": [[word, count] for word, count in ranked],
        "report": report,
    }


def longest_words(path: str, n: int = 5) -> dict[str, Any]:
    """Return the *n* longest distinct words of one text and its average word length."""
    _check_count("n", n)
    title, words = read_text(path)
    longest = sorted(set(words), key=lambda word: (-len(word), word))[:n]
    average = round(sum(len(word) for word in words) / len(words), 2) if words else 0.0
    return {
        "text": path,
        "title": title,
        "longest": [[word, len(word)] for word in longest],
        "average_length": average,
    }


def _check_compare(paths: Any, name: Any) -> None:
    if not isinstance(paths, list) or len(paths) < 2:
        raise ValueError(f"paths must be a list of at least two texts, not {paths!r}")
    if len(set(paths)) != len(paths):
        raise ValueError(f"paths must name each text once: {paths!r}")
    if not isinstance(name, str) or not REPORT_NAME.fullmatch(name):
        raise ValueError(
            f"name must be 1 to 64 lower-case letters, digits, '-' or '_', not {name!r}"
        )


def compare(paths: list[str], name: str = "comparison", top: int = 10) -> dict[str, Any]:
    """Compare several texts: size and vocabulary of each, and the words all of them use."""
    _check_compare(paths, name)
    _check_count("top", top)
    counts = {path: Counter(read_text(path)[1]) for path in paths}
    total: Counter[str] = Counter()
    for text_counts in counts.values():
        total.update(text_counts)
    shared = set.intersection(*(set(text_counts) for text_counts in counts.values()))
    shared_top = _ranked(Counter({word: total[word] for word in shared}), top)
    rows = [
        {"text": path, "words": sum(c.values()), "distinct": len(c)} for path, c in counts.items()
    ]
    lines = [f"Comparison of {len(paths)} texts", "", f"{'text':<24}{'words':>8}{'distinct':>10}"]
    lines += [f"{row['text']:<24}{row['words']:>8,}{row['distinct']:>10,}" for row in rows]
    lines += ["", f"{len(shared)} words appear in every text; the most frequent of them:"]
    lines += [f"  {word:<16}{count:>6}" for word, count in shared_top]
    return {
        "texts": rows,
        "words": sum(total.values()),
        "distinct": len(total),
        "shared": len(shared),
        "shared_top": [[word, count] for word, count in shared_top],
        "report": _write_report(f"{name}.txt", lines),
    }

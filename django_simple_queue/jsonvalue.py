"""Can a value be stored in the task table's JSON columns on every supported database?

``json.dumps`` accepting a value is not enough: PostgreSQL's jsonb refuses NUL
characters and lone surrogates, MariaDB's JSON check refuses nesting deeper
than 32 levels, and Python itself refuses to read back integers of more than
4,300 digits. Checking here turns each of those into a clear error at enqueue
(for params) or in the child (for results), instead of a database error later.
"""

import re
from typing import Any

MAX_DEPTH = 30  # levels of nesting; MariaDB's JSON_VALID stops at 32
MAX_INT_DIGITS = 4000  # Python refuses to parse ints past 4,300 digits by default
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def _text_problem(text: str, path: str, what: str) -> str | None:
    match = _UNSTORABLE_TEXT.search(text)
    if match is None:
        return None
    kind = "a NUL character" if match.group() == "\x00" else "a lone surrogate"
    return f"{path} has {what} holding {kind}, which the database cannot store"


def _scalar_problem(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return _text_problem(value, path, "text")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        # bit_length, not str(): str() itself refuses ints past 4,300 digits.
        if value.bit_length() > MAX_INT_DIGITS * 3.33:
            return f"{path} is an integer of more than {MAX_INT_DIGITS} digits"
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f"{path} is {value!r}, which JSON cannot represent"
        return None
    return f"{path} is of type {type(value).__name__}, which is not JSON serialisable"


def problem(value: Any, path: str, depth: int = 0) -> str | None:
    """Return where and why *value* cannot be stored as JSON, or None when it can."""
    if depth > MAX_DEPTH:
        return f"{path} is nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = problem(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has key {key!r} of type {type(key).__name__}; keys must be str"
            found = _text_problem(key, path, "a key") or problem(
                item, f"{path}[{key!r}]", depth + 1
            )
            if found:
                return found
        return None
    return _scalar_problem(value, path)


def safe_text(text: str) -> str:
    """Return *text* with NUL characters and lone surrogates spelt out as escapes."""
    text = text.replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

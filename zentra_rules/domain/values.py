"""Run-time value semantics: null-safe tests, arithmetic, templates. No test ever raises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

Env = dict[str, Any]


def as_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from a datetime or an ISO-8601 string; None otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and len(value) >= 10 and value[:4].isdigit():
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _coerce_pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Make two values comparable, or None when they are of different kinds."""
    if _num(a) and _num(b):
        return a, b
    if isinstance(a, datetime) or isinstance(b, datetime):
        da, db = as_datetime(a), as_datetime(b)
        return (da, db) if da is not None and db is not None else None
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    if isinstance(a, timedelta) and isinstance(b, timedelta):
        return a, b
    return None


def eq(a: Any, b: Any) -> bool:
    """Exact equality; `null = x` is false unless x is null; bools equal only bools."""
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, datetime) or isinstance(b, datetime):
        pair = _coerce_pair(a, b)
        return pair is not None and pair[0] == pair[1]
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b, strict=False))
    return bool(a == b)


def compare(op: str, a: Any, b: Any) -> bool:
    """`<`, `<=`, `>`, `>=`: false on null or on values of different kinds."""
    if a is None or b is None:
        return False
    pair = _coerce_pair(a, b)
    if pair is None:
        return False
    x, y = pair
    if op == "<":
        return bool(x < y)
    if op == "<=":
        return bool(x <= y)
    if op == ">":
        return bool(x > y)
    return bool(x >= y)


def is_in(a: Any, seq: Any) -> bool:
    if not isinstance(seq, list):
        return False
    return any(eq(a, item) for item in seq)


def contains(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return b in a
    if isinstance(a, list) and b is not None:
        return any(eq(item, b) for item in a)
    return False


def starts_with(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.startswith(b)


def ends_with(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.endswith(b)


# The binary tests by their operator: the one table both the closures (evaluation.py) and the
# generated condition code (runtime/conditions.py) call. `!=` and `not in` are their negations.
BINARY_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "=": eq, "in": is_in, "contains": contains, "starts with": starts_with,
    "ends with": ends_with}
NEGATIONS = {"!=": "=", "not in": "in"}


def is_empty(a: Any) -> bool:
    return a is None or (isinstance(a, (str, list, dict)) and len(a) == 0)


def truthy(a: Any) -> bool:
    if a is None or a is False:
        return False
    if isinstance(a, (str, list, dict)):
        return len(a) > 0
    if _num(a):
        return a != 0
    return True


def add(a: Any, b: Any) -> Any:
    """Numbers add, strings join, a duration moves a time; anything else is null."""
    try:
        return _add(a, b)
    except OverflowError:   # a time pushed past year 9999
        return None


def sub(a: Any, b: Any) -> Any:
    try:
        return _sub(a, b)
    except OverflowError:
        return None


def _add(a: Any, b: Any) -> Any:
    if _num(a) and _num(b):
        return a + b
    if isinstance(b, timedelta) and (da := as_datetime(a)) is not None:
        return da + b
    if isinstance(a, timedelta) and (db := as_datetime(b)) is not None:
        return db + a
    if isinstance(a, str) or isinstance(b, str):
        return text(a) + text(b)
    if isinstance(a, timedelta) and isinstance(b, timedelta):
        return a + b
    return None


def _sub(a: Any, b: Any) -> Any:
    if _num(a) and _num(b):
        return a - b
    da = as_datetime(a)
    if da is not None and isinstance(b, timedelta):
        return da - b
    db = as_datetime(b)
    if da is not None and db is not None:
        return da - db
    if isinstance(a, timedelta) and isinstance(b, timedelta):
        return a - b
    return None


def call(name: str, arg: Any) -> Any:
    if name == "lower":
        return arg.lower() if isinstance(arg, str) else None
    if name == "upper":
        return arg.upper() if isinstance(arg, str) else None
    if name == "len":
        if arg is None:
            return 0
        return len(arg) if isinstance(arg, (str, list, dict)) else None
    return None


FUNCTIONS = ("lower", "upper", "len")


def iso(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def text(value: Any) -> str:
    """How a value reads inside a rendered template."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, timedelta):
        return f"{int(value.total_seconds())} seconds"
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("id", value.get("name", "")))
    return str(value)


def to_json(value: Any) -> Any:
    """A JSON-safe copy of a run-time value (times as ISO strings, durations as seconds)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds.is_integer() else seconds
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value

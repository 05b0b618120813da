"""The one JSON gate: every body the service takes, and every value the store writes, passes it.

JSON other systems send may be valid and still unusable: a 5,000-digit integer (Python refuses to
print one), `NaN` or `1e400` (not JSON, and not storable in PostgreSQL), a lone surrogate (not
UTF-8), a NUL character (PostgreSQL's `jsonb` cannot hold one), or nesting a thousand levels deep
(no record is; copying it exhausts the stack). The gate refuses each with the path where it sits
(`$.custom.a.a`) and the limit, so the sender can fix it and nothing stored can break a later read.
"""

from __future__ import annotations

import json
import math
from typing import Any

from zentra_rules.domain.errors import InputError

MAX_DEPTH = 64            # objects and lists inside each other, in anything stored or sent
MAX_BODY_DEPTH = 32       # in a body: a record nests a few levels; what the desk wraps it in
                          # (an execution's inputs, its trace) must still fit in MAX_DEPTH
MAX_INT_DIGITS = 18       # as in scripts: a 64-bit integer column holds it
MAX_STRING = 256 * 1024   # characters in one string
MAX_KEY = 200             # characters in one object key


class JSONLimitError(InputError):
    """A JSON value beyond a limit; `path` says where (`$.custom.a`)."""

    def __init__(self, message: str, path: str = "$"):
        super().__init__(message)
        self.path = path


class NotJSON(InputError):
    """Text that is not JSON at all (RFC 8259): a syntax error, NaN, Infinity."""


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise JSONLimitError(f"an integer of {digits} digits; at most {MAX_INT_DIGITS} are taken")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONLimitError(f"the number {text[:30]} is too large to hold")
    return value


def _constant(text: str) -> Any:
    raise NotJSON(f"`{text}` is not a JSON number; send a finite number or null")


def loads(raw: bytes | str, depth: int = MAX_BODY_DEPTH) -> Any:
    """Parse JSON within the limits; NotJSON (400) or JSONLimitError (422) naming the place."""
    try:
        value = json.loads(raw, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except JSONLimitError as exc:   # raised while parsing: the path is not known yet, find it
        raise JSONLimitError(f"{exc}", _locate(raw)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotJSON(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise JSONLimitError(f"nested more than {depth} levels deep") from None
    check(value, depth=depth)
    return value


def _locate(raw: bytes | str) -> str:
    """Where the first number beyond the limits sits (parsed again, keeping numbers as text)."""
    try:
        doc = json.loads(raw, parse_int=str, parse_float=str, parse_constant=str)
    except (ValueError, RecursionError):
        return "$"
    stack: list[tuple[Any, str]] = [(doc, "$")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, _child(path, k)) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node))))
        elif isinstance(node, str) and node[:1] in "-0123456789" and _bad_number(node):
            return path
    return "$"


def _bad_number(text: str) -> bool:
    try:
        if any(c in text for c in ".eE"):
            return not math.isfinite(float(text))
        return len(text.lstrip("-")) > MAX_INT_DIGITS
    except ValueError:
        return False


def _child(path: str, key: Any) -> str:
    key = str(key)
    return f"{path}.{key}" if key.isidentifier() and len(key) <= 40 else f"{path}[{json.dumps(key)[:60]}]"


def check(value: Any, path: str = "$", depth: int = MAX_DEPTH) -> None:
    """Refuse a value no store or reader could hold (iteratively: deep input must not recurse)."""
    limit = depth
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= limit:
                raise JSONLimitError(f"nested more than {limit} levels deep", where)
            if isinstance(node, dict):
                for key, item in node.items():
                    if not isinstance(key, str):
                        raise JSONLimitError("an object key must be text", where)
                    _text(key, where, MAX_KEY, "key")
                    stack.append((item, _child(where, key), depth + 1))
            else:
                stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(node))
        elif isinstance(node, str):
            _text(node, where, MAX_STRING, "text")
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if abs(node) >= 10 ** MAX_INT_DIGITS:
                raise JSONLimitError(f"an integer of more than {MAX_INT_DIGITS} digits", where)
        elif isinstance(node, float) and not math.isfinite(node):
            raise JSONLimitError(f"{node!r} is not a finite number", where)


def _text(text: str, where: str, limit: int, what: str) -> None:
    if len(text) > limit:
        raise JSONLimitError(f"a {what} of {len(text)} characters; at most {limit}", where)
    if "\x00" in text:
        raise JSONLimitError(f"a {what} with a NUL character (\\u0000), which cannot be stored",
                             where)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONLimitError(f"a {what} with a lone surrogate (such as \\ud800), which is not "
                             "text", where) from None


def dumps(value: Any) -> str:
    """JSON text of a value that passed the gate (compact, keys sorted: the store's form)."""
    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def describe(exc: JSONLimitError, what: str = "the body") -> str:
    """`the body at $.custom.a: nested more than 64 levels deep`."""
    return f"{what} at {exc.path}: {exc}"

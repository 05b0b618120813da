"""Expression and condition trees (plan constants) turned into closures, and explained.

The compiler emits JSON trees; here they become nested Python closures over a path accessor —
no `eval`, no `exec`, user values captured as constants. These closures are the reference
semantics: `codegen.py` generates faster code for WHERE conditions and is tested against them,
and explain uses them to report what each test compared.

Expressions:  ["const", v] ["dur", seconds] ["now"] ["path", root, [seg...], [refkind...]]
              ["time", a] (a stored time read as a time)
              ["add", a, b] ["sub", a, b] ["call", name, a] ["list", [a...]] ["tmpl", [str|a...]]
              ["map", {key: a}] ["user", a] (a user as a recipient: reads as its id)
Conditions:   ["or", [c...], text] ["and", [c...], text] ["not", c, text]
              ["test", op, left, right|null, text] ["truth", a, text]
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import re2

from zentra_rules.domain import values as V

Env = dict[str, Any]
Fn = Callable[[Env], Any]
Pred = Callable[[Env], bool]

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is reported as a diagnostic, not logged


def regex_error(pattern: str, max_length: int) -> str | None:
    """Why a `matches` pattern is refused, or None."""
    if len(pattern) > max_length:
        return f"regular expression is {len(pattern)} characters long; the limit is {max_length}"
    try:
        re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return f"invalid regular expression: {reason}"
    return None


# -- values ----------------------------------------------------------------------------------
def make_getter(root: str, segs: list[str], refs: list[str]) -> Fn:
    """Read root.seg.seg...; a reference stored as an id is looked up in env["$records"].

    A path that ends on a reference reads as the referenced record's id, whether the subject
    stores the id or embeds the record (`"manager": {"id": "u1", ...}`).
    """
    inner = _make_getter(root, segs, refs)
    if not refs or not refs[-1]:
        return inner

    def get_ref(env: Env) -> Any:
        value = inner(env)
        return value.get("id") if type(value) is dict else value
    return get_ref


def _make_getter(root: str, segs: list[str], refs: list[str]) -> Fn:
    if not segs:
        return lambda env: env.get(root)
    if len(segs) == 1:
        s0 = segs[0]

        def get1(env: Env) -> Any:
            rec = env.get(root)
            return rec.get(s0) if type(rec) is dict else None
        return get1
    pairs = list(zip(segs, ["", *refs[:-1]], strict=False))

    def get(env: Env) -> Any:
        cur = env.get(root)
        for seg, kind in pairs:
            if type(cur) is str and kind:
                cur = env.get("$records", {}).get(kind, {}).get(cur)
            if type(cur) is not dict:
                return None
            cur = cur.get(seg)
        return cur
    return get


def reference(node: list[Any], env: Env, kind: str) -> tuple[Any, dict[str, Any] | None]:
    """(id, record) of the record an expression names: embedded in the subject, or by id in
    env["$records"] (an embedded record is completed by the looked-up one)."""
    inner = node[1] if node[0] == "user" else node
    raw = (_make_getter(inner[1], inner[2], inner[3]) if inner[0] == "path"
           else compile_value(inner))(env)
    known = env.get("$records", {}).get(kind, {})
    if type(raw) is dict:
        found = known.get(raw.get("id")) if isinstance(raw.get("id"), str) else None
        return raw.get("id"), {**(found or {}), **raw}
    if isinstance(raw, str):
        return raw, known.get(raw)
    return raw, None


def compile_value(node: list[Any]) -> Fn:
    tag = node[0]
    if tag == "const":
        value = node[1]
        return lambda env: value
    if tag == "dur":
        delta = timedelta(seconds=node[1])
        return lambda env: delta
    if tag == "now":
        return lambda env: env.get("$now")
    if tag == "path":
        return make_getter(node[1], node[2], node[3])
    if tag in ("add", "sub"):
        a, b = compile_value(node[1]), compile_value(node[2])
        op = V.add if tag == "add" else V.sub
        return lambda env: op(a(env), b(env))
    if tag == "time":
        inner = compile_value(node[1])
        return lambda env: V.as_datetime(inner(env))
    if tag == "call":
        name, arg = node[1], compile_value(node[2])
        return lambda env: V.call(name, arg(env))
    if tag == "list":
        items = [compile_value(n) for n in node[1]]
        return lambda env: [f(env) for f in items]
    if tag == "tmpl":
        parts = [p if isinstance(p, str) else compile_value(p) for p in node[1]]
        return lambda env: "".join(p if isinstance(p, str) else V.text(p(env)) for p in parts)
    if tag == "map":
        fields = {k: compile_value(v) for k, v in node[1].items()}
        return lambda env: {k: f(env) for k, f in fields.items()}
    if tag == "user":   # a user named as a recipient reads as the user's id
        return compile_value(node[1])
    raise ValueError(f"unknown expression node {tag!r}")


def previous_path(node: list[Any]) -> list[Any]:
    """The path that reads the same field before the change: event.previous.<segs>."""
    if node[0] == "time":
        return ["time", previous_path(node[1])]
    return ["path", "event", ["previous", *node[2]], ["", *node[3]]]


# -- conditions ------------------------------------------------------------------------------
def _binary(op: str) -> Callable[[Any, Any], bool]:
    table: dict[str, Callable[[Any, Any], bool]] = {
        "=": V.eq, "!=": lambda a, b: not V.eq(a, b),
        "<": lambda a, b: V.compare("<", a, b), "<=": lambda a, b: V.compare("<=", a, b),
        ">": lambda a, b: V.compare(">", a, b), ">=": lambda a, b: V.compare(">=", a, b),
        "in": V.is_in, "not in": lambda a, b: not V.is_in(a, b),
        "contains": V.contains, "starts with": V.starts_with, "ends with": V.ends_with,
    }
    return table[op]


def compile_condition(node: list[Any]) -> Pred:
    """A closure env -> bool for a condition tree."""
    tag = node[0]
    if tag == "and":
        parts = [compile_condition(c) for c in node[1]]
        return lambda env: all(p(env) for p in parts)
    if tag == "or":
        parts = [compile_condition(c) for c in node[1]]
        return lambda env: any(p(env) for p in parts)
    if tag == "not":
        inner = compile_condition(node[1])
        return lambda env: not inner(env)
    if tag == "truth":
        get = compile_value(node[1])
        return lambda env: V.truthy(get(env))
    if tag == "test":
        return _compile_test(node)[0]
    raise ValueError(f"unknown condition node {tag!r}")


def _compile_test(node: list[Any]) -> tuple[Pred, Fn, Fn | None]:
    """The test's predicate plus the closures of what it compares (for explain)."""
    _, op, left, right, _text = node
    lhs = compile_value(left)
    if op in ("is empty", "is not empty"):
        want = op == "is empty"
        return (lambda env: V.is_empty(lhs(env)) is want), lhs, None
    if op.startswith("changed"):
        prev = compile_value(previous_path(left))
        other = compile_value(right) if right is not None else None

        def changed(env: Env) -> bool:
            if type(env.get("event", {}).get("previous")) is not dict:
                return False
            now_v, before = lhs(env), prev(env)
            if V.eq(now_v, before):
                return False
            if op == "changed to":
                return V.eq(now_v, other(env))  # type: ignore[misc]
            if op == "changed from":
                return V.eq(before, other(env))  # type: ignore[misc]
            return True
        return changed, lhs, prev
    rhs = compile_value(right)
    if op == "matches":
        constant = right[0] == "const" and isinstance(right[1], str)
        pattern = re2.compile(right[1], _RE2_OPTIONS) if constant else None

        def match(env: Env) -> bool:
            value = lhs(env)
            return isinstance(value, str) and pattern is not None and pattern.search(value) is not None
        return match, lhs, rhs
    # No fast paths here: these closures are the reference semantics (and serve explain);
    # speed comes from `codegen.generate_condition`, which tests check against them.
    fn = _binary(op)
    return (lambda env: fn(lhs(env), rhs(env))), lhs, rhs


def explain(node: list[Any], env: Env) -> dict[str, Any]:
    """Each sub-condition's value, with the values each test compared."""
    tag = node[0]
    if tag in ("and", "or"):
        children = [explain(c, env) for c in node[1]]
        combine = all if tag == "and" else any
        return {"text": node[2], "value": combine(c["value"] for c in children),
                "children": children}
    if tag == "not":
        child = explain(node[1], env)
        return {"text": node[2], "value": not child["value"], "children": [child]}
    if tag == "truth":
        value = compile_value(node[1])(env)
        return {"text": node[2], "value": V.truthy(value), "left": V.to_json(value)}
    pred, lhs, rhs = _compile_test(node)
    out: dict[str, Any] = {"text": node[4], "value": bool(pred(env)), "left": V.to_json(lhs(env))}
    if rhs is not None:
        key = "previous" if node[1].startswith("changed") else "right"
        out[key] = V.to_json(rhs(env))
        if node[1] in ("changed to", "changed from"):
            out["right"] = V.to_json(compile_value(node[3])(env))
    return out

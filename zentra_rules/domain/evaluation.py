"""Expression and condition trees (plan constants, `zentra_rules.domain.ir`) turned into
closures, and explained.

Here the typed nodes become nested Python closures over a path accessor — no `eval`, no `exec`,
user values captured as constants. These closures are the reference semantics:
`runtime/conditions.py` generates faster code for WHERE conditions and is tested against them,
and explain uses them to report what each test compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import re2

from zentra_rules.domain import ir
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
def make_getter(root: str, segs: Sequence[str], refs: Sequence[str]) -> Fn:
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


def _make_getter(root: str, segs: Sequence[str], refs: Sequence[str]) -> Fn:
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


def reference(node: ir.Node, env: Env, kind: str) -> tuple[Any, dict[str, Any] | None]:
    """(id, record) of the record an expression names: embedded in the subject, or by id in
    env["$records"] (an embedded record is completed by the looked-up one)."""
    inner = node.expr if isinstance(node, ir.User) else node
    raw = (_make_getter(inner.root, inner.segs, inner.refs) if isinstance(inner, ir.Path)
           else compile_value(inner))(env)
    known = env.get("$records", {}).get(kind, {})
    if type(raw) is dict:
        found = known.get(raw.get("id")) if isinstance(raw.get("id"), str) else None
        return raw.get("id"), {**(found or {}), **raw}
    if isinstance(raw, str):
        return raw, known.get(raw)
    return raw, None


def compile_value(node: ir.Node) -> Fn:
    """A closure env -> value for an expression."""
    # isinstance tests, commonest first: explain rebuilds these closures on every event, and a
    # `match` on class patterns costs several times as much.
    if isinstance(node, ir.Path):
        return make_getter(node.root, node.segs, node.refs)
    if isinstance(node, ir.Const):
        value = node.value
        return lambda env: value
    if isinstance(node, ir.Time):
        read = compile_value(node.expr)
        return lambda env: V.as_datetime(read(env))
    if isinstance(node, ir.Now):
        return lambda env: env.get("$now")
    if isinstance(node, ir.Dur):
        delta = timedelta(seconds=node.seconds)
        return lambda env: delta
    if isinstance(node, ir.Add | ir.Sub):
        a, b = compile_value(node.left), compile_value(node.right)
        op = V.add if isinstance(node, ir.Add) else V.sub
        return lambda env: op(a(env), b(env))
    if isinstance(node, ir.Call):
        name, arg = node.name, compile_value(node.arg)
        return lambda env: V.call(name, arg(env))
    if isinstance(node, ir.List):
        items = [compile_value(n) for n in node.items]
        return lambda env: [f(env) for f in items]
    if isinstance(node, ir.Template):
        parts = [p if isinstance(p, str) else compile_value(p) for p in node.parts]
        return lambda env: "".join(p if isinstance(p, str) else V.text(p(env)) for p in parts)
    if isinstance(node, ir.Map):
        fields = {k: compile_value(v) for k, v in node.fields}
        return lambda env: {k: f(env) for k, f in fields.items()}
    if isinstance(node, ir.User):   # a user named as a recipient reads as the user's id
        return compile_value(node.expr)
    raise ValueError(f"not an expression: {type(node).__name__}")


def previous_path(node: ir.Expr) -> ir.Expr:
    """The path that reads the same field before the change: event.previous.<segs>."""
    match node:
        case ir.Time(inner):
            return ir.Time(previous_path(inner))
        case ir.Path(_, segs, refs):
            return ir.Path("event", ("previous", *segs), ("", *refs))
    raise ValueError(f"`changed` reads a field, not {type(node).__name__}")


# -- conditions ------------------------------------------------------------------------------
def _binary(op: str) -> Callable[[Any, Any], bool]:
    if op in V.BINARY_TESTS:
        return V.BINARY_TESTS[op]
    if op in V.NEGATIONS:
        positive = V.BINARY_TESTS[V.NEGATIONS[op]]
        return lambda a, b: not positive(a, b)
    return lambda a, b: V.compare(op, a, b)   # <, <=, >, >=


def compile_condition(node: ir.Node) -> Pred:
    """A closure env -> bool for a condition tree."""
    if isinstance(node, ir.Test):
        return _compile_test(node)[0]
    if isinstance(node, ir.And):
        parts = [compile_condition(c) for c in node.conditions]
        return lambda env: all(p(env) for p in parts)
    if isinstance(node, ir.Or):
        parts = [compile_condition(c) for c in node.conditions]
        return lambda env: any(p(env) for p in parts)
    if isinstance(node, ir.Not):
        inner = compile_condition(node.condition)
        return lambda env: not inner(env)
    if isinstance(node, ir.Truth):
        get = compile_value(node.expr)
        return lambda env: V.truthy(get(env))
    raise ValueError(f"not a condition: {type(node).__name__}")


def _compile_test(node: ir.Test) -> tuple[Pred, Fn, Fn | None]:
    """The test's predicate plus the closures of what it compares (for explain)."""
    op, left, right = node.op, node.left, node.right
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
    if right is None:
        raise ValueError(f"`{op}` needs a value on its right")
    rhs = compile_value(right)
    if op == "matches":
        pattern = (re2.compile(right.value, _RE2_OPTIONS)
                   if isinstance(right, ir.Const) and isinstance(right.value, str) else None)

        def match(env: Env) -> bool:
            value = lhs(env)
            return isinstance(value, str) and pattern is not None and pattern.search(value) is not None
        return match, lhs, rhs
    # No fast paths here: these closures are the reference semantics (and serve explain);
    # speed comes from `runtime.conditions.generate_condition`, which tests check against them.
    fn = _binary(op)
    return (lambda env: fn(lhs(env), rhs(env))), lhs, rhs


def explain(node: ir.Node, env: Env) -> dict[str, Any]:
    """Each sub-condition's value, with the values each test compared."""
    if isinstance(node, ir.Test):
        pred, lhs, rhs = _compile_test(node)
        out: dict[str, Any] = {"text": node.text, "value": bool(pred(env)),
                               "left": V.to_json(lhs(env))}
        if rhs is not None:
            key = "previous" if node.op.startswith("changed") else "right"
            out[key] = V.to_json(rhs(env))
            if node.op in ("changed to", "changed from") and node.right is not None:
                out["right"] = V.to_json(compile_value(node.right)(env))
        return out
    if isinstance(node, ir.And | ir.Or):
        children = [explain(c, env) for c in node.conditions]
        combine = all if isinstance(node, ir.And) else any
        return {"text": node.text, "value": combine(c["value"] for c in children),
                "children": children}
    if isinstance(node, ir.Not):
        child = explain(node.condition, env)
        return {"text": node.text, "value": not child["value"], "children": [child]}
    if isinstance(node, ir.Truth):
        value = compile_value(node.expr)(env)
        return {"text": node.text, "value": V.truthy(value), "left": V.to_json(value)}
    raise ValueError(f"not a condition: {type(node).__name__}")

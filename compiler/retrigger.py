"""The re-trigger check: a workflow whose own change fires its trigger again while it still holds."""

from __future__ import annotations

import json
from typing import Any

from zentra_rules.actions import ACTIONS
from zentra_rules.expr import compile_condition

from . import tree as T
from .context import Context

# Which of a workflow's own ticket changes fire which trigger again.
_REFIRES = {"ticket.updated": None, "ticket.status_changed": {"status"}}


def _writes(body: list[T.Stmt], subject: str) -> list[tuple[str, Any, str]]:
    """(field, value IR, statement text) for every change to the subject ticket in `body`."""
    out: list[tuple[str, Any, str]] = []
    for stmt in body:
        if isinstance(stmt, T.SetField) and stmt.root == subject:
            name = stmt.field.split(".")[0]
            out.append((name, stmt.value, f"set {stmt.field}"))
        elif isinstance(stmt, T.Act):
            spec = ACTIONS.get((stmt.verb, stmt.object if stmt.object != "ticket" or
                                stmt.verb != "escalate" else ""))
            for name in spec.changes if spec else ():
                value = stmt.value
                if name == "tags" and value is not None and value[0] == "const":
                    value = ["const", [value[1]]] if stmt.verb == "add" else ["const", []]
                text = stmt.verb if stmt.verb == "escalate" else f"{stmt.verb} {stmt.object}"
                out.append((name, value, text))
        elif isinstance(stmt, T.If):
            for _, arm, _ in stmt.arms:
                out += _writes(arm, subject)
            out += _writes(stmt.orelse or [], subject)
        elif isinstance(stmt, T.Parallel):
            for branch in stmt.branches:
                out += _writes(branch, subject)
    return out


def _paths(node: Any) -> list[list[Any]]:
    """Every path inside a condition or expression tree."""
    if not isinstance(node, list) or not node:
        return []
    if node[0] == "path":
        return [node]
    found: list[list[Any]] = []
    for part in node[1:]:
        if isinstance(part, list):
            if part and isinstance(part[0], str):
                found += _paths(part)
            else:
                for item in part:
                    found += _paths(item)
    return found


def _guards(conjunct: list[Any], subject: str, written: dict[str, Any],
            written_any: set[str]) -> bool:
    """True when this conjunct is false right after the workflow's own changes."""
    if conjunct[0] == "test" and conjunct[1] in ("changed to", "changed from"):
        # After our own change the field's previous value is what made this test true, and a
        # change to the value it already has fires nothing: the test cannot hold twice in a row.
        return True
    if conjunct[0] == "test" and conjunct[1] == "changed":
        path = conjunct[2]
        return path[0] == "path" and path[2][0] not in written_any
    paths = _paths(conjunct)
    if not paths or any(p[1] != subject or p[2][0] not in written for p in paths):
        return False
    record = {name: value for name, value in written.items()}
    try:
        return not compile_condition(conjunct)({subject: record, "event": {}})
    except (TypeError, ValueError):
        return False


def check_retrigger(ctx: Context, node: Any, definition: T.Definition) -> None:
    if definition.subject != "ticket":
        return
    for trigger in definition.triggers:
        if trigger.event not in _REFIRES:
            continue
        fields = _REFIRES[trigger.event]
        writes = [w for w in _writes(definition.body, "ticket") if fields is None or w[0] in fields]
        if not writes:
            continue
        written_any = {w[0] for w in writes}
        consts = {name: value[1] for name, value, _ in writes
                  if value is not None and value[0] == "const"}
        cond = definition.condition
        conjuncts = cond[1] if cond is not None and cond[0] == "and" else ([cond] if cond else [])
        if any(_guards(c, "ticket", consts, written_any) for c in conjuncts):
            continue
        name, value, text = writes[0]
        hint = (f"`{name} != {_literal(value)}`" if value is not None and value[0] == "const"
                and not isinstance(value[1], list) else f"a test on `{name}`")
        ctx.warn(node, f'workflow "{definition.name}" re-fires its own trigger '
                 f"`{trigger.event}`: `{text}` changes the ticket while the condition can stay "
                 f"true; add a guard such as {hint} to WHERE")
        return


def _literal(value: Any) -> str:
    return json.dumps(value[1], ensure_ascii=False)

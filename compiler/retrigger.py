"""The re-trigger check: a workflow whose own change fires its trigger again while it still holds.

Each path through the body (if/elif/else arms, parallel branches in order) is played forward over
the ticket fields it writes. A path is safe when some top-level conjunct of WHERE is false on the
ticket it leaves behind: a test on written fields that the written constants falsify, a
`changed to`/`changed from` test (its previous value is what made it true, so it cannot hold on
the next change), or `changed` on a field the path does not write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from compiler import tree as T
from compiler.context import Context
from zentra_rules.domain import ir
from zentra_rules.domain.actions import ACTIONS
from zentra_rules.domain.changes import TRANSITIONS
from zentra_rules.domain.evaluation import compile_condition

# Which of a workflow's own changes fire which trigger again (None: any field of the subject):
# every write fires `ticket.updated`, a change of a field fires the transitions on that field.
# (A transition to one value, like `change.approved`, needs more than a write to fire again.)
_REFIRES: dict[str, set[str] | None] = {"ticket.updated": None, **{
    t.event: {t.field} for t in TRANSITIONS if t.to is None}}
_MAX_PATHS = 64
_UNKNOWN = object()   # a field written with a value only known at run time
_HASHABLE = (str, int, float, bool)

Write = tuple[str, ir.Expr | T.Act, str]   # field, value IR (or the statement), statement text
Path = list[Write]


def _paths(body: list[T.Stmt], subject: str) -> list[Path]:
    """The sequences of subject-ticket writes along each path through `body`."""
    paths: list[Path] = [[]]
    for stmt in body:
        if isinstance(stmt, T.If):
            arms = [arm for _, arm, _ in stmt.arms] + [stmt.orelse or []]
            paths = [p + q for p in paths for arm in arms for q in _paths(arm, subject)]
        elif isinstance(stmt, T.Parallel):
            for branch in stmt.branches:
                paths = [p + q for p in paths for q in _paths(branch, subject)]
        else:
            paths = [p + _writes(stmt, subject) for p in paths]
        paths = paths[:_MAX_PATHS]
    return paths


def _writes(stmt: T.Stmt, subject: str) -> list[Write]:
    if isinstance(stmt, T.SetField) and stmt.root == subject:
        return [(stmt.field.split(".")[0], stmt.value, f"set {stmt.field}")]
    if isinstance(stmt, T.Act):
        key = (stmt.verb, "" if stmt.verb == "escalate" else stmt.object)
        spec = ACTIONS.get(key)
        if spec is None or spec.subject != subject:
            return []
        text = stmt.verb if stmt.verb == "escalate" else f"{stmt.verb} {stmt.object}"
        return [(name, stmt, text) for name in spec.changes]
    return []


@dataclass
class _Tags:
    """What a path leaves known about the tags: the ones there are unknown before the run."""

    present: set[Any] = field(default_factory=set)
    absent: set[Any] = field(default_factory=set)
    exact: bool = False    # after `set tags = [...]`: no other tag is there

    def add(self, tag: Any) -> None:
        if tag is _UNKNOWN or not isinstance(tag, _HASHABLE):
            self.exact = False
            return
        self.present.add(tag)
        self.absent.discard(tag)

    def remove(self, tag: Any) -> None:
        if tag is _UNKNOWN or not isinstance(tag, _HASHABLE):
            self.present.clear()
            return
        self.absent.add(tag)
        self.present.discard(tag)


def _final(path: Path) -> dict[str, Any]:
    """The written fields after the path: constants where known, tags as a `_Tags`."""
    record: dict[str, Any] = {}
    for name, value, _ in path:
        if isinstance(value, T.Act):
            const = value.value.value if isinstance(value.value, ir.Const) else _UNKNOWN
            if name == "tags":
                tags = record.setdefault("tags", _Tags())
                (tags.add if value.verb == "add" else tags.remove)(const)
                continue
            if value.verb == "escalate" and value.value is None:
                const = _UNKNOWN   # one level up from an unknown level
            record[name] = const
        elif name == "tags":
            const = value.value if isinstance(value, ir.Const) else _UNKNOWN
            if isinstance(const, list) and all(isinstance(t, _HASHABLE) for t in const):
                record["tags"] = _Tags(set(const), exact=True)
            else:
                record["tags"] = _Tags(exact=True) if const is None else _Tags()
        else:
            record[name] = value.value if isinstance(value, ir.Const) else _UNKNOWN
    return record


def _tree_paths(node: ir.Node) -> list[ir.Path]:
    """Every path expression inside a condition tree."""
    return [n for n in ir.walk(node) if isinstance(n, ir.Path)]


def _falsified(conjunct: ir.Cond, subject: str, record: dict[str, Any]) -> bool:
    """Is this conjunct false on the ticket the path leaves behind?"""
    if isinstance(conjunct, ir.Test) and conjunct.op in ("changed to", "changed from"):
        return True
    if isinstance(conjunct, ir.Test) and conjunct.op == "changed":
        left = conjunct.left
        path = left.expr if isinstance(left, ir.Time) else left
        return isinstance(path, ir.Path) and bool(path.segs) and path.segs[0] not in record
    if "tags" in record:
        decided = _tags_falsified(conjunct, subject, record["tags"])
        if decided is not None:
            return decided
    paths = _tree_paths(conjunct)
    known = {k: v for k, v in record.items() if v is not _UNKNOWN and k != "tags"}
    if not paths or any(p.root != subject or not p.segs or p.segs[0] not in known for p in paths):
        return False
    return not compile_condition(conjunct)({subject: known, "event": {}})


def _tags_falsified(conjunct: ir.Cond, subject: str, tags: _Tags) -> bool | None:
    """Is `[NOT] tags contains X` false after the path? Other tests that read tags: not known to
    be (False); tests that do not read tags: not decided here (None)."""
    negated = isinstance(conjunct, ir.Not)
    test = conjunct.condition if isinstance(conjunct, ir.Not) else conjunct
    if (isinstance(test, ir.Test) and test.op == "contains" and isinstance(test.left, ir.Path)
            and test.left.root == subject and test.left.segs == ("tags",)
            and isinstance(test.right, ir.Const) and isinstance(test.right.value, _HASHABLE)):
        tag = test.right.value
        if negated:
            return tag in tags.present
        return tag in tags.absent or (tags.exact and tag not in tags.present)
    reads_tags = any(p.root == subject and p.segs[:1] == ("tags",) for p in _tree_paths(conjunct))
    return False if reads_tags else None


def check_retrigger(ctx: Context, node: Any, definition: T.Definition) -> None:
    if definition.subject not in ("ticket", "asset"):
        return
    cond = definition.condition
    conjuncts = (cond.conditions if isinstance(cond, ir.And)
                 else (cond,) if cond is not None else ())
    for trigger in definition.triggers:
        if trigger.event not in _REFIRES:
            continue
        fields = _REFIRES[trigger.event]
        for path in _paths(definition.body, definition.subject):
            path = [w for w in path if fields is None or w[0] in fields]
            if not path:
                continue
            record = _final(path)
            if any(_falsified(c, definition.subject, record) for c in conjuncts):
                continue
            name, _, text = path[-1]
            hint = f"a test on `{name}`"
            if isinstance(record.get(name), (str, int, float)) and not isinstance(record[name], bool):
                hint = f"`{name} != {json.dumps(record[name], ensure_ascii=False)}`"
            ctx.warn(node, f'workflow "{definition.name}" re-fires its own trigger '
                     f"`{trigger.event}`: `{text}` changes the {definition.subject} while the "
                     "condition can "
                     f"stay true; add a guard such as {hint} to WHERE")
            return

"""The typed nodes of a plan's constants (expressions, conditions, parameter maps, approval
specs) and the one place that knows their JSON form: `to_json` and `from_json`.

JSON form, by node (each a list that starts with its tag):

Expressions:  Const ["const", v]          Dur ["dur", seconds]        Now ["now"]
              Path ["path", root, [seg...], [refkind...]]   (refkind "" where no reference)
              Time ["time", a]  (a stored time read as a time)
              Add ["add", a, b]   Sub ["sub", a, b]   Call ["call", name, a]   List ["list", [a...]]
              Template ["tmpl", [str|a...]]   Map ["map", {key: a}]
              User ["user", a]  (a user as a recipient: reads as its id)
Conditions:   Or ["or", [c...], text]   And ["and", [c...], text]   Not ["not", c, text]
              Test ["test", op, left, right|null, text]   Truth ["truth", a, text]
Approvals:    Approval ["approval", {"approvers": [{"kind", "value": a}...], "order",
              "remind_every", "remind_before", "via": [channel...], "timeout"}]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias, get_args

from zentra_rules.domain.errors import PlanError

JSON: TypeAlias = Any

_EXPRESSION, _CONDITION, _APPROVAL = "an expression", "a condition", "an approval spec"

TEST_OPS = frozenset({
    "=", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "starts with", "ends with",
    "matches", "is empty", "is not empty", "changed", "changed to", "changed from"})


# -- expressions -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Const:
    """A literal: any JSON value (text, number, bool, null, a list of them)."""

    value: JSON


@dataclass(frozen=True, slots=True)
class Dur:
    """A duration, in seconds."""

    seconds: int | float


@dataclass(frozen=True, slots=True)
class Now:
    """The time the run reads (`$now`)."""


@dataclass(frozen=True, slots=True)
class Path:
    """root.seg.seg...; refs[i] is the record kind segs[i] refers to, "" where it is none."""

    root: str
    segs: tuple[str, ...]
    refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Time:
    """A stored time read as a time, whatever text form it is stored in."""

    expr: Expr


@dataclass(frozen=True, slots=True)
class Add:
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Sub:
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call:
    """A function of the language (`lower`, `upper`, `len`) applied to one value."""

    name: str
    arg: Expr


@dataclass(frozen=True, slots=True)
class List:
    """A list literal with at least one item only known when the run reads it."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Template:
    """Text with `{{ path }}` parts: literal text and the expressions read in between."""

    parts: tuple[str | Expr, ...]


@dataclass(frozen=True, slots=True)
class Map:
    """Named values in the order written: a statement's parameters, a new ticket's fields."""

    fields: tuple[tuple[str, Expr], ...]

    def get(self, key: str) -> Expr | None:
        return next((value for name, value in self.fields if name == key), None)


@dataclass(frozen=True, slots=True)
class User:
    """A user named as a recipient: reads as the user's id."""

    expr: Expr


# -- conditions ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class And:
    conditions: tuple[Cond, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Or:
    conditions: tuple[Cond, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Not:
    condition: Cond
    text: str


@dataclass(frozen=True, slots=True)
class Test:
    """`left OP right`; `right` is None for the tests that take no value (`is empty`, `changed`)."""

    __test__ = False   # a condition node, not a test case for pytest to collect

    op: str
    left: Expr
    right: Expr | None
    text: str


@dataclass(frozen=True, slots=True)
class Truth:
    """A value read as a condition (`requester.vip`)."""

    expr: Expr
    text: str


# -- approval specs --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Approver:
    """Who approves: `kind` is user, role, group (a constant value) or path (read at run time)."""

    kind: str
    value: Expr


@dataclass(frozen=True, slots=True)
class Approval:
    """What `request approval` asks for; durations in seconds, None where not given."""

    approvers: tuple[Approver, ...]
    order: str
    remind_every: int | None
    remind_before: int | None
    via: tuple[str, ...]
    timeout: int | None


Expr: TypeAlias = Const | Dur | Now | Path | Time | Add | Sub | Call | List | Template | Map | User
Cond: TypeAlias = And | Or | Not | Test | Truth
Node: TypeAlias = Expr | Cond | Approval
EXPRESSIONS: tuple[type, ...] = get_args(Expr)
CONDITIONS: tuple[type, ...] = get_args(Cond)

_TAGS: dict[type, str] = {
    Const: "const", Dur: "dur", Now: "now", Path: "path", Time: "time", Add: "add", Sub: "sub",
    Call: "call", List: "list", Template: "tmpl", Map: "map", User: "user", And: "and", Or: "or",
    Not: "not", Test: "test", Truth: "truth", Approval: "approval"}


def tag(node: Node) -> str:
    """The tag a node is saved under (`"path"`, `"test"`, ...)."""
    return _TAGS[type(node)]


def category(node: Node) -> str:
    """What a node is: an expression, a condition or an approval spec."""
    return (_EXPRESSION if isinstance(node, EXPRESSIONS)
            else _CONDITION if isinstance(node, CONDITIONS) else _APPROVAL)


def children(node: Node) -> Iterator[Node]:
    """The nodes directly inside `node` (an approval's approver values included)."""
    match node:
        case Time(inner) | User(inner) | Call(_, inner) | Truth(inner, _):
            yield inner
        case Add(left, right) | Sub(left, right):
            yield left
            yield right
        case List(items):
            yield from items
        case Template(parts):
            yield from (p for p in parts if not isinstance(p, str))
        case Map(fields):
            yield from (value for _, value in fields)
        case And(conditions, _) | Or(conditions, _):
            yield from conditions
        case Not(condition, _):
            yield condition
        case Test(_, left, right, _):
            yield left
            if right is not None:
                yield right
        case Approval(approvers=approvers):
            yield from (a.value for a in approvers)


def walk(node: Node) -> Iterator[Node]:
    """`node` and every node inside it, parents before children."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(reversed(list(children(current))))


# -- JSON ------------------------------------------------------------------------------------
def to_json(node: Node) -> JSON:
    """The JSON form of a node (what a saved plan holds)."""
    match node:
        case Const(value):
            return ["const", value]
        case Dur(seconds):
            return ["dur", seconds]
        case Now():
            return ["now"]
        case Path(root, segs, refs):
            return ["path", root, list(segs), list(refs)]
        case Time(inner):
            return ["time", to_json(inner)]
        case Add(left, right):
            return ["add", to_json(left), to_json(right)]
        case Sub(left, right):
            return ["sub", to_json(left), to_json(right)]
        case Call(name, arg):
            return ["call", name, to_json(arg)]
        case List(items):
            return ["list", [to_json(i) for i in items]]
        case Template(parts):
            return ["tmpl", [p if isinstance(p, str) else to_json(p) for p in parts]]
        case Map(fields):
            return ["map", {key: to_json(value) for key, value in fields}]
        case User(inner):
            return ["user", to_json(inner)]
        case And(conditions, text):
            return ["and", [to_json(c) for c in conditions], text]
        case Or(conditions, text):
            return ["or", [to_json(c) for c in conditions], text]
        case Not(condition, text):
            return ["not", to_json(condition), text]
        case Test(op, left, right, text):
            return ["test", op, to_json(left), None if right is None else to_json(right), text]
        case Truth(inner, text):
            return ["truth", to_json(inner), text]
        case Approval():
            return ["approval", {
                "approvers": [{"kind": a.kind, "value": to_json(a.value)} for a in node.approvers],
                "order": node.order, "remind_every": node.remind_every,
                "remind_before": node.remind_before, "via": list(node.via),
                "timeout": node.timeout}]
    raise PlanError(f"not a plan constant: {node!r}")


def from_json(doc: JSON) -> Node:
    """The node a saved constant holds; PlanError says what is malformed."""
    return _node(doc, None)


def _node(doc: JSON, want: str | None) -> Node:
    if not isinstance(doc, list) or not doc or not isinstance(doc[0], str):
        raise PlanError(f"a plan constant is a list that starts with its tag, not {_show(doc)}")
    tag = doc[0]
    entry = _DECODERS.get(tag)
    if entry is None:
        raise PlanError(f"unknown plan constant tag {tag!r} (known: {', '.join(_DECODERS)})")
    kind, arity, decode = entry
    if want is not None and kind != want:
        raise PlanError(f"a {tag!r} constant is {kind}, where {want} was expected")
    if len(doc) != arity:
        raise PlanError(f"a {tag!r} constant has {arity - 1} operand(s), not {len(doc) - 1}: "
                        f"{_show(doc)}")
    return decode(doc)


def _expr(doc: JSON) -> Expr:
    return _node(doc, _EXPRESSION)  # type: ignore[return-value]


def _cond(doc: JSON) -> Cond:
    return _node(doc, _CONDITION)  # type: ignore[return-value]


def _show(doc: JSON) -> str:
    text = repr(doc)
    return text if len(text) <= 80 else text[:77] + "..."


def _str(value: JSON, what: str) -> str:
    if not isinstance(value, str):
        raise PlanError(f"{what} must be text, not {_show(value)}")
    return value


def _list(value: JSON, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise PlanError(f"{what} must be a list, not {_show(value)}")
    return value


def _strs(value: JSON, what: str) -> tuple[str, ...]:
    return tuple(_str(v, f"each of {what}") for v in _list(value, what))


def _seconds(value: JSON, what: str, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlanError(f"{what} must be a number of seconds, not {_show(value)}")
    return value


def _path(doc: JSON) -> Path:
    segs, refs = _strs(doc[2], "a path's segments"), _strs(doc[3], "a path's reference kinds")
    if len(segs) != len(refs):
        raise PlanError(f"a path has one reference kind per segment: {_show(doc)}")
    return Path(_str(doc[1], "a path's root"), segs, refs)


def _template(doc: JSON) -> Template:
    return Template(tuple(p if isinstance(p, str) else _expr(p)
                          for p in _list(doc[1], "a template's parts")))


def _map(doc: JSON) -> Map:
    if not isinstance(doc[1], dict):
        raise PlanError(f"a map holds an object of named values, not {_show(doc[1])}")
    return Map(tuple((_str(k, "a map key"), _expr(v)) for k, v in doc[1].items()))


def _test(doc: JSON) -> Test:
    op = _str(doc[1], "a test's operator")
    if op not in TEST_OPS:
        raise PlanError(f"unknown test operator {op!r}")
    return Test(op, _expr(doc[2]), None if doc[3] is None else _expr(doc[3]),
                _str(doc[4], "a test's text"))


_SPEC_KEYS = ("approvers", "order", "remind_every", "remind_before", "via", "timeout")


def _approval(doc: JSON) -> Approval:
    spec = doc[1]
    if not isinstance(spec, dict) or sorted(spec) != sorted(_SPEC_KEYS):
        raise PlanError(f"an approval spec is an object with exactly {', '.join(_SPEC_KEYS)}: "
                        f"{_show(spec)}")
    approvers = []
    for a in _list(spec["approvers"], "an approval's approvers"):
        if not isinstance(a, dict) or sorted(a) != ["kind", "value"]:
            raise PlanError(f"an approver is an object with exactly kind and value: {_show(a)}")
        approvers.append(Approver(_str(a["kind"], "an approver's kind"), _expr(a["value"])))
    return Approval(tuple(approvers), _str(spec["order"], "an approval's order"),
                    _seconds(spec["remind_every"], "remind_every", optional=True),
                    _seconds(spec["remind_before"], "remind_before", optional=True),
                    _strs(spec["via"], "an approval's channels"),
                    _seconds(spec["timeout"], "an approval's timeout", optional=True))


# tag -> (category, length of the list with its tag, decoder)
_DECODERS: dict[str, tuple[str, int, Callable[[JSON], Node]]] = {
    "const": (_EXPRESSION, 2, lambda d: Const(d[1])),
    "dur": (_EXPRESSION, 2, lambda d: Dur(_seconds(d[1], "a duration"))),
    "now": (_EXPRESSION, 1, lambda d: Now()),
    "path": (_EXPRESSION, 4, _path),
    "time": (_EXPRESSION, 2, lambda d: Time(_expr(d[1]))),
    "add": (_EXPRESSION, 3, lambda d: Add(_expr(d[1]), _expr(d[2]))),
    "sub": (_EXPRESSION, 3, lambda d: Sub(_expr(d[1]), _expr(d[2]))),
    "call": (_EXPRESSION, 3, lambda d: Call(_str(d[1], "a function name"), _expr(d[2]))),
    "list": (_EXPRESSION, 2, lambda d: List(tuple(_expr(i) for i in _list(d[1], "a list")))),
    "tmpl": (_EXPRESSION, 2, _template),
    "map": (_EXPRESSION, 2, _map),
    "user": (_EXPRESSION, 2, lambda d: User(_expr(d[1]))),
    "and": (_CONDITION, 3, lambda d: And(tuple(_cond(c) for c in _list(d[1], "an AND")),
                                         _str(d[2], "a condition's text"))),
    "or": (_CONDITION, 3, lambda d: Or(tuple(_cond(c) for c in _list(d[1], "an OR")),
                                       _str(d[2], "a condition's text"))),
    "not": (_CONDITION, 3, lambda d: Not(_cond(d[1]), _str(d[2], "a condition's text"))),
    "test": (_CONDITION, 5, _test),
    "truth": (_CONDITION, 3, lambda d: Truth(_expr(d[1]), _str(d[2], "a condition's text"))),
    "approval": (_APPROVAL, 2, _approval),
}

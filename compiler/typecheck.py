"""Values, paths, templates and conditions: textX nodes -> typed expression IR, with checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from compiler.context import Context
from zentra_rules.domain import ir
from zentra_rules.domain.evaluation import regex_error
from zentra_rules.domain.schema import (
    ANY,
    BOOL,
    DATETIME,
    DURATION,
    NULL,
    NUMBER,
    RECORDS,
    ROOTS,
    STRING,
    Type,
    ref,
)
from zentra_rules.domain.suggest import did_you_mean
from zentra_rules.domain.values import FUNCTIONS, as_datetime

_NULL = ir.Const(None)   # what a value reads as once its error is reported

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "\\": "\\"}
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_PATH_TEXT = re.compile(r"^\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*$")


def unescape(token: str) -> str:
    """The value of a string token: quotes removed, `\\"`, `\\\\`, `\\n` escapes applied."""
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def duration_seconds(ctx: Context, node: Any) -> int | None:
    unit = node.unit.lower()
    base = unit[:-1] if unit.endswith("s") and unit[:-1] in UNITS else unit
    if base not in UNITS:
        ctx.report(node, f"unknown duration unit `{node.unit}`"
                   + (did_you_mean(unit, [u + "s" for u in UNITS]) or ".")
                   + " Units: seconds, minutes, hours, days, weeks.", offset=len(node.amount) + 1)
        return None
    if len(node.amount) > 12:
        ctx.report(node, f"duration `{node.amount[:12]}… {node.unit}` is longer than "
                   f"{ctx.limits.max_duration_days} days")
        return None
    seconds = int(node.amount) * UNITS[base]
    # Longer waits are mistakes, and times must stay within the calendar.
    if seconds > ctx.limits.max_duration_days * 86400:
        ctx.report(node, f"duration `{node.amount} {node.unit}` is longer than "
                   f"{ctx.limits.max_duration_days} days")
        return None
    return seconds


@dataclass
class Scope:
    """What names mean inside one definition."""

    ctx: Context
    subject: str | None                       # root of bare paths; None for cron
    trigger_names: list[str]
    bindings: dict[str, str] = field(default_factory=dict)   # name -> record kind
    requested_later: set[str] = field(default_factory=set)

    # -- paths ---------------------------------------------------------------------------------
    def path(self, node: Any) -> tuple[ir.Expr, Type]:
        """A path's IR and type; a time field reads as a time, whatever text form it is stored in."""
        expr, typ = self._path(node)
        return (ir.Time(expr), typ) if typ.kind == "datetime" else (expr, typ)

    def _path(self, node: Any) -> tuple[ir.Expr, Type]:
        head = node.head
        tail = [d[1:] for d in node.tail]
        if head in self.bindings:
            return self._walk(node, head, self.bindings[head], tail, len(head) + 1)
        if head in ROOTS:
            return self._rooted(node, head, tail)
        if self.subject is None:
            self.ctx.report(node, f"`{head}` has no subject to read from: "
                            f"{' / '.join(self.trigger_names) or 'this trigger'} carries no record; "
                            "use `event.at` or a bound name")
            return _NULL, ANY
        if self.subject == "payload":
            return _plain_path("payload", [head, *tail]), ANY
        fields = RECORDS[self.subject]
        if head not in fields:
            self._unknown(node, head, self.subject, 0)
            return _NULL, ANY
        return self._walk(node, self.subject, self.subject, [head, *tail], 0)

    def _rooted(self, node: Any, root: str, tail: list[str]) -> tuple[ir.Expr, Type]:
        if root == "event":
            if tail[:1] == ["previous"]:
                if self.subject in (None, "payload"):
                    return _plain_path("event", tail), ANY
                expr, typ = self._walk(node, "event", self.subject, tail[1:], len(root) + 10)
                if not isinstance(expr, ir.Path):   # already reported
                    return expr, typ
                return ir.Path("event", ("previous", *expr.segs), ("", *expr.refs)), typ
            return self._walk(node, "event", "event", tail, len(root) + 1)
        if root == "payload":
            if self.subject != "payload":
                self.ctx.report(node, "`payload` is only available to `webhook.received` "
                                "workflows")
                return _NULL, ANY
            return _plain_path("payload", tail), ANY
        if root != self.subject:
            self.ctx.report(node, f"`{root}` is not available here: this definition's subject is "
                            f"{self.subject or 'nothing (a schedule)'}")
            return _NULL, ANY
        return self._walk(node, root, root, tail, len(root) + 1)

    def _walk(self, node: Any, root: str, kind: str, segs: list[str],
              offset: int) -> tuple[ir.Expr, Type]:
        """Follow segs through the record schema; references hop into the referenced record."""
        typ = Type("record", ref=kind)
        refs: list[str] = []
        for index, seg in enumerate(segs):
            if typ.kind == "any":
                refs.extend([""] * (len(segs) - index))
                break
            if typ.kind not in ("record", "ref"):
                self.ctx.report(node, f"`{seg}` cannot be read from {typ.describe()}",
                                offset=offset)
                return _NULL, ANY
            fields = RECORDS[typ.ref]
            if seg not in fields:
                self._unknown(node, seg, typ.ref, offset)
                return _NULL, ANY
            typ = fields[seg]
            refs.append(typ.ref if typ.kind == "ref" else "")
            offset += len(seg) + 1
        return ir.Path(root, tuple(segs), tuple(refs)), typ

    def _unknown(self, node: Any, name: str, kind: str, offset: int) -> None:
        if name in self.requested_later:
            self.ctx.report(node, f"approval `{name}` is read before it is requested; "
                            f"move `request approval {name} …` above this line", offset=offset)
            return
        pool = list(RECORDS[kind])
        if offset == 0:
            pool += list(self.bindings) + list(ROOTS)
        self.ctx.report(node, f"unknown field `{name}` on {kind}" + did_you_mean(name, pool),
                        offset=offset)

    # -- values --------------------------------------------------------------------------------
    def value(self, node: Any) -> tuple[ir.Expr, Type]:
        if len(node.rest) >= self.ctx.limits.max_depth:
            # Each `+`/`-` nests the expression one level deeper in the plan.
            self.ctx.report(node, f"this expression joins more than {self.ctx.limits.max_depth} "
                            "values with `+`/`-`; build the text in steps or shorten it")
            return _NULL, ANY
        expr, typ = self._term(node.first)
        for tail in node.rest:
            right, rtyp = self._term(tail.term)
            expr, typ = self._arith(tail, tail.op, expr, typ, right, rtyp)
        return expr, typ

    def _arith(self, node: Any, op: str, a: ir.Expr, at: Type, b: ir.Expr,
               bt: Type) -> tuple[ir.Expr, Type]:
        kinds = {at.kind, bt.kind}
        if isinstance(a, ir.Const) and isinstance(b, ir.Const) and at.kind == bt.kind == "number":
            return ir.Const(a.value + b.value if op == "+" else a.value - b.value), NUMBER
        result: Type | None = None
        if "any" in kinds:
            result = ANY
        elif kinds == {"number"}:
            result = NUMBER
        elif op == "+" and "string" in kinds and "duration" not in kinds:
            result = STRING
        elif kinds == {"datetime", "duration"} and (op == "+" or at.kind == "datetime"):
            result = DATETIME
        elif kinds == {"duration"} or (op == "-" and kinds == {"datetime"}):
            result = DURATION
        if result is None:
            self.ctx.report(node, f"cannot {'add' if op == '+' else 'subtract'} "
                            f"{bt.describe()} {'to' if op == '+' else 'from'} {at.describe()}")
            return _NULL, ANY
        return (ir.Add(a, b) if op == "+" else ir.Sub(a, b)), result

    def _term(self, node: Any) -> tuple[ir.Expr, Type]:
        cls = type(node).__name__
        if cls == "Duration":
            seconds = duration_seconds(self.ctx, node)
            return (ir.Dur(seconds), DURATION) if seconds is not None else (_NULL, ANY)
        if cls == "NumberLit":
            text = node.value
            if len(text.split(".")[0].lstrip("-")) > 18:   # fits a 64-bit integer column
                self.ctx.report(node, f"number `{text[:20]}…` is too large; numbers have at most "
                                "18 digits before the point")
                return _NULL, ANY
            return ir.Const(float(text) if "." in text else int(text)), NUMBER
        if cls == "StringLit":
            return self.string(node, unescape(node.value))
        if cls == "BoolLit":
            return ir.Const(node.value.lower() == "true"), BOOL
        if cls == "NullLit":
            return ir.Const(None), NULL
        if cls == "NowLit":
            return ir.Now(), DATETIME
        if cls == "UserLit":
            return ir.User(ir.Const(unescape(node.value))), ref("user")
        if cls == "Call":
            return self._call(node)
        if cls == "ListLit":
            items = [self.value(item) for item in node.items]
            kinds = {t.kind for _, t in items} - {"null"}
            item_kind = kinds.pop() if len(kinds) == 1 else "any"
            consts = [expr.value for expr, _ in items if isinstance(expr, ir.Const)]
            if len(consts) == len(items):
                return ir.Const(consts), Type("list", item=item_kind)
            return ir.List(tuple(expr for expr, _ in items)), Type("list", item=item_kind)
        return self.path(node)

    def _call(self, node: Any) -> tuple[ir.Expr, Type]:
        name = node.name.lower()
        arg, typ = self.value(node.arg)
        if name not in FUNCTIONS:
            self.ctx.report(node, f"unknown function `{node.name}`"
                            + (did_you_mean(name, FUNCTIONS) or "; the functions are lower, upper "
                               "and len"))
            return _NULL, ANY
        if name in ("lower", "upper"):
            if typ.kind not in ("string", "any", "null"):
                self.ctx.report(node, f"`{name}` takes a string, not {typ.describe()}")
            return ir.Call(name, arg), STRING
        if typ.kind not in ("string", "list", "any", "null"):
            self.ctx.report(node, f"`len` takes a string or a list, not {typ.describe()}")
        return ir.Call(name, arg), NUMBER

    def string(self, node: Any, text: str) -> tuple[ir.Expr, Type]:
        """A string literal; `{{ path }}` parts become a template read when the action runs."""
        if "{{" not in text:
            return ir.Const(text), STRING
        parts: list[str | ir.Expr] = []
        last = 0
        for match in _TEMPLATE.finditer(text):
            if match.start() > last:
                parts.append(text[last:match.start()])
            inner = _PATH_TEXT.match(match.group(1))
            if inner is None:
                self.ctx.report(node, f"`{{{{{match.group(1)}}}}}` is not a path; write a field "
                                "such as `{{payload.name}}` or `{{ticket.id}}`")
                return ir.Const(text), STRING
            segs = inner.group(1).split(".")
            # Point diagnostics at the path inside the braces (found in the raw token).
            raw_at = node.value.find(match.group(0))
            at = node._tx_position + (raw_at + 2 + match.group(1).index(segs[0])
                                      if raw_at >= 0 else 0)
            fake = _PathNode(at, segs[0], ["." + s for s in segs[1:]])
            parts.append(self.path(fake)[0])
            last = match.end()
        if "{{" in text[last:]:
            self.ctx.report(node, "a `{{` in this string is never closed with `}}`")
        parts.append(text[last:])
        return ir.Template(tuple(p for p in parts if p != "")), STRING

    # -- conditions ----------------------------------------------------------------------------
    def condition(self, node: Any) -> ir.Cond:
        cls = type(node).__name__
        if cls in ("Or", "And"):
            if len(node.operands) == 1:
                return self.condition(node.operands[0])
            operands = tuple(self.condition(o) for o in node.operands)
            return (ir.Or if cls == "Or" else ir.And)(operands, self.ctx.snippet(node))
        if cls == "Negation":
            return ir.Not(self.condition(node.operand), self.ctx.snippet(node))
        if cls == "Group":
            return self.condition(node.inner)
        return self._test(node)

    def _test(self, node: Any) -> ir.Cond:
        text = self.ctx.snippet(node)
        left, lt = self.value(node.left)
        if not node.op:
            return ir.Truth(left, text)
        op = " ".join(node.op.lower().split())
        unary = op in ("is empty", "is not empty", "changed")
        if unary and node.right is not None:
            self.ctx.report(node.right, f"`{op}` takes no value after it")
        if not unary and node.right is None:
            self.ctx.report(node, f"`{op}` needs a value after it", offset=len(text))
            return ir.Truth(ir.Const(False), text)
        right, rt = (self.value(node.right) if node.right is not None else (None, NULL))
        field = left.expr if isinstance(left, ir.Time) else left
        if op.startswith("changed"):
            if not isinstance(field, ir.Path):
                self.ctx.report(node, f"`{op}` needs a field on its left, e.g. `status {op} …`")
            elif field.root != self.subject or self.subject is None:
                self.ctx.report(node, f"`{op}` compares a field of the subject with its value "
                                "before the change; this field is not on the subject")
        if right is not None:
            self._check_types(node, op, left, lt, right, rt)
        return ir.Test(op, left, right, text)

    def _check_types(self, node: Any, op: str, left: ir.Expr, lt: Type, right: ir.Expr,
                     rt: Type) -> None:
        where = node.right
        if op in ("=", "!=", "changed to", "changed from"):
            self._same_kind(node, where, left, lt, right, rt)
        elif op in ("<", "<=", ">", ">="):
            # A reference reads as its id, a string: `agent < "u_m"` orders ids like text.
            if lt.kind in ("bool", "list", "record") or rt.kind in ("bool", "list"):
                self.ctx.report(node, f"`{op}` orders numbers, times or strings, not "
                                f"{(lt if lt.kind in ('bool', 'list', 'record') else rt).describe()}")
            else:
                self._same_kind(node, where, left, lt, right, rt)
        elif op in ("in", "not in"):
            if rt.kind not in ("list", "any"):
                self.ctx.report(where, f"`{op}` needs a list on its right, e.g. "
                                '`category in ["Network", "Identity"]`')
            elif isinstance(right, ir.Const) and isinstance(right.value, list):
                for item in right.value:
                    self._same_kind(node, where, left, lt, ir.Const(item), _kind_of(item))
        elif op in ("starts with", "ends with", "matches"):
            for side, typ in ((node.left, lt), (where, rt)):
                if typ.kind not in ("string", "any", "null", "ref"):
                    self.ctx.report(side, f"`{op}` works on strings, not {typ.describe()}")
            if op == "matches":
                if not isinstance(right, ir.Const) or not isinstance(right.value, str):
                    self.ctx.report(where, "`matches` needs a regular expression written as a string")
                else:
                    problem = regex_error(right.value, self.ctx.limits.max_regex_length)
                    if problem:
                        self.ctx.report(where, problem)
        elif op == "contains" and lt.kind not in ("string", "list", "any", "null", "ref"):
            self.ctx.report(node, f"`contains` looks inside a string or a list, not {lt.describe()}")

    def assignable(self, node: Any, where: Any, left: ir.Expr, lt: Type, right: ir.Expr,
                   rt: Type) -> None:
        """A value given to a field or parameter must be of its type (enums: a listed value)."""
        self._same_kind(node, where, left, lt, right, rt, "use")

    def _same_kind(self, node: Any, where: Any, left: ir.Expr, lt: Type, right: ir.Expr, rt: Type,
                   advice: str = "compare it with") -> None:
        what = _describe_ir(left)
        shown = f"`{what}`" if what != _LEFT else what
        if "any" in (lt.kind, rt.kind) or "null" in (lt.kind, rt.kind):
            return
        const = right.value if isinstance(right, ir.Const) else None
        if lt.enum and isinstance(const, str):
            if const not in lt.enum:
                self.ctx.report(where, f'"{const}" is not a valid {what}'
                                + (did_you_mean(const, [str(v) for v in lt.enum], '"') or
                                   "; expected " + lt.describe()))
            return
        lk, rk = lt.kind, rt.kind
        if (lk == "ref" and rk == "string") or (lk == "string" and rk == "ref"):
            return
        if {lk, rk} == {"datetime", "string"}:
            if isinstance(const, str) and as_datetime(const) is None:
                self.ctx.report(where, f"{shown} is a time; write it as an ISO date such as "
                                '"2026-01-31T09:00:00Z", or use `now - 4 hours`')
            return
        if lk != rk:
            example = {"number": "a number such as 1", "string": 'a string such as "x"',
                       "bool": "true or false", "datetime": "a time such as `now - 4 hours`"}
            self.ctx.report(where, f"type mismatch: {shown} is {lt.describe()}, but this is "
                            f"{rt.describe()}; {advice} {example.get(lk, lt.describe())}")


@dataclass
class _PathNode:
    """A path found inside a template string, shaped like the grammar's Path node."""

    _tx_position: int
    head: str
    tail: list[str]


def _kind_of(value: Any) -> Type:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    return ANY


def _describe_ir(expr: ir.Expr) -> str:
    if isinstance(expr, ir.Time):
        expr = expr.expr
    if isinstance(expr, ir.Path):
        return ".".join(expr.segs) if expr.segs else expr.root
    return _LEFT


def _plain_path(root: str, segs: list[str]) -> ir.Path:
    """A path with no references (payload fields, a subject's previous values)."""
    return ir.Path(root, tuple(segs), ("",) * len(segs))


_LEFT = "the value on the left"

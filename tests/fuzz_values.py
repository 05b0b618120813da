"""Typed values for generated scripts: the vocabulary, the paths in scope and expressions of each kind."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from hypothesis import strategies as st

from zentra_rules.domain.schema import ANY, RECORDS, Type

from .fuzz_text import SEPARATORS

ISO_TIMES = ("2026-01-31T09:00:00Z", "2026-11-25T09:00:00+01:00", "2025-12-31", "2026-06-01T00:00:00")
REGEXES = ("^INC-\\d+$", "(?i)urgent", "a|b", ".*", "", "^[A-Z][a-z]+( [A-Z][a-z]+)*$",
           "\\bvpn\\b", "[0-9]{3,5}")
CRONS = ("0 9 * * 1", "*/5 * * * *", "0 0 1 * *", "30 8 * * 1-5", "15 14 1 * *")
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Europe/Berlin")
MAX_DURATION_DAYS = 3660     # docs/language.md, Limits
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
UNITS = ("second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks")
TICKET_NAMES = ("laptop", "bridge", "child", "desk", "followup", "t1", "t2", "x_ticket")
APPROVAL_NAMES = ("mgr", "cab", "budget", "cfo", "a1", "a2", "sign_off")
PAYLOAD_FIELDS = ("type", "amount", "item", "email", "requester", "currency", "data", "manager")
SUBJECT_TRIGGERS = {
    "ticket": ("ticket.created", "ticket.updated", "ticket.status_changed", "ticket.sla_breached"),
    "change": ("change.approved",), "asset": ("asset.lifecycle_changed",),
}
APPROVERS = {
    "ticket": ("requester", "requester.manager", "agent", "requester.email", "linkedAsset.owner",
               "custom.approver", "ticket.requester.manager", "requester.roles"),
    "asset": ("owner", "owner.manager", "asset.owner"),
    "change": ("requestedBy", "requestedBy.manager", "change.requestedBy"),
    "payload": ("payload.manager", "manager", "payload.approvers"),
    None: ("event.actor",),
}
EVENT_FIELDS = (("event.name", RECORDS["event"]["name"]), ("event.at", RECORDS["event"]["at"]),
                ("event.actor", RECORDS["event"]["actor"]),
                ("event.qualifier", RECORDS["event"]["qualifier"]))
RECORD = "record"
ORDERABLE = ("number", "datetime", "string", "duration")


def record_paths(kind: str, depth: int) -> list[tuple[str, Type]]:
    out: list[tuple[str, Type]] = []
    for name, typ in RECORDS[kind].items():
        out.append((name, typ))
        if typ.kind == "ref" and depth > 0 and typ.ref in RECORDS:
            out += [(f"{name}.{sub}", t) for sub, t in record_paths(typ.ref, depth - 1)]
        if typ.kind == "any":
            out.append((f"{name}.extra", typ))
            out.append((f"{name}.deep.er", typ))
    return out


@cache
def scope_paths(subj: str | None, bindings: tuple[tuple[str, str], ...]) -> list[tuple[str, Type]]:
    """Every readable path (and its type) in a definition with this subject and these names."""
    out: list[tuple[str, Type]] = list(EVENT_FIELDS)
    if subj in ("ticket", "asset", "change"):
        for path, typ in record_paths(subj, 2):
            out += [(path, typ), (f"{subj}.{path}", typ)]
        out += [(f"event.previous.{p}", t) for p, t in record_paths(subj, 0)]
        out.append((subj, Type(RECORD, ref=subj)))
    elif subj == "payload":
        for name in PAYLOAD_FIELDS:
            out += [(name, ANY), (f"payload.{name}", ANY), (f"{name}.inner", ANY)]
        out += [("payload", ANY), ("event.previous.amount", ANY)]
    else:
        out.append(("event.previous.x", ANY))
    for name, kind in bindings:
        out.append((name, Type(RECORD, ref=kind)))
        out += [(f"{name}.{p}", t) for p, t in record_paths(kind, 1)]
    return out


@cache
def subject_paths(subj: str | None) -> list[tuple[str, Type]]:
    """Paths of the subject itself (allowed left of `changed`)."""
    if subj in ("ticket", "asset", "change"):
        return ([(p, t) for p, t in record_paths(subj, 1)]
                + [(f"{subj}.{p}", t) for p, t in record_paths(subj, 0)]
                + [(subj, Type(RECORD, ref=subj))])
    if subj == "payload":
        return [(n, ANY) for n in PAYLOAD_FIELDS] + [(f"payload.{n}", ANY) for n in PAYLOAD_FIELDS]
    return []


# String-literal bodies: no quotes, backslashes, braces or line breaks (escapes come as pairs).
_SNIPPETS = ("\\n", "\\t", "\\\\", "\\x", "Network", "urgent")
_PLAIN = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?-_/()[]#@%&*+=<>|~^$"
          "éüßøñçÅ中文ü😀İ\u00a0")
FREE_TEXT = st.lists(st.one_of(st.text(st.sampled_from(_PLAIN), max_size=6),
                               st.sampled_from(_SNIPPETS)),
                     max_size=3).map("".join)


class ValueGen:
    """The choices, literals, paths and typed expressions of one generated script. Structure
    comes from `draw` (shrinks well); layout and keyword case come from a Random seeded once per
    script (cheap to generate and to shrink)."""

    def __init__(self, draw: Any = None, seed: int = 0) -> None:
        """With `draw`, every choice is a hypothesis draw (shrinkable); without, every choice
        comes from a Random seeded with `seed` (one draw: cheap to generate and to shrink)."""
        self.draw = draw
        self.src = None if draw is not None else random.Random(seed)
        self.rnd = draw(st.randoms(use_true_random=True)) if draw is not None else random.Random(~seed)
        self.subject: str | None = "ticket"
        self.bindings: dict[str, str] = {}

    # -- small helpers -------------------------------------------------------------------
    def num(self, low: int, high: int) -> int:
        if self.src is not None:
            return self.src.randint(low, high)
        return self.draw(st.integers(low, high))

    def shuffled(self, items: Any) -> list[Any]:
        items = list(items)
        if self.src is not None:
            self.src.shuffle(items)
            return items
        return list(self.draw(st.permutations(items))) if items else items

    def pick(self, seq: Any) -> Any:
        seq = seq if isinstance(seq, (list, tuple, str)) else list(seq)
        return seq[self.num(0, len(seq) - 1)]

    def chance(self, p: float) -> bool:
        return self.num(0, 99) < p * 100

    def kw(self, word: str) -> str:
        """A keyword in a random case (keywords are case-insensitive)."""
        r = self.rnd.random()
        if r < 0.55:
            return word
        if r < 0.75:
            return word.upper()
        if r < 0.9:
            return word.capitalize()
        return "".join(c.upper() if self.rnd.random() < 0.5 else c for c in word)

    def ws(self) -> str:
        return self.rnd.choice((" ", " ", "\n", "\t", "\n  "))

    def multi(self, *words: str) -> str:
        """A multi-word operator matched by one regex (`\\s+` between words)."""
        return self.ws().join(self.kw(w) for w in words)

    def sep(self) -> str:
        return self.rnd.choice(SEPARATORS[:-1])

    def join(self, tokens: list[str]) -> str:
        out = tokens[0] if tokens else ""
        for tok in tokens[1:]:
            out += self.sep() + tok
        return out

    # -- literals ------------------------------------------------------------------------
    def free_text(self) -> str:
        if self.src is None:
            return self.draw(FREE_TEXT)
        parts = []
        for _ in range(self.num(0, 3)):
            if self.num(0, 9) < 7:
                parts.append("".join(self.pick(_PLAIN) for _ in range(self.num(0, 6))))
            else:
                parts.append(self.pick(_SNIPPETS))
        return "".join(parts)

    def quote(self, body: str, quote: str | None = None) -> str:
        q = quote or self.rnd.choice('"\'')
        if q == '"':
            return '"' + body.replace("'", "\\'") + '"'
        return "'" + body + "'"

    def string_lit(self, templates: bool = True) -> str:
        body = self.free_text()
        if templates and self.chance(0.3):
            path, _ = self.pick(self.paths())
            inner = self.rnd.choice(("{{%s}}", "{{ %s }}", "{{%s }}"))
            body = body + inner % path + self.free_text()
        return self.quote(body)

    def number_lit(self) -> str:
        kind = self.num(0, 9)
        if kind < 6:
            return str(self.num(-1000, 1000))
        if kind < 8:
            return f"{self.num(-99, 99)}.{self.num(0, 999)}"
        return str(self.num(-(10**15) + 1, 10**15 - 1))   # the compiler allows 15 digits

    def duration_lit(self) -> str:
        """`N unit`, at most MAX_DURATION_DAYS long (the language's limit), boundary included."""
        unit = self.pick(UNITS)
        most = MAX_DURATION_DAYS * 86400 // UNIT_SECONDS[unit.rstrip("s")]
        which = self.num(0, 2)
        amount = self.num(0, min(100, most)) if which == 0 else self.num(0, most) if which == 1 else most
        return f"{amount}{self.sep()}{self.kw(unit)}"

    # -- paths ---------------------------------------------------------------------------
    def paths(self) -> list[tuple[str, Type]]:
        return scope_paths(self.subject, tuple(sorted(self.bindings.items())))

    def paths_of(self, kind: str, enum_ok: bool = True) -> list[tuple[str, Type]]:
        return [(p, t) for p, t in self.paths()
                if t.kind == kind and (enum_ok or not t.enum)]

    def subject_paths(self) -> list[tuple[str, Type]]:
        return subject_paths(self.subject)

    # -- values --------------------------------------------------------------------------
    def expr(self, kind: str, depth: int = 2, lead: bool = False, enum: tuple[Any, ...] = ()) -> str:
        """An expression of this kind. `lead`: it starts an operand (no leading digit, which
        `or` would read as `or DURATION`). `+`/`-` chain left to right, so the right operand of
        each is an atom (depth 0)."""
        if enum:
            options = [self.quote(str(v)) for v in enum] + [p for p, _ in self.paths_of("string")
                                                           if _.enum == enum]
            return self.pick(options)
        paths = [p for p, _ in self.paths_of(kind, enum_ok=False)]   # enum paths carry their type via left()
        choice = self.num(0, 9 if depth > 0 else 4)
        if kind == "string":
            if choice < 2 and paths:
                return self.pick(paths)
            if choice < 5 or depth <= 0:
                return self.string_lit()
            if choice < 7:
                fn = self.kw(self.pick(("lower", "upper")))
                return f"{fn}({self.expr('string', depth - 1)})"
            other = self.pick(("string", "number", "any"))
            return f"{self.expr('string', depth - 1, lead)} + {self.expr(other, 0)}"
        if kind == "number":
            if choice < 3 and paths:
                return self.pick(paths)
            if (choice < 5 or depth <= 0) and not lead:
                return self.number_lit()
            if choice < 7 or depth <= 0:
                arg = self.expr(self.pick(("string", "list")), depth - 1)
                return f"{self.kw('len')}({arg})"
            op = self.pick("+-")
            return f"{self.expr('number', depth - 1, lead)} {op} {self.expr('number', 0)}"
        if kind == "bool":
            if choice < 5 and paths:
                return self.pick(paths)
            return self.kw(self.pick(("true", "false")))
        if kind == "datetime":
            if choice < 3 and paths:
                return self.pick(paths)
            if choice < 6 or depth <= 0:
                return self.kw("now")
            op = self.pick("+-")
            return f"{self.expr('datetime', depth - 1, lead)} {op} {self.expr('duration', 0)}"
        if kind == "duration":
            if (choice < 4 or depth <= 0) and not lead:
                return self.duration_lit()
            if choice < 8 or depth <= 0:
                return f"{self.expr('datetime', 0, lead)} - {self.expr('datetime', 0)}"
            op = self.pick("+-")
            return f"{self.expr('duration', depth - 1, lead)} {op} {self.expr('duration', 0)}"
        if kind == "list":
            if choice < 4 and paths:
                return self.pick(paths)
            return "[" + ", ".join(self.string_lit() for _ in range(self.num(0, 3))) + "]"
        if kind == "ref":
            if choice < 6 and paths:
                return self.pick(paths)
            return self.expr("string", depth, lead)
        if kind == RECORD:
            return self.pick(paths) if paths else self.kw("null")
        # any
        if choice < 7 and paths:
            return self.pick(paths)
        return self.kw("null")

    def value_for(self, typ: Type, depth: int = 2) -> str:
        """A value that may be stored in / compared with something of this type."""
        if typ.kind == "any":
            return self.expr(self.pick(("string", "number", "bool", "datetime", "list", "any")), depth)
        if self.chance(0.05):
            return self.kw("null")
        if typ.enum:
            return self.expr("string", depth, enum=typ.enum)
        if typ.kind == "datetime" and self.chance(0.3):
            return self.quote(self.pick(ISO_TIMES))
        if typ.kind == "ref":
            return self.expr("ref", depth)
        if typ.kind == RECORD:
            return self.kw("null")
        return self.expr(typ.kind, depth)

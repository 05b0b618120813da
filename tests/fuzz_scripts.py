"""The generator of valid scripts: conditions, statements and definitions, drawn or from a seed."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from zentra_rules.domain.schema import ANY, LIFECYCLES, READ_ONLY, RECORDS, TICKET_STATUS, Type

from .fuzz_values import (
    APPROVAL_NAMES,
    APPROVERS,
    CRONS,
    ORDERABLE,
    RECORD,
    REGEXES,
    SUBJECT_TRIGGERS,
    TICKET_NAMES,
    ZONES,
    ValueGen,
)


class ScriptGen(ValueGen):
    """Draws one valid script: its conditions, statements and definitions, over ValueGen's values
    and from the same sources of choice. It tracks the names each definition binds (tickets it
    creates, approvals it requests) so that later statements only use names that exist."""

    def __init__(self, draw: Any = None, seed: int = 0) -> None:
        super().__init__(draw, seed)
        self.approvals: list[str] = []
        self.all_approvals: list[str] = []
        self.count = 0
        self.headerless_used = False

    # -- conditions ----------------------------------------------------------------------
    def left(self, kinds: tuple[str, ...]) -> tuple[str, Type]:
        """A left operand of one of these kinds (a path when possible, else an expression)."""
        candidates = [(p, t) for p, t in self.paths() if t.kind in kinds]
        if candidates and self.chance(0.8):
            return self.pick(candidates)
        kind = self.pick([k for k in kinds if k not in (RECORD, "ref")] or ["any"])
        return self.expr(kind, 1, lead=True), Type(kind)

    def test(self) -> str:
        category = self.num(0, 9)
        if category == 0:      # = and !=
            left, typ = self.left(("string", "number", "bool", "datetime", "duration", "list",
                                   "any", "ref"))
            return f"{left} {self.pick(('=', '!='))} {self.value_for(typ, 1)}"
        if category == 1:      # ordering
            left, typ = self.left((*ORDERABLE, "any"))
            right = self.value_for(typ, 1) if typ.kind != "any" else self.expr(self.pick(ORDERABLE), 1)
            return f"{left} {self.pick(('<', '<=', '>', '>='))} {right}"
        if category == 2:      # in / not in
            left, typ = self.left(("string", "number", "any"))
            op = self.multi("not", "in") if self.chance(0.5) else self.kw("in")
            lists = [p for p, _ in self.paths_of("list")]
            if typ.kind == "string" and not typ.enum and self.chance(0.3) and lists:
                right = self.pick(lists)
            else:
                item = typ if typ.kind != "any" else Type(self.pick(("string", "number")))
                n = self.num(0, 4)
                vals = []
                for _ in range(n):
                    if item.enum:
                        vals.append(self.quote(str(self.pick(item.enum))))
                    elif item.kind == "number":
                        vals.append(self.number_lit())
                    else:
                        vals.append(self.string_lit(templates=False))
                right = "[" + ", ".join(vals) + "]"
            return f"{left} {op} {right}"
        if category == 3:      # contains
            left, typ = self.left(("string", "list", "any"))
            return f"{left} {self.kw('contains')} {self.expr('string', 1)}"
        if category == 4:      # starts with / ends with
            left, typ = self.left(("string", "any"))
            op = self.multi(self.pick(("starts", "ends")), "with")
            return f"{left} {op} {self.expr(self.pick(('string', 'any')), 1)}"
        if category == 5:      # matches
            left, typ = self.left(("string", "any"))
            regex = self.quote(self.pick(REGEXES), '"')
            return f"{left} {self.kw('matches')} {regex}"
        if category == 6:      # is empty / is not empty
            records = [p for p, t in self.paths() if t.kind == RECORD]
            if records and self.chance(0.4):       # a whole record: `ticket is empty`
                left = self.pick(records)
            else:
                left, typ = self.left(("string", "number", "bool", "datetime", "list", "any", "ref",
                                       RECORD))
            op = self.multi("is", "not", "empty") if self.chance(0.5) else self.multi("is", "empty")
            return f"{left} {op}"
        if category == 7 and self.subject_paths():     # changed [from|to VALUE]
            whole = [(p, t) for p, t in self.subject_paths() if t.kind == RECORD]
            if whole and self.chance(0.4):         # the whole subject: `ticket changed`
                left, typ = self.pick(whole)
            else:
                left, typ = self.pick(self.subject_paths())
            form = self.num(0, 2) if typ.kind != RECORD else 0
            if form == 0:
                return f"{left} {self.kw('changed')}"
            op = self.multi("changed", self.pick(("from", "to")))
            return f"{left} {op} {self.value_for(typ, 1)}"
        # a bare value tested for truth
        left, _ = self.left(("bool", "string", "number", "list", "any"))
        return left

    def cond(self, depth: int = 3) -> str:
        shape = self.num(0, 9) if depth > 0 else 0
        if shape < 4:
            return self.test()
        if shape < 6:
            parts = [self.cond(depth - 1) for _ in range(self.num(2, 3))]
            return f" {self.kw('and')} ".join(parts)
        if shape < 8:
            parts = [self.cond(depth - 1) for _ in range(self.num(2, 3))]
            return f" {self.kw('or')} ".join(parts)
        if shape < 9:
            return f"{self.kw('not')} {self.cond(depth - 1)}"
        return f"({self.ws()}{self.cond(depth - 1)}{self.ws()})"

    # -- statements ----------------------------------------------------------------------
    def params(self, table: dict[str, Type], required: tuple[str, ...] = ()) -> list[str]:
        keys = [k for k in table if k in required or self.chance(0.5)]
        keys = self.shuffled(keys)
        return [f", {k} = {self.value_for(table[k], 1)}" for k in keys]

    def set_stmt(self) -> str | None:
        targets: list[tuple[str, Type]] = []
        subj = self.subject
        if subj in ("ticket", "asset", "change"):
            for name, typ in RECORDS[subj].items():
                if name in READ_ONLY.get(subj, set()):
                    continue
                targets += [(name, typ), (f"{subj}.{name}", typ)]
                if typ.kind == "any":
                    targets.append((f"{name}.a.b", typ))
        for bound, kind in self.bindings.items():
            if kind == "ticket":
                targets += [(f"{bound}.{n}", t) for n, t in RECORDS["ticket"].items()
                            if n not in READ_ONLY["ticket"]]
        if not targets:
            return None
        target, typ = self.pick(targets)
        return self.join([self.kw("set"), target, "=", self.value_for(typ)])

    def action(self) -> str:
        subj = self.subject
        options = ["notify", "webhook", "survey", "create"]
        if subj == "ticket":
            options += ["ticket"] * 3
        if subj == "asset":
            options += ["asset"] * 2
        what = self.pick(options)
        s = self.value_for
        if what == "ticket":
            form = self.num(0, 8)
            if form == 0:
                return f"{self.kw('assign')} {self.kw('team')} = {s(Type('string'))}"
            if form == 1:
                return f"{self.kw('assign')} {self.kw('agent')} = {s(Type('string'))}"
            if form == 2:
                return f"{self.kw('transition')} {self.kw('status')} = {self.quote(self.pick(TICKET_STATUS))}"
            if form == 3:
                return self.join([self.kw("add"), self.kw("internal"), self.kw("note"), "=",
                                  s(Type("string"))])
            if form == 4:
                return f"{self.kw('post')} {self.kw('reply')} = {s(Type('string'))}"
            if form == 5:
                return f"{self.kw(self.pick(('add', 'remove')))} {self.kw('tag')} = {s(Type('string'))}"
            if form == 6:
                return f"{self.kw('link')} {self.kw('ticket')} = {s(Type('string'))}"
            if self.chance(0.5):
                return self.kw("escalate")
            return f"{self.kw('escalate')} = {s(Type('number'))}"
        if what == "asset":
            form = self.num(0, 2)
            if form == 0:
                return self.join([self.kw("update"), self.kw("asset"), self.kw("lifecycle"), "=",
                                  self.quote(self.pick(LIFECYCLES))])
            if form == 1:
                return f"{self.kw('attach')} {self.kw('contract')} = {s(Type('string'))}"
            return self.join([self.kw("schedule"), self.kw("renewal"), self.kw("alert"), "=",
                              s(Type("datetime")), *self.params({"before": Type("duration")})])
        if what == "notify":
            form = self.pick(("email", "slack", "slack dm", "teams", "teams dm"))
            table = ({"subject": Type("string"), "body": Type("string")} if form == "email"
                     else {"message": Type("string")})
            value = self.quote("#" + self.free_text()) if form == "slack" else s(Type("string"))
            words = [self.kw(w) for w in form.split()]
            return self.join([self.kw("notify"), *words, "=", value, *self.params(table)])
        if what == "webhook":
            return self.join([self.kw("call"), self.kw("webhook"), "=", self.string_lit(False),
                              *self.params({"payload": ANY})])
        if what == "survey":
            return self.join([self.kw("send"), self.kw("survey"), "=", self.string_lit(False),
                              *self.params({"to": Type("string")}, required=("to",))])
        free = [n for n in TICKET_NAMES if n not in self.bindings]
        if not free:
            return self.kw("escalate") if subj == "ticket" else self.kw("terminate")
        name = self.pick(free)
        table = {k: t for k, t in RECORDS["ticket"].items() if k not in READ_ONLY["ticket"]}
        keys = ["title"] + [k for k in table if k != "title" and self.chance(0.2)]
        keys = self.shuffled(keys)
        params = [f", {k} = {self.value_for(table[k], 1)}" for k in keys]
        text = self.join([self.kw("create"), self.kw("ticket"), name, *params])
        self.bindings[name] = "ticket"
        return text

    def request(self) -> str:
        free = [n for n in APPROVAL_NAMES if n not in self.bindings]
        if not free:
            return self.kw("terminate")
        name = self.pick(free)
        approvers = []
        paths = list(APPROVERS[self.subject])
        paths += [f"{b}.requester" for b, k in self.bindings.items() if k == "ticket"]
        for _ in range(self.num(1, 3)):
            form = self.num(0, 3)
            if form == 3:
                approvers.append(self.pick(paths))
            else:
                approvers.append(f"{self.kw(('user', 'role', 'group')[form])} {self.string_lit(False)}")
        options: list[str] = []
        has_timeout = self.chance(0.5)
        if self.chance(0.5):
            order = self.pick((("sequential",), ("parallel", "any"), ("parallel", "all")))
            options.append(f"{self.kw('order')} {self.multi(*order)}")
        remind = self.num(0, 2)
        if remind == 1:
            options.append(self.join([self.kw("remind"), self.kw("every"), self.duration_lit()]))
        elif remind == 2 and has_timeout:
            options.append(self.join([self.kw("remind"), self.kw("at"), self.duration_lit(),
                                      self.kw("before"), self.kw("timeout")]))
        if self.chance(0.5):
            chans = [self.pick(("email", "slack", "teams", "console")) for _ in range(self.num(1, 4))]
            options.append(f"{self.kw('via')} " + ", ".join(self.kw(c) for c in chans))
        if has_timeout:
            options.append(f"{self.kw('timeout')} {self.duration_lit()}")
        options = self.shuffled(options)
        text = self.join([self.kw("request"), self.kw("approval"), name, self.kw("from"),
                          ", ".join(approvers), *options])
        self.bindings[name] = "approval"
        self.approvals.append(name)
        self.all_approvals.append(name)
        return text

    def statement(self, depth: int) -> str:
        kind = self.num(0, 13 if depth > 0 else 10)
        if kind <= 3:
            return self.action()
        if kind == 4:
            return self.set_stmt() or self.action()
        if kind == 5:
            return self.request()
        if kind == 6 and self.approvals:
            tokens = [self.kw("wait"), self.kw("for"), self.kw("approval"), self.pick(self.approvals)]
            if self.chance(0.5):
                tokens += [self.kw("or"), self.duration_lit()]
            return self.join(tokens)
        if kind == 7:
            tokens = [self.kw("wait"), self.kw("until"), self.cond(2)]
            if self.chance(0.5):
                tokens += [self.kw("or"), self.duration_lit()]
            return self.join(tokens)
        if kind == 8:
            return f"{self.kw('wait')} {self.duration_lit()}"
        if kind == 9:
            if self.chance(0.5):
                return self.kw("terminate")
            return f"{self.kw('terminate')} {self.kw('with')} {self.string_lit(False)}"
        if kind == 10:
            return self.set_stmt() or self.action()
        if kind <= 12:     # if / elif / else
            parts = [self.kw("if"), self.cond(2), self.kw("then"), self.block(depth - 1)]
            for _ in range(self.num(0, 2)):
                parts += [self.kw("elif"), self.cond(2), self.kw("then"), self.block(depth - 1)]
            if self.chance(0.5):
                parts += [self.kw("else"), self.block(depth - 1)]
            parts.append(self.kw("end"))
            return self.join([p for p in parts if p])
        parts = [self.kw("parallel")]
        for _ in range(self.num(1, 3)):
            parts += [self.kw("branch"), self.block(depth - 1)]
        parts.append(self.kw("end"))
        return self.join([p for p in parts if p])

    def block(self, depth: int, min_size: int = 0) -> str:
        n = self.num(min_size, 3)
        stmts = [self.statement(depth) for _ in range(n)]
        return self.rnd.choice(("\n  ", " ", "\n")).join(stmts)

    # -- definitions ---------------------------------------------------------------------
    def triggers(self, group: str | None) -> list[str]:
        if group in SUBJECT_TRIGGERS:
            return self.shuffled(SUBJECT_TRIGGERS[group])[:self.num(1, 3)]
        if group == "payload":
            return [f"webhook.received {self.string_lit(False)}"
                    for _ in range(self.num(1, 2))]
        triggers = []
        for _ in range(self.num(1, 2)):
            t = f"schedule.cron {self.quote(self.pick(CRONS))}"
            if self.chance(0.5):
                t += f" {self.kw('tz')} {self.quote(self.pick(ZONES))}"
            triggers.append(t)
        return triggers

    def one_definition(self) -> str:
        self.count += 1
        kind = self.pick(("workflow", "workflow", "scenario"))
        headerless = kind == "workflow" and not self.headerless_used and self.num(0, 2) == 0
        self.headerless_used = self.headerless_used or headerless
        return self.definition(kind, None if headerless else f"{self.free_text()} {self.count}")

    def definition(self, kind: str, name: str | None) -> str:
        self.bindings, self.approvals = {}, []
        parts: list[str] = []
        if kind == "scenario":
            self.subject = "ticket"
            parts += [self.kw("scenario"), self.quote(name or "s")]
        else:
            if name is not None:
                parts += [self.kw("workflow"), self.quote(name)]
            group = self.pick(("ticket", "ticket", "ticket", "asset", "change", "payload", None))
            self.subject = group
            parts += [self.kw("when"), f" {self.kw('or')} ".join(self.triggers(group))]
        if self.chance(0.7):
            parts += [self.kw("where"), self.cond(2)]
        parts += [self.kw("then"), self.block(2, min_size=1)]
        return self.join(parts)


def build_script(gen: ScriptGen) -> str:
    """One to three definitions with unique names, at most one of them headerless."""
    if gen.src is None:     # each definition its own draw, so the shrinker can drop whole ones
        defs = gen.draw(st.lists(_definitions(gen), min_size=1, max_size=3))
    else:
        defs = [gen.one_definition() for _ in range(gen.num(1, 3))]
    text = gen.rnd.choice(("\n\n", "\n", " ")).join(defs)
    if gen.rnd.random() < 0.3:
        text = "# generated\n" + text + "\n# end\n"
    return text


@st.composite
def _definitions(draw: Any, gen: ScriptGen) -> str:
    outer, gen.draw = gen.draw, draw
    try:
        return gen.one_definition()
    finally:
        gen.draw = outer


@st.composite
def valid_scripts(draw: Any) -> tuple[str, list[str]]:
    """(script text, approval names requested in it); every choice shrinks."""
    gen = ScriptGen(draw)
    return build_script(gen), gen.all_approvals


def seeded_script(seed: int) -> str:
    """A valid script from a seed: one draw, so mutation tests shrink their mutations fast."""
    return build_script(ScriptGen(seed=seed))

"""textX model -> checked tree: triggers, names, statements, approvals, reachability."""

from __future__ import annotations

import hashlib
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter

from compiler import tree as T
from compiler.context import Context
from compiler.retrigger import check_retrigger
from compiler.typecheck import Scope, duration_seconds, unescape
from zentra_rules.domain import ir
from zentra_rules.domain.actions import ACTIONS, CREATE_TICKET_REQUIRED, VERBS, objects_of
from zentra_rules.domain.messages import APPROVAL_VIA
from zentra_rules.domain.plan import Trigger
from zentra_rules.domain.schema import READ_ONLY, RECORDS, ROOTS, TRIGGERS, Type, catalog_text
from zentra_rules.domain.suggest import closest, did_you_mean

APPROVAL_ORDERS = ("sequential", "parallel any", "parallel all")
# The channels an approval request can go out on: each reaches an approver (or waits on the console).
CHANNELS = (*(c for c in APPROVAL_VIA if c != "console"), "console")


def check_script(model: Any, ctx: Context) -> list[T.Definition]:
    """Check every definition, collecting all diagnostics in `ctx`."""
    stem = PurePath(ctx.filename).stem if ctx.filename not in ("<string>", "") else "workflow"
    seen: dict[tuple[str, str], int] = {}
    headerless = 0
    out: list[T.Definition] = []
    for node in model.definitions:
        kind = "scenario" if type(node).__name__ == "Scenario" else "workflow"
        if node.name is None:
            headerless += 1
            name = stem
            if headerless >= 2:
                ctx.report(node, "a file may hold only one definition without a "
                           '`workflow "NAME"` header; name this one')
                name = f"{stem}#{headerless}"  # reported above; not a duplicate as well
        else:
            name = unescape(node.name)
            if not name.strip():
                ctx.report(node, f"a {kind} needs a non-empty name")
        if (kind, name) in seen:
            ctx.report(node, f'duplicate {kind} name "{name}" (first defined on line '
                       f"{seen[(kind, name)]}); names are unique per kind")
        else:
            seen[(kind, name)] = ctx.line_of(node)
        definition = DefinitionChecker(ctx, node, kind, name).check()
        if definition is not None:
            out.append(definition)
    return out


def _heading(text: str, line: int) -> str:
    """The comment line right above line `line`, if there is one (kept with the plan, outside
    its source: a translated legacy rule is named there)."""
    lines = text.splitlines()
    above = lines[line - 2].strip() if 2 <= line <= len(lines) + 1 else ""
    return above if above.startswith("#") else ""


class DefinitionChecker:
    def __init__(self, ctx: Context, node: Any, kind: str, name: str):
        self.ctx, self.node, self.kind, self.name = ctx, node, kind, name

    def check(self) -> T.Definition | None:
        ctx, node = self.ctx, self.node
        triggers, subject = self._triggers() if self.kind == "workflow" else ((), "ticket")
        scope = Scope(ctx, subject, [t.event for t in triggers])
        scope.requested_later = {s.name for s in _walk(node.body) if type(s).__name__ == "Request"}
        condition = scope.condition(node.condition) if node.condition is not None else None
        body = self._block(node.body, scope)
        source = ctx.text[node._tx_position:node._tx_position_end]
        end_line = ctx.line_col(max(node._tx_position_end - 1, node._tx_position))[0]
        definition = T.Definition(self.kind, self.name, subject, triggers, condition, body,
                                  ctx.line_of(node), end_line, source)
        definition.extra["source_hash"] = hashlib.sha256(source.encode()).hexdigest()
        definition.extra["heading"] = _heading(ctx.text, ctx.line_of(node))
        if self.kind == "workflow" and not ctx.failed:   # a warning only makes sense on sound code
            check_retrigger(ctx, node, definition)
        return definition

    # -- triggers ------------------------------------------------------------------------------
    def _triggers(self) -> tuple[tuple[Trigger, ...], str | None]:
        ctx = self.ctx
        out: list[Trigger] = []
        subjects: set[str | None] = set()
        for t in self.node.triggers:
            event = t.event
            spec = TRIGGERS.get(event) or TRIGGERS.get(event.lower())
            qualifier = unescape(t.qualifier) if t.qualifier else None
            tz = unescape(t.tz) if t.tz else None
            if spec is None:
                ctx.report(t, f"unknown trigger `{event}`" + (did_you_mean(event, TRIGGERS) or ".")
                           + f" Triggers: {catalog_text()}")
                # Read the rest as the nearest trigger would, so one typo gives one error.
                guess = closest(event, TRIGGERS)
                subjects.add(TRIGGERS[guess].subject if guess else "payload")
                continue
            if spec.qualifier and qualifier is None:
                example = '"0 9 * * 1"' if spec.name == "schedule.cron" else '"hr"'
                ctx.report(t, f"`{spec.name}` needs {spec.qualifier}, e.g. `{spec.name} {example}`",
                           offset=len(event))
            elif not spec.qualifier and qualifier is not None:
                ctx.report(t, f"`{spec.name}` takes no qualifier; remove \"{qualifier}\"",
                           offset=len(event) + 1)
            if spec.name == "schedule.cron" and qualifier is not None:
                fields = qualifier.split()
                if len(fields) != 5 or not croniter.is_valid(qualifier):
                    ctx.report(t, f'invalid cron expression "{qualifier}": write 5 fields, '
                               'minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5"',
                               offset=len(event) + 1)
            if tz is not None:
                if spec.name != "schedule.cron":
                    ctx.report(t, "only `schedule.cron` takes a time zone (`tz`)")
                elif not _valid_zone(tz):
                    ctx.report(t, f'unknown time zone "{tz}"'
                               + did_you_mean(tz, sorted(available_timezones()), '"'))
            subjects.add(spec.subject)
            out.append(Trigger(spec.name, qualifier, tz))
        if len(subjects) > 1:
            ctx.report(self.node, "these triggers carry different subjects ("
                       + ", ".join(sorted(str(s) for s in subjects))
                       + "); split them into separate workflows")
        return tuple(out), (subjects.pop() if len(subjects) == 1 else None)

    # -- statements ----------------------------------------------------------------------------
    def _block(self, block: Any, scope: Scope) -> list[T.Stmt]:
        out: list[T.Stmt] = []
        warned = False
        for stmt in block.statements if block is not None else ():  # an empty block is None
            if out and isinstance(out[-1], T.Terminate) and not warned:
                self.ctx.warn(stmt, "this statement never runs: it follows `terminate`")
                warned = True  # one warning per block, no cascade
            out.append(self._stmt(stmt, scope))
        return out

    def _stmt(self, node: Any, scope: Scope) -> T.Stmt:
        line = self.ctx.line_of(node)
        cls = type(node).__name__
        if cls == "If":
            arms = [(scope.condition(node.condition), self._block(node.body, scope), line)]
            arms += [(scope.condition(e.condition), self._block(e.body, scope), self.ctx.line_of(e))
                     for e in node.elifs]
            orelse = self._block(node.orelse, scope) if node.orelse is not None else None
            return T.If(arms, orelse, line)
        if cls == "Parallel":
            return T.Parallel([self._block(b.body, scope) for b in node.branches], line)
        if cls == "WaitApproval":
            if scope.bindings.get(node.name) != "approval":
                later = node.name in scope.requested_later
                self.ctx.report(node, f"approval `{node.name}` is waited for "
                                + ("before it is requested" if later else "but never requested")
                                + did_you_mean(node.name, [n for n, k in scope.bindings.items()
                                                           if k == "approval"]),
                                offset=len("wait for approval "))
            return T.WaitApproval(node.name, self._seconds(node.timeout), line)
        if cls == "WaitUntil":
            if node.timeout is None:
                self.ctx.warn(node, "this wait has no timeout: if the condition never holds, the "
                              "run waits for ever; add `or DURATION`, e.g. `or 14 days`")
            return T.WaitUntil(scope.condition(node.condition), self._seconds(node.timeout), line)
        if cls == "WaitTimer":
            return T.WaitTimer(self._seconds(node.duration) or 0, line)
        if cls == "Request":
            return self._request(node, scope, line)
        if cls == "Terminate":
            reason = unescape(node.reason.value) if node.reason is not None else ""
            return T.Terminate(reason, line)
        if cls == "Set":
            return self._set(node, scope, line)
        return self._action(node, scope, line)

    def _seconds(self, node: Any) -> int | None:
        return duration_seconds(self.ctx, node) if node is not None else None

    def _bind(self, node: Any, name: str, kind: str, scope: Scope) -> None:
        if name in scope.bindings:
            self.ctx.report(node, f"`{name}` is already bound in this {self.kind}; pick another name")
        elif name in ROOTS or (scope.subject in RECORDS and name in RECORDS[scope.subject]):
            self.ctx.report(node, f"`{name}` is a field or root name; pick another name")
        scope.bindings[name] = kind

    def _set(self, node: Any, scope: Scope, line: int) -> T.Stmt:
        target = node.target
        head, tail = target.head, [d[1:] for d in target.tail]
        value, vtyp = scope.value(node.value)
        if head in scope.bindings:
            root, kind, fields = head, scope.bindings[head], tail
            if kind != "ticket":
                self.ctx.report(target, f"`{head}` is an approval; its fields cannot be set")
                return T.SetField(root, ".".join(fields), value, line)
            if not fields:
                self.ctx.report(target, f"say which field of `{head}` to set, e.g. `{head}.status`")
                return T.SetField(root, "", value, line)
        elif head in ROOTS:
            root, kind, fields = head, head, tail
            if head != scope.subject or head not in ("ticket", "asset", "change"):
                self.ctx.report(target, f"`{head}` cannot be set here; this definition's subject "
                                f"is {scope.subject or 'nothing'}")
                return T.SetField(root, ".".join(fields), value, line)
        else:
            if scope.subject not in ("ticket", "asset", "change"):
                self.ctx.report(target, f"there is no record to set `{head}` on: the subject is "
                                f"{scope.subject or 'nothing'}; create a ticket and set "
                                "`NAME.field`")
                return T.SetField("ticket", head, value, line)
            root, kind, fields = scope.subject, scope.subject, [head, *tail]
        if not fields:
            self.ctx.report(target, f"say which field of the {kind} to set, e.g. `set status = …`")
            return T.SetField(root, "", value, line)
        name = fields[0]
        schema = RECORDS[kind]
        if name not in schema:
            self.ctx.report(target, f"unknown field `{name}` on {kind}"
                            + did_you_mean(name, [f for f in schema if f not in
                                                  READ_ONLY.get(kind, set())]),
                            offset=0 if root == kind and head != root else len(head) + 1)
        elif name in READ_ONLY.get(kind, set()):
            self.ctx.report(target, f"`{name}` is read-only")
        elif len(fields) > 1 and name != "custom":
            self.ctx.report(target, f"`{'.'.join(fields)}` is a field of a linked record; only "
                            f"the {kind}'s own fields can be set")
        else:
            ftyp = schema[name]
            fake = ir.Path(root, tuple(fields), ("",) * len(fields))
            # Below `custom` anything goes; a field's own type applies to the field itself.
            target_type = ftyp if len(fields) == 1 else RECORDS["ticket"]["custom"]
            scope.assignable(node, node.value, fake, target_type, value, vtyp)
        return T.SetField(root, ".".join(fields), value, line)

    def _action(self, node: Any, scope: Scope, line: int) -> T.Stmt:
        verb = node.verb.lower()
        words = [w.lower() for w in node.words]
        value = scope.value(node.value) if node.value is not None else None
        params = {p.key: (p, scope.value(p.value)) for p in node.params}
        for p in node.params:
            if sum(1 for q in node.params if q.key == p.key) > 1:
                self.ctx.report(p, f"parameter `{p.key}` is given twice")
                break
        if verb == "create":
            return self._create(node, words, value, params, scope, line)
        obj = " ".join(words)
        spec = ACTIONS.get((verb, obj))
        if spec is None:
            if verb not in VERBS:
                self.ctx.report(node, f"unknown action `{' '.join([node.verb, *node.words])}`"
                                + (did_you_mean(verb, VERBS) or
                                   "; the statements are listed in docs/language.md"))
            else:
                objs = objects_of(verb)
                shown = ", ".join(f"`{verb} {o}`".replace(" `", "`").strip() for o in objs)
                self.ctx.report(node, f"unknown action `{(verb + ' ' + obj).strip()}`"
                                + (did_you_mean(obj, objs) or ";")
                                + f" `{verb}` takes: {shown}.")
            return T.Act(verb, obj, value[0] if value else None,
                         {k: v[1][0] for k, v in params.items()}, line)
        if spec.value == "required" and value is None:
            self.ctx.report(node, f"`{spec.verb} {spec.object}` needs a value: `{spec.form}`")
        elif spec.value == "none" and value is not None:
            self.ctx.report(node.value, f"`{spec.verb} {spec.object}` takes no value")
        if value is not None and spec.value_type.kind != "any":
            what = spec.object.split()[-1] if spec.object else "escalation level"
            fake = ir.Path("ticket", (what,), ("",))
            scope.assignable(node, node.value, fake, spec.value_type, value[0], value[1])
        for key, (pnode, (expr, typ)) in params.items():
            if key in spec.params and spec.params[key].kind != "any":
                scope.assignable(pnode, pnode.value, ir.Path("ticket", (key,), ("",)),
                                 spec.params[key], expr, typ)
        for key, (pnode, _) in params.items():
            if key not in spec.params:
                self.ctx.report(pnode, f"`{spec.verb} {spec.object}` has no parameter `{key}`"
                                + (did_you_mean(key, spec.params) or
                                   (f"; it takes {', '.join(spec.params)}" if spec.params
                                    else "; it takes none")))
        for key in spec.required - set(params):
            self.ctx.report(node, f"`{spec.verb} {spec.object}` needs `{key} = …`: `{spec.form}`")
        if spec.subject and spec.subject != scope.subject:
            self.ctx.report(node, f"`{spec.verb} {spec.object}`".replace(" `", "`") +
                            f" acts on the {spec.subject}, but this definition's subject is "
                            f"{scope.subject or 'nothing'}")
        lowered = {k: v[1][0] for k, v in params.items()}
        lowered_value = value[0] if value else None
        if (spec.verb, spec.object) in RECIPIENT_VALUE and value is not None:
            lowered_value = self._recipient(node.value, value[0], value[1], spec.object)
        if (spec.verb, spec.object) == ("send", "survey") and "to" in params:
            pnode, (pir, ptyp) = params["to"]
            lowered["to"] = self._recipient(pnode.value, pir, ptyp, "email")
        return T.Act(spec.verb, spec.object or "ticket", lowered_value, lowered, line)

    def _recipient(self, node: Any, expr: ir.Expr, typ: Type, channel: str) -> ir.Expr:
        """A user as a recipient is reached at their address for the channel (the run looks it
        up); a value that is neither a user nor text cannot be an address."""
        if typ.kind == "ref" and typ.ref == "user":
            return expr if isinstance(expr, ir.User) else ir.User(expr)
        if typ.kind in ("ref", "record"):
            self.ctx.warn(node, f"the recipient of {channel} is a user or an address, and this is "
                          f"{typ.describe()}: the message would go to its id")
        return expr

    def _create(self, node: Any, words: list[str], value: Any, params: dict[str, Any],
                scope: Scope, line: int) -> T.Stmt:
        if len(words) != 2 or words[0] != "ticket":
            self.ctx.report(node, "write `create ticket NAME, title = …`; NAME is how later "
                            "statements refer to the new ticket")
            return T.CreateTicket(words[-1] if words else "ticket", {}, line)
        name = node.words[1]
        if value is not None:
            self.ctx.report(node.value, "`create ticket` takes parameters, not a value: "
                            "`create ticket NAME, title = …, team = …`")
        fields = RECORDS["ticket"]
        for key, (pnode, (expr, typ)) in params.items():
            if key not in fields or key in READ_ONLY["ticket"]:
                self.ctx.report(pnode, f"a ticket has no field `{key}`"
                                + did_you_mean(key, [f for f in fields if f not in READ_ONLY["ticket"]]))
            else:
                scope.assignable(pnode, pnode.value, ir.Path("ticket", (key,), ("",)), fields[key],
                                 expr, typ)
        for key in sorted(CREATE_TICKET_REQUIRED - set(params)):
            self.ctx.report(node, f"`create ticket {name}` needs `{key} = …`")
        self._bind(node, name, "ticket", scope)
        return T.CreateTicket(name, {k: v[1][0] for k, v in params.items()}, line)

    def _request(self, node: Any, scope: Scope, line: int) -> T.Stmt:
        approvers: list[ir.Approver] = []
        for a in node.approvers:
            cls = type(a).__name__
            if cls == "PathApprover":
                expr, typ = scope.path(a.path)
                if typ.kind not in ("ref", "string", "any", "list") and expr != ir.Const(None):
                    self.ctx.report(a, f"an approver path must name a user, not {typ.describe()}")
                approvers.append(ir.Approver("path", expr))
            else:
                approvers.append(ir.Approver(a.kind.lower(), ir.Const(unescape(a.value.value))))
        spec: dict[str, Any] = {"order": "sequential", "remind_every": None,
                                "remind_before": None, "via": ["console"], "timeout": None}
        seen: set[str] = set()
        for opt in node.options:
            kind = type(opt).__name__
            key = "remind" if kind.startswith("Remind") else kind
            if key in seen:
                self.ctx.report(opt, "this option is given twice")
            seen.add(key)
            if kind == "OrderOption":
                order = " ".join(opt.order.lower().split())
                if order not in APPROVAL_ORDERS:
                    self.ctx.report(opt, f"unknown approval order `{opt.order}`"
                                    + (did_you_mean(order, APPROVAL_ORDERS) or ".")
                                    + " Orders: `sequential`, `parallel any`, `parallel all`.",
                                    offset=len("order "))
                spec["order"] = order
            elif kind == "RemindEvery":
                spec["remind_every"] = self._seconds(opt.every)
            elif kind == "RemindBefore":
                spec["remind_before"] = self._seconds(opt.before)
            elif kind == "ViaOption":
                via = [c.lower() for c in opt.channels]
                for c in via:
                    if c not in CHANNELS:
                        self.ctx.report(opt, f"unknown channel `{c}`" + (did_you_mean(c, CHANNELS) or ".")
                                        + f" Channels: {', '.join(CHANNELS)}.")
                spec["via"] = via
            else:
                spec["timeout"] = self._seconds(opt.timeout)
        if spec["remind_before"] is not None and spec["timeout"] is None:
            self.ctx.report(node, "`remind at … before timeout` needs a `timeout`")
        self._bind(node, node.name, "approval", scope)
        return T.RequestApproval(node.name, ir.Approval(
            tuple(approvers), spec["order"], spec["remind_every"], spec["remind_before"],
            tuple(spec["via"]), spec["timeout"]), line)


# Statements whose value is whom they send to (`send survey` names its recipient in `to`).
RECIPIENT_VALUE = frozenset({("notify", "email"), ("notify", "slack dm"), ("notify", "teams dm")})


def _walk(block: Any) -> list[Any]:
    """Every statement node in a block, nested ones included (textX nodes)."""
    out: list[Any] = []
    if block is None:
        return out
    for stmt in block.statements:
        out.append(stmt)
        cls = type(stmt).__name__
        if cls == "If":
            out += _walk(stmt.body)
            for e in stmt.elifs:
                out += _walk(e.body)
            out += _walk(stmt.orelse)
        elif cls == "Parallel":
            for b in stmt.branches:
                out += _walk(b.body)
    return out


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        return False
    return True

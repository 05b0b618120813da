"""The legacy semantics as an oracle, and a dry run's trace in the same shape, for the differential tests."""

# The law (house style: "legacy and translated rules agree"): for any legacy rules of one event, a
# ticket and (for `ticket.updated`, `ticket.status_changed`) the ticket before the change,
#
#     trace_outcome(dry_run(compile_source(translate(rules)), event, ticket, previous))
#         == legacy_outcome(rules, event, ticket, previous)
#
# `legacy_outcome` is an ORACLE written here from the legacy semantics of docs/legacy.md ("Legacy
# AutomationRule JSON"), independent of compiler/ and runtime/: rules of the event that are active
# run in `position` order (file order on ties) over a working copy of the ticket; a rule fires when
# every `all` condition holds and, when `any` is non-empty, one `any` condition holds; a later rule
# sees the changes of earlier ones; `changed*` compares the working copy with the ORIGINAL previous
# ticket and is false without one. A missing field follows the null rules of docs/language.md.
#
# An outcome is {"ticket": the ticket after every action, "outputs": notes, replies, notifications
# and webhook calls in order, texts with their `{{ticket.FIELD}}` templates filled}. The trace side
# is normalised to the same shape by applying the trace's actions (docs/trace.md) to a copy of the
# ticket. When the two disagree, the oracle is the spec: fix the translator or the engine, not the
# oracle.

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

from compiler import compile_source
from compiler.legacy import translate
from runtime import dry_run

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
EVENTS = ("ticket.created", "ticket.updated", "ticket.status_changed", "ticket.sla_breached")
WITH_PREVIOUS = ("ticket.updated", "ticket.status_changed")

Ticket = dict[str, Any]
Rule = dict[str, Any]
Outcome = dict[str, Any]


# -- the oracle: legacy semantics, from the spec -------------------------------------------------
FIELD_NAMES = {"subject": "title"}   # legacy `subject` is the ticket's title
TEMPLATE = re.compile(r"\{\{\s*ticket\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


def read_field(ticket: Ticket | None, field: str) -> Any:
    """A legacy field of a ticket (`custom.x` reads inside `custom`); missing reads as null."""
    value: Any = ticket
    for part in FIELD_NAMES.get(field, field).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _write(ticket: Ticket, field: str, value: Any) -> None:
    """Set a field; `custom.x` creates (or replaces a non-object) `custom` on the way."""
    *parents, last = FIELD_NAMES.get(field, field).split(".")
    record = ticket
    for part in parents:
        if not isinstance(record.get(part), dict):
            record[part] = {}
        record = record[part]
    record[last] = value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """Exact equality: null equals only null, numbers numerically, text case-sensitively."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _number(a) and _number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return False


def _ordered(op: str, a: Any, b: Any) -> bool:
    """Ordering holds only between two numbers or two texts; null or mixed kinds are false."""
    if not ((_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str))):
        return False
    return {"less_than": a < b, "less_than_or_equal": a <= b,
            "greater_than": a > b, "greater_than_or_equal": a >= b}[op]


def _contains(a: Any, b: Any) -> bool:
    """Text: substring; list (tags): membership; anything else (null): false."""
    if isinstance(a, str) and isinstance(b, str):
        return b in a
    if isinstance(a, list):
        return b is not None and any(_same(item, b) for item in a)
    return False


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def condition_holds(cond: dict[str, Any], ticket: Ticket, previous: Ticket | None) -> bool:
    op, field, want = cond["operator"], cond["field"], cond.get("value")
    now = read_field(ticket, field)
    if op == "is":
        return _same(now, want)
    if op == "is_not":
        return not _same(now, want)
    if op in ("less_than", "less_than_or_equal", "greater_than", "greater_than_or_equal"):
        return _ordered(op, now, want)
    if op in ("includes", "not_includes"):
        member = isinstance(want, list) and any(_same(now, item) for item in want)
        return member if op == "includes" else not member
    if op == "contains":
        return _contains(now, want)
    if op == "not_contains":
        return not _contains(now, want)
    if op == "starts_with":
        return isinstance(now, str) and isinstance(want, str) and now.startswith(want)
    if op == "ends_with":
        return isinstance(now, str) and isinstance(want, str) and now.endswith(want)
    if op == "present":
        return not _blank(now)
    if op == "blank":
        return _blank(now)
    if op in ("changed", "changed_to", "changed_from"):
        if previous is None:
            return False
        before = read_field(previous, field)
        if _same(now, before):
            return False
        if op == "changed_to":
            return _same(now, want)
        if op == "changed_from":
            return _same(before, want)
        return True
    raise AssertionError(f"the oracle has no operator {op!r}")


def rule_fires(rule: Rule, ticket: Ticket, previous: Ticket | None) -> bool:
    conditions = rule.get("conditions") or {}
    every, some = conditions.get("all") or [], conditions.get("any") or []
    return (all(condition_holds(c, ticket, previous) for c in every)
            and (not some or any(condition_holds(c, ticket, previous) for c in some)))


def render(value: Any) -> str:
    """How a value reads in a filled template: null empty, 2.0 as 2, a list joined by ", "."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(render(item) for item in value)
    return str(value)


def fill(text: Any, ticket: Ticket) -> Any:
    if not isinstance(text, str):
        return text
    return TEMPLATE.sub(lambda m: render(read_field(ticket, m.group(1))), text)


def _add_tag(ticket: Ticket, tag: Any) -> None:
    tags = ticket.get("tags")
    if not isinstance(tags, list):
        tags = ticket["tags"] = []
    if not any(_same(t, tag) for t in tags):
        tags.append(tag)


def _remove_tag(ticket: Ticket, tag: Any) -> None:
    tags = ticket.get("tags")
    if isinstance(tags, list):
        ticket["tags"] = [t for t in tags if not _same(t, tag)]


def _escalate(ticket: Ticket, level: Any) -> None:
    if level is None:
        current: Any = ticket.get("escalationLevel")   # a field of any kind: `_number` decides
        level = current + 1 if _number(current) else 1
    ticket["escalationLevel"] = level


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def apply_action(action: dict[str, Any], ticket: Ticket, outputs: list[tuple[Any, ...]]) -> None:
    """One legacy action on the working ticket; texts are filled from the ticket as it is now."""
    kind = action["type"]
    if kind == "set_field":
        _write(ticket, action["field"], fill(action["value"], ticket))
    elif kind in ("assign_team", "assign_agent", "set_status"):
        field = {"assign_team": "team", "assign_agent": "agent", "set_status": "status"}[kind]
        ticket[field] = fill(action["value"], ticket)
    elif kind == "add_internal_note":
        outputs.append(("note", fill(action["value"], ticket)))
    elif kind == "post_reply":
        outputs.append(("reply", fill(action["value"], ticket)))
    elif kind == "add_tags":
        for tag in _as_list(action["value"]):
            _add_tag(ticket, fill(tag, ticket))
    elif kind == "remove_tags":
        for tag in _as_list(action["value"]):
            _remove_tag(ticket, fill(tag, ticket))
    elif kind == "escalate":
        _escalate(ticket, action.get("value"))
    elif kind == "notify_email":
        outputs.append(("email", fill(action["to"], ticket), fill(action.get("subject"), ticket),
                        fill(action.get("body"), ticket)))
    elif kind in ("notify_slack", "notify_teams"):
        outputs.append((kind.removeprefix("notify_"), fill(action["channel"], ticket),
                        fill(action.get("message"), ticket)))
    elif kind == "call_webhook":
        outputs.append(("webhook", fill(action["endpoint"], ticket),
                        fill(action.get("payload"), ticket)))
    else:
        raise AssertionError(f"the oracle has no action {kind!r}")


def legacy_outcome(rules: list[Rule], event_name: str, ticket: Ticket,
                   previous: Ticket | None) -> tuple[Outcome, list[str]]:
    """What the legacy engine does for `event_name`, and the ids of the rules that fired."""
    work = copy.deepcopy(ticket)
    outputs: list[tuple[Any, ...]] = []
    fired: list[str] = []
    mine = [r for r in rules if r["event"] == event_name and r.get("active", True)]
    for rule in sorted(mine, key=lambda r: r["position"]):   # stable: file order on ties
        if rule_fires(rule, work, previous):
            fired.append(rule["id"])
            for action in rule["actions"]:
                apply_action(action, work, outputs)
    return {"ticket": work, "outputs": outputs}, fired


# -- the trace, normalised to the same shape -------------------------------------------------
def trace_outcome(trace: dict[str, Any], ticket: Ticket, event_name: str) -> Outcome:
    """Apply a dry run's actions (docs/trace.md) to a copy of the ticket; collect the outputs."""
    runs = trace["runs"]
    assert [r["workflow"] for r in runs] in ([], [f"legacy {event_name}"]), runs
    work: Ticket = copy.deepcopy(ticket)
    outputs: list[tuple[Any, ...]] = []
    for run in runs:
        assert run["status"] in ("completed", "skipped"), run
        for act in run["actions"]:
            verb, obj, value, params = act["verb"], act["object"], act.get("value"), act["params"]
            if verb == "set":
                _write(work, obj, value)
            elif (verb, obj) in (("assign", "team"), ("assign", "agent"), ("transition", "status")):
                work[obj] = value
            elif (verb, obj) == ("add", "tag"):
                _add_tag(work, value)
            elif (verb, obj) == ("remove", "tag"):
                _remove_tag(work, value)
            elif verb == "escalate":
                _escalate(work, value)
            elif (verb, obj) == ("add", "internal note"):
                outputs.append(("note", value))
            elif (verb, obj) == ("post", "reply"):
                outputs.append(("reply", value))
            elif (verb, obj) == ("notify", "email"):
                outputs.append(("email", value, params.get("subject"), params.get("body")))
            elif (verb, obj) in (("notify", "slack"), ("notify", "teams")):
                outputs.append((obj, value, params.get("message")))
            elif (verb, obj) == ("call", "webhook"):
                outputs.append(("webhook", value, params.get("payload")))
            else:
                raise AssertionError(f"a legacy rule cannot do {verb} {obj}: {act}")
    return {"ticket": work, "outputs": outputs}


def translated_outcome(rules: list[Rule] | Rule, event_name: str, ticket: Ticket,
                       previous: Ticket | None) -> tuple[Outcome, str]:
    text = translate(copy.deepcopy(rules))
    plans = compile_source(text, "legacy.zflow")
    trace = dry_run(plans, event_name, copy.deepcopy(ticket), copy.deepcopy(previous), now=NOW)
    return trace_outcome(trace, ticket, event_name), text

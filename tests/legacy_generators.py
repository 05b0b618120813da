"""Strategies for the legacy differential tests: tickets, rules that often fire, chains of rules."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from .legacy_oracle import EVENTS, TEMPLATE, WITH_PREVIOUS, Rule, Ticket, condition_holds, read_field

PRIORITIES = ["low", "normal", "high", "urgent"]
STATUSES = ["new", "open", "pending", "resolved"]
CATEGORIES = ["Network", "Identity", "Hardware", "Software", "Access"]
TEAMS = ["Network", "Service Desk", "IAM", "Field IT"]
AGENTS = ["ann", "bob", "u_7"]
TAGS = ["vip", "outage", "vpn", "hr", "needs-triage"]
TITLES = ["VPN down", 'Say "hi"', "C:\\temp\\x", "It's broken", "vpn", "", "Printer {jammed}",
          "ünïcödé ✓", "tab\there", "two\nlines", "VPN"]
LEVELS: list[int | float] = [0, 1, 2, 3]
# A level stored as a float (2.0 from a JSON serializer, or 1.5) is still a number.
TICKET_LEVELS = st.one_of(st.sampled_from(LEVELS), st.sampled_from([2.0, 1.5]))
REGIONS = ["EU", "US", "APAC", "eu"]
# `custom.` fields have no declared kind: the same field holds a number or a text.
SCORES = st.one_of(st.sampled_from([0, 3, 7, 2.5]), st.sampled_from(["3", "high", ""]))
# Free text with the characters a translator must escape; never `{{`/`}}` outside a template
# (zflow has no way to write them literally, and a legacy text would be ambiguous too).
TRICKY = st.text(alphabet='ab "\'\\\n\r\t{}#é', max_size=6).filter(
    lambda s: "{{" not in s and "}}" not in s)
TITLE = st.one_of(st.sampled_from(TITLES), TRICKY)
PIECES = ["Urgent: ", 'said "hi" ', "C:\\temp\\", "100% ", "line\nbreak ", "tab\t", "é ",
          "{x} ", "# not a comment ", "'single' "]
TEMPLATES = ["{{ticket.subject}}", "{{ ticket.subject }}", "{{ticket.priority}}",
             "{{ticket.status}}", "{{ticket.tags}}", "{{ticket.escalationLevel}}",
             "{{ticket.team}}", "{{ticket.agent}}", "{{ticket.category}}", "{{ticket.id}}",
             "{{ticket.custom.region}}", "{{ticket.custom.score}}", "{{ticket.custom.vip}}"]


def _clean_text(text: str) -> bool:
    """No brace run a template could swallow: `{{`/`}}` only as the templates themselves."""
    bare = TEMPLATE.sub("\0", text)
    return "{{" not in bare and "}}" not in bare and "{\0" not in bare and "\0}" not in bare


MESSAGE = st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from(TEMPLATES), TRICKY),
                   max_size=4).map("".join).filter(_clean_text)

# The ticket fields a rule may read, each with its values (drawn from a small vocabulary so that
# conditions often hold) and the operators that make sense for it.
TEXTUAL = ["is", "is_not", "includes", "not_includes", "contains", "not_contains", "starts_with",
           "ends_with", "less_than", "less_than_or_equal", "greater_than", "greater_than_or_equal"]
ENUM = ["is", "is_not", "includes", "not_includes"]
NUMERIC = ["is", "is_not", "includes", "not_includes", "less_than", "less_than_or_equal",
           "greater_than", "greater_than_or_equal"]
ALWAYS = ["present", "blank", "changed", "changed_to", "changed_from"]
FIELDS: dict[str, tuple[st.SearchStrategy[Any], list[str]]] = {
    "priority": (st.sampled_from(PRIORITIES), ENUM + ALWAYS),
    "status": (st.sampled_from(STATUSES), ENUM + ALWAYS),
    "category": (st.sampled_from(CATEGORIES), TEXTUAL + ALWAYS),
    "team": (st.sampled_from(TEAMS), ["is", "is_not", "includes", "starts_with", "contains",
                                      *ALWAYS]),
    "agent": (st.sampled_from(AGENTS), ["is", "is_not", "not_includes", "ends_with", *ALWAYS]),
    "subject": (TITLE, TEXTUAL + ALWAYS),
    "escalationLevel": (st.one_of(st.sampled_from(LEVELS), st.sampled_from([2.0, 1.5, -1, 1e-05, 1e16])),
                        NUMERIC + ALWAYS),
    "custom.region": (st.sampled_from(REGIONS), TEXTUAL + ALWAYS),
    "custom.score": (SCORES, [*NUMERIC, "contains", "starts_with", *ALWAYS]),
    "custom.vip": (st.booleans(), ["is", "is_not", *ALWAYS]),
}
SUBSTRINGS: dict[str, st.SearchStrategy[str]] = {
    "category": st.sampled_from(["Net", "work", "Id", "ware", "x", "A"]),
    "team": st.sampled_from(["Net", "IAM", "Desk", "IT"]),
    "agent": st.sampled_from(["n", "b", "7", "ann"]),
    "subject": st.one_of(st.sampled_from(["VPN", "vpn", '"', "\\", "'", "\n", "down", "{"]),
                         TRICKY),
    "custom.region": st.sampled_from(["E", "U", "eu", "PAC"]),
    "custom.score": st.sampled_from(["3", "hi", "h"]),
}
TICKET_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "title": TITLE,
    "priority": st.sampled_from(PRIORITIES),
    "status": st.sampled_from(STATUSES),
    "category": st.sampled_from(CATEGORIES),
    "team": st.sampled_from(TEAMS),
    "agent": st.sampled_from(AGENTS),
    "tags": st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
    "escalationLevel": TICKET_LEVELS,
    "custom": st.fixed_dictionaries({}, optional={"region": st.sampled_from(REGIONS),
                                                  "score": SCORES, "vip": st.booleans()}),
}


@st.composite
def tickets(draw: st.DrawFn) -> Ticket:
    ticket: Ticket = {"id": draw(st.sampled_from(["T-1", "T-1042"]))}
    for field, values in TICKET_FIELDS.items():
        roll = draw(st.integers(0, 19))
        if roll >= 4:             # a field is missing one time in five, null one time in ten
            ticket[field] = draw(values)
        elif roll >= 2:
            ticket[field] = None  # null reads as a missing field does (language.md)
    return ticket


@st.composite
def previous_of(draw: st.DrawFn, ticket: Ticket) -> Ticket:
    """The ticket before the change: a few fields different or missing."""
    before = copy.deepcopy(ticket)
    for field, values in TICKET_FIELDS.items():
        roll = draw(st.integers(0, 9))
        if roll < 4:
            before[field] = draw(values)
        elif roll == 4:
            before.pop(field, None)
    return before


def _near(draw: st.DrawFn, values: st.SearchStrategy[Any], actual: Any, often: bool = True) -> Any:
    """A value from the vocabulary or the one the ticket has: mostly that (so that rules fire)
    when `often`, else now and then (for `is_not`, which it makes false)."""
    if actual is not None and not isinstance(actual, list) and (
            draw(st.integers(0, 3)) > 0) is often:
        return actual
    return draw(values)


@st.composite
def conditions(draw: st.DrawFn, ticket: Ticket, previous: Ticket | None) -> dict[str, Any]:
    field = draw(st.sampled_from([*FIELDS, "tags"]))
    now, before = read_field(ticket, field), read_field(previous, field)
    if field == "tags":
        ops = ["contains", "not_contains", "present", "blank", "changed"]
        op = draw(st.sampled_from(ops if previous else ops[:4]))
        cond: dict[str, Any] = {"field": "tags", "operator": op}
        if op in ("contains", "not_contains"):
            have = now if isinstance(now, list) and now else TAGS
            cond["value"] = draw(st.sampled_from(TAGS) | st.sampled_from(have))
        return cond
    values, ops = FIELDS[field]
    if previous is None and draw(st.integers(0, 3)) > 0:   # `changed*` is always false here
        ops = [op for op in ops if not op.startswith("changed")]
    op = draw(st.sampled_from(ops))
    cond = {"field": field, "operator": op}
    if op in ("includes", "not_includes"):
        items = draw(st.lists(values, min_size=1, max_size=3))
        if now is not None and (draw(st.integers(0, 3)) > 0) is (op == "includes"):
            items.insert(draw(st.integers(0, len(items))), now)
        cond["value"] = items
    elif op in ("contains", "not_contains", "starts_with", "ends_with"):
        value = draw(SUBSTRINGS.get(field, values))
        if isinstance(now, str) and draw(st.integers(0, 3)) > 0:
            i = draw(st.integers(0, len(now)))
            j = draw(st.integers(i, len(now)))
            value = {"starts_with": now[:j], "ends_with": now[i:]}.get(op, now[i:j])
        cond["value"] = value
    elif op in ("present", "blank", "changed"):
        pass
    elif op == "is" and draw(st.integers(0, 19)) == 0:
        cond["value"] = None      # `is null`: holds on a missing field
    elif op == "changed_from":
        cond["value"] = _near(draw, values, before)
    else:
        cond["value"] = _near(draw, values, now, op != "is_not")
    return cond


def _words(kind: str, values: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda v: {"type": kind, "value": v}, st.sampled_from(values))


SET_FIELD = st.one_of(
    st.builds(lambda v: {"type": "set_field", "field": "priority", "value": v},
              st.sampled_from(PRIORITIES)),
    st.builds(lambda v: {"type": "set_field", "field": "category", "value": v},
              st.sampled_from(CATEGORIES)),
    st.builds(lambda v: {"type": "set_field", "field": "subject", "value": v}, TITLE),
    st.builds(lambda v: {"type": "set_field", "field": "description", "value": v}, MESSAGE),
    st.builds(lambda v: {"type": "set_field", "field": "team", "value": v}, st.sampled_from(TEAMS)),
    st.builds(lambda v: {"type": "set_field", "field": "escalationLevel", "value": v},
              TICKET_LEVELS),
    st.builds(lambda v: {"type": "set_field", "field": "custom.region", "value": v},
              st.sampled_from(REGIONS)),
    st.builds(lambda v: {"type": "set_field", "field": "custom.score", "value": v}, SCORES),
)
ACTIONS = st.one_of(
    SET_FIELD,
    _words("assign_team", TEAMS),
    _words("assign_agent", AGENTS),
    _words("set_status", STATUSES),
    st.builds(lambda v: {"type": "add_internal_note", "value": v}, MESSAGE),
    st.builds(lambda v: {"type": "post_reply", "value": v}, MESSAGE),
    st.builds(lambda v: {"type": "add_tags", "value": v},
              st.lists(st.sampled_from(TAGS), min_size=1, max_size=2)),
    st.builds(lambda v: {"type": "remove_tags", "value": v},
              st.lists(st.sampled_from(TAGS), min_size=1, max_size=2)),
    st.just({"type": "escalate"}),
    st.builds(lambda v: {"type": "escalate", "value": v}, st.sampled_from([1, 2, 3, 2.5, 1e-05])),
    st.builds(lambda to, s, b: {"type": "notify_email", "to": to, "subject": s, "body": b},
              st.sampled_from(["desk@example.com", "o'neil@example.com"]), MESSAGE, MESSAGE),
    st.builds(lambda c, m: {"type": "notify_slack", "channel": c, "message": m},
              st.sampled_from(["#incidents", "#ops"]), MESSAGE),
    st.builds(lambda c, m: {"type": "notify_teams", "channel": c, "message": m},
              st.sampled_from(["Major Incidents", "Desk"]), MESSAGE),
    st.builds(lambda e, p: {"type": "call_webhook", "endpoint": e, "payload": p},
              st.sampled_from(["pagerduty", "statuspage"]), MESSAGE),
)


@st.composite
def holding(draw: st.DrawFn, ticket: Ticket, previous: Ticket | None) -> dict[str, Any]:
    """A condition that holds on the ticket as the event brings it, when one of 3 tries does."""
    for _ in range(2):
        cond = draw(conditions(ticket, previous))
        if condition_holds(cond, ticket, previous):
            return cond
    return draw(conditions(ticket, previous))


@st.composite
def rules(draw: st.DrawFn, event_name: str, index: int, ticket: Ticket,
          previous: Ticket | None) -> Rule:
    other = draw(st.integers(0, 14)) == 0      # now and then a rule of another event
    # Half the rules are meant to fire (their conditions are drawn until they hold), so that
    # most examples run actions and chains; earlier rules' changes may still stop them.
    cond = holding(ticket, previous) if draw(st.booleans()) else conditions(ticket, previous)
    return {
        "id": f"ar_{index}",
        "title": draw(st.one_of(st.sampled_from(["Route urgent", "Tag VIPs"]), TITLE)),
        "active": draw(st.integers(0, 9)) > 0,
        "position": draw(st.integers(0, 3)),
        "event": draw(st.sampled_from([e for e in EVENTS if e != event_name])) if other
        else event_name,
        "conditions": {"all": draw(st.lists(cond, max_size=2)),
                       "any": draw(st.lists(cond, max_size=2))},
        "actions": draw(st.lists(ACTIONS, min_size=1, max_size=3)),
    }


CHAINABLE = {"team": ("assign_team", TEAMS), "agent": ("assign_agent", AGENTS),
             "status": ("set_status", STATUSES), "priority": ("set_field", PRIORITIES)}


@st.composite
def chained(draw: st.DrawFn, rule_list: list[Rule]) -> None:
    """Make a later-running rule read a field an earlier one writes (or a tag, or the level)."""
    first, second = draw(st.permutations(range(len(rule_list))).map(lambda p: p[:2]))
    writer, reader = rule_list[first], rule_list[second]
    what = draw(st.sampled_from([*CHAINABLE, "tags", "escalationLevel"]))
    if what == "tags":
        tag = draw(st.sampled_from(TAGS))
        writer["actions"].append({"type": draw(st.sampled_from(["add_tags", "remove_tags"])),
                                  "value": [tag]})
        cond: dict[str, Any] = {"field": "tags",
                                "operator": draw(st.sampled_from(["contains", "not_contains"])),
                                "value": tag}
    elif what == "escalationLevel":
        writer["actions"].append({"type": "escalate"})
        cond = {"field": "escalationLevel",
                "operator": draw(st.sampled_from(["greater_than_or_equal", "is", "changed"]))}
        if cond["operator"] != "changed":
            cond["value"] = draw(st.sampled_from([1, 2]))
    else:
        kind, values = CHAINABLE[what]
        value = draw(st.sampled_from(values))
        action = {"type": kind, "value": value}
        if kind == "set_field":
            action["field"] = what
        writer["actions"].append(action)
        op = draw(st.sampled_from(["is", "is_not", "changed", "changed_to", "changed_from"]))
        cond = {"field": what, "operator": op, "value": value}
        if op == "changed":
            del cond["value"]
    reader["conditions"]["all"].insert(0, cond)
    # Usually the writer runs first; sometimes last, to check the reader does NOT see it.
    if draw(st.integers(0, 3)) > 0:
        writer["position"], reader["position"] = min(writer["position"], reader["position"]), max(
            writer["position"], reader["position"])


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    # Mostly the two events of the issue; the other ticket events translate the same way.
    event_name = draw(st.sampled_from(EVENTS[:2]) | st.sampled_from(EVENTS[2:]))
    ticket = draw(tickets())
    previous = draw(previous_of(ticket)) if event_name in WITH_PREVIOUS else None
    rule_list = [draw(rules(event_name, i + 1, ticket, previous))
                 for i in range(draw(st.integers(1, 4)))]
    if len(rule_list) > 1 and draw(st.booleans()):
        draw(chained(rule_list))
    doc: list[Rule] | Rule = rule_list
    if len(rule_list) == 1 and draw(st.booleans()):
        doc = rule_list[0]                       # a file may hold one rule instead of a list
    return {"rules": doc, "event": event_name, "ticket": ticket, "previous": previous}

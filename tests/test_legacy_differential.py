"""Legacy rules, translated to zflow and dry-run, do what the legacy oracle says they did."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, event, example, given, note, settings

from compiler.legacy import LegacyError

from .legacy_generators import cases
from .legacy_oracle import Outcome, Rule, Ticket, legacy_outcome, translated_outcome

# The law and the oracle are described in tests/legacy_oracle.py.


def check_case(case: dict[str, Any]) -> None:
    doc, event_name, ticket, previous = case["rules"], case["event"], case["ticket"], case["previous"]
    rule_list = doc if isinstance(doc, list) else [doc]
    expected, fired = legacy_outcome(rule_list, event_name, ticket, previous)
    event(f"rules fired: {min(len(fired), 2)}{'+' if len(fired) >= 2 else ''}")
    note(f"event = {event_name}\nticket = {ticket!r}\nprevious = {previous!r}")
    note("rules = " + json.dumps(doc, indent=1, ensure_ascii=False))
    got, text = translated_outcome(doc, event_name, ticket, previous)
    note("translated zflow:\n" + text)
    note(f"legacy fired: {fired}\nlegacy outcome:  {expected!r}\ndry-run outcome: {got!r}")
    assert got == expected


# -- the property ---------------------------------------------------------------------------------
INTERFACES_RULE: Rule = {
    "id": "ar_1042", "title": "Route urgent network tickets", "active": True, "position": 3,
    "event": "ticket.created",
    "conditions": {"all": [{"field": "priority", "operator": "is", "value": "urgent"}],
                   "any": [{"field": "category", "operator": "includes",
                            "value": ["Network", "Identity"]}]},
    "actions": [{"type": "set_field", "field": "team", "value": "Network"},
                {"type": "add_internal_note", "value": "Auto-routed"},
                {"type": "notify_slack", "channel": "#incidents",
                 "message": "Urgent: {{ticket.subject}}"}]}


@settings(max_examples=2000, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases())
@example(case={"rules": INTERFACES_RULE, "event": "ticket.created", "previous": None,
               "ticket": {"id": "T-1", "title": 'VPN "down"', "priority": "urgent",
                          "category": "Identity"}})
@example(case={"event": "ticket.created", "ticket": {"id": "T-1", "tags": None}, "previous": None,
               "rules": [{"id": "ar_1", "title": "null tags", "active": True, "position": 0,
                          "event": "ticket.created", "conditions": {"all": [], "any": []},
                          "actions": [{"type": "add_tags", "value": ["vip"]},
                                      {"type": "notify_slack", "channel": "#incidents",
                                       "message": "{{ticket.tags}}"}]}]})
def test_translated_rules_agree_with_legacy_semantics(case: dict[str, Any]) -> None:
    check_case(case)


# -- explicit examples: the oracle against hand-written outcomes, then the translation ----------
def expect(rules_doc: list[Rule] | Rule, event_name: str, ticket: Ticket, previous: Ticket | None,
           outcome: Outcome) -> None:
    rule_list = rules_doc if isinstance(rules_doc, list) else [rules_doc]
    assert legacy_outcome(rule_list, event_name, ticket, previous)[0] == outcome
    got, text = translated_outcome(rules_doc, event_name, ticket, previous)
    assert got == outcome, text


def test_interfaces_rule_fires_on_an_urgent_network_ticket() -> None:
    ticket = {"id": "T-9", "title": "Core switch down", "priority": "urgent", "category": "Network"}
    expect(INTERFACES_RULE, "ticket.created", ticket, None, {
        "ticket": {**ticket, "team": "Network"},
        "outputs": [("note", "Auto-routed"), ("slack", "#incidents", "Urgent: Core switch down")]})


def test_interfaces_rule_needs_one_any_condition() -> None:
    ticket = {"id": "T-9", "title": "Printer", "priority": "urgent", "category": "Hardware"}
    expect(INTERFACES_RULE, "ticket.created", ticket, None, {"ticket": ticket, "outputs": []})
    # ... and only on its own event
    urgent = {**ticket, "category": "Network"}
    expect(INTERFACES_RULE, "ticket.updated", urgent, ticket, {"ticket": urgent, "outputs": []})


def _rule(rid: str, position: int, all_: list[dict[str, Any]], actions: list[dict[str, Any]],
          event_name: str = "ticket.created", active: bool = True) -> Rule:
    return {"id": rid, "title": rid, "active": active, "position": position, "event": event_name,
            "conditions": {"all": all_, "any": []}, "actions": actions}


def test_a_rule_sees_what_rules_of_lower_position_did() -> None:
    # Written in the file in the opposite order: `position`, not file order, decides.
    reader = _rule("reader", 2, [{"field": "team", "operator": "is", "value": "IAM"}],
                   [{"type": "post_reply", "value": "{{ticket.team}} has it: {{ticket.subject}}"}])
    writer = _rule("writer", 1, [{"field": "category", "operator": "is", "value": "Access"}],
                   [{"type": "assign_team", "value": "IAM"},
                    {"type": "set_field", "field": "subject", "value": "Access request"}])
    ticket = {"id": "T-2", "title": "door", "category": "Access"}
    expect([reader, writer], "ticket.created", ticket, None, {
        "ticket": {**ticket, "team": "IAM", "title": "Access request"},
        "outputs": [("reply", "IAM has it: Access request")]})


def test_a_rule_does_not_see_what_later_rules_do() -> None:
    reader = _rule("reader", 1, [{"field": "tags", "operator": "contains", "value": "vip"}],
                   [{"type": "escalate"}])
    writer = _rule("writer", 5, [], [{"type": "add_tags", "value": ["vip"]}])
    ticket = {"id": "T-3", "title": "x", "tags": []}
    expect([writer, reader], "ticket.created", ticket, None,
           {"ticket": {**ticket, "tags": ["vip"]}, "outputs": []})


def test_equal_positions_run_in_file_order_and_inactive_rules_not_at_all() -> None:
    first = _rule("first", 1, [], [{"type": "escalate"},
                                   {"type": "add_internal_note", "value": "L{{ticket.escalationLevel}}"}])
    off = _rule("off", 0, [], [{"type": "set_status", "value": "resolved"}], active=False)
    second = _rule("second", 1, [{"field": "escalationLevel", "operator": "is", "value": 2}],
                   [{"type": "escalate", "value": 3},
                    {"type": "add_internal_note", "value": "L{{ticket.escalationLevel}}"}])
    ticket = {"id": "T-4", "title": "x", "escalationLevel": 1, "status": "open"}
    expect([first, off, second], "ticket.created", ticket, None, {
        "ticket": {**ticket, "escalationLevel": 3}, "outputs": [("note", "L2"), ("note", "L3")]})


def test_changed_compares_with_the_ticket_before_the_event() -> None:
    # The first rule puts the status back to what it was: for the second, it has not changed.
    undo = _rule("undo", 1, [{"field": "status", "operator": "changed_to", "value": "open"}],
                 [{"type": "set_status", "value": "new"}], "ticket.updated")
    watch = _rule("watch", 2, [{"field": "status", "operator": "changed"}],
                  [{"type": "add_internal_note", "value": "status changed"}], "ticket.updated")
    moved = _rule("moved", 3, [{"field": "priority", "operator": "changed_from", "value": "low"}],
                  [{"type": "notify_teams", "channel": "Desk", "message": "{{ticket.priority}}"}],
                  "ticket.updated")
    ticket = {"id": "T-5", "title": "x", "status": "open", "priority": "high"}
    previous = {"id": "T-5", "title": "x", "status": "new", "priority": "low"}
    expect([undo, watch, moved], "ticket.updated", ticket, previous, {
        "ticket": {**ticket, "status": "new"}, "outputs": [("teams", "Desk", "high")]})


def test_missing_fields_follow_the_null_rules() -> None:
    conds: list[dict[str, Any]] = [{"field": "agent", "operator": "is_not", "value": "ann"},
                                   {"field": "agent", "operator": "not_includes", "value": ["ann"]},
                                   {"field": "subject", "operator": "not_contains", "value": "x"},
                                   {"field": "team", "operator": "blank"},
                                   {"field": "category", "operator": "is", "value": None}]
    holds = _rule("holds", 1, conds, [{"type": "add_tags", "value": ["a"]}])
    never = [_rule(f"never-{op}", 2, [{"field": "escalationLevel", "operator": op,
                                       "value": [1] if op == "includes" else 1}],
                   [{"type": "add_tags", "value": [op]}])
             for op in ("is", "less_than", "greater_than_or_equal", "includes")]
    never.append(_rule("never-contains", 2, [{"field": "subject", "operator": "contains",
                                              "value": ""}], [{"type": "add_tags", "value": ["c"]}]))
    never.append(_rule("never-present", 2, [{"field": "agent", "operator": "present"}],
                       [{"type": "add_tags", "value": ["p"]}]))
    ticket = {"id": "T-6"}
    expect([holds, *never], "ticket.created", ticket, None,
           {"ticket": {"id": "T-6", "tags": ["a"]}, "outputs": []})


def test_escalate_raises_a_float_level_by_one() -> None:
    # language.md: `escalate` raises `escalationLevel` by one; 2.0 is the number 2.
    rule = _rule("esc", 1, [], [{"type": "escalate"},
                                {"type": "add_internal_note", "value": "L{{ticket.escalationLevel}}"}])
    for level, after in ((2.0, "L3"), (1.5, "L2.5")):
        ticket = {"id": "T-7", "title": "x", "escalationLevel": level}
        expect(rule, "ticket.created", ticket, None, {
            "ticket": {**ticket, "escalationLevel": level + 1}, "outputs": [("note", after)]})


# Legacy rules that are valid legacy JSON (docs/legacy.md) but hold values zflow writes differently or
# refuses (numbers in exponent form, texts outside a field's fixed set, values of another kind,
# unknown template fields). docs/legacy.md: a bad rule is a LegacyError naming the rule; nothing
# is half-translated. So translate() must either refuse the rule, or give zflow that compiles
# and does what the legacy rule does. Text that does not compile is neither.
def _level_rule(op: str, value: Any) -> Rule:
    return _rule("ar_odd", 1, [{"field": "escalationLevel", "operator": op, "value": value}],
                 [{"type": "add_tags", "value": ["hit"]}], "ticket.updated")


UNUSUAL: dict[str, Rule] = {
    "number in exponent form (1e-05)": _level_rule("greater_than", 1e-05),
    "large number in exponent form (1e16)": _level_rule("less_than", 1e16),
    "number of 20 digits": _level_rule("less_than", 10**20),
    "escalate to 1e-05": _rule("ar_odd", 1, [], [{"type": "escalate", "value": 1e-05}], "ticket.updated"),
    "priority is_not a text outside the priorities": _rule(
        "ar_odd", 1, [{"field": "priority", "operator": "is_not", "value": "Urgent"}],
        [{"type": "add_tags", "value": ["hit"]}], "ticket.updated"),
    "status changed_to a text outside the statuses": _rule(
        "ar_odd", 1, [{"field": "status", "operator": "changed_to", "value": "done"}],
        [{"type": "add_tags", "value": ["hit"]}], "ticket.updated"),
    "set_status to a text outside the statuses": _rule(
        "ar_odd", 1, [], [{"type": "set_status", "value": "done"}], "ticket.updated"),
    "subject is_not a number": _rule(
        "ar_odd", 1, [{"field": "subject", "operator": "is_not", "value": 3}],
        [{"type": "add_tags", "value": ["hit"]}], "ticket.updated"),
    "escalationLevel contains a text": _level_rule("contains", "2"),
    "set_field escalationLevel to a text": _rule(
        "ar_odd", 1, [], [{"type": "set_field", "field": "escalationLevel", "value": "2"}],
        "ticket.updated"),
    "template of an unknown field": _rule(
        "ar_odd", 1, [], [{"type": "add_internal_note", "value": "[{{ticket.foo}}]"}], "ticket.updated"),
}


def test_unusual_values_are_refused_or_translated_faithfully() -> None:
    ticket = {"id": "T-8", "title": "x", "priority": "high", "status": "open", "escalationLevel": 2}
    previous = {**ticket, "priority": "low", "status": "new"}
    broken = []
    for name, rule in UNUSUAL.items():
        try:
            got, _ = translated_outcome([rule], "ticket.updated", ticket, previous)
        except LegacyError as exc:
            if "ar_odd" not in str(exc):
                broken.append(f"{name}: refused without naming the rule: {exc}")
            continue                                      # refused, naming the rule: fine
        except Exception as exc:                          # translated, but not runnable
            broken.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        expected, _ = legacy_outcome([rule], "ticket.updated", ticket, previous)
        if got != expected:
            broken.append(f"{name}: ran, but {got} != {expected}")
    assert not broken, "translate() gave zflow that is wrong or does not compile:\n" + "\n".join(broken)


def test_a_tag_added_to_null_tags_is_there() -> None:
    # A ticket whose `tags` is null (as a serializer may write an empty list): null reads as a
    # missing field, and adding a tag to a ticket without tags gives it that tag.
    add = _rule("add", 1, [], [{"type": "add_tags", "value": ["vip"]}])
    seen = _rule("seen", 2, [{"field": "tags", "operator": "contains", "value": "vip"}],
                 [{"type": "post_reply", "value": "tags: {{ticket.tags}}"}])
    for ticket in ({"id": "T-9"}, {"id": "T-9", "tags": None}):
        expect([add, seen], "ticket.created", ticket, None, {
            "ticket": {"id": "T-9", "tags": ["vip"]}, "outputs": [("reply", "tags: vip")]})

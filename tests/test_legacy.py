"""Legacy AutomationRules: translation, position order, checks naming the rule, the CLI, bulk files."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_source, compile_text
from compiler.legacy import ACTIONS, LegacyError, load_rules, translate, translate_rule
from compiler.legacy import OPERATORS as ALL_OPERATORS
from runtime import dry_run
from zentra_rules.interfaces.cli import main

LEGACY = Path(__file__).resolve().parent.parent / "examples" / "legacy"
EXAMPLE: dict[str, Any] = json.loads((LEGACY / "route-urgent.json").read_text(encoding="utf-8"))
DESK: list[dict[str, Any]] = json.loads((LEGACY / "desk-rules.json").read_text(encoding="utf-8"))
Act = tuple[str, str, Any, dict[str, Any]]


def runs(text: str, ticket: dict[str, Any], event: str = "ticket.created",
         previous: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return list(dry_run(compile_source(text, "legacy.zflow"), event, ticket, previous)["runs"])


def acts(text: str, ticket: dict[str, Any], event: str = "ticket.created",
         previous: dict[str, Any] | None = None) -> list[Act]:
    return [(a["verb"], a["object"], a.get("value"), a["params"])
            for r in runs(text, ticket, event, previous) for a in r["actions"]]


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def rule(rid: str, position: int, conditions: list[dict[str, Any]], actions: list[dict[str, Any]],
         **extra: Any) -> dict[str, Any]:
    return {"id": rid, "title": f"rule {rid}", "position": position, "event": "ticket.created",
            "conditions": {"all": conditions}, "actions": actions, **extra}


def note(text: str) -> dict[str, Any]:
    return {"type": "add_internal_note", "value": text}


# -- the documented example (docs/legacy.md) -------------------------------------------------------
def test_the_interfaces_example_is_the_workflow_an_admin_would_write(tmp_path: Path) -> None:
    text = translate_rule(EXAMPLE)
    assert text == (
        "# Route urgent network tickets (legacy rule ar_1042, position 3)\n"
        'workflow "ar_1042"\n'
        "WHEN ticket.created\n"
        'WHERE priority = "urgent"\n'
        '  AND category in ["Network", "Identity"]\n'
        "THEN\n"
        '  set team = "Network"\n'
        '  add internal note = "Auto-routed"\n'
        '  notify slack = "#incidents", message = "Urgent: {{title}}"\n')
    assert compile_text(text, "route-urgent.zflow").diagnostics == []
    (tmp_path / "route-urgent.zflow").write_text(text, encoding="utf-8")
    code, out, err = cli("check", str(tmp_path / "route-urgent.zflow"))
    assert (code, err) == (0, "") and "ok (1 definition)" in out


@pytest.mark.parametrize("form", ["translate_rule", "translate"])
def test_the_interfaces_example_routes_exactly_like_the_legacy_rule(form: str) -> None:
    text = translate_rule(EXAMPLE) if form == "translate_rule" else translate([EXAMPLE])
    assert acts(text, {"priority": "urgent", "category": "Identity", "title": "SSO down"}) == [
        ("set", "team", "Network", {}),
        ("add", "internal note", "Auto-routed", {}),
        ("notify", "slack", "#incidents", {"message": "Urgent: SSO down"})]
    assert acts(text, {"priority": "urgent", "category": "Printing", "title": "Toner"}) == []
    assert acts(text, {"priority": "low", "category": "Network"}) == []
    assert acts(text, {"priority": "urgent", "category": "Network"}, "ticket.updated",
                {"priority": "low"}) == []


# -- every operator and every action type ----------------------------------------------------------
# (field, operator, value, the zflow test, a ticket it holds on, one it does not, event.previous)
OPERATORS: list[tuple[str, str, Any, str, dict[str, Any], dict[str, Any], dict[str, Any] | None]] = [
    ("priority", "is", "high", 'priority = "high"', {"priority": "high"}, {"priority": "low"}, None),
    ("priority", "is_not", "low", 'priority != "low"', {}, {"priority": "low"}, None),
    ("escalationLevel", "less_than", 2, "escalationLevel < 2", {"escalationLevel": 1},
     {"escalationLevel": 2}, None),
    ("escalationLevel", "less_than_or_equal", 2, "escalationLevel <= 2", {"escalationLevel": 2},
     {}, None),
    ("escalationLevel", "greater_than", 1.5, "escalationLevel > 1.5", {"escalationLevel": 2},
     {"escalationLevel": 1}, None),
    ("escalationLevel", "greater_than_or_equal", -1, "escalationLevel >= -1",
     {"escalationLevel": -1}, {"escalationLevel": -2}, None),
    ("category", "includes", ["Network", "Identity"], 'category in ["Network", "Identity"]',
     {"category": "Identity"}, {"category": "HR"}, None),
    ("category", "not_includes", ["HR"], 'category not in ["HR"]', {}, {"category": "HR"}, None),
    ("subject", "contains", "VPN", 'title contains "VPN"', {"title": "VPN down"},
     {"title": "vpn down"}, None),
    ("tags", "not_contains", "vip", 'NOT tags contains "vip"', {"tags": ["x"]},
     {"tags": ["vip"]}, None),
    ("subject", "starts_with", "Re: ", 'title starts with "Re: "', {"title": "Re: hi"},
     {"title": "hi"}, None),
    ("subject", "ends_with", "down", 'title ends with "down"', {"title": "VPN down"},
     {"title": "down!"}, None),
    ("agent", "present", None, "agent is not empty", {"agent": "ann"}, {"agent": ""}, None),
    ("team", "blank", None, "team is empty", {}, {"team": "IAM"}, None),
    ("status", "changed", None, "status changed", {"status": "open"}, {"status": "new"},
     {"status": "new"}),
    ("status", "changed_to", "open", 'status changed to "open"', {"status": "open"},
     {"status": "pending"}, {"status": "new"}),
    ("status", "changed_from", "new", 'status changed from "new"', {"status": "open"},
     {"status": "new"}, {"status": "new"}),
]


@pytest.mark.parametrize(("field", "op", "value", "zflow", "holds", "fails", "previous"), OPERATORS,
                         ids=[o[1] for o in OPERATORS])
def test_every_operator_translates_and_decides_like_legacy(
        field: str, op: str, value: Any, zflow: str, holds: dict[str, Any], fails: dict[str, Any],
        previous: dict[str, Any] | None) -> None:
    cond = {"field": field, "operator": op, **({} if value is None else {"value": value})}
    one = rule("op", 0, [cond], [note("fired")], event="ticket.updated")
    text = translate_rule(one)
    assert f"WHERE {zflow}\n" in text
    assert acts(text, holds, "ticket.updated", previous) == [("add", "internal note", "fired", {})]
    assert acts(text, fails, "ticket.updated", previous) == []
    assert acts(translate([one]), holds, "ticket.updated", previous) != []


def test_every_action_type_translates_and_acts() -> None:
    actions = [
        {"type": "set_field", "field": "custom.source", "value": "legacy"},
        {"type": "set_field", "field": "subject", "value": "[{{ticket.priority}}] {{ticket.subject}}"},
        {"type": "assign_team", "value": "Network"}, {"type": "assign_agent", "value": "ann"},
        {"type": "set_status", "value": "open"}, note("Team {{ticket.team}}"),
        {"type": "post_reply", "value": 'Hi "{{ ticket.subject }}"\n\\o/'},
        {"type": "add_tags", "value": ["vpn", "net"]}, {"type": "remove_tags", "value": "old"},
        {"type": "escalate"}, {"type": "escalate", "value": 3},
        {"type": "notify_email", "to": "a@example.com", "subject": "S {{ticket.id}}", "body": "B"},
        {"type": "notify_slack", "channel": "#c", "message": "m"},
        {"type": "notify_teams", "channel": "Desk", "message": "L{{ticket.escalationLevel}}"},
        {"type": "call_webhook", "endpoint": "crm", "payload": "{{ticket.id}}"},
        {"type": "call_webhook", "endpoint": "crm"}]
    text = translate_rule({"id": "all", "event": "ticket.created", "actions": actions})
    assert "WHERE" not in text
    for line in ['set custom.source = "legacy"', 'set title = "[{{priority}}] {{title}}"',
                 'assign team = "Network"', 'assign agent = "ann"', 'transition status = "open"',
                 'post reply = "Hi \\"{{title}}\\"\\n\\\\o/"', 'add tag = "vpn"', 'add tag = "net"',
                 'remove tag = "old"', "escalate\n", "escalate = 3",
                 'notify email = "a@example.com", subject = "S {{id}}", body = "B"',
                 'notify slack = "#c", message = "m"', 'call webhook = "crm", payload = "{{id}}"',
                 'call webhook = "crm"\n']:
        assert line in text
    ticket = {"id": "T-7", "title": "VPN down", "priority": "high", "tags": ["old"],
              "escalationLevel": 1}
    assert acts(text, ticket) == [
        ("set", "custom.source", "legacy", {}), ("set", "title", "[high] VPN down", {}),
        ("assign", "team", "Network", {}), ("assign", "agent", "ann", {}),
        ("transition", "status", "open", {}), ("add", "internal note", "Team Network", {}),
        ("post", "reply", 'Hi "[high] VPN down"\n\\o/', {}), ("add", "tag", "vpn", {}),
        ("add", "tag", "net", {}), ("remove", "tag", "old", {}), ("escalate", "ticket", None, {}),
        ("escalate", "ticket", 3, {}),
        ("notify", "email", "a@example.com", {"subject": "S T-7", "body": "B"}),
        ("notify", "slack", "#c", {"message": "m"}), ("notify", "teams", "Desk", {"message": "L3"}),
        ("call", "webhook", "crm", {"payload": "T-7"}), ("call", "webhook", "crm", {})]


def test_a_rule_without_conditions_or_actions_still_compiles() -> None:
    text = translate_rule({"id": "empty", "event": "ticket.sla_breached", "actions": []})
    assert "# this rule has no actions" in text
    assert runs(text, {}, "ticket.sla_breached")[0]["status"] == "completed"
    left_out = translate([{"id": "empty", "event": "ticket.created", "actions": []}])
    assert left_out.endswith("\n# left out (no actions): empty (position 0)\n")
    assert compile_source(left_out) == []


# -- legacy order: position, then file order; a later rule sees what an earlier one changed ---------
def test_a_later_rule_sees_the_changes_of_an_earlier_one_and_not_the_other_way() -> None:
    a = rule("A", 1, [], [{"type": "set_field", "field": "priority", "value": "urgent"}, note("A ran")])
    b = rule("B", 2, [{"field": "priority", "operator": "is", "value": "urgent"}], [note("B ran")])
    expected: list[Act] = [("set", "priority", "urgent", {}), ("add", "internal note", "A ran", {}),
                ("add", "internal note", "B ran", {})]
    assert acts(translate([a, b]), {"priority": "low"}) == expected
    assert acts(translate([b, a]), {"priority": "low"}) == expected   # position, not file order
    reversed_ = [{**a, "position": 2}, {**b, "position": 1}]
    assert acts(translate(reversed_), {"priority": "low"}) == expected[:2]


def test_equal_positions_keep_file_order_and_inactive_rules_are_left_out() -> None:
    rules = [rule("first", 1, [], [note("1")]), rule("off", 0, [], [note("off")], active=False),
             rule("second", 1, [], [note("2")]),
             rule("later", 1, [], [note("u")], event="ticket.updated")]
    text = translate(rules)
    assert "# left out (inactive): off: rule off (position 0)" in text
    assert re.findall(r"(?m)^workflow .*$", text) == ['workflow "legacy ticket.created"',
                                                       'workflow "legacy ticket.updated"']
    assert [a[2] for a in acts(text, {})] == ["1", "2"]
    only_inactive = translate([rules[1]])
    assert all(line.startswith("#") for line in only_inactive.splitlines())
    assert compile_source(only_inactive) == []


def test_the_desk_example_uses_every_operator_and_action_type() -> None:
    used_ops = {c["operator"] for r in DESK for group in r["conditions"].values() for c in group}
    assert used_ops == set(ALL_OPERATORS)
    assert {a["type"] for r in DESK for a in r["actions"]} == set(ACTIONS)
    assert {op for _, op, *_ in OPERATORS} == set(ALL_OPERATORS)


def test_the_desk_example_chains_rules_on_every_event() -> None:
    text = translate(DESK)
    assert compile_text(text, "desk-rules.zflow").plans
    # ar_2002 routes to Network, so ar_2004 (later) sees team = "Network" and tags the ticket.
    assert acts(text, {"id": "T-1", "title": "VPN down", "priority": "urgent", "status": "new"}) == [
        ("set", "team", "Network", {}),
        ("add", "internal note", "Auto-routed to Network (legacy rule ar_2002)", {}),
        ("notify", "slack", "#incidents", {"message": "Urgent: VPN down (T-1)"}),
        ("add", "tag", "network", {}), ("add", "tag", "triaged", {}),
        ("assign", "agent", "u_net_oncall", {})]
    # ar_2005 raises the level to 2, and ar_2006 (later) sees it.
    breached = acts(text, {"id": "T-2", "title": "Disk", "priority": "high", "escalationLevel": 1},
                    "ticket.sla_breached")
    assert [a[:3] for a in breached] == [
        ("escalate", "ticket", None), ("notify", "email", "desk-leads@example.com"),
        ("escalate", "ticket", 3), ("call", "webhook", "pagerduty"),
        ("notify", "teams", "Major Incidents")]
    assert breached[1][3]["body"] == "Disk is now at escalation level 2."
    assert acts(text, {"id": "T-3", "title": "Printer", "category": "Printing"}) == []  # inactive


# -- checks: every problem of every rule, named by id, index, path and value -----------------------
@pytest.mark.parametrize(("change", "words"), [
    ({"conditions": {"all": [{"field": "priority", "operator": "between", "value": 1}]}},
     ["conditions.all[0].operator", 'unknown operator "between"']),
    ({"conditions": {"any": [{"field": "priority", "operator": "iss", "value": "low"}]}},
     ['conditions.any[0].operator: unknown operator "iss"; did you mean "is"?']),
    ({"actions": [{"type": "send_fax", "value": "x"}]}, ['actions[0].type', '"send_fax"']),
    ({"conditions": {"all": [{"field": "priorty", "operator": "is", "value": "x"}]}},
     ['conditions.all[0].field: unknown ticket field "priorty"; did you mean "priority"?']),
    ({"conditions": {"any": [{"field": "category", "operator": "includes", "value": "Net"}]}},
     ['conditions.any[0].value: "includes" needs a list of values, got "Net"']),
    ({"conditions": {"all": [{"field": "category", "operator": "is", "value": ["a"]}]}},
     ['conditions.all[0].value', 'got ["a"]']),
    ({"conditions": {"all": [{"field": "category", "operator": "is"}]}},
     ['conditions.all[0].value: missing']),
    ({"actions": [{"type": "notify_email", "to": "a@example.com"}]},
     ["actions[0].subject: missing", "actions[0].body: missing"]),
    ({"actions": [{"type": "notify_slack", "channel": "#a", "mesage": "m"}]},
     ['actions[0].mesage: unknown key "mesage"', 'did you mean "message"?']),
    ({"actions": [{"type": "escalate", "value": "high"}]}, ['actions[0].value', '"high"']),
    ({"actions": [{"type": "add_tags", "value": []}]}, ["actions[0].value", "got []"]),
    ({"actions": [{"type": "set_field", "field": "id", "value": "T-1"}]}, ['"id" is read-only']),
    ({"event": "ticket.create"}, ['event: unknown event "ticket.create"; did you mean '
                                  '"ticket.created"?']),
    ({"position": "3"}, ['position: must be a whole number, got "3"']),
    ({"active": "yes"}, ['active: must be true or false, got "yes"']),
    # What only the compiler knows, reported against the rule's JSON all the same.
    ({"conditions": {"all": [{"field": "priority", "operator": "is", "value": "urgnet"}]}},
     ['conditions.all[0].value: "urgnet" is not a valid priority; did you mean "urgent"?']),
    ({"actions": [{"type": "set_field", "field": "escalationLevel", "value": "3"}]},
     ["actions[0].value: type mismatch", '(got "3")']),
    ({"actions": [{"type": "set_status", "value": "closd"}]},
     ['actions[0].value: "closd" is not a valid status; did you mean "closed"?']),
    ({"actions": [note("{{ticket.requester.emial}}")]},
     ["actions[0].value: unknown field `emial` on user; did you mean `email`?"]),
    ({"actions": [note("Hi {{ticket.sujbect}}")]},
     ['actions[0].value: unknown ticket field "sujbect"', 'did you mean "subject"?']),
    ({"actions": [note("{{requester}} {{{ticket.id}}")]},
     ["actions[0].value: `{{` may appear only in a `{{ticket.FIELD}}` template"]),
    ({"conditions": {"all": [{"field": "subject", "operator": "is", "value": "{{x}}"}]}},
     ["conditions.all[0].value: a compared value cannot contain `{{`"]),
    ({"actions": [{"type": "escalate", "value": 1e19}]}, ["actions[0].value", "too large"]),
])
def test_a_bad_rule_is_named_with_its_index_path_and_value(change: dict[str, Any],
                                                           words: list[str]) -> None:
    with pytest.raises(LegacyError) as caught:
        load_rules([{**EXAMPLE, "id": "ok"}, {**EXAMPLE, **change}])
    message = str(caught.value)
    assert message.splitlines()[0] == "1 of 2 rules cannot be translated (nothing was translated):"
    assert all(p.startswith("rule ar_1042 (index 1): ") for p in caught.value.problems)
    for word in words:
        assert word in message


def test_every_problem_of_every_rule_is_listed_and_nothing_is_translated() -> None:
    bad = [{"title": 4, "event": "ticket.created", "actions": [{"type": "escalate"}]},
           EXAMPLE, {**EXAMPLE},
           {**EXAMPLE, "id": "ar_9", "colour": "red",
            "conditions": {"all": [{"field": "priority", "operator": "between", "value": 1},
                                   {"field": "priority", "operator": "is", "value": "urgnet"}]},
            "actions": [{"type": "notify_slack", "channel": 5, "message": "m"}]}]
    with pytest.raises(LegacyError) as caught:
        translate(bad)
    assert caught.value.problems == [
        "rule #0 (index 0): id: a non-empty text is required, got null",
        "rule #0 (index 0): title: must be text, got 4",
        'rule ar_1042 (index 2): id: duplicate id "ar_1042": rule index 1 has it too',
        'rule ar_9 (index 3): colour: unknown key "colour" in a rule; it takes id, title, active, '
        "position, event, conditions, actions",
        'rule ar_9 (index 3): conditions.all[0].operator: unknown operator "between"; operators: '
        "is, is_not, less_than, less_than_or_equal, greater_than, greater_than_or_equal, includes, "
        "not_includes, contains, not_contains, starts_with, ends_with, present, blank, changed, "
        "changed_to, changed_from",
        "rule ar_9 (index 3): actions[0].channel: must be text, got 5",
        'rule ar_9 (index 3): conditions.all[1].value: "urgnet" is not a valid priority; '
        'did you mean "urgent"? (got "urgnet")']
    assert str(caught.value).splitlines()[0].startswith("3 of 4 rules cannot be translated")
    with pytest.raises(LegacyError, match="one rule"):
        translate_rule([EXAMPLE])  # type: ignore[arg-type]


def test_defaults_are_filled_and_null_means_missing() -> None:
    (got,) = load_rules({"id": "r", "title": None, "active": None, "position": None,
                         "event": "ticket.created", "conditions": {"all": None}, "actions": [
                             {"type": "call_webhook", "endpoint": "crm", "payload": None}]})
    assert got == {"id": "r", "title": "", "active": True, "position": 0, "event": "ticket.created",
                   "conditions": {"all": [], "any": []},
                   "actions": [{"type": "call_webhook", "endpoint": "crm", "payload": None}]}
    assert 'call webhook = "crm"\n' in translate_rule(got)
    assert load_rules([]) == []


# -- the command line ------------------------------------------------------------------------------
def test_the_cli_translates_one_rule_or_a_list(tmp_path: Path) -> None:
    code, out, err = cli("translate", "--check", str(LEGACY / "route-urgent.json"))
    assert code == 0 and out == translate_rule(EXAMPLE)
    assert err.endswith("route-urgent.json: translated 1 rule into 1 workflow; 0 failed; "
                        "the translation compiles\n")
    code, out, err = cli("translate", "--check", str(LEGACY / "desk-rules.json"))
    assert code == 0 and out == translate(DESK) and out.startswith("# Translated from legacy")
    assert "translated 10 rules into 4 workflows; 0 failed" in err
    assert "warning: workflow \"legacy ticket.updated\" re-fires" in err   # reported, not fatal


def test_the_cli_refuses_bad_rules_bad_json_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({**EXAMPLE, "conditions": {"all": [
        {"field": "priority", "operator": "between", "value": 1}]}}))
    code, out, err = cli("translate", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (f"{path}: translated 0 rules into 0 workflows; 1 failed "
                                   "(of 1 rule; nothing is translated while a rule fails)")
    assert 'rule ar_1042 (index 0): conditions.all[0].operator: unknown operator "between"' in err
    path.write_text('[{"id": 1,')
    code, out, err = cli("translate", str(path))
    assert (code, out) == (1, "") and err == f"zentra: error: {path}:1:11: invalid JSON: Expecting " \
                                             "property name enclosed in double quotes\n"
    code, out, err = cli("translate", str(tmp_path / "missing.json"))
    assert (code, out, err) == (1, "", f"zentra: error: cannot read {tmp_path / 'missing.json'}: "
                                       "no such file\n")


OPS_FOR_BULK = [("priority", "is", "urgent"), ("category", "includes", ["Network", "Identity"]),
                ("subject", "contains", "VPN"), ("escalationLevel", "less_than", 3),
                ("agent", "blank", None), ("status", "changed_to", "open")]


def bulk(n: int) -> list[dict[str, Any]]:
    rules = []
    for i in range(n):
        field, op, value = OPS_FOR_BULK[i % len(OPS_FOR_BULK)]
        cond = {"field": field, "operator": op, **({} if value is None else {"value": value})}
        rules.append({"id": f"ar_{i}", "title": f"Generated rule {i}", "active": i % 10 != 0,
                      "position": (i * 7) % 50, "event": ["ticket.created", "ticket.updated"][i % 2],
                      "conditions": {"all": [cond]},
                      "actions": [copy.deepcopy(DESK[i % 9]["actions"][0])]})
    return rules


def test_a_thousand_rules_translate_or_none_do(tmp_path: Path) -> None:
    rules = bulk(1000)
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps(rules))
    code, out, err = cli("translate", str(path))
    assert code == 0
    assert err == f"{path}: translated 1000 rules into 2 workflows; 0 failed\n"
    assert out.count('workflow "legacy ') == 2 and len(re.findall(r"(?m)^  # rule ar_\d+:", out)) == 900
    assert out.count("# left out (inactive): ar_") == 100
    rules.insert(500, {**rules[3], "id": "ar_bad", "conditions": {"all": [
        {"field": "priority", "operator": "between", "value": ["low", "high"]}]}})
    rules[949]["conditions"]["all"][0]["value"] = "urgnet"   # found by compiling, late in the file
    path.write_text(json.dumps(rules))
    code, out, err = cli("translate", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{path}: translated 0 rules into 0 workflows; 2 failed (of 1001 rules; nothing is "
        "translated while a rule fails)",
        '  rule ar_bad (index 500): conditions.all[0].operator: unknown operator "between"; '
        "operators: is, is_not, less_than, less_than_or_equal, greater_than, greater_than_or_equal, "
        "includes, not_includes, contains, not_contains, starts_with, ends_with, present, blank, "
        "changed, changed_to, changed_from",
        '  rule ar_948 (index 949): conditions.all[0].value: "urgnet" is not a valid priority; '
        'did you mean "urgent"? (got "urgnet")']


def test_a_translator_bug_or_an_oversized_rule_is_reported_not_crashed_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import compiler.legacy as legacy
    rules = [rule("quoted", 0, [], [note('say "hi"')]),
             rule("typo", 1, [{"field": "priority", "operator": "is", "value": "urgnet"}], []),
             rule("huge", 2, [], [note("x" * (1024 * 1024 + 1))])]
    with monkeypatch.context() as patch:
        patch.setattr(legacy, "_quote", lambda text: f'"{text}"')   # forgets to escape
        with pytest.raises(LegacyError) as caught:
            load_rules(rules)
    problems = caught.value.problems
    assert problems[0].startswith("rule quoted (index 0): actions[0].value: unexpected `")
    assert problems[1].startswith('rule typo (index 1): conditions.all[0].value: "urgnet"')
    assert problems[2] == ("rule huge (index 2): its translation is 1024 KiB long; a zflow script "
                           "may not pass 1024 KiB")
    assert len(problems) == 3


# -- properties: any text survives translation exactly ---------------------------------------------
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12).filter(lambda s: "{{" not in s)
TEMPLATES = {"{{ticket.subject}}": "title", "{{ ticket.id }}": "id", "{{ticket.priority}}": "priority"}
TICKET = {"id": "T-1", "title": 'VPN "down"\n', "priority": "high"}
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(text=TEXT, title=TEXT, rid=TEXT.filter(str.strip))
def test_any_text_round_trips(text: str, title: str, rid: str) -> None:
    one = {"id": rid, "title": title, "event": "ticket.created",
           "conditions": {"all": [{"field": "subject", "operator": "is", "value": text}]},
           "actions": [note(text), {"type": "set_field", "field": "custom.x", "value": text}]}
    (run,) = runs(translate_rule(one), {"title": text})
    assert run["workflow"] == rid
    assert [(a["object"], a["value"]) for a in run["actions"]] == [("internal note", text),
                                                                    ("custom.x", text)]
    assert acts(translate([one]), {"title": text + "x"}) == []


@PROPERTY
@given(pieces=st.lists(st.one_of(TEXT, st.sampled_from(sorted(TEMPLATES))), max_size=5))
def test_templates_fill_or_the_rule_is_refused(pieces: list[str]) -> None:
    text = "".join(pieces)
    one = {"id": "t", "event": "ticket.created", "actions": [{"type": "post_reply", "value": text}]}
    try:
        translated = translate_rule(one)
    except LegacyError as exc:
        # Only a brace run zflow cannot write: a literal `{{`, or a `{` just before a template.
        assert "may appear only in a `{{ticket.FIELD}}` template" in str(exc)
        bare = re.sub(r"\{\{ ?ticket\.\w+ ?\}\}", "\0", text)
        assert "{{" in bare or "{\0" in bare
        return
    expected = "".join(str(TICKET[TEMPLATES[p]]) if p in TEMPLATES else p for p in pieces)
    assert acts(translated, dict(TICKET)) == [("post", "reply", expected, {})]


@PROPERTY
@given(number=st.one_of(st.integers(-10 ** 18 + 1, 10 ** 18 - 1),
                        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e17,
                                  max_value=1e17)))
def test_any_number_round_trips(number: float) -> None:
    one = {"id": "n", "event": "ticket.created",
           "conditions": {"all": [{"field": "escalationLevel", "operator": "is", "value": number}]},
           "actions": [{"type": "set_field", "field": "custom.n", "value": number},
                       {"type": "escalate", "value": number}]}
    got = acts(translate_rule(one), {"escalationLevel": number})
    assert [a[2] for a in got] == [number, number]
    assert all(type(a[2]) is type(number) for a in got)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                     | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)
_KEYS = st.sampled_from(["id", "title", "active", "position", "event", "conditions", "actions"])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=7),
       st.lists(st.dictionaries(st.sampled_from(["type", "field", "value", "to", "channel"]),
                                _JSON, max_size=4), max_size=3),
       st.lists(st.dictionaries(st.sampled_from(["field", "operator", "value"]), _JSON,
                                max_size=3), max_size=3))
def test_any_json_is_translated_or_refused_never_crashes(rule: dict[str, Any], acts: list[Any],
                                                        conds: list[Any]) -> None:
    doc = {**rule, "event": rule.get("event", "ticket.created")}
    if "actions" not in rule:
        doc["actions"] = acts
    if "conditions" not in rule:
        doc["conditions"] = {"all": conds}
    for candidate in (doc, [doc, EXAMPLE], rule):
        with contextlib.suppress(LegacyError):
            translate(candidate)

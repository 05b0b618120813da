"""Legacy AutomationRules: translation, checks that name the rule, the CLI, bulk files."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_source
from compiler.legacy import LegacyError, load_rules, translate, translate_rule
from runtime import dry_run
from zentra_rules.cli import main

EXAMPLE = json.loads((Path(__file__).resolve().parent.parent / "examples" / "legacy" /
                      "route-urgent.json").read_text())


def actions_of(text: str, ticket: dict[str, Any], event: str = "ticket.created") -> list[tuple[Any, ...]]:
    trace = dry_run(compile_source(text, "legacy.zflow"), event, ticket)
    return [(a["verb"], a["object"], a.get("value"), a["params"]) for r in trace["runs"]
            for a in r["actions"]]


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_the_interfaces_example_translates_checks_and_acts_like_the_legacy_rule() -> None:
    text = translate_rule(EXAMPLE)
    assert text.splitlines()[1] == 'workflow "ar_1042"'
    assert "Route urgent network tickets" in text.splitlines()[0]
    expected = [("set", "team", "Network", {}), ("add", "internal note", "Auto-routed", {}),
                ("notify", "slack", "#incidents", {"message": "Urgent: SSO down"})]
    for source in (text, translate([EXAMPLE])):
        assert actions_of(source, {"priority": "urgent", "category": "Identity",
                                   "title": "SSO down"}) == expected
        assert actions_of(source, {"priority": "urgent", "category": "Printing"}) == []
        assert actions_of(source, {"priority": "low", "category": "Network"}) == []


def rule(rid: str, position: int, conditions: list[dict[str, Any]],
         actions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": rid, "title": rid, "position": position, "event": "ticket.created",
            "conditions": {"all": conditions}, "actions": actions, **extra}


def test_a_later_rule_sees_what_an_earlier_rule_changed_and_not_the_other_way() -> None:
    first = rule("A", 1, [], [{"type": "set_field", "field": "priority", "value": "urgent"}])
    second = rule("B", 2, [{"field": "priority", "operator": "is", "value": "urgent"}],
                  [{"type": "add_internal_note", "value": "B saw urgent"}])
    assert actions_of(translate([second, first]), {"priority": "low"}) == [
        ("set", "priority", "urgent", {}), ("add", "internal note", "B saw urgent", {})]
    late = {**first, "position": 3}
    assert actions_of(translate([second, late]), {"priority": "low"}) == [
        ("set", "priority", "urgent", {})]


def test_every_operator_and_action_type_translates_and_compiles() -> None:
    ops = [("priority", "is", "high"), ("priority", "is_not", "low"),
           ("escalationLevel", "less_than", 3), ("escalationLevel", "less_than_or_equal", 3),
           ("escalationLevel", "greater_than", 0), ("escalationLevel", "greater_than_or_equal", 1),
           ("category", "includes", ["Network"]), ("category", "not_includes", ["HR"]),
           ("subject", "contains", "VPN"), ("subject", "not_contains", "test"),
           ("subject", "starts_with", "VPN"), ("subject", "ends_with", "down"),
           ("team", "present", None), ("agent", "blank", None), ("priority", "changed", None),
           ("priority", "changed_to", "high"), ("priority", "changed_from", "low")]
    acts = [{"type": "set_field", "field": "custom.source", "value": "legacy"},
            {"type": "assign_team", "value": "Network"}, {"type": "assign_agent", "value": "ann"},
            {"type": "set_status", "value": "open"}, {"type": "add_internal_note", "value": "n"},
            {"type": "post_reply", "value": "Hi \"{{ticket.subject}}\"\n\\o/"},
            {"type": "add_tags", "value": ["vpn", "net"]}, {"type": "remove_tags", "value": "old"},
            {"type": "escalate"}, {"type": "escalate", "value": 3},
            {"type": "notify_email", "to": "a@example.com", "subject": "S", "body": "B"},
            {"type": "notify_slack", "channel": "#c", "message": "m"},
            {"type": "notify_teams", "channel": "Desk", "message": "m"},
            {"type": "call_webhook", "endpoint": "crm", "payload": "{{ticket.id}}"}]
    r = {"id": "all", "event": "ticket.updated", "actions": acts,
         "conditions": {"all": [{"field": f, "operator": o, "value": v} for f, o, v in ops]}}
    text = translate_rule(r)
    compile_source(text, "all.zflow")
    ticket = {"id": "7", "title": "VPN down", "priority": "high", "escalationLevel": 1,
              "category": "Network", "team": "Net", "tags": ["old"]}
    trace = dry_run(compile_source(text, "all.zflow"), "ticket.updated", ticket,
                    {**ticket, "priority": "low"})
    assert trace["runs"][0]["fired"] is True
    reply = next(a for a in trace["runs"][0]["actions"] if a["object"] == "reply")
    assert reply["value"] == 'Hi "VPN down"\n\\o/'
    assert len(trace["runs"][0]["actions"]) == 15


@pytest.mark.parametrize(("bad", "words"), [
    ({"conditions": {"all": [{"field": "priority", "operator": "between", "value": 1}]}},
     ["ar_1042", "index 0", "conditions.all[0].operator", '"between"']),
    ({"actions": [{"type": "send_fax", "value": "x"}]}, ["actions[0].type", '"send_fax"']),
    ({"conditions": {"all": [{"field": "priorty", "operator": "is", "value": "x"}]}},
     ['"priorty"', 'did you mean "priority"']),
    ({"conditions": {"any": [{"field": "category", "operator": "includes", "value": "Net"}]}},
     ["conditions.any[0].value", "needs a list"]),
    ({"actions": [{"type": "notify_email", "to": "a@b.c"}]}, ["needs `subject`"]),
    ({"event": "ticket.exploded"}, ['unknown event "ticket.exploded"']),
])
def test_a_bad_rule_is_named_with_its_place_and_value(bad: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(LegacyError) as caught:
        load_rules({**EXAMPLE, **bad})
    for word in words:
        assert word in str(caught.value)


def test_one_bad_rule_in_a_file_translates_none(tmp_path: Path) -> None:
    good = [{**EXAMPLE, "id": f"r{i}", "position": i} for i in range(3)]
    bad = {**EXAMPLE, "id": "r-bad", "conditions": {"all": [
        {"field": "priority", "operator": "between", "value": 1}]}}
    with pytest.raises(LegacyError, match="r-bad"):
        translate([*good, bad])
    with pytest.raises(LegacyError, match="used by an earlier rule"):
        translate([good[0], good[0]])
    path = tmp_path / "rules.json"
    path.write_text(json.dumps([*good, bad]))
    code, out, err = cli("translate", str(path))
    assert code == 1 and out == ""
    assert "r-bad" in err and "between" in err


def test_the_cli_translates_one_rule_or_a_bulk_file(tmp_path: Path) -> None:
    code, out, _ = cli("translate", "--check", str(Path("examples/legacy/route-urgent.json")))
    assert code == 0 and 'workflow "ar_1042"' in out
    rules = [{**EXAMPLE, "id": f"ar_{i}", "position": i,
              "event": ["ticket.created", "ticket.updated"][i % 2]} for i in range(1000)]
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps(rules))
    code, out, err = cli("translate", str(path))
    assert code == 0
    assert out.count('workflow "legacy ') == 2 and out.count("  # ar_") == 1000
    assert "translated 1000 rules into 2 workflows; 0 failed" in err
    assert cli("translate", str(tmp_path / "missing.json"))[0] == 1
    (tmp_path / "broken.json").write_text("{")
    code, _, err = cli("translate", str(tmp_path / "broken.json"))
    assert code == 1 and "invalid JSON" in err and "Traceback" not in err

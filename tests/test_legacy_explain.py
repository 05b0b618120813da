"""Legacy rules explained as rules: every trace of a translation lists each rule by id and title,
fired or not, with the explain tree of its conditions — dry runs and stored runs alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from compiler import compile_source
from compiler.legacy import translate, translate_rule
from runtime import dry_run
from zentra_rules.interfaces.tracetext import render_run

from .serving import ADMIN, in_process, settle
from .test_examples import parse_now

NOW = parse_now("2026-11-25T09:00:00Z")
RULES: list[dict[str, Any]] = [
    {"id": "ar_1", "title": "Printers to Facilities", "position": 0, "event": "ticket.created",
     "conditions": {"all": [{"field": "category", "operator": "is", "value": "Printing"}]},
     "actions": [{"type": "assign_team", "value": "Facilities"}]},
    {"id": "ar_2", "title": "Urgent network to Network", "position": 1, "event": "ticket.created",
     "conditions": {"all": [{"field": "priority", "operator": "is", "value": "urgent"},
                            {"field": "category", "operator": "is", "value": "Network"}]},
     "actions": [{"type": "set_field", "field": "team", "value": "Network"}]},
    {"id": "ar_3", "title": "VIP tag", "position": 2, "event": "ticket.created",
     "conditions": {"all": [{"field": "subject", "operator": "contains", "value": "[VIP]"}]},
     "actions": [{"type": "add_tags", "value": "vip"}]},
]
SECOND_ONLY = {"id": "T-1", "title": "WAN down", "priority": "urgent", "category": "Network",
               "status": "new", "tags": []}


def falses(tree: dict[str, Any]) -> list[str]:
    """The false leaves of an explain tree: what did not hold."""
    kids = tree.get("children") or []
    if not kids:
        return [] if tree["value"] else [tree["text"]]
    return [text for kid in kids for text in falses(kid)]


def check_rules(rules: list[dict[str, Any]]) -> None:
    assert [(r["id"], r["title"], r["position"], r["fired"]) for r in rules] == [
        ("ar_1", "Printers to Facilities", 0, False),
        ("ar_2", "Urgent network to Network", 1, True),
        ("ar_3", "VIP tag", 2, False)]
    one, two, three = (r["explain"] for r in rules)
    assert one["value"] is False and falses(one) == ['category = "Printing"']
    assert one["left"] == "Network"
    assert two["value"] is True and two["text"] == 'priority = "urgent" AND category = "Network"'
    assert [c["value"] for c in two["children"]] == [True, True]
    assert three["value"] is False and falses(three) == ['title contains "[VIP]"']


def test_a_set_of_three_rules_on_a_ticket_matching_the_second_shows_three_rules() -> None:
    plans = compile_source(translate(RULES), "legacy.zflow")
    (run,) = dry_run(plans, "ticket.created", SECOND_ONLY, now=NOW)["runs"]
    assert run["fired"] is True     # the translation fires for every ticket; its rules tell
    check_rules(run["rules"])
    text = render_run(run)
    assert "[not fired] rule ar_1: Printers to Facilities (position 0)" in text
    assert "[fired    ] rule ar_2: Urgent network to Network (position 1)" in text
    assert "[not fired] rule ar_3: VIP tag (position 2)" in text
    assert '[false] category = "Printing"   (saw "Network"' in text


def test_a_rule_translated_on_its_own_is_explained_by_its_where() -> None:
    text = translate_rule(RULES[0])
    (plan,) = compile_source(text, "ar_1.zflow")
    assert plan.heading.startswith("# Printers to Facilities (legacy rule ar_1")
    (run,) = dry_run([plan], "ticket.created", SECOND_ONLY, now=NOW)["runs"]
    assert run["fired"] is False
    (rule,) = run["rules"]
    assert (rule["id"], rule["fired"]) == ("ar_1", False)
    assert falses(rule["explain"]) == ['category = "Printing"']
    (run,) = dry_run([plan], "ticket.created", {**SECOND_ONLY, "category": "Printing"},
                     now=NOW)["runs"]
    assert [r["fired"] for r in run["rules"]] == [True]


def test_a_guarded_event_explains_each_rule_with_the_guard_when_it_stops_them() -> None:
    # ticket.updated translations skip changes the translation made itself: then no rule fired,
    # and each says why (the guard).
    rules = [{**r, "event": "ticket.updated"} for r in RULES]
    plans = compile_source(translate(rules), "legacy.zflow")
    (run,) = dry_run(plans, "ticket.updated", SECOND_ONLY, SECOND_ONLY, now=NOW,
                     actor="workflow:legacy ticket.updated#1")["runs"]
    assert run["fired"] is False
    assert [r["fired"] for r in run["rules"]] == [False, False, False]
    assert all(r["explain"] == run["explain"] for r in run["rules"])
    (run,) = dry_run(plans, "ticket.updated", SECOND_ONLY, SECOND_ONLY, now=NOW,
                     actor="u_agent")["runs"]
    check_rules(run["rules"])


def test_a_stored_run_of_the_service_shows_each_rule(tmp_path: Path) -> None:
    client: TestClient
    with in_process(tmp_path) as client:
        for rule in RULES:
            r = client.post("/api/automation-rules", headers=ADMIN, json=rule)
            assert r.status_code == 201, r.text
        made = client.post("/api/tickets", headers=ADMIN, json={
            k: v for k, v in SECOND_ONLY.items() if k != "id"}).json()
        settle(client)
        (run,) = client.get(f"/api/executions?ticket={made['id']}",
                            headers=ADMIN).json()["executions"]
        trace = client.get(f"/api/executions/{run['id']}", headers=ADMIN).json()["trace"]
        assert client.get(f"/api/tickets/{made['id']}", headers=ADMIN).json()["team"] == "Network"
    assert run["workflow"] == "legacy ticket.created"
    check_rules(trace["rules"])
    check_rules(run["trace"]["rules"])

"""Why not, for any event, at any age: a record's timeline names every workflow its events'
triggers named, fired or not and why — from the stored events, the activation history and the
record links, without a row per miss — and every execution that created or changed it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee as pw
import pytest
from starlette.testclient import TestClient

from zentra_rules.integrations.webhooks import headers as signed_headers
from zentra_rules.store import open_store
from zentra_rules.store.models import Execution, RecordLink

from .rig import Rig
from .serving import ADMIN, in_process, settle

ROOT = Path(__file__).resolve().parent.parent
ROUTE_V1 = ('workflow "route" WHEN ticket.created\n'
            'WHERE category = "Network" AND priority = "urgent"\nTHEN set team = "Net"')
ROUTE_V2 = 'workflow "route" WHEN ticket.created WHERE category = "Software" THEN set team = "Apps"'
HARDWARE = 'workflow "hardware" WHEN ticket.created WHERE category = "Hardware" THEN add tag = "hw"'
CATEGORIES = ("Network", "Software", "Hardware", "Facilities")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with in_process(tmp_path) as c:
        yield c


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.status_code, response.text)
    return response.json()


def publish(client: TestClient, source: str) -> None:
    ok(client.post("/api/workflows", headers=ADMIN, json={"source": source}), 201)


def tickets(client: TestClient, n: int, start: int = 0) -> list[str]:
    """`n` tickets through the engine's own path (each one a `ticket.created` event), matched."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    made = [engine.create_ticket({"title": f"t{i}", "category": CATEGORIES[i % 4],
                                  "priority": "urgent" if i % 8 < 4 else "normal"})["id"]
            for i in range(start, start + n)]
    settle(client)
    return [str(m) for m in made]


def timeline(client: TestClient, ticket: str, query: str = "") -> dict[str, Any]:
    body: dict[str, Any] = ok(client.get(f"/api/tickets/{ticket}/timeline{query}", headers=ADMIN))
    return body


def by_name(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["workflow"]: d for d in entry["definitions"]}


def test_1000_tickets_each_miss_explained_against_the_version_active_then(
        client: TestClient) -> None:
    began = time.monotonic()
    publish(client, ROUTE_V1)
    publish(client, HARDWARE)
    first = tickets(client, 500)
    publish(client, ROUTE_V2)                 # condition B from now on
    second = tickets(client, 500, start=500)
    ok(client.post("/api/workflows/hardware/deactivate", headers=ADMIN))
    (late,) = tickets(client, 1, start=2)     # a Hardware ticket after the deactivation
    assert time.monotonic() - began < 60
    # One execution per match and nothing for a miss: 63 urgent Network tickets under v1, 125
    # Software ones under v2, 250 Hardware ones while `hardware` was active.
    assert Execution.select().count() == 63 + 125 + 250

    # An old Software ticket: no workflow matched it. Both candidates of its time are named,
    # `route` as version 1 (condition A), each with the part of its condition that was false.
    software = first[1]
    t = timeline(client, software)
    assert t["record"] == {"kind": "ticket", "id": software}
    (entry,) = t["entries"]
    assert entry["event"]["name"] == "ticket.created" and entry["event"]["actor"] == "api"
    assert set(entry["event"]) >= {"id", "name", "at", "actor"}
    route, hardware = by_name(entry)["route"], by_name(entry)["hardware"]
    assert (route["version"], route["fired"], hardware["fired"]) == (1, False, False)
    assert set(route) == {"workflow", "version", "kind", "fired", "explain"}
    assert route["explain"]["value"] is False
    assert route["explain"]["children"][0] == {"text": 'category = "Network"', "value": False,
                                               "left": "Software", "right": "Network"}
    assert hardware["explain"] == {"text": 'category = "Hardware"', "value": False,
                                   "left": "Software", "right": "Hardware"}
    assert t["executions"] == []

    # An old Network ticket that was not urgent: the AND's one false part is the priority.
    network = first[4]
    explain = by_name(timeline(client, network)["entries"][0])["route"]["explain"]
    assert [(c["text"], c["value"], c["left"]) for c in explain["children"]] == [
        ('category = "Network"', True, "Network"), ('priority = "urgent"', False, "normal")]

    # A new Software ticket: version 2 answers, and it fired, linked to its execution.
    t = timeline(client, second[1])
    route = by_name(t["entries"][0])["route"]
    assert (route["version"], route["fired"], route["status"]) == (2, True, "completed")
    assert route["explain"] == {"text": 'category = "Software"', "value": True,
                                "left": "Software", "right": "Software"}
    (run,) = t["executions"]
    assert run["execution"] == route["execution"] and run["roles"] == ["subject", "changed"]
    (change,) = run["changes"]
    assert change == route["changes"][0]
    assert (change["field"], change["old"], change["new"], change["line"]) == (
        "team", None, "Apps", 1)
    assert set(change) >= {"pc", "line", "statement", "field", "old", "new", "at"}
    # The change it made is the ticket's second event: no workflow active then has its trigger.
    assert [e["event"]["name"] for e in t["entries"]] == ["ticket.created", "ticket.updated"]
    assert t["entries"][1]["event"]["fields"] == {"team": [None, "Apps"]}
    assert t["entries"][1]["definitions"] == []

    # Old Hardware tickets fired `hardware`; the one after its deactivation has no such candidate.
    fired = by_name(timeline(client, first[2])["entries"][0])["hardware"]
    assert fired["fired"] is True and fired["changes"][0]["new"] == ["hw"]
    assert set(by_name(timeline(client, late)["entries"][0])) == {"route"}

    # The versions active at a time, from the activation history.
    history = ok(client.get("/api/workflows/route", headers=ADMIN))["activations"]
    assert [(a["version"], a["until"] is None) for a in history] == [(1, False), (2, True)]
    at = history[0]["from"]
    assert ok(client.get(f"/api/workflows?at={at}", headers=ADMIN))["definitions"] == [
        {"name": "route", "kind": "workflow", "active_version": 1}]


def test_the_timeline_pages_through_a_record_with_many_events(client: TestClient) -> None:
    publish(client, ROUTE_V2)
    (ticket,) = tickets(client, 1, start=1)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    for priority in ("low", "high", "normal", "urgent"):
        engine.update_ticket(ticket, {"priority": priority})
    settle(client)
    everything = [e["event"]["id"] for e in timeline(client, ticket)["entries"]]
    assert len(everything) == 6 and everything == sorted(everything)
    seen, cursor = [], None
    while True:
        page = timeline(client, ticket, "?limit=4" + (f"&cursor={cursor}" if cursor else ""))
        seen += [e["event"]["id"] for e in page["entries"]]
        assert len(page["executions"]) == 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    only = timeline(client, ticket, "?workflow=nothing-by-that-name")
    assert all(e["definitions"] == [] for e in only["entries"]) and only["executions"] == []


def _hook(client: TestClient, name: str, payload: Any, secret: str) -> None:
    body = json.dumps(payload).encode()
    sent = signed_headers(secret, "msg_joiner", int(time.time()), body)
    ok(client.post(f"/hooks/{name}", content=body, headers=sent), 202)


def _rejected_new_joiner(client: TestClient) -> int:
    """The new-joiner script published and run from its webhook, the manager rejecting with a
    comment; the execution's id."""
    secret = ok(client.post("/api/webhooks/inbound", headers=ADMIN, json={"name": "hr"}), 201)["secret"]
    publish(client, (ROOT / "examples" / "new-joiner-provisioning.zflow").read_text())
    subject = json.loads((ROOT / "examples" / "subjects" / "hr-new-joiner.json").read_text())
    ok(client.post("/api/users", headers=ADMIN, json={"id": subject["manager"],
                                                     "email": "lee@example.com"}), 201)
    manager = ok(client.post("/api/tokens", headers=ADMIN,
                             json={"role": "viewer", "user": subject["manager"]}), 201)["token"]
    _hook(client, "hr", subject, secret)
    settle(client)
    (request,) = ok(client.get("/api/approvals?status=pending", headers=ADMIN))["approvals"]
    decided = ok(client.post(f"/api/approvals/{request['id']}/decide",
                             headers={"Authorization": f"Bearer {manager}"},
                             json={"decision": "reject", "comment": "no headcount"}))
    assert decided["status"] == "rejected"
    settle(client)
    return int(request["execution"])


def test_a_rejected_new_joiner_shows_who_created_and_who_cancelled_each_ticket(
        client: TestClient) -> None:
    run = _rejected_new_joiner(client)
    created = ok(client.get(f"/api/events?execution={run}&name=ticket.created", headers=ADMIN))
    ids = sorted((e["subject"]["id"] for e in created["events"]), key=int)
    assert len(ids) == 3
    for ticket, name, created_line, cancel_line in zip(
            ids, ("laptop", "accounts", "desk"), (6, 7, 8), (19, 20, 21), strict=True):
        t = timeline(client, ticket)
        (execution,) = t["executions"]
        assert execution["execution"] == run
        assert execution["workflow"] == "new-joiner-provisioning" and execution["version"] == 1
        assert execution["roles"] == ["created", "changed"]
        assert execution["created"]["line"] == created_line
        assert execution["created"]["statement"].startswith(f"create ticket {name},")
        (cancelled,) = execution["changes"]
        assert {k: cancelled[k] for k in ("line", "statement", "field", "old", "new")} == {
            "line": cancel_line, "statement": f'set {name}.status = "cancelled"',
            "field": "status", "old": "new", "new": "cancelled"}
        # Its events: made by that run, then cancelled by it.
        events = [(e["event"]["name"], e["event"]["actor"]) for e in t["entries"]]
        actor = f"workflow:new-joiner-provisioning#{run}"
        assert events == [("ticket.created", actor), ("ticket.updated", actor),
                          ("ticket.status_changed", actor)]
        assert t["entries"][2]["event"]["fields"] == {"status": ["new", "cancelled"]}


@pytest.mark.parametrize(("path", "status"), [
    ("/api/tickets/424242/timeline", 404),
    ("/api/tickets/abc/timeline", 422),
    ("/api/tickets/1x/timeline", 422),
    ("/api/tickets/9999999999999999999999/timeline", 422),
    ("/api/assets/no-such-asset/timeline", 404),
    ("/api/changes/no-such-change/timeline", 404),
    ("/api/tickets/1/timeline?limit=0", 422),
    ("/api/tickets/1/timeline?limit=many", 422),
    ("/api/tickets/1/timeline?cursor=nonsense", 422),
])
def test_an_unknown_record_is_a_404_and_a_bad_id_a_422_in_json(client: TestClient, path: str,
                                                                status: int) -> None:
    tickets(client, 1)
    r = client.get(path, headers=ADMIN)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json") and r.json()["error"]
    assert client.get("/api/tickets/1/timeline").status_code == 401


def test_asset_and_change_timelines(client: TestClient) -> None:
    publish(client, 'workflow "retire" WHEN asset.lifecycle_changed WHERE lifecycle = "retired"\n'
                    'THEN attach contract = "C-disposal"')
    publish(client, 'workflow "approved" WHEN change.approved WHERE risk = "low"\n'
                    'THEN set title = "Approved (low risk)"')
    engine = client.app.state.engine  # type: ignore[attr-defined]
    engine.put_asset({"id": "A-7", "name": "laptop", "lifecycle": "deployed"}, create=True)
    engine.put_asset({"id": "A-7", "lifecycle": "in_repair"}, create=False)
    engine.put_asset({"id": "A-7", "lifecycle": "retired"}, create=False)
    engine.put_change({"id": "CHG-9", "title": "Patch", "risk": "high"}, create=True)
    engine.put_change({"id": "CHG-9", "status": "approved"}, create=False)
    settle(client)
    asset = ok(client.get("/api/assets/A-7/timeline", headers=ADMIN))
    lifecycle = [e for e in asset["entries"] if e["event"]["name"] == "asset.lifecycle_changed"]
    assert [by_name(e)["retire"]["fired"] for e in lifecycle] == [False, True]
    assert by_name(lifecycle[0])["retire"]["explain"]["left"] == "in_repair"
    (run,) = asset["executions"]
    assert run["roles"] == ["subject", "changed"]
    assert [(c["field"], c["old"], c["new"]) for c in run["changes"]] == [
        ("contracts", None, ["C-disposal"])]
    change = ok(client.get("/api/changes/CHG-9/timeline", headers=ADMIN))
    (approved,) = [e for e in change["entries"] if e["event"]["name"] == "change.approved"]
    assert by_name(approved)["approved"]["fired"] is False
    assert by_name(approved)["approved"]["explain"]["left"] == "high"
    assert change["executions"] == []


LEGACY: list[dict[str, Any]] = [
    {"id": "ar_net", "title": "Route network", "event": "ticket.created", "position": 1,
     "conditions": {"all": [{"field": "category", "operator": "is", "value": "Network"}]},
     "actions": [{"type": "assign_team", "value": "Net"}]},
    {"id": "ar_urgent", "title": "Tag urgent", "event": "ticket.created", "position": 2,
     "conditions": {"all": [{"field": "priority", "operator": "is", "value": "urgent"}]},
     "actions": [{"type": "add_tags", "value": "urgent"}]},
]


def test_an_automation_rule_with_its_recent_runs_fired_or_not(client: TestClient) -> None:
    for rule in LEGACY:
        ok(client.post("/api/automation-rules", headers=ADMIN, json=rule), 201)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    network = engine.create_ticket({"title": "VPN", "category": "Network", "priority": "normal"})
    urgent = engine.create_ticket({"title": "CRM", "category": "Software", "priority": "urgent"})
    settle(client)
    got = ok(client.get("/api/automation-rules/ar_net", headers=ADMIN))
    # The rule as stored (with the defaults the desk fills in: `active`, an empty `any`).
    assert got["rule"] == {**LEGACY[0], "active": True,
                           "conditions": {**LEGACY[0]["conditions"], "any": []}}
    assert got["event"] == "ticket.created" and got["active"] is True
    assert got["workflow"] == {"name": "legacy ticket.created", "active_version": 2}
    newest, oldest = got["runs"]
    assert (newest["subject"]["id"], oldest["subject"]["id"]) == (urgent["id"], network["id"])
    assert newest["execution"] > oldest["execution"]
    assert set(newest) >= {"execution", "status", "created_at", "fired"}
    assert (oldest["fired"], newest["fired"]) == (True, False)
    assert newest["explain"]["left"] == "Software"
    other = ok(client.get("/api/automation-rules/ar_urgent", headers=ADMIN))["runs"]
    assert [r["fired"] for r in other] == [True, False]

    # A rule added later was not part of the version those runs ran: neither fired nor not.
    ok(client.post("/api/automation-rules", headers=ADMIN, json={
        **LEGACY[1], "id": "ar_later", "title": "Later", "position": 3}), 201)
    later = ok(client.get("/api/automation-rules/ar_later", headers=ADMIN))["runs"]
    assert [(r["in_version"], r["fired"]) for r in later] == [(False, None), (False, None)]
    assert len(ok(client.get("/api/automation-rules/ar_net?limit=1", headers=ADMIN))["runs"]) == 1
    assert client.get("/api/automation-rules/ar_net?limit=0", headers=ADMIN).status_code == 422
    assert client.get("/api/automation-rules/nope", headers=ADMIN).status_code == 404


# -- the store: activation history and record links on both databases -----------------------
def test_the_activation_history_answers_which_versions_were_active_when(rig: Rig) -> None:
    t0 = rig.clock.now()
    rig.publish(ROUTE_V1)
    rig.clock.advance(hours=1)
    rig.publish(ROUTE_V2)
    rig.clock.advance(hours=1)
    rig.store.definitions.activate("route", 1, rig.clock.now(), "tests")
    rig.store.definitions.activate("route", 1, rig.clock.now(), "tests")   # no change: no row
    rig.clock.advance(hours=1)
    rig.store.definitions.activate("route", None, rig.clock.now(), "tests")
    history = rig.store.definitions.activations("route")
    assert [(a["version"], a["until"] is None) for a in history] == [(1, False), (2, False),
                                                                      (1, False)]

    def active(**after: float) -> list[int]:
        from datetime import timedelta
        return [a["version"] for a in rig.store.definitions.active_at(t0 + timedelta(**after))]
    assert active(minutes=-1) == []
    assert active(minutes=30) == [1]
    assert active(hours=1) == [2]          # a change at that very moment counts as made
    assert active(minutes=90) == [2]
    assert active(minutes=150) == [1]
    assert active(hours=4) == []


def test_record_links_are_kept_per_statement_and_are_append_only(rig: Rig) -> None:
    rig.publish('workflow "bump" WHEN ticket.created WHERE title = "x" THEN\n  assign team = "Desk"\n'
                '  set custom.score = 3\n  add tag = "seen"\n'
                '  create ticket child, title = "follow-up"\n  set child.priority = "high"')
    ticket = rig.engine.create_ticket({"title": "x"})
    rig.settle()
    rows = [(r.record_id, r.role, r.line, r.field, r.old, r.new)
            for r in RecordLink.select().order_by(pw.SQL("id"))]
    parent, child = ticket["id"], str(int(ticket["id"]) + 1)
    assert rows == [(parent, "subject", None, None, None, None),
                    (parent, "changed", 2, "team", None, "Desk"),
                    (parent, "changed", 3, "custom.score", None, 3),
                    (parent, "changed", 4, "tags", [], ["seen"]),
                    (child, "created", 5, None, None, None),
                    (child, "changed", 6, "priority", None, "high")]
    with pytest.raises((pw.IntegrityError, pw.InternalError, pw.OperationalError),
                       match="append-only"), rig.store.db.atomic():
        rig.store.db.execute_sql("DELETE FROM record_link")


def test_a_database_of_the_previous_schema_is_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    rig = Rig(url)
    rig.publish(ROUTE_V1)
    rig.close()
    store = open_store(url)   # as an engine of schema 1 left it: no history, no `records` column
    store.db.execute_sql("DELETE FROM activation")
    store.db.execute_sql("ALTER TABLE event DROP COLUMN records")
    store.db.execute_sql("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store.close()
    rig = Rig(url)
    try:
        assert rig.store.events.get_meta("schema_version") == "2"
        assert [a["version"] for a in rig.store.definitions.active_at(rig.clock.now())] == [1]
        rig.engine.create_ticket({"title": "x", "category": "Network", "priority": "urgent"})
        rig.settle()
        assert rig.ticket("1")["team"] == "Net"
    finally:
        rig.close()


def test_a_stored_execution_graph_marks_the_branch_it_took_and_its_decisions(
        client: TestClient) -> None:
    run = _rejected_new_joiner(client)
    body = ok(client.get(f"/api/executions/{run}/graph", headers=ADMIN))
    assert (body["execution"], body["workflow"], body["version"]) == (
        run, "new-joiner-provisioning", 1)
    edges = {e["label"]: e for e in body["graph"]["edges"] if e["label"] in ("then", "else")}
    assert edges["else"]["taken"] and not edges["then"]["taken"]
    nodes = {n["label"]: n for n in body["graph"]["nodes"]}
    assert nodes['set laptop.status = "ready"\nset accounts.status = "ready"\n'
                 'set desk.status = "ready"\nnotify slack = "#field-it", message = '
                 '"New joiner {{payload.name}} approved"']["taken"] is False
    cancelled = [n for n in body["graph"]["nodes"] if 'set laptop.status = "cancelled"' in n["label"]]
    assert len(cancelled) == 1 and cancelled[0]["taken"] and cancelled[0]["line"] == 17
    # What the details read: the test that went to else, who decided and what they wrote.
    timeline_ = body["run"]["timeline"]
    (test,) = [e for e in timeline_ if e["kind"] == "test"]
    assert test["branch"] == "else" and test["line"] == 11
    decided = [e for e in timeline_ if e.get("outcome") == "rejected"]
    assert decided and decided[0]["by"] == "u_mgr_lee" and decided[0]["comment"] == "no headcount"
    # Each ticket the run created lists it among its executions, as its subject's would.
    created = ok(client.get(f"/api/events?execution={run}&name=ticket.created", headers=ADMIN))
    for event in created["events"]:
        listed = ok(client.get(f"/api/executions?ticket={event['subject']['id']}", headers=ADMIN))
        assert [e["id"] for e in listed["executions"]] == [run]


def test_a_dry_run_carries_each_definition_graph_marked_with_its_path(client: TestClient) -> None:
    source = (ROOT / "examples" / "new-joiner-provisioning.zflow").read_text()
    subject = json.loads((ROOT / "examples" / "subjects" / "hr-new-joiner.json").read_text())
    for outcome, taken in (("approved", "then"), ("rejected", "else"), ("timed_out", "else")):
        body = ok(client.post("/api/playground/dry-run", headers=ADMIN, json={
            "source": source, "event": "webhook.received", "qualifier": "hr", "subject": subject,
            "decisions": {"manager": outcome}}))
        drawn = body["graphs"]["new-joiner-provisioning"]
        labels = {e["label"]: e["taken"] for e in drawn["edges"] if e["label"] in ("then", "else")}
        assert labels == {"then": taken == "then", "else": taken == "else"}, outcome
        assert [n["kind"] for n in drawn["nodes"] if n["kind"] == "wait" and n["taken"]] == [
            "wait", "wait"]
    missed = ok(client.post("/api/playground/dry-run", headers=ADMIN, json={
        "source": source, "event": "webhook.received", "qualifier": "hr",
        "subject": {**subject, "type": "leaver"}}))
    drawn = missed["graphs"]["new-joiner-provisioning"]
    assert not any(n["taken"] for n in drawn["nodes"]) and not any(e["taken"] for e in drawn["edges"])


@pytest.mark.parametrize(("path", "status"), [
    ("/api/executions/999/graph", 404), ("/api/executions/x/graph", 404)])
def test_the_graph_of_an_unknown_execution_is_a_json_error(client: TestClient, path: str,
                                                            status: int) -> None:
    r = client.get(path, headers=ADMIN)
    assert r.status_code == status and "error" in r.json()


def test_an_unreadable_execution_and_its_graph_are_a_409(client: TestClient) -> None:
    publish(client, HARDWARE)
    tickets(client, 4)
    (run,) = ok(client.get("/api/executions", headers=ADMIN))["executions"]
    db = client.app.state.store.db  # type: ignore[attr-defined]
    db.execute_sql("UPDATE execution SET inputs = ? WHERE id = ?", ('{"x": ' + "9" * 5000 + "}",
                                                                  run["id"]))
    for path in (f"/api/executions/{run['id']}", f"/api/executions/{run['id']}/graph"):
        r = client.get(path, headers=ADMIN)
        assert r.status_code == 409 and "cannot be read" in r.json()["error"], path

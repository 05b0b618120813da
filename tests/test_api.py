"""The HTTP API: inbound webhooks, publishing, records, errors; `zentra serve` as a real process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from starlette.testclient import TestClient

from zentra_rules.integrations.webhooks import headers as signed_headers

from .serving import ADMIN, in_process, settle, zentra_serve

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with in_process(tmp_path) as c:
        yield c


def hook(client: TestClient, name: str, payload: Any, secret: str, msg_id: str = "msg_1",
         timestamp: int | None = None, raw: bytes | None = None,
         **header_overrides: str) -> httpx2.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    sent = signed_headers(secret, msg_id, int(time.time()) if timestamp is None else timestamp, body)
    sent.update(header_overrides)
    return client.post(f"/hooks/{name}", content=body, headers=sent)


@pytest.fixture
def hr(client: TestClient) -> str:
    r = client.post("/api/webhooks/inbound", headers=ADMIN, json={"name": "hr"})
    assert r.status_code == 201 and r.json()["secret"].startswith("whsec_")
    source = (ROOT / "examples" / "new-joiner-provisioning.zflow").read_text()
    assert client.post("/api/workflows", headers=ADMIN, json={"source": source}).status_code == 201
    return str(r.json()["secret"])


JOINER = {"type": "new_joiner", "name": "Ana", "email": "ana@example.com", "manager": "maria"}


def test_a_signed_webhook_fires_the_new_joiner_workflow(client: TestClient, hr: str) -> None:
    r = hook(client, "hr", JOINER, hr)
    assert r.status_code == 202, r.text
    settle(client)
    runs = client.get("/api/executions?workflow=new-joiner-provisioning", headers=ADMIN).json()
    (run,) = runs["executions"]
    assert run["status"] == "waiting" and run["trace"]["waiting_for"]["kind"] == "approval"
    titles = [client.get(f"/api/tickets/{i}", headers=ADMIN).json()["title"] for i in (1, 2, 3)]
    assert titles == ["Provision laptop for Ana", "Create accounts for Ana", "Assign desk for Ana"]


def test_a_replayed_webhook_id_is_accepted_once(client: TestClient, hr: str) -> None:
    first = hook(client, "hr", JOINER, hr, msg_id="msg_replay")
    again = hook(client, "hr", JOINER, hr, msg_id="msg_replay")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    settle(client)
    assert len(client.get("/api/executions", headers=ADMIN).json()["executions"]) == 1


@pytest.mark.parametrize("case", ["bad signature", "other secret", "stale", "future", "no id",
                                  "no timestamp", "no signature", "timestamp not a number",
                                  "signature not base64", "unknown version", "empty signature"])
def test_every_bad_or_malformed_signature_is_a_401(client: TestClient, hr: str, case: str) -> None:
    now = int(time.time())
    body = json.dumps(JOINER).encode()
    good = signed_headers(hr, "msg_x", now, body)
    variants: dict[str, dict[str, str]] = {
        "bad signature": {"webhook-signature": "v1," + "A" * 44},
        "other secret": signed_headers("whsec_" + "Q" * 32, "msg_x", now, body),
        "stale": signed_headers(hr, "msg_x", now - 301, body),
        "future": signed_headers(hr, "msg_x", now + 301, body),
        "no id": {k: v for k, v in good.items() if k != "webhook-id"},
        "no timestamp": {k: v for k, v in good.items() if k != "webhook-timestamp"},
        "no signature": {k: v for k, v in good.items() if k != "webhook-signature"},
        "timestamp not a number": {"webhook-timestamp": "soon"},
        "signature not base64": {"webhook-signature": "v1,@@@"},
        "unknown version": {"webhook-signature": good["webhook-signature"].replace("v1,", "v9,")},
        "empty signature": {"webhook-signature": ""},
    }
    sent = {**good, **variants[case]} if case not in ("other secret", "stale", "future") else \
        variants[case]
    if case.startswith("no "):
        sent = variants[case]
    r = client.post("/hooks/hr", content=body, headers=sent)
    assert r.status_code == 401, (case, r.status_code, r.text)
    assert "error" in r.json()
    assert client.get("/api/executions", headers=ADMIN).json()["executions"] == []


def test_rotated_secrets_several_signatures_one_valid(client: TestClient, hr: str) -> None:
    body = json.dumps(JOINER).encode()
    good = signed_headers(hr, "msg_rot", int(time.time()), body)
    good["webhook-signature"] = "v1," + "B" * 44 + " " + good["webhook-signature"]
    assert client.post("/hooks/hr", content=body, headers=good).status_code == 202


def test_webhook_bodies_that_are_not_json_too_large_or_for_nobody(client: TestClient, hr: str) -> None:
    assert hook(client, "hr", None, hr, raw=b"not json at all").status_code == 400
    assert hook(client, "hr", None, hr, raw=b"[1, 2]").status_code == 400
    big = b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    assert hook(client, "hr", None, hr, raw=big).status_code == 413
    assert hook(client, "nobody", JOINER, hr).status_code == 404
    assert client.get("/api/executions", headers=ADMIN).json()["executions"] == []


def test_publishing_reports_compile_errors_with_their_place(client: TestClient) -> None:
    r = client.post("/api/workflows", headers=ADMIN,
                    json={"source": "WHEN ticket.created\nWHERE priorty = \"urgent\"\nTHEN escalate"})
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert (error["line"], error["col"]) == (2, 7) and "did you mean `priority`" in error["message"]
    ok = client.post("/api/workflows", headers=ADMIN,
                     json={"source": "WHEN ticket.created THEN escalate", "name": "bump"})
    again = client.post("/api/workflows", headers=ADMIN,
                        json={"source": "WHEN ticket.created THEN escalate = 2", "name": "bump"})
    assert ok.json()["definitions"][0]["version"] == 1 and again.json()["definitions"][0]["version"] == 2
    versions = client.get("/api/workflows/bump", headers=ADMIN).json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    r = client.post("/api/workflows/bump/activate", headers=ADMIN, json={"version": 1})
    assert r.json() == {"name": "bump", "active_version": 1}
    assert client.post("/api/workflows/bump/activate", headers=ADMIN,
                       json={"version": 7}).status_code == 404


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "/api/tickets", b"{", 400),
    ("POST", "/api/tickets", b"", 400),
    ("POST", "/api/tickets", b"[]", 422),
    ("POST", "/api/tickets", b'{"title": "x", "priority": "asap"}', 422),
    ("POST", "/api/tickets", b'{"titel": "x"}', 422),
    ("PATCH", "/api/tickets/999", b'{"title": "x"}', 404),
    ("GET", "/api/tickets/abc", None, 404),
    ("POST", "/api/workflows", b'{"source": 12}', 422),
    ("POST", "/api/playground/dry-run", b'{"source": "WHEN ticket.created THEN escalate", '
                                        b'"event": "ticket.nope"}', 422),
    ("POST", "/api/users", b'{"id": "u1", "vip": "yes"}', 422),
    ("GET", "/api/executions/12345678901234567890", None, 404),
    ("POST", "/api/webhooks/outbound", b'{"name": "x", "url": "ftp://h/"}', 422),
    ("POST", "/api/webhooks/outbound", b'{"name": "x", "url": "https://h/", "secret": "nope!"}', 422),
    ("POST", "/api/tokens", b'{"role": "root"}', 422),
])
def test_bad_input_gets_a_json_error_with_the_right_status(client: TestClient, method: str, path: str,
                                                           body: bytes | None, status: int) -> None:
    r = client.request(method, path, headers={**ADMIN, "content-type": "application/json"},
                       content=body)
    assert r.status_code == status, r.text
    assert isinstance(r.json()["error"], str)


def test_an_api_body_over_a_mebibyte_is_a_413(client: TestClient) -> None:
    r = client.post("/api/tickets", headers=ADMIN,
                    content=b'{"title": "' + b"x" * (1024 * 1024) + b'"}')
    assert r.status_code == 413


def test_tickets_patch_and_read_through(client: TestClient) -> None:
    client.post("/api/workflows", headers=ADMIN, json={
        "source": 'workflow "note" WHEN ticket.status_changed THEN add internal note = "now {{status}}"'})
    ticket = client.post("/api/tickets", headers=ADMIN, json={"title": "Printer"}).json()
    r = client.patch(f"/api/tickets/{ticket['id']}", headers=ADMIN, json={"status": "open"})
    assert r.status_code == 200 and r.json()["status"] == "open"
    settle(client)
    got = client.get(f"/api/tickets/{ticket['id']}", headers=ADMIN).json()
    assert [n["body"] for n in got["notes"]] == ["now open"]


def test_zentra_serve_routes_a_ticket_and_stops_gracefully(tmp_path: Path) -> None:
    with zentra_serve(tmp_path, f"sqlite:///{tmp_path}/z.db", f"sqlite:///{tmp_path}/q.db") as base:
        source = (ROOT / "examples" / "escalate-urgent.zflow").read_text()
        assert httpx.post(f"{base}/api/workflows", headers=ADMIN,
                          json={"source": source, "name": "escalate-urgent"}).status_code == 201
        ticket = httpx.post(f"{base}/api/tickets", headers=ADMIN, json={
            "title": "VPN down", "priority": "urgent", "category": "Network"}).json()
        deadline = time.monotonic() + 15
        while httpx.get(f"{base}/api/tickets/{ticket['id']}", headers=ADMIN).json().get("team") != "Network":
            assert time.monotonic() < deadline, "the ticket was not routed"
            time.sleep(0.05)
    text = (tmp_path / "serve.log").read_text()
    assert "Application shutdown complete" in text and "All workers have stopped" in text
    assert "Traceback" not in text and "zt_admin" not in text


ROUTE_URGENT = json.loads((ROOT / "examples" / "legacy" / "route-urgent.json").read_text())


def test_a_stored_legacy_rule_routes_a_new_ticket(client: TestClient) -> None:
    r = client.post("/api/automation-rules", headers=ADMIN, json=ROUTE_URGENT)
    assert r.status_code == 201, r.text
    assert r.json()["workflows"] == [{"kind": "workflow", "name": "legacy ticket.created",
                                      "version": 1}]
    zflow = client.get("/api/automation-rules/ar_1042/zflow", headers=ADMIN).json()["zflow"]
    assert 'workflow "ar_1042"' in zflow and "Route urgent network tickets" in zflow
    routed = client.post("/api/tickets", headers=ADMIN, json={
        "title": "SSO down", "priority": "urgent", "category": "Identity"}).json()
    ignored = client.post("/api/tickets", headers=ADMIN, json={
        "title": "Toner", "priority": "urgent", "category": "Printing"}).json()
    settle(client)
    got = client.get(f"/api/tickets/{routed['id']}", headers=ADMIN).json()
    assert got["team"] == "Network" and [n["body"] for n in got["notes"]] == ["Auto-routed"]
    assert "team" not in client.get(f"/api/tickets/{ignored['id']}", headers=ADMIN).json()
    (run,) = [e for e in client.get(f"/api/executions?ticket={routed['id']}", headers=ADMIN)
              .json()["executions"]]
    assert run["workflow"] == "legacy ticket.created" and run["status"] == "completed"
    slack = run["trace"]["actions"][-1]
    assert (slack["object"], slack["value"], slack["params"]["message"]) == (
        "slack", "#incidents", "Urgent: SSO down")


def test_an_inactive_legacy_rule_is_stored_but_not_matched(client: TestClient) -> None:
    client.post("/api/automation-rules", headers=ADMIN, json=ROUTE_URGENT)
    r = client.post("/api/automation-rules", headers=ADMIN, json={**ROUTE_URGENT, "active": False})
    assert r.status_code == 201 and r.json()["workflows"] == []
    assert client.get("/api/workflows/legacy ticket.created",
                      headers=ADMIN).json()["active_version"] is None
    ticket = client.post("/api/tickets", headers=ADMIN, json={
        "title": "SSO down", "priority": "urgent", "category": "Identity"}).json()
    settle(client)
    assert "team" not in client.get(f"/api/tickets/{ticket['id']}", headers=ADMIN).json()
    assert client.get("/api/automation-rules/ar_1042/zflow", headers=ADMIN).status_code == 200


def test_a_bad_legacy_rule_is_refused_naming_the_rule_and_operator(client: TestClient) -> None:
    bad = {**ROUTE_URGENT, "conditions": {"all": [
        {"field": "priority", "operator": "between", "value": "urgent"}]}}
    r = client.post("/api/automation-rules", headers=ADMIN, json=bad)
    assert r.status_code == 422
    assert "ar_1042" in r.json()["error"] and "between" in r.json()["error"]
    assert client.get("/api/automation-rules/ar_1042/zflow", headers=ADMIN).status_code == 404


# -- one semantics through the API: warnings kept, one execution shape, change records --------
def test_publishing_returns_the_warnings(client: TestClient) -> None:
    r = client.post("/api/workflows", headers=ADMIN, json={
        "source": 'WHEN ticket.updated THEN wait until status = "resolved"', "name": "w"})
    assert r.status_code == 201
    (warning,) = r.json()["warnings"]
    assert warning["line"] == 1 and warning["severity"] == "warning"
    assert "no timeout" in warning["message"]
    r = client.post("/api/workflows", headers=ADMIN, json={
        "source": 'WHEN ticket.updated WHERE priority = "urgent" THEN assign team = "Network"',
        "name": "loop"})
    assert "re-fires its own trigger" in r.json()["warnings"][0]["message"]


def test_an_execution_has_one_shape_everywhere(client: TestClient) -> None:
    client.post("/api/workflows", headers=ADMIN, json={
        "source": 'scenario "triage" THEN add tag = "seen"'})
    ticket = client.post("/api/tickets", headers=ADMIN, json={"title": "x"}).json()
    started = client.post("/api/scenarios/triage/run", headers=ADMIN,
                          json={"ticket": ticket["id"]}).json()
    settle(client)
    one = client.get(f"/api/executions/{started['id']}", headers=ADMIN).json()
    (listed,) = client.get("/api/executions?workflow=triage", headers=ADMIN).json()["executions"]
    assert set(started) == set(one) == set(listed)
    assert started["version"] == one["version"] == listed["version"] == 1
    assert one["trace"]["version"] == 1 and "version_id" not in one


def test_a_change_record_through_the_api_completes_the_change_example(client: TestClient) -> None:
    source = (ROOT / "examples" / "change-implementation.zflow").read_text()
    assert client.post("/api/workflows", headers=ADMIN, json={"source": source}).status_code == 201
    client.post("/api/users", headers=ADMIN, json={"id": "u_ops", "name": "Olga",
                                                   "email": "olga@example.com"})
    made = client.post("/api/changes", headers=ADMIN, json={
        "id": "CHG-1", "title": "Firewall", "status": "review", "risk": "high",
        "requestedBy": "u_ops"})
    assert made.status_code == 201
    assert client.patch("/api/changes/CHG-1", headers=ADMIN,
                        json={"status": "approved"}).json()["status"] == "approved"
    settle(client)
    (run,) = client.get("/api/executions?workflow=change-implementation",
                        headers=ADMIN).json()["executions"]
    assert run["status"] == "waiting"
    client.patch("/api/changes/CHG-1", headers=ADMIN, json={"status": "implemented"})
    settle(client)
    run = client.get(f"/api/executions/{run['id']}", headers=ADMIN).json()
    assert run["status"] == "completed"
    assert [s["to"] for s in run["trace"]["sends"]] == ["olga@example.com"]
    assert client.get("/api/changes/CHG-1", headers=ADMIN).json()["status"] == "implemented"
    assert client.get("/api/changes/CHG-9", headers=ADMIN).status_code == 404
    assert client.patch("/api/changes/CHG-1", headers=ADMIN,
                        json={"id": "CHG-2"}).status_code == 422

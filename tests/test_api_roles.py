"""Who may call what: every endpoint × every role (and no or a bad token), then per-object approvals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from runtime.durable.queue import drain
from server import API, create_app
from zentra_rules.domain.config import Config

ADMIN_TOKEN = "zt_test_admin_bootstrap"
ROLES = ("admin", "editor", "agent", "viewer")
CALLERS = (*ROLES, "no token", "bad token")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Who may call an endpoint, written from docs/api.md (the HTTP API) and not from the server's table.
ADMIN_ONLY = frozenset({"admin"})
EDITORS = frozenset({"admin", "editor"})
AGENTS = frozenset({"admin", "editor", "agent"})
EVERYONE = frozenset(ROLES)

CHECK_SOURCE = 'workflow "w" WHEN ticket.created THEN add tag = "seen"'
GATE = ('workflow "gate" WHEN ticket.created WHERE category = "approval" THEN '
        'request approval ok from agent wait for approval ok add internal note = "{{ok.outcome}}"')
TOGGLE = 'workflow "toggle" WHEN ticket.created WHERE category = "never" THEN add tag = "t"'


@dataclass
class World:
    """The app with one of everything the matrix's requests refer to, for each caller."""

    client: TestClient
    tokens: dict[str, str]            # role -> token value (each acts for user `u_<role>`)
    approval: dict[str, int]          # caller -> a pending approval its user is asked to decide
    victim: dict[str, int]            # caller -> a token id it may revoke
    duplicate: dict[str, str]         # caller -> a ticket the close-as-duplicate scenario applies to
    ticket: str
    execution: int


Request = tuple[str, dict[str, Any] | None]     # path, JSON body
Build = Callable[[World, str], Request]


def _slug(who: str) -> str:
    return who.replace(" ", "-")


# (method, path) -> (roles allowed, success status, the request a caller `who` sends).
MATRIX: dict[tuple[str, str], tuple[frozenset[str], int, Build]] = {
    ("GET", "/api/triggers"): (EVERYONE, 200, lambda w, who: ("/api/triggers", None)),
    ("POST", "/api/workflows"): (EDITORS, 201, lambda w, who: ("/api/workflows", {
        "source": f'workflow "made-by-{_slug(who)}" WHEN ticket.created WHERE category = "never" '
                  'THEN add tag = "x"'})),
    ("GET", "/api/workflows"): (EVERYONE, 200, lambda w, who: ("/api/workflows", None)),
    ("GET", "/api/workflows/{name}"): (EVERYONE, 200, lambda w, who: ("/api/workflows/gate", None)),
    ("POST", "/api/workflows/{name}/activate"): (
        EDITORS, 200, lambda w, who: ("/api/workflows/toggle/activate", {"version": 1})),
    ("POST", "/api/workflows/{name}/deactivate"): (
        EDITORS, 200, lambda w, who: ("/api/workflows/toggle/deactivate", None)),
    ("POST", "/api/playground/check"): (
        EDITORS, 200, lambda w, who: ("/api/playground/check", {"source": CHECK_SOURCE})),
    ("POST", "/api/playground/dry-run"): (EDITORS, 200, lambda w, who: ("/api/playground/dry-run", {
        "source": CHECK_SOURCE, "event": "ticket.created", "subject": {"title": "t"}})),
    ("GET", "/api/playground/samples"): (EDITORS, 200, lambda w, who: ("/api/playground/samples", None)),
    ("POST", "/api/tickets"): (AGENTS, 201, lambda w, who: ("/api/tickets", {"title": f"by {who}"})),
    ("GET", "/api/tickets/{id}"): (AGENTS, 200, lambda w, who: (f"/api/tickets/{w.ticket}", None)),
    ("PATCH", "/api/tickets/{id}"): (
        AGENTS, 200, lambda w, who: (f"/api/tickets/{w.ticket}", {"priority": "high"})),
    ("GET", "/api/tickets/{id}/timeline"): (
        AGENTS, 200, lambda w, who: (f"/api/tickets/{w.ticket}/timeline", None)),
    ("POST", "/api/assets"): (AGENTS, 201, lambda w, who: ("/api/assets", {"id": f"asset-{_slug(who)}"})),
    ("GET", "/api/assets/{id}"): (AGENTS, 200, lambda w, who: ("/api/assets/A-1", None)),
    ("PATCH", "/api/assets/{id}"): (AGENTS, 200, lambda w, who: ("/api/assets/A-1", {"name": who})),
    ("GET", "/api/assets/{id}/timeline"): (AGENTS, 200, lambda w, who: ("/api/assets/A-1/timeline", None)),
    ("POST", "/api/changes"): (AGENTS, 201, lambda w, who: ("/api/changes", {"id": f"chg-{_slug(who)}"})),
    ("GET", "/api/changes/{id}"): (AGENTS, 200, lambda w, who: ("/api/changes/CHG-1", None)),
    ("PATCH", "/api/changes/{id}"): (AGENTS, 200, lambda w, who: ("/api/changes/CHG-1", {"title": who})),
    ("GET", "/api/changes/{id}/timeline"): (
        AGENTS, 200, lambda w, who: ("/api/changes/CHG-1/timeline", None)),
    ("POST", "/api/users"): (ADMIN_ONLY, 201, lambda w, who: ("/api/users", {"id": f"made-by-{_slug(who)}"})),
    ("POST", "/api/scenarios/{name}/run"): (AGENTS, 201, lambda w, who: (
        "/api/scenarios/close-as-duplicate/run", {"ticket": w.duplicate[who]})),
    ("GET", "/api/executions"): (EVERYONE, 200, lambda w, who: ("/api/executions", None)),
    ("GET", "/api/executions/{id}"): (EVERYONE, 200, lambda w, who: (f"/api/executions/{w.execution}", None)),
    ("GET", "/api/executions/{id}/graph"): (
        EVERYONE, 200, lambda w, who: (f"/api/executions/{w.execution}/graph", None)),
    ("GET", "/api/events"): (EVERYONE, 200, lambda w, who: ("/api/events", None)),
    ("GET", "/api/approvals"): (EVERYONE, 200, lambda w, who: ("/api/approvals", None)),
    ("POST", "/api/approvals/{id}/decide"): (EVERYONE, 200, lambda w, who: (
        f"/api/approvals/{w.approval[who]}/decide", {"decision": "approve"})),
    ("POST", "/api/webhooks/inbound"): (
        ADMIN_ONLY, 201, lambda w, who: ("/api/webhooks/inbound", {"name": f"in-{_slug(who)}"})),
    ("POST", "/api/webhooks/outbound"): (ADMIN_ONLY, 201, lambda w, who: ("/api/webhooks/outbound", {
        "name": f"out-{_slug(who)}", "url": "https://example.com/hook"})),
    ("POST", "/api/automation-rules"): (ADMIN_ONLY, 201, lambda w, who: ("/api/automation-rules", {
        "id": f"ar-{_slug(who)}", "title": "never fires", "event": "ticket.created",
        "conditions": {"all": [{"field": "category", "operator": "is", "value": "never"}]},
        "actions": [{"type": "add_internal_note", "value": "x"}]})),
    ("GET", "/api/automation-rules/{id}"): (
        ADMIN_ONLY, 200, lambda w, who: ("/api/automation-rules/ar-seed", None)),
    ("GET", "/api/automation-rules/{id}/zflow"): (
        ADMIN_ONLY, 200, lambda w, who: ("/api/automation-rules/ar-seed/zflow", None)),
    ("POST", "/api/tokens"): (ADMIN_ONLY, 201, lambda w, who: ("/api/tokens", {"role": "viewer"})),
    ("GET", "/api/tokens"): (ADMIN_ONLY, 200, lambda w, who: ("/api/tokens", None)),
    ("DELETE", "/api/tokens/{id}"): (ADMIN_ONLY, 204, lambda w, who: (f"/api/tokens/{w.victim[who]}", None)),
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


def app_at(tmp: Path) -> Any:
    return create_app(Config(database_url=f"sqlite:///{tmp}/z.db", queue_url="memory://",
                             admin_token=ADMIN_TOKEN))


def ok(response: Any, status: int) -> Any:
    assert response.status_code == status, (response.request.method, response.request.url,
                                            response.status_code, response.text)
    return response.json() if response.content else None


def settle(client: TestClient) -> None:
    """Run every queued task now (events → executions → approval requests)."""
    app = client.app
    drain(app.state.huey, app.state.engine.clock.now())  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with TestClient(app_at(tmp_path_factory.mktemp("roles"))) as c:
        for source in (GATE, TOGGLE, (EXAMPLES / "close-as-duplicate.zflow").read_text(encoding="utf-8")):
            ok(c.post("/api/workflows", headers=ADMIN, json={"source": source}), 201)
        ticket = ok(c.post("/api/tickets", headers=ADMIN, json={"title": "printer on fire"}), 201)["id"]
        ok(c.post("/api/assets", headers=ADMIN, json={"id": "A-1", "name": "laptop"}), 201)
        ok(c.post("/api/changes", headers=ADMIN, json={"id": "CHG-1", "title": "Firewall"}), 201)
        ok(c.post("/api/automation-rules", headers=ADMIN, json={
            "id": "ar-seed", "title": "seed", "event": "ticket.created", "actions": []}), 201)
        tokens, approval, victim, duplicate = {}, {}, {}, {}
        for who in CALLERS:
            user = f"u_{_slug(who)}"
            ok(c.post("/api/users", headers=ADMIN, json={"id": user}), 201)
            if who in ROLES:
                tokens[who] = ok(c.post("/api/tokens", headers=ADMIN,
                                        json={"role": who, "user": user}), 201)["token"]
            victim[who] = ok(c.post("/api/tokens", headers=ADMIN, json={"role": "viewer"}), 201)["id"]
            ok(c.post("/api/tickets", headers=ADMIN,
                      json={"title": f"approve for {who}", "category": "approval", "agent": user}), 201)
            duplicate[who] = ok(c.post("/api/tickets", headers=ADMIN, json={
                "title": "again", "custom": {"duplicateOf": ticket}}), 201)["id"]
        settle(c)
        for request in ok(c.get("/api/approvals", headers=ADMIN), 200)["approvals"]:
            assert request["status"] == "pending"
            (asked,) = request["approvers"][0]["users"]
            approval[next(who for who in CALLERS if f"u_{_slug(who)}" == asked)] = request["id"]
        assert set(approval) == set(CALLERS)
        execution = ok(c.get("/api/executions", headers=ADMIN), 200)["executions"][0]["id"]
        yield World(c, tokens, approval, victim, duplicate, ticket, execution)


def test_the_matrix_covers_the_api_table() -> None:
    """A new endpoint without a row here fails; so does a row for an endpoint that is gone."""
    assert set(MATRIX) == {(method, path) for method, path, *_ in API}
    for method, path, _roles, _handler, _body, status in API:
        assert MATRIX[(method, path)][1] == status, (method, path)


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize("route", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
def test_role_matrix(world: World, route: tuple[str, str], who: str) -> None:
    allowed, success, build = MATRIX[route]
    path, body = build(world, who)
    headers = ({} if who == "no token" else bearer("zt_not_a_real_token") if who == "bad token"
               else bearer(world.tokens[who]))
    response = world.client.request(route[0], path, headers=headers, json=body)
    expected = 401 if who not in ROLES else success if who in allowed else 403
    assert response.status_code == expected, (route, who, response.status_code, response.text)
    if expected != 204:
        assert "error" in response.json() or expected < 400


# -- per object: an approval is decided by the user asked, nobody else ---------------------------
ASK = ('workflow "ask" WHEN ticket.created THEN request approval ok from user "maria" '
       'wait for approval ok add internal note = "{{ok.outcome}}"')


def test_only_the_asked_approver_decides(tmp_path: Path) -> None:
    with TestClient(app_at(tmp_path)) as c:
        made = {}
        for user in ("maria", "bob"):
            ok(c.post("/api/users", headers=ADMIN, json={"id": user, "email": f"{user}@example.com"}), 201)
            made[user] = ok(c.post("/api/tokens", headers=ADMIN, json={"role": "agent", "user": user}), 201)
            assert set(made[user]) >= {"id", "token"} and made[user]["user"] == user
        maria, bob = bearer(made["maria"]["token"]), bearer(made["bob"]["token"])
        ok(c.post("/api/workflows", headers=ADMIN, json={"source": ASK}), 201)
        ticket = ok(c.post("/api/tickets", headers=ADMIN, json={"title": "new laptop"}), 201)["id"]
        settle(c)

        assert ok(c.get("/api/approvals", headers=bob), 200) == {"approvals": []}
        (request,) = ok(c.get("/api/approvals", headers=maria), 200)["approvals"]
        assert request["name"] == "ok" and request["status"] == "pending"
        assert [a["id"] for a in ok(c.get("/api/approvals", headers=ADMIN), 200)["approvals"]] \
            == [request["id"]]
        decide = f"/api/approvals/{request['id']}/decide"

        ok(c.post(decide, headers=bob, json={"decision": "approve"}), 403)
        ok(c.post(decide, headers=ADMIN, json={"decision": "approve"}), 403)   # acts for no user
        ok(c.post(decide, headers=maria, json={"decision": "maybe"}), 422)
        ok(c.post("/api/approvals/999999/decide", headers=maria, json={"decision": "approve"}), 404)
        assert ok(c.post(decide, headers=maria, json={"decision": "approve", "comment": "fine"}),
                  200)["status"] == "approved"
        ok(c.post(decide, headers=maria, json={"decision": "approve"}), 409)
        ok(c.post(decide, headers=maria, json={"decision": "reject"}), 409)

        settle(c)   # the execution waiting for the decision goes on
        notes = ok(c.get(f"/api/tickets/{ticket}", headers=maria), 200)["notes"]
        assert [n["body"] for n in notes] == ["approved"]


def test_revoked_tokens_and_token_listing(tmp_path: Path) -> None:
    with TestClient(app_at(tmp_path)) as c:
        made = ok(c.post("/api/tokens", headers=ADMIN, json={"role": "agent", "user": "bob"}), 201)
        other = ok(c.post("/api/tokens", headers=ADMIN, json={"role": "editor"}), 201)
        ok(c.get("/api/approvals", headers=bearer(made["token"])), 200)

        listing = c.get("/api/tokens", headers=ADMIN)
        rows = ok(listing, 200)["tokens"]
        assert {r["id"] for r in rows} >= {made["id"], other["id"]}
        for value in (made["token"], other["token"], ADMIN_TOKEN):
            assert value not in listing.text
        assert all(set(r) == {"id", "role", "user", "created_at", "revoked_at"} for r in rows)

        revoked = c.delete(f"/api/tokens/{made['id']}", headers=ADMIN)
        assert revoked.status_code == 204 and revoked.content == b""
        ok(c.get("/api/approvals", headers=bearer(made["token"])), 401)
        ok(c.get("/api/triggers", headers=bearer(made["token"])), 401)
        ok(c.get("/api/workflows", headers=bearer(other["token"])), 200)    # only that one
        (row,) = [r for r in ok(c.get("/api/tokens", headers=ADMIN), 200)["tokens"]
                  if r["id"] == made["id"]]
        assert row["revoked_at"] is not None
        ok(c.delete("/api/tokens/999999", headers=ADMIN), 404)

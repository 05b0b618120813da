"""The API against its own OpenAPI document (schemathesis): no 500s, only documented statuses and
content types, bodies that match the documented schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from runtime.durable.queue import drain
from server import create_app
from zentra_rules.domain.config import Config

ADMIN_TOKEN = "zt_schema_admin_bootstrap"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GATE = ('workflow "gate" WHEN ticket.created WHERE category = "approval" THEN '
        'request approval ok from agent wait for approval ok add internal note = "{{ok.outcome}}"')

# Path parameters naming records the `served` fixture creates: half the generated cases use them,
# so the operations on one record get past their 404 (random ids hardly ever exist).
KNOWN: dict[str, dict[str, str]] = {
    "/api/workflows/{name}": {"name": "gate"},
    "/api/workflows/{name}/activate": {"name": "gate"},
    "/api/workflows/{name}/deactivate": {"name": "gate"},
    "/api/tickets/{id}": {"id": "1"},
    "/api/tickets/{id}/timeline": {"id": "1"},
    "/api/assets/{id}": {"id": "A-1"},
    "/api/assets/{id}/timeline": {"id": "A-1"},
    "/api/changes/{id}": {"id": "CHG-1"},
    "/api/changes/{id}/timeline": {"id": "CHG-1"},
    "/api/scenarios/{name}/run": {"name": "close-as-duplicate"},
    "/api/executions/{id}": {"id": "1"},
    "/api/approvals/{id}/decide": {"id": "1"},
    "/api/tokens/{id}": {"id": "2"},
    "/hooks/{name}": {"name": "in"},
}


class Served:
    """The ASGI app schemathesis calls: it forwards to `app`, and answers the lifespan itself.

    The lifespan of the app under test runs once, in a TestClient held open by the `served`
    fixture, on a fresh database for this module; schemathesis loads the document at import time,
    before any fixture exists, from an app that is never started (the document needs no store)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self._request(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _request(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette re-raises a crash after its 500 answer has gone out, for the server to log; a
        # server (uvicorn) logs it and the client has its 500. Likewise here, so the 500 reaches
        # the checks (`not_a_server_error`) with the request that caused it.
        answered = False

        async def sent(message: Message) -> None:
            nonlocal answered
            await send(message)
            answered = answered or (message["type"] == "http.response.body"
                                    and not message.get("more_body", False))

        try:
            await self.app(scope, receive, sent)
        except Exception:
            if not answered:
                raise


SERVED = Served(create_app(Config(database_url="sqlite:///:memory:", queue_url="memory://")))
schema = schemathesis.openapi.from_asgi("/openapi.json", SERVED)


@schema.hook
def before_generate_path_parameters(context: Any, strategy: Any) -> Any:
    known = KNOWN.get(context.operation.path)
    return strategy if known is None else st.one_of(strategy, st.just(known))


def _seed(client: TestClient) -> None:
    """One of each record KNOWN names, with the ids a fresh database gives them."""
    def made(response: Any) -> Any:
        assert response.status_code == 201, response.text
        return response.json()

    for source in (GATE, (EXAMPLES / "close-as-duplicate.zflow").read_text(encoding="utf-8")):
        made(client.post("/api/workflows", headers=ADMIN, json={"source": source}))
    made(client.post("/api/users", headers=ADMIN, json={"id": "u_ana", "email": "ana@example.com"}))
    assert made(client.post("/api/tokens", headers=ADMIN, json={"role": "viewer"}))["id"] == 2
    assert made(client.post("/api/tickets", headers=ADMIN, json={
        "title": "VPN down", "category": "approval", "agent": "u_ana"}))["id"] == "1"
    made(client.post("/api/tickets", headers=ADMIN, json={"title": "again", "custom": {"duplicateOf": "1"}}))
    made(client.post("/api/assets", headers=ADMIN,
                     json={"id": "A-1", "name": "laptop", "lifecycle": "deployed"}))
    made(client.post("/api/changes", headers=ADMIN, json={"id": "CHG-1", "title": "Firewall"}))
    made(client.post("/api/webhooks/inbound", headers=ADMIN, json={"name": "in"}))
    app = client.app
    drain(app.state.huey, app.state.engine.clock.now())  # type: ignore[attr-defined]
    (approval,) = client.get("/api/approvals", headers=ADMIN).json()["approvals"]
    assert approval["id"] == 1 and approval["execution"] == 1


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("schema")
    app = create_app(Config(database_url=f"sqlite:///{tmp}/z.db", queue_url="memory://",
                            admin_token=ADMIN_TOKEN))
    loader, SERVED.app = SERVED.app, app
    try:
        with TestClient(app) as client:   # the lifespan: the store, the engine, the admin token
            assert client.get("/openapi.json").json() == schema.raw_schema
            _seed(client)
            yield app
    finally:
        SERVED.app = loader


class AdminToken:
    """An admin token that is live for every call (a generated DELETE /api/tokens/{id} may revoke
    the one in use; then the next call gets a new one instead of a run of 401s)."""

    value = ADMIN_TOKEN

    @classmethod
    def live(cls, app: Any) -> str:
        store = app.state.store
        if store.tokens.token(cls.value) is None:
            with store.tx():
                cls.value = store.tokens.create_token("admin", None, app.state.engine.clock.now())
        return cls.value


# Derandomized: CI runs the same cases every time (a failure can be rerun as it was);
# `pytest -m long tests/test_api_schema.py` runs 500 random cases per operation.
@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case: Any, served: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {AdminToken.live(served)}"},
                           checks=CHECKS)


@pytest.mark.long
@schema.parametrize()
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document_long(case: Any, served: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {AdminToken.live(served)}"},
                           checks=CHECKS)


# Odd input that schemathesis only rarely generates, kept as fixed cases: the answer must be one of
# the statuses the document gives the operation, never a 500 (a null status on a new ticket means
# "not given": 201; the others are refusals).
PROBES: list[tuple[str, str, str, dict[str, Any] | None]] = [   # method, documented path, path, body
    ("POST", "/api/tickets", "/api/tickets", {"title": "x", "status": None}),
    ("GET", "/api/tickets/{id}", "/api/tickets/99999999999999999999999", None),
    ("PATCH", "/api/tickets/{id}", "/api/tickets/99999999999999999999999", {"title": "x"}),
    ("POST", "/api/scenarios/{name}/run", "/api/scenarios/close-as-duplicate/run",
     {"ticket": "99999999999999999999999"}),
    ("POST", "/api/workflows/{name}/activate", "/api/workflows/gate/activate", {"version": 2**70}),
    ("POST", "/api/webhooks/outbound", "/api/webhooks/outbound", {"name": "v6", "url": "https://[::1"}),
]


@pytest.mark.parametrize(("method", "documented", "path", "body"), PROBES,
                         ids=[f"{m} {p} {body}" for m, _, p, body in PROBES])
def test_bad_input_gets_a_documented_4xx(served: Any, method: str, documented: str, path: str,
                                         body: dict[str, Any] | None) -> None:
    statuses = {int(code) for code in schema.raw_schema["paths"][documented][method.lower()]["responses"]}
    with TestClient(SERVED, raise_server_exceptions=False) as client:
        response = client.request(method, path, json=body,
                                  headers={"Authorization": f"Bearer {AdminToken.live(served)}"})
    assert response.status_code < 500 and response.status_code in statuses, \
        (method, path, body, response.status_code, response.text)

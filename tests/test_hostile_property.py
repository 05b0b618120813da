"""Property: hostile JSON posted to every JSON endpoint of the route table, and correctly signed to
`/hooks/NAME`, never gets a 500, and never leaves something that breaks a later read.

The JSON is written as raw text, so it can hold what a sender can send and Python would not
write: integers of thousands of digits, `NaN`, `Infinity`, `1e400`, lone surrogates, NUL
characters, nesting far past any record, long keys and strings. Half the time the hostile value
sits inside a body that is otherwise right for the endpoint, so it reaches the handler and the
store. After every request that the service took (2xx), and after every tenth otherwise,
`GET /api/executions` and `GET /api/tickets/1` must answer 200 with nothing unreadable.

1,000 examples per endpoint group on SQLite and 200 on PostgreSQL in the default run;
`pytest -m long tests/test_hostile_property.py` runs 5,000 per group on both.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from runtime.durable.queue import drain
from server import API, create_app
from zentra_rules.domain.config import Config
from zentra_rules.integrations.webhooks import headers as signed_headers

from .services import database_url

ADMIN = {"Authorization": "Bearer zt_admin", "content-type": "application/json"}


class Raw:
    """A piece of JSON text written as is (a number Python would not print)."""

    def __init__(self, text: str):
        self.text = text


def dump(node: Any) -> str:
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v) for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ",".join(dump(v) for v in node) + "]"
    return json.dumps(node)   # ensure_ascii: a lone surrogate goes out as \ud800


NASTY_TEXT = st.one_of(
    st.just("\ud800"), st.just("a\udfffb"), st.just("a\x00b"), st.just("\x00"),
    st.text(min_size=0, max_size=20),
    st.integers(300, 3000).map(lambda n: "k" * n),
    st.sampled_from(["{{ticket.id}}", "'; DROP TABLE ticket; --", "\u202e", "ünï", "\r\n"]))
NASTY_NUMBER = st.one_of(
    st.integers(19, 6000).map(lambda n: Raw("9" * n)),
    st.integers(19, 6000).map(lambda n: Raw("-" + "1" * n)),
    st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e400"),
                     Raw("-1e999"), Raw("1e-400"), Raw("0.1e309")]),
    st.integers(-(2 ** 70), 2 ** 70), st.floats(allow_nan=False, allow_infinity=False))


def deep(depth: int, leaf: Any) -> Raw:
    """Lists and objects `depth` levels inside each other, as text (no recursion to write it)."""
    opening = "".join('{"a":' if i % 2 else "[" for i in range(depth))
    closing = "".join("}" if i % 2 else "]" for i in reversed(range(depth)))
    return Raw(opening + dump(leaf) + closing)


_NASTY_TREE = st.recursive(
    st.one_of(NASTY_TEXT, NASTY_NUMBER, st.none(), st.booleans()),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(NASTY_TEXT, inner, max_size=4)),
    max_leaves=12)
HOSTILE = st.one_of(_NASTY_TREE, _NASTY_TREE, _NASTY_TREE,
                    st.builds(deep, st.integers(20, 1200), st.just(1)))

# Odd but valid: what the desk must take, store and read back intact.
ODD = st.recursive(
    st.one_of(st.text(max_size=30), st.integers(-(10 ** 17), 10 ** 17),
              st.floats(allow_nan=False, allow_infinity=False), st.none(), st.booleans(),
              st.sampled_from(["{{x}}", "\u202e", "x" * 5000, "ünï", "\r\n\t"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=20), inner, max_size=4)),
    max_leaves=10)

# A body each JSON endpoint takes, so a hostile value inside reaches the layers below.
GOOD: dict[str, dict[str, Any]] = {
    "publish": {"source": 'WHEN ticket.updated THEN add internal note = "x"', "name": "p"},
    "activate": {"version": 1}, "check": {"source": "WHEN ticket.created THEN escalate"},
    "dry_run": {"source": "WHEN ticket.created THEN escalate", "event": "ticket.created",
                "subject": {"title": "x"}},
    "create_ticket": {"title": "x"}, "patch_ticket": {"priority": "high"},
    "create_asset": {"id": "A-9"}, "patch_asset": {"name": "n"},
    "create_change": {"id": "C-9"}, "patch_change": {"title": "t"},
    "create_user": {"id": "u-9"}, "run_scenario": {"ticket": "1"},
    "decide": {"decision": "approve"}, "inbound_endpoint": {"name": "in-9"},
    "outbound_endpoint": {"name": "out-9", "url": "https://example.com/x"},
    "create_rule": {"id": "ar_9", "event": "ticket.created", "conditions": {"all": []},
                    "actions": [{"type": "add_internal_note", "value": "x"}]},
    "create_token": {"role": "viewer"},
}
GROUPS = {
    "definitions": ["publish", "activate", "check", "dry_run", "create_rule"],
    "records": ["create_ticket", "patch_ticket", "create_asset", "patch_asset", "create_change",
                "patch_change", "create_user"],
    "runs-and-admin": ["run_scenario", "decide", "inbound_endpoint", "outbound_endpoint",
                       "create_token"],
}
PATHS = {handler.__name__: (method, path.replace("{id}", "1").replace("{name}", "triage"))
         for method, path, _, handler, body, _ in API if body}
PATHS["patch_asset"] = ("PATCH", "/api/assets/A-1")
PATHS["patch_change"] = ("PATCH", "/api/changes/C-1")
PATHS["activate"] = ("POST", "/api/workflows/tickets/activate")


def test_every_json_endpoint_is_in_a_group() -> None:
    assert sorted(PATHS) == sorted(n for names in GROUPS.values() for n in names)
    assert sorted(GOOD) == sorted(PATHS)


@st.composite
def bodies(draw: Any, names: list[str]) -> tuple[str, str]:
    name = draw(st.sampled_from(names))
    value = draw(st.one_of(HOSTILE, ODD, ODD))
    if draw(st.integers(0, 3)):
        body = dict(GOOD[name])
        if "id" in body and name.startswith("create_"):   # a new record, not a conflict
            body["id"] = draw(st.from_regex(r"[a-z][a-z0-9-]{0,11}", fullmatch=True))
        key = draw(st.sampled_from([*body, "custom", "custom", "custom", "x", "title"]))
        body[key] = value
        return name, dump(body)
    return name, dump(value)


def _settle(client: TestClient) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    drain(state.huey, state.engine.clock.now())


def _readable(client: TestClient) -> None:
    _settle(client)
    listing = client.get("/api/executions", headers=ADMIN)
    assert listing.status_code == 200, listing.text[:500]
    bad = [e for e in listing.json()["executions"] if "error" in e]
    assert not bad, bad
    assert client.get("/api/tickets/1", headers=ADMIN).status_code == 200


@pytest.fixture(params=["sqlite", "postgresql"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, str, str]]:
    with database_url(request.param, tmp_path) as url:
        app = create_app(Config(database_url=url, queue_url="memory://", admin_token="zt_admin"))
        with TestClient(app, raise_server_exceptions=False) as client:
            source = ('workflow "tickets" WHEN ticket.created OR ticket.updated\n'
                      'WHERE NOT event.actor starts with "workflow:"\n'
                      'THEN add internal note = "{{title}} {{custom}} {{tags}}"\n'
                      'workflow "hooks" WHEN webhook.received "hr"\n'
                      'THEN create ticket t, title = "hr {{payload}}"\n'
                      'scenario "triage" THEN add tag = "seen"\n')
            assert client.post("/api/workflows", headers=ADMIN,
                               json={"source": source}).status_code == 201
            assert client.post("/api/tickets", headers=ADMIN, json={"title": "x"}).status_code == 201
            client.post("/api/assets", headers=ADMIN, json={"id": "A-1"})
            client.post("/api/changes", headers=ADMIN, json={"id": "C-1"})
            secret = client.post("/api/webhooks/inbound", headers=ADMIN,
                                 json={"name": "hr"}).json()["secret"]
            yield client, str(secret), request.param


def _examples(backend: str) -> int:
    if os.environ.get("ZENTRA_HOSTILE_EXAMPLES"):
        return int(os.environ["ZENTRA_HOSTILE_EXAMPLES"])
    return 1000 if backend == "sqlite" else 200


def _run(desk: tuple[TestClient, str, str], group: str, examples: int) -> None:
    client, secret, _ = desk
    count = {"requests": 0, "taken": 0}

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @given(case=bodies(GROUPS[group]) if group != "hooks" else st.one_of(HOSTILE, ODD).map(
        lambda h: ("hook", dump(h if isinstance(h, dict) else {"x": h}))))
    def check(case: tuple[str, str]) -> None:
        name, text = case
        raw = text.encode("utf-8", "surrogatepass")
        if name == "hook":
            count["requests"] += 1
            r = client.post("/hooks/hr", content=raw, headers=signed_headers(
                secret, f"msg_{count['requests']}_{time.time_ns()}", int(time.time()), raw))
        else:
            method, path = PATHS[name]
            count["requests"] += 1
            r = client.request(method, path, content=raw, headers=ADMIN)
        assert r.status_code < 500, (name, r.status_code, r.text[:300], text[:300])
        assert "error" in r.json() if r.status_code >= 400 else True
        if r.status_code < 300:
            count["taken"] += 1
        if r.status_code < 300 or count["requests"] % 10 == 0:
            _readable(client)

    check()
    _readable(client)
    assert count["requests"] >= examples
    print(f"{group}: {count}")


@pytest.mark.parametrize("group", [*GROUPS, "hooks"])
def test_hostile_json_never_breaks_the_service(desk: tuple[TestClient, str, str],
                                               group: str) -> None:
    _run(desk, group, _examples(desk[2]))


@pytest.mark.long
@pytest.mark.parametrize("group", [*GROUPS, "hooks"])
def test_hostile_json_never_breaks_the_service_long(desk: tuple[TestClient, str, str],
                                                    group: str) -> None:
    _run(desk, group, 5000)

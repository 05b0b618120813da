"""Audit queries at any age: `GET /api/executions` pages by cursor, newest first, stable while
new runs are added, and filters by ticket, workflow, version, status and time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from zentra_rules.domain.values import as_datetime

from .serving import ADMIN, in_process, settle

SCRIPT = 'workflow "route" WHEN ticket.created WHERE category = "Network" THEN set team = "Net"'


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with in_process(tmp_path) as c:
        assert c.post("/api/workflows", headers=ADMIN, json={"source": SCRIPT}).status_code == 201
        yield c


def _tickets(client: TestClient, n: int, category: str = "Network") -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    for i in range(n):
        engine.create_ticket({"title": f"t{i}", "category": category})
    settle(client)


def _page(client: TestClient, query: str, what: str = "executions") -> dict[str, Any]:
    r = client.get(f"/api/{what}?{query}", headers=ADMIN)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_paging_through_1000_executions_returns_each_once_while_runs_are_added(
        client: TestClient) -> None:
    _tickets(client, 1000)
    store = client.app.state.store  # type: ignore[attr-defined]
    before = [e["id"] for e in store.runs.executions(limit=2000)]
    assert len(before) == 1000
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = _page(client, "limit=37" + (f"&cursor={cursor}" if cursor else ""))
        ids = [e["id"] for e in page["executions"]]
        assert ids == sorted(ids, reverse=True)   # newest first
        seen += ids
        pages += 1
        if pages % 5 == 0:
            _tickets(client, 3)   # new runs arrive between pages: they are newer than the cursor
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Each of the 1,000 exactly once, in order; the runs added meanwhile are newer than the
    # first page, so paging on never meets them (a new listing starts with them).
    assert seen == before
    assert len(_page(client, "limit=500")["executions"]) == 500
    assert _page(client, "limit=1")["executions"][0]["id"] > before[0]
    assert pages == -(-1000 // 37)


def test_filters_by_workflow_version_status_ticket_and_time(client: TestClient) -> None:
    _tickets(client, 3)
    assert client.post("/api/workflows", headers=ADMIN,
                       json={"source": SCRIPT.replace('"Net"', '"Network team"')}).status_code == 201
    _tickets(client, 2)
    everything = _page(client, "workflow=route")["executions"]
    assert len(everything) == 5 and _page(client, "workflow=other")["executions"] == []
    assert [e["version"] for e in _page(client, "workflow=route&version=1")["executions"]] == [1] * 3
    assert [e["version"] for e in _page(client, "version=2")["executions"]] == [2] * 2
    assert len(_page(client, "status=completed")["executions"]) == 5
    assert _page(client, "status=failed")["executions"] == []
    ticket = everything[0]["subject"]["id"]
    assert [e["subject"]["id"] for e in _page(client, f"ticket={ticket}")["executions"]] == [ticket]
    first = as_datetime(everything[-1]["created_at"])
    assert first is not None
    since = (first - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    until = (first - timedelta(milliseconds=1)).isoformat().replace("+00:00", "Z")
    assert len(_page(client, f"since={since}")["executions"]) == 5
    assert _page(client, f"until={until}")["executions"] == []


@pytest.mark.parametrize(("query", "mentions"), [
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"),
    ("cursor=nonsense", "cursor"), ("cursor=eDEyYQ", "cursor"), ("version=v2", "version"),
    ("since=yesterday", "since"), ("until=2026-13-01", "until"), ("version=-1", "version"),
])
def test_a_bad_paging_or_filter_value_is_a_clear_422(client: TestClient, query: str,
                                                      mentions: str) -> None:
    r = client.get(f"/api/executions?{query}", headers=ADMIN)
    assert r.status_code == 422, r.text
    assert mentions in r.json()["error"]


def test_events_page_the_same_way_and_filter_by_name_record_and_time(client: TestClient) -> None:
    _tickets(client, 30)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    engine.update_ticket("7", {"priority": "urgent"})
    settle(client)
    everything = [e["id"] for e in _page(client, what="events", query="limit=500")["events"]]
    seen, cursor = [], None
    while True:
        page = _page(client, what="events", query="limit=7" + (f"&cursor={cursor}" if cursor else ""))
        seen += [e["id"] for e in page["events"]]
        _tickets(client, 1)   # newer than every page still to come
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything == sorted(everything, reverse=True)
    on_seven = _page(client, what="events", query="kind=ticket&id=7")["events"]
    # created, routed by the workflow, then raised by hand: newest first, each with who did it
    assert [(e["name"], e["actor"].split("#")[0]) for e in on_seven] == [
        ("ticket.updated", "api"), ("ticket.updated", "workflow:route"), ("ticket.created", "api")]
    assert on_seven[0]["previous"].get("priority") != "urgent"
    assert on_seven[0]["record"]["priority"] == "urgent"
    assert {e["name"] for e in _page(client, what="events", query="name=ticket.updated")["events"]} == {
        "ticket.updated"}
    routed_by = int(on_seven[1]["actor"].split("#")[1])   # what that run changed, found by it
    by_run = _page(client, what="events", query=f"execution={routed_by}")["events"]
    assert [(e["name"], e["subject"]["id"], e["record"]["team"]) for e in by_run] == [
        ("ticket.updated", "7", "Net")]
    assert _page(client, what="events", query="until=2000-01-01T00:00:00Z")["events"] == []
    r = client.get("/api/events?cursor=nope", headers=ADMIN)
    assert r.status_code == 422 and "cursor" in r.json()["error"]


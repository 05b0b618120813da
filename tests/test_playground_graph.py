"""The plan graph and the record timeline of the playground, in a real browser (Playwright and
Debian's Chromium) against `zentra serve` in a subprocess.

One test dry-runs the new-joiner script with the manager's approval rejected and reads its graph:
laid out by the vendored dagre, the taken path marked (the else arm, not the then arm), and a
click on the `if` and on the approval wait shows why and who. The other runs the same script for
real (a signed HR webhook, a manager rejecting through the API), then opens the timeline of the
laptop ticket the run created and cancelled, and of a ticket no workflow matched, and draws the
stored execution's graph. Screenshots go to tmp_path (ZENTRA_SCREENSHOTS=DIR keeps a copy).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from zentra_rules.integrations.webhooks import headers as signed_headers

from . import test_playground_browser as browser
from .test_playground_browser import ADMIN_TOKEN, Service, browser_page

# The running `zentra serve` the browser tests share (a fixture of that module).
service = browser.service

ROOT = Path(__file__).resolve().parent.parent
JOINER = (ROOT / "examples" / "new-joiner-provisioning.zflow").read_text(encoding="utf-8")
SUBJECT = json.loads((ROOT / "examples" / "subjects" / "hr-new-joiner.json").read_text(encoding="utf-8"))
ROUTE = ('workflow "route-network"\nWHEN ticket.created\n'
         'WHERE category = "Network" AND priority = "urgent"\nTHEN set team = "Network"\n')
WAIT = 15.0


def _expect() -> Any:
    return importlib.import_module("playwright.sync_api").expect


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("ZENTRA_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)


def _sign_in(page: Any, url: str) -> None:
    expect = _expect()
    page.goto(url + "/playground")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#signin")
    expect(page.locator("#app")).to_be_visible()


def _script(page: Any, text: str) -> None:
    """Replace the editor's script, as pasting it would."""
    page.fill("#source", text)
    _expect()(page.locator("#check-status")).to_contain_text("No errors", timeout=10_000)


def test_the_graph_of_a_dry_run_shows_the_path_and_why(service: Service, tmp_path: Path) -> None:
    expect = _expect()
    with browser_page(service, tmp_path) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page, service.url)
        _script(page, JOINER)
        page.select_option("#event", "webhook.received")
        page.fill("#qualifier", "hr")
        page.fill("#subject", json.dumps(SUBJECT))
        page.select_option('#decisions select[data-approval="manager"]', "rejected")
        page.click("#dry-run")

        card = page.locator('#results article.run[data-workflow="new-joiner-provisioning"]')
        expect(card).to_have_count(1, timeout=10_000)
        graph = card.locator("figure.plan-graph svg.graph-canvas")
        expect(graph).to_be_visible()
        # Laid out: every node got a place of its own from the layout library.
        boxes = graph.locator("g.gnode rect").evaluate_all(
            "rs => rs.map(r => [+r.getAttribute('x'), +r.getAttribute('y')])")
        assert len(boxes) >= 8 and len({tuple(b) for b in boxes}) == len(boxes), boxes

        # The path: the start, the branch and the else arm are taken; the then arm is not.
        branch = graph.locator('g.gnode[data-kind="branch"]')
        expect(branch).to_have_count(1)
        expect(branch).to_have_class("gnode kind-branch taken")
        expect(graph.locator('g.gnode[data-kind="start"].taken')).to_have_count(1)
        expect(graph.locator('g.gedge.taken[data-label="else"]')).to_have_count(1)
        expect(graph.locator('g.gedge[data-label="then"]')).to_have_count(1)
        expect(graph.locator('g.gedge.taken[data-label="then"]')).to_have_count(0)
        ready = graph.locator("g.gnode.kind-statement", has_text='set laptop.status = "ready"')
        cancelled = graph.locator("g.gnode.kind-statement", has_text='set laptop.status = "cancelled"')
        expect(ready).to_have_count(1)
        expect(ready).not_to_have_class("gnode kind-statement taken")
        expect(cancelled).to_have_class("gnode kind-statement taken")
        # An edge the run took is drawn in the taken style (so the highlight is seen, not only set).
        stroke = graph.locator('g.gedge.taken[data-label="else"] path').evaluate(
            "p => getComputedStyle(p).stroke")
        plain = graph.locator('g.gedge[data-label="then"] path').evaluate("p => getComputedStyle(p).stroke")
        assert stroke != plain, (stroke, plain)

        # A click on the test: it was false, the else block ran, and the explain tree says why.
        branch.click()
        detail = card.locator(".graph-detail")
        expect(detail).to_contain_text("if was false → the else block ran")
        expect(detail.locator(".explain li.node.false")).to_contain_text("manager.approved")
        # On the approval wait: who decided and when.
        wait = graph.locator('g.gnode[data-kind="wait"]', has_text="wait for approval manager")
        wait.click()
        expect(detail).to_contain_text("approval manager rejected by u_mgr_lee at ")
        # The 30-day timer: it elapsed; the keyboard opens a node as a click does.
        timer = graph.locator('g.gnode[data-kind="wait"]', has_text="wait 30 days")
        timer.focus()
        page.keyboard.press("Enter")
        expect(detail).to_contain_text("the timer elapsed at ")
        _shot(page, tmp_path, "playground-graph-dry-run.png")
        assert errors == [], errors


def _until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what} within {WAIT:.0f} s"
        time.sleep(0.2)


def test_a_ticket_timeline_and_a_stored_graph(service: Service, tmp_path: Path) -> None:
    expect = _expect()
    httpx = importlib.import_module("httpx")
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=service.url, headers=admin, timeout=10.0) as api:
        secret = api.post("/api/webhooks/inbound", json={"name": "hr"}).json()["secret"]
        for source in (JOINER, ROUTE):
            assert api.post("/api/workflows", json={"source": source}).status_code == 201
        lee_user = {"id": "u_mgr_lee", "email": "lee@example.com"}
        assert api.post("/api/users", json=lee_user).status_code == 201
        lee = api.post("/api/tokens", json={"role": "viewer", "user": "u_mgr_lee"}).json()["token"]
        body = json.dumps(SUBJECT).encode()
        signed = signed_headers(secret, "msg_1", int(time.time()), body)
        sent = api.post("/hooks/hr", content=body, headers=signed)
        assert sent.status_code == 202, sent.text
        (request,) = _until(lambda: api.get("/api/approvals?status=pending").json()["approvals"],
                            "the approval was requested")
        decided = api.post(f"/api/approvals/{request['id']}/decide",
                           headers={"Authorization": f"Bearer {lee}"},
                           json={"decision": "reject", "comment": "no headcount"})
        assert decided.status_code == 200, decided.text
        run = request["execution"]
        cancelled = f"/api/events?execution={run}&name=ticket.status_changed"
        created = _until(lambda: [e["subject"]["id"] for e in api.get(cancelled).json()["events"]],
                         "the tickets were cancelled")
        laptop = str(min(int(i) for i in created))
        assert api.get(f"/api/tickets/{laptop}").json()["title"].startswith("Provision laptop")
        missed = api.post("/api/tickets", json={"title": "Printer jam", "category": "Hardware",
                                                "priority": "urgent"}).json()["id"]
        _until(lambda: api.get(f"/api/events?kind=ticket&id={missed}").json()["events"][0]["processed_at"],
               "the new ticket was matched")

    with browser_page(service, tmp_path) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page, service.url)
        page.click("#tab-timeline")
        expect(page.locator("#panel-timeline")).to_be_visible()

        # The laptop ticket: made by the run, cancelled by it, with the statement and line of each.
        page.fill("#record-id", laptop)
        page.click("#show-timeline")
        box = page.locator("#timeline")
        expect(box.locator(".summary")).to_contain_text(f"Ticket {laptop}: 3 events, 1 execution")
        events = box.locator("li.tl-event")
        expect(events).to_have_count(3)
        expect(events.nth(0)).to_contain_text("ticket.created")
        expect(events.nth(0).locator('.tl-def[data-workflow="route-network"]')).to_contain_text("not fired")
        expect(events.nth(2)).to_contain_text('status "new" → "cancelled"')
        expect(events.nth(2)).to_contain_text(f"by workflow:new-joiner-provisioning#{run}")
        execution = box.locator(f'article.tl-execution[data-execution-id="{run}"]')
        expect(execution).to_have_attribute("data-roles", "created changed")
        expect(execution.locator(".tl-created")).to_contain_text(
            "created it at line 6: create ticket laptop,")
        expect(execution.locator(".tl-changes li")).to_have_text(
            'line 19: set laptop.status = "cancelled"  status: "new" → "cancelled"')

        # Its graph, from the stored execution: the else arm taken, the decision with its comment.
        execution.locator("button.show-graph").click()
        graph = execution.locator("figure.plan-graph svg.graph-canvas")
        expect(graph).to_be_visible(timeout=10_000)
        expect(graph.locator('g.gedge.taken[data-label="else"]')).to_have_count(1)
        expect(graph.locator('g.gedge.taken[data-label="then"]')).to_have_count(0)
        graph.locator('g.gnode[data-kind="wait"]', has_text="wait for approval manager").click()
        expect(execution.locator(".graph-detail")).to_contain_text(
            "approval manager rejected by u_mgr_lee at ")
        expect(execution.locator(".graph-detail")).to_contain_text("“no headcount”")
        _shot(page, tmp_path, "playground-timeline-created.png")

        # A ticket no workflow matched: the candidate, and the part of its condition that was false.
        page.fill("#record-id", missed)
        page.click("#show-timeline")
        expect(box.locator(".summary")).to_contain_text(f"Ticket {missed}: 1 event, 0 executions")
        candidate = box.locator('.tl-def.not-fired[data-workflow="route-network"]')
        expect(candidate).to_contain_text("route-network v1")
        false_part = candidate.locator(".explain li.node.false li.node.false")
        expect(false_part).to_contain_text('category = "Network"')
        expect(false_part).to_contain_text('saw "Hardware"')
        expect(candidate.locator(".explain li.node li.node.true")).to_contain_text('priority = "urgent"')
        _shot(page, tmp_path, "playground-timeline-missed.png")

        # An unknown ticket is said so in the page.
        page.fill("#record-id", "424242")
        page.click("#show-timeline")
        expect(box.locator(".problem")).to_contain_text("There is no ticket 424242.")

        # The Executions view of the laptop ticket now finds the run that created and cancelled it.
        page.click("#tab-executions")
        page.fill("#ticket-id", laptop)
        page.click("#show-executions")
        expect(page.locator(f'#executions article.execution[data-execution-id="{run}"]')).to_have_count(1)
        assert errors == [], errors

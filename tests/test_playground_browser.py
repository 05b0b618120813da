"""The web playground in a real browser (Playwright + Chromium) against the real service.

`zentra serve` runs in a subprocess on a fresh SQLite database and queue. The test signs in,
types a rule with a mistake and sees it marked at its line, fixes it, dry-runs it against a
sample, publishes it, creates a ticket through the API, waits for the engine to route it, and
finds the execution in the "Executions" view. A screenshot of the end state goes to tmp_path.
Another test changes the service's answer of GET /api/triggers on its way to the page, and sees
the page follow it; a last one reads the page's code for vocabulary of its own.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ADMIN_TOKEN = "zt_test_admin_token"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
ROUTE_TIMEOUT = 15.0

# examples/escalate-urgent.zflow with a header naming it and, on line 3, a misspelt field.
SEED_WITH_TYPO = (
    'workflow "escalate-urgent"\n'
    "WHEN ticket.created\n"
    'WHERE priorty = "urgent" AND category = "Network"\n'
    'THEN set team = "Network"\n'
    '     add internal note = "Auto-routed by urgency rule"\n'
    '     notify slack = "#incidents"\n'
)


def _unavailable(reason: str) -> None:
    """Missing browser tooling fails the run on CI and skips it on a workstation."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        _unavailable(f"{module} is not installed ({exc}); the playground browser test needs it")
        raise  # unreachable: _unavailable raises


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """`zentra serve` in a subprocess, its output in a log file.

    It runs in tmp_path, not in the checkout, as an installed service would: nothing is added to
    its import path.
    """

    def __init__(self, tmp_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp_path / "zentra.toml"
        self.config.write_text(
            "[database]\n"
            f'url = "sqlite:///{tmp_path / "zentra.db"}"\n'
            "[queue]\n"
            f'url = "sqlite:///{tmp_path / "zentra-queue.db"}"\n'
            "[server]\n"
            f'admin_token = "{ADMIN_TOKEN}"\n'
            "[runtime]\n"
            "sweep_seconds = 0.5\n",
            encoding="utf-8")
        self.log_path = tmp_path / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZENTRA_")}
        env["PYTHONUNBUFFERED"] = "1"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--config", str(self.config)],
                cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def wait_ready(self, httpx: Any) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"zentra serve exited with {self.proc.returncode} before answering:\n"
                            f"{self.log_tail()}")
            try:
                r = httpx.get(self.url + "/playground", timeout=2.0)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        pytest.fail(f"GET /playground did not answer 200 within {START_TIMEOUT:.0f} s ({last}):\n"
                    f"{self.log_tail()}")

    def stop(self) -> float:
        """SIGTERM; the seconds the process took to exit (inf when it had to be killed)."""
        if self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return float("inf")
        return time.monotonic() - started


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    httpx = _require("httpx")
    svc = Service(tmp_path)
    try:
        svc.wait_ready(httpx)
        yield svc
    finally:
        if svc.proc.poll() is None:   # the test stops it itself; this is for failures on the way
            svc.proc.kill()
            svc.proc.wait(timeout=10)


def exercise_playground(page: Any, base_url: str, tmp_path: Path) -> None:
    """The user's path through the playground, on a page of a browser at 1280×800."""
    sync_api = importlib.import_module("playwright.sync_api")
    expect = sync_api.expect
    httpx = importlib.import_module("httpx")

    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    dry_run_calls: list[str] = []
    page.on("request", lambda req: dry_run_calls.append(req.url)
            if req.url.endswith("/api/playground/dry-run") else None)

    page.goto(base_url + "/playground")
    expect(page.locator("#signin-view")).to_be_visible()

    # A token the service does not know is refused, and the page stays at sign-in.
    page.fill("#token", "zt_not_a_real_token")
    page.click("#signin")
    expect(page.locator("#signin-message")).to_contain_text("That token was not accepted")
    expect(page.locator("#app")).to_be_hidden()

    page.fill("#token", ADMIN_TOKEN)
    page.click("#signin")
    expect(page.locator("#session")).to_contain_text("Signed in")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#event option[value='ticket.created']")).to_have_count(1)
    expect(page.locator("#event option[value='webhook.received']")).to_have_count(1)
    expect(page.locator("#sample option", has_text="Urgent network ticket")).to_have_count(1)

    # Type the rule with a mistake on line 3: the error is marked at its line as one types.
    source = page.locator("#source")
    source.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(SEED_WITH_TYPO)
    assert source.input_value() == SEED_WITH_TYPO
    expect(page.locator('.marker.error[data-line="3"]')).to_have_count(1, timeout=10_000)
    expect(page.locator(".marker")).to_have_count(1)
    problem = page.locator('#diagnostics li[data-line="3"]')
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("did you mean")
    expect(problem).to_contain_text(re.compile(r"^\s*3:\d+ "))
    expect(page.locator('#highlight .line.error[data-line="3"]')).to_have_count(1)

    # Line numbers and highlighting; the highlighted text sits exactly under the textarea's.
    expect(page.locator("#gutter .gutter-line")).to_have_count(SEED_WITH_TYPO.count("\n") + 1)
    keywords = page.locator("#highlight .tok-kw").all_inner_texts()
    assert {"workflow", "WHEN", "WHERE", "AND", "THEN"} <= set(keywords), keywords
    assert '"urgent"' in page.locator("#highlight .tok-str").all_inner_texts()
    assert "ticket.created" in page.locator("#highlight .tok-event").all_inner_texts()
    assert "set" in page.locator("#highlight .tok-verb").all_inner_texts()
    metrics = source.evaluate("""ta => {
        const code = document.getElementById('highlight');
        const a = getComputedStyle(ta), b = getComputedStyle(code);
        const line3 = code.querySelector('.line[data-line="3"]').getBoundingClientRect();
        const box = ta.getBoundingClientRect();
        return {same: ['fontFamily', 'fontSize', 'lineHeight', 'paddingTop', 'paddingLeft', 'tabSize']
                        .filter(k => a[k] !== b[k]),
                lineHeight: parseFloat(a.lineHeight), paddingTop: parseFloat(a.paddingTop),
                offset: line3.top - box.top};
    }""")
    assert metrics["same"] == [], f"textarea and highlight differ in {metrics['same']}"
    assert abs(metrics["offset"] - (metrics["paddingTop"] + 2 * metrics["lineHeight"])) < 1, metrics

    # Fix the mistake by typing the missing letter: the marks go away.
    source.evaluate("ta => { const i = ta.value.indexOf('priorty') + 'prior'.length;"
                    " ta.focus(); ta.setSelectionRange(i, i); }")
    page.keyboard.type("i")
    assert 'WHERE priority = "urgent"' in source.input_value()
    expect(page.locator(".marker")).to_have_count(0, timeout=10_000)
    expect(page.locator("#diagnostics li")).to_have_count(0)
    expect(page.locator("#highlight .line.error")).to_have_count(0)
    expect(page.locator("#check-status")).to_contain_text("No errors")

    # Tab inserts two spaces (and stays in the editor).
    page.keyboard.press("Control+End")
    page.keyboard.press("Tab")
    page.keyboard.type("# routed by the playground test")
    assert source.input_value() == SEED_WITH_TYPO.replace("priorty", "priority") + \
        "  # routed by the playground test"
    expect(page.locator("#highlight .tok-comment")).to_have_text("# routed by the playground test")

    # A subject that is not JSON is reported in the page, without asking the server.
    page.fill("#subject", '{"priority": "urgent",')
    page.click("#dry-run")
    expect(page.locator("#results .problem")).to_contain_text("not valid JSON")
    assert dry_run_calls == []

    # The sample fills the subject and the event; the dry run shows why and what.
    page.select_option("#sample", label="Urgent network ticket")
    expect(page.locator("#event")).to_have_value("ticket.created")
    subject = json.loads(page.locator("#subject").input_value())
    assert (subject["priority"], subject["category"]) == ("urgent", "Network")
    expect(page.locator("#check-status")).to_contain_text("No errors")
    page.click("#dry-run")
    card = page.locator('#results article.run[data-workflow="escalate-urgent"]')
    expect(card).to_have_count(1, timeout=10_000)
    assert len(dry_run_calls) == 1
    expect(card.locator(".badge")).to_have_text("FIRED")
    expect(card.locator(".run-head .status")).to_have_text("completed")
    actions = card.locator("ol.actions > li.action")
    expect(actions).to_have_count(3)
    expect(actions.nth(0)).to_contain_text('set team = "Network"')
    expect(actions.nth(1)).to_contain_text('add internal note = "Auto-routed by urgency rule"')
    expect(actions.nth(2)).to_contain_text('notify slack = "#incidents"')

    root = card.locator(".explain > li.node")
    expect(root).to_have_class(re.compile(r"\btrue\b"))
    for text, seen in (('priority = "urgent"', 'saw "urgent"'), ('category = "Network"', 'saw "Network"')):
        node = card.locator(".explain li.node li.node.true > .node-line").filter(has_text=text)
        expect(node).to_have_count(1)
        expect(node.locator(".mark")).to_have_text("✓")
        expect(node.locator(".seen")).to_contain_text(seen)
    expect(card.locator(".explain li.node.false")).to_have_count(0)

    disasm = card.locator("pre.disasm")
    expect(disasm).to_be_visible()
    expect(disasm).to_contain_text('workflow "escalate-urgent"')
    executed = disasm.locator(".exec").all_inner_texts()
    assert len(executed) == 4, executed                      # SET, ACT, ACT, END
    assert all(line.startswith("*") for line in executed), executed
    assert "SET" in executed[0] and "END" in executed[-1], executed
    page.screenshot(path=str(tmp_path / "playground-dry-run.png"), full_page=True)

    # Publish it: the first version.
    page.click("#publish")
    expect(page.locator("#publish-result")).to_contain_text("Published escalate-urgent version 1",
                                                            timeout=10_000)

    # A real ticket through the API: the engine routes it.
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10.0) as client:
        created = client.post("/api/tickets", json={
            "title": "Core switch down in building B", "priority": "urgent", "category": "Network",
            "channel": "phone"})
        assert created.status_code == 201, created.text
        ticket_id = str(created.json()["id"])
        deadline = time.monotonic() + ROUTE_TIMEOUT
        while True:
            got = client.get(f"/api/tickets/{ticket_id}")
            assert got.status_code == 200, got.text
            if got.json().get("team") == "Network":
                break
            assert time.monotonic() < deadline, f"ticket not routed in {ROUTE_TIMEOUT:.0f} s: {got.json()}"
            time.sleep(0.25)

    # The Executions view shows the run of that ticket, with its trace.
    page.click("#tab-executions")
    expect(page.locator("#panel-executions")).to_be_visible()
    expect(page.locator("#panel-playground")).to_be_hidden()
    expect(page.locator("#tab-executions")).to_have_attribute("aria-selected", "true")
    page.fill("#ticket-id", ticket_id)
    done = page.locator('#executions article.execution[data-status="completed"]')
    deadline = time.monotonic() + ROUTE_TIMEOUT
    while True:
        page.click("#show-executions")
        expect(page.locator("#executions")).not_to_have_attribute("aria-busy", "true")
        expect(page.locator("#executions .summary")).to_have_count(1)
        if done.count() >= 1:
            break
        assert time.monotonic() < deadline, page.locator("#executions").inner_text()
        page.wait_for_timeout(500)
    run = done.first
    expect(run.locator(".execution-head")).to_contain_text("escalate-urgent")
    expect(run.locator(".execution-head .version")).to_have_text("1")
    expect(run.locator(".execution-head .status")).to_have_text("completed")
    assert run.locator(".execution-head .created-at").inner_text().strip()
    expect(run.locator("article.run .badge")).to_have_text("FIRED")
    expect(run.locator("article.run li.action")).to_have_count(3)
    expect(run.locator("article.run li.action").first).to_contain_text('set team = "Network"')

    page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)

    # A script that publishes with a warning says so where the admin looks.
    page.click("#tab-playground")
    source = page.locator("#source")
    source.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type('workflow "watch-pending"\nWHEN ticket.status_changed\nTHEN\n'
                       '  wait until status = "resolved"\n')
    page.click("#publish")
    result = page.locator("#publish-result.warning")
    expect(result).to_contain_text("Published watch-pending version 1", timeout=10_000)
    expect(result).to_contain_text("line 4: this wait has no timeout")
    assert page_errors == [], page_errors


@contextlib.contextmanager
def browser_page(service: Service, tmp_path: Path) -> Iterator[Any]:
    """A page of headless Chromium at 1280×800; a failure inside adds a screenshot and the log."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing: install Debian's chromium to run the browser test")
    sync_api = _require("playwright.sync_api")

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            try:
                yield page
            except Exception as exc:
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(tmp_path / "playground-failure.png"), full_page=True)
                raise AssertionError(f"{exc}\n--- zentra serve log ---\n{service.log_tail()}") from exc
        finally:
            browser.close()


def test_playground_in_a_browser(service: Service, tmp_path: Path) -> None:
    with browser_page(service, tmp_path) as page:
        exercise_playground(page, service.url, tmp_path)

    took = service.stop()
    assert took <= STOP_TIMEOUT, f"zentra serve did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM"


# A trigger and a statement that only this test's answer of GET /api/triggers has, and a trigger
# it leaves out: the page must follow the answer, not a list of its own.
EXTRA_TRIGGER = {"name": "ticket.reopened", "subject": "ticket", "qualifier": None,
                 "fires_when": "a closed ticket opens again", "fields": {"id": "a string"}, "example": None}
EXTRA_STATEMENT = {"verb": "archive", "object": "ticket", "form": "archive ticket"}
LEFT_OUT = "ticket.sla_breached"


def test_the_playground_takes_its_vocabulary_from_the_server(service: Service, tmp_path: Path) -> None:
    expect = importlib.import_module("playwright.sync_api").expect

    def changed(route: Any) -> None:
        answer = route.fetch()
        body = answer.json()
        body["triggers"] = [t for t in body["triggers"] if t["name"] != LEFT_OUT] + [EXTRA_TRIGGER]
        body["language"]["statements"].append(EXTRA_STATEMENT)
        route.fulfill(response=answer, json=body)

    with browser_page(service, tmp_path) as page:
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))

        # Without the vocabulary the playground does not start, and says why.
        page.route("**/api/triggers", lambda route: route.fulfill(status=503, json={"error": "down"}))
        page.goto(service.url + "/playground")
        page.fill("#token", ADMIN_TOKEN)
        page.click("#signin")
        expect(page.locator("#signin-message")).to_contain_text("Could not load the language")
        expect(page.locator("#signin-message")).to_contain_text("down")
        expect(page.locator("#app")).to_be_hidden()

        # An answer that is not a vocabulary is refused the same way.
        page.unroute("**/api/triggers")
        page.route("**/api/triggers", lambda route: route.fulfill(json={"triggers": []}))
        page.click("#signin")
        expect(page.locator("#signin-message")).to_contain_text("lacks the language's vocabulary")
        expect(page.locator("#app")).to_be_hidden()

        page.unroute("**/api/triggers")
        page.route("**/api/triggers", changed)
        page.fill("#token", ADMIN_TOKEN)
        page.click("#signin")
        expect(page.locator("#app")).to_be_visible()
        expect(page.locator(f"#event option[value='{EXTRA_TRIGGER['name']}']")).to_have_count(1)
        expect(page.locator(f"#event option[value='{LEFT_OUT}']")).to_have_count(0)
        expect(page.locator("#event option[value='scenario']")).to_have_count(1)
        page.select_option("#event", EXTRA_TRIGGER["name"])
        expect(page.locator("#event-help")).to_contain_text(str(EXTRA_TRIGGER["fires_when"]))
        page.select_option("#event", "webhook.received")
        expect(page.locator("#qualifier")).to_have_attribute("placeholder", "hr")

        # The page's example script, painted with the served words.
        source = page.locator("#source")
        assert source.input_value().startswith("# Route urgent network tickets"), source.input_value()
        expect(page.locator("#highlight .tok-event")).to_have_text(["ticket.created"])
        source.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type(f'workflow "w"\nWHEN {EXTRA_TRIGGER["name"]} OR {LEFT_OUT}\n'
                           'THEN archive ticket\n  wait 2 days\n')
        events = page.locator("#highlight .tok-event").all_inner_texts()
        assert events == [EXTRA_TRIGGER["name"]], events
        assert LEFT_OUT in page.locator("#highlight .tok-path").all_inner_texts()
        assert "archive" in page.locator("#highlight .tok-verb").all_inner_texts()
        assert "2 days" in page.locator("#highlight .tok-dur").all_inner_texts()
        assert {"workflow", "WHEN", "OR", "THEN"} <= set(page.locator("#highlight .tok-kw").all_inner_texts())
        assert page_errors == [], page_errors


# -- no vocabulary in the page's code ------------------------------------------------------------
STATIC = Path(__file__).resolve().parent.parent / "zentra_rules" / "interfaces" / "web" / "static"
COMMENTS = re.compile(r"/\*.*?\*/|(?:^|(?<=\s))//[^\n]*", re.S)


def test_the_page_code_holds_no_vocabulary_of_its_own() -> None:
    """The JavaScript names no trigger, no outcome and no run of language words outside comments:
    all of them come from GET /api/triggers."""
    from zentra_rules.interfaces.api.language import vocabulary

    language = vocabulary()["language"]
    triggers = list(importlib.import_module("zentra_rules.domain.schema").TRIGGERS)
    words = {*language["keywords"], *language["constants"], *language["duration_units"],
             *(s["verb"] for s in language["statements"])}
    scripts = sorted(STATIC.glob("*.js"))
    assert {p.name for p in scripts} >= {"highlight.js", "editor.js", "controls.js", "playground.js"}
    for path in scripts:
        code = COMMENTS.sub("", path.read_text(encoding="utf-8"))
        found = [name for name in triggers if name in code]
        found += [word for word in language["decisions"] if re.search(f"[\"']{word}[\"']", code)]
        assert found == [], f"{path.name} names {found}"
        # Four language words in a row is a word list (`"when where then workflow"`), not prose.
        for run in re.finditer(r"[A-Za-z_]+(?:[\s|,\"']+[A-Za-z_]+){3,}", code):
            parts = re.findall(r"[A-Za-z_]+", run.group())
            for i in range(len(parts) - 3):
                assert not all(p.lower() in words for p in parts[i:i + 4]), \
                    f"{path.name} lists language words: {' '.join(parts[i:i + 4])}"

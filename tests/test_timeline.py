"""Every decision in the trace: the timeline of a run, in JSON and in the CLI's text, for dry runs
and for runs stored by the real service (docs/trace.md, "The timeline")."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from compiler import compile_source
from runtime import dry_run
from runtime.trace import stored_trace
from zentra_rules.domain.plan import Plan
from zentra_rules.integrations.webhooks import headers as signed_headers
from zentra_rules.interfaces.cli import main
from zentra_rules.interfaces.tracetext import render_run

from .serving import ADMIN, zentra_serve
from .test_examples import parse_now

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
JOINER = EXAMPLES / "new-joiner-provisioning.zflow"
HR = EXAMPLES / "subjects" / "hr-new-joiner.json"
NOW = "2026-11-25T09:00:00Z"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def joiner(decision: str, text: bool = False) -> Any:
    args = ["dry-run", str(JOINER), "--event", "webhook.received:hr", "--subject", str(HR),
            "--decide", f"manager={decision}", "--now", NOW] + ([] if text else ["--json"])
    code, out, err = cli(*args)
    assert (code, err) == (0, ""), err
    return out if text else json.loads(out)["runs"][0]


def kinds(timeline: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in timeline]


def line_of(text: str) -> int:
    """The line of JOINER that holds `text`."""
    return next(n for n, line in enumerate(JOINER.read_text().splitlines(), 1) if text in line)


# -- the new-joiner example: approved / rejected / timed out --------------------------------------
@pytest.mark.parametrize(("decision", "value", "decided_at", "by"), [
    ("approved", True, NOW, "u_mgr_lee"),
    ("rejected", False, NOW, "u_mgr_lee"),
    ("rejected:u_hr_kim", False, NOW, "u_hr_kim"),
    ("timed_out", False, "2026-11-27T09:00:00Z", None),
])
def test_the_new_joiner_dry_run_shows_which_branch_ran_and_why(
        decision: str, value: bool, decided_at: str, by: str | None) -> None:
    run = joiner(decision)
    timeline = run["timeline"]
    assert kinds(timeline) == ["action"] * 4 + ["wait", "resumed", "test"] + ["action"] * 4 + [
        "wait", "resumed", "action", "end"]
    request, wait, resumed, test = timeline[3:7]
    assert request["line"] == line_of("request approval manager") and request["depth"] == 0
    assert wait["wait"] == {"kind": "approval", "name": "manager",
                            "deadline": "2026-11-27T09:00:00Z"}
    outcome = decision.partition(":")[0]
    assert resumed | {"instruction": None} == resumed | {
        "kind": "resumed", "wait": "approval", "name": "manager", "outcome": outcome, "by": by,
        "comment": None, "decided_at": decided_at, "at": decided_at, "instruction": None,
        "line": line_of("wait for approval manager")}
    assert resumed["waited"] == (0 if outcome != "timed_out" else 48 * 3600)
    # The test: its condition, its value, its explain tree and the branch it led to.
    assert (test["line"], test["arm"], test["value"], test["branch"]) == (
        line_of("if manager.approved"), "if", value, "then" if value else "else")
    assert test["explain"] == {"text": "manager.approved", "value": value, "left": value}
    assert test["instruction"].startswith("JUMP_IF_NOT")
    # The branch taken, one block deeper, and only its statements.
    branch = timeline[7:11]
    assert [e["depth"] for e in branch] == [1, 1, 1, 1]
    wanted = ['set laptop.status = "ready"', 'notify slack = "#field-it"'] if value else \
        ['notify email = "hr@example.com"', 'set laptop.status = "cancelled"']
    assert {e["line"] for e in branch} >= {line_of(w) for w in wanted}
    statuses = [a["value"] for a in run["actions"] if a["verb"] == "set"]
    assert statuses == ["ready" if value else "cancelled"] * 3
    # The 30-day wait and the survey after it.
    timer, elapsed = timeline[11:13]
    assert timer["wait"]["kind"] == "timer" and elapsed["outcome"] == "elapsed"
    assert elapsed["waited"] == 30 * 86400 and elapsed["at"] == timer["wait"]["deadline"]
    assert timeline[13]["line"] == line_of("send survey")
    assert [e["action"] for e in timeline if e["kind"] == "action"] == list(range(9))


@pytest.mark.parametrize(("decision", "says", "branch"), [
    ("approved", "approval manager approved by u_mgr_lee at 2026-11-25T09:00:00Z",
     "if manager.approved: true — its block runs"),
    ("rejected", "approval manager rejected by u_mgr_lee at 2026-11-25T09:00:00Z",
     "if manager.approved: false — the else block runs"),
    ("timed_out", "approval manager timed out at 2026-11-27T09:00:00Z (waited 2 days)",
     "if manager.approved: false — the else block runs"),
])
def test_the_text_output_prints_the_timeline_indented_by_block(
        decision: str, says: str, branch: str) -> None:
    text = joiner(decision, text=True)
    lines = text.splitlines()
    assert "  timeline:" in lines
    said = next(line for line in lines if "approval manager " in line and "wait" not in line[:40])
    assert says in said and f"line {line_of('wait for approval manager')}" in said
    test = next(n for n, line in enumerate(lines) if branch in line)
    assert f"line {line_of('if manager.approved')} " in lines[test]
    assert "[false] manager.approved" in lines[test + 1] or "[true ] manager.approved" in \
        lines[test + 1]
    # A statement of the branch is indented one block deeper than the `if`.
    column = re.compile(r"line \d+\s+")
    inner, outer = column.search(lines[test + 2]), column.search(lines[test])
    assert inner and outer and inner.end() == outer.end() + 2, (lines[test], lines[test + 2])
    assert "the timer elapsed (waited 30 days)" in text
    assert "status: completed" in text


# -- parallel blocks, wait until, terminate --------------------------------------------------------
def example_run(name: str, case: str) -> dict[str, Any]:
    doc = json.loads((EXAMPLES / f"{name}.cases.json").read_text())
    (found,) = [c for c in doc["cases"] if c["name"] == case]
    subject = found["subject"]
    if isinstance(subject, str):
        subject = json.loads((EXAMPLES / subject).read_text())
    plans = compile_source((EXAMPLES / f"{name}.zflow").read_text(), f"{name}.zflow")
    trace = dry_run(plans, found["event"], subject, found["previous"], found["decisions"],
                    now=parse_now(doc["now"]), records=found.get("records"))
    return trace["runs"][0]  # type: ignore[no-any-return]


def test_parallel_branches_are_in_the_timeline_each_under_its_heading() -> None:
    doc = json.loads((EXAMPLES / "major-incident.cases.json").read_text())
    run = example_run("major-incident", doc["cases"][0]["name"])
    timeline = run["timeline"]
    fork = next(e for e in timeline if e["kind"] == "fork")
    branches = [e for e in timeline if e["kind"] == "branch"]
    assert fork["branches"] == len(branches) == 3
    assert [b["index"] for b in branches] == [1, 2, 3]
    assert all(b["depth"] == fork["depth"] + 1 for b in branches)
    # Each branch's statements sit under its heading, one block deeper, on their own thread.
    for b in branches:
        inside = [e for e in timeline if e["thread"] == b["thread"] and e["kind"] == "action"]
        assert inside and all(e["depth"] == b["depth"] + 1 for e in inside)
        assert b["thread"] != fork["thread"]
    join = next(e for e in timeline if e["kind"] == "join")
    assert join["thread"] == fork["thread"] and timeline.index(join) > timeline.index(branches[-1])
    # The run waits at a `wait until` at the end: the wait is the last entry, with its condition.
    assert timeline[-1]["kind"] == "wait" and timeline[-1]["wait"]["kind"] == "until"
    assert timeline[-1]["wait"]["condition"] == 'status in ["resolved", "closed"]'
    text = render_run(run)
    assert "parallel: 3 branches start" in text and "parallel: every branch has finished" in text
    assert "branch 1:" in text and "wait until status in" in text


def test_terminate_and_elif_chains_show_their_reason_and_each_test() -> None:
    run = example_run("email-triage", "out-of-office reply is closed and the run terminates")
    timeline = run["timeline"]
    (test,) = [e for e in timeline if e["kind"] == "test"]
    assert test["value"] is True and test["branch"] == "then" and test["arm"] == "if"
    assert timeline[-1] | {"at": None} == timeline[-1] | {
        "kind": "terminate", "reason": "auto-reply closed without action", "at": None,
        "depth": 1}
    assert "terminate: auto-reply closed without action" in render_run(run)
    # An elif chain: each arm tested in turn; a false arm leads to the next elif.
    run = example_run("email-triage", "password reset and partner category")
    tests = [e for e in run["timeline"] if e["kind"] == "test"]
    arms = [(t["arm"], t["value"], t["branch"]) for t in tests]
    assert ("if", False, "elif") in arms and ("elif", True, "then") in arms
    assert all(t["explain"]["value"] == t["value"] for t in tests)


def test_a_wait_until_that_became_true_says_so_with_its_explain() -> None:
    run = example_run("change-implementation", "emergency change approved after implementation")
    resumed = [e for e in run["timeline"] if e["kind"] == "resumed" and e["wait"] == "until"]
    assert resumed, run["timeline"]
    (until,) = resumed
    assert until["outcome"] == "condition" and until["explain"]["value"] is True
    assert "the condition became true" in render_run(run)


def test_a_plan_saved_without_blocks_still_has_a_timeline() -> None:
    # Plans stored before blocks were recorded: every entry at depth 0, a false test "skips".
    (plan,) = compile_source(JOINER.read_text(), "j.zflow")
    doc = plan.to_json()
    doc.pop("blocks")
    old = Plan.from_json(doc)
    # A run stored before the log was kept: its state has no log, its trace no timeline.
    run = {"id": 1, "version": 1, "status": "completed", "workflow": plan.name,
           "kind": plan.kind, "trigger": "webhook.received", "inputs": {"explain": None},
           "steps": [{"pc": 0, "output": {"verb": "create", "object": "ticket", "name": "laptop",
                                          "params": {"title": "x"}}}],
           "state": {"status": "completed", "threads": []}, "created_at": NOW}
    entry = stored_trace(run, old)
    assert entry["timeline"] == [] and entry["path"] == [0]
    assert old.depth(5) == 0 and old.arm(5) == {"arm": "if", "otherwise": "unknown"}
    text = render_run(entry)
    assert "timeline:" not in text and '-> create ticket laptop, title = "x"' in text


# -- a run stored by `zentra serve`: who decided, when, with what comment -------------------------
def test_a_stored_run_of_the_real_service_names_who_decided(tmp_path: Path) -> None:
    with zentra_serve(tmp_path, f"sqlite:///{tmp_path}/z.db", f"sqlite:///{tmp_path}/q.db") as base:
        def call(method: str, path: str, **kw: Any) -> Any:
            r = httpx.request(method, base + path, headers=kw.pop("headers", ADMIN), **kw)
            assert r.status_code < 300, r.text
            return r.json() if r.content else None
        secret = call("POST", "/api/webhooks/inbound", json={"name": "hr"})["secret"]
        call("POST", "/api/workflows", json={"source": JOINER.read_text()})
        call("POST", "/api/users", json={"id": "u_mgr_lee", "email": "lee@example.com"})
        lee = {"Authorization": "Bearer " + call(
            "POST", "/api/tokens", json={"role": "agent", "user": "u_mgr_lee"})["token"]}
        body = HR.read_bytes()
        r = httpx.post(f"{base}/hooks/hr", content=body,
                       headers=signed_headers(secret, "msg_1", int(time.time()), body))
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 20
        while not (pending := call("GET", "/api/approvals?status=pending", headers=lee)
                   ["approvals"]):
            assert time.monotonic() < deadline, "no approval was requested"
            time.sleep(0.1)
        call("POST", f"/api/approvals/{pending[0]['id']}/decide", headers=lee,
             json={"decision": "reject", "comment": "no budget this quarter"})
        while True:
            (run,) = call("GET", "/api/executions?workflow=new-joiner-provisioning")["executions"]
            if any(e["kind"] == "test" for e in run["trace"]["timeline"]):
                break
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
        trace = call("GET", f"/api/executions/{run['id']}")["trace"]
    timeline = trace["timeline"]
    (resumed,) = [e for e in timeline if e["kind"] == "resumed"]
    assert (resumed["outcome"], resumed["by"], resumed["comment"]) == (
        "rejected", "u_mgr_lee", "no budget this quarter")
    assert resumed["decided_at"] <= resumed["at"] and resumed["waited"] >= 0   # the slice runs after
    (test,) = [e for e in timeline if e["kind"] == "test"]
    assert (test["value"], test["branch"], test["line"]) == (
        False, "else", line_of("if manager.approved"))
    cancelled = [e for e in timeline if e["kind"] == "action" and e["depth"] == 1]
    assert [e["line"] for e in cancelled] == [line_of("notify email"),
                                              *(line_of(f'set {n}.status = "cancelled"')
                                                for n in ("laptop", "accounts", "desk"))]
    # The 30-day wait has begun; the run waits for it.
    assert timeline[-1]["kind"] == "wait" and timeline[-1]["wait"]["kind"] == "timer"
    text = render_run(trace)
    assert "approval manager rejected by u_mgr_lee" in text
    assert 'comment "no budget this quarter"' in text

"""The shipped examples: each compiles cleanly, and each case of its `.cases.json` dry-runs to the
reviewed trace. The seed example is also checked end to end through the real `zentra` command.

`examples/NAME.cases.json` holds `{"now": ISO, "cases": [{"name", "event", "subject", "previous",
"decisions", "expect"}]}`; `subject` is inline JSON, `null`, or a file name relative to examples/.
A warning is allowed in an example only when the file says so with a comment
`# intended warning: TEXT` (TEXT is part of the warning's message).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_text
from runtime import dry_run
from zentra_rules.domain.plan import Op, Plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.zflow"))
SEED = EXAMPLES / "escalate-urgent.zflow"
JOINER = EXAMPLES / "new-joiner-provisioning.zflow"
INTENDED = re.compile(r"#\s*intended warning:\s*(.+?)\s*$", re.IGNORECASE)
CASE_KEYS = {"name", "event", "subject", "previous", "decisions", "expect"}


def cases_path(script: Path) -> Path:
    return script.with_name(script.stem + ".cases.json")


def load_cases(script: Path) -> dict[str, Any]:
    return json.loads(cases_path(script).read_text(encoding="utf-8"))


def load_subject(subject: Any) -> Any:
    if isinstance(subject, str):
        return json.loads((EXAMPLES / subject).read_text(encoding="utf-8"))
    return subject


def parse_now(text: str) -> datetime:
    now = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert now.tzinfo is not None, f"`now` must carry a time zone: {text!r}"
    return now


_PLANS: dict[Path, list[Plan]] = {}


def plans_of(script: Path) -> list[Plan]:
    if script not in _PLANS:
        _PLANS[script] = compile_text(script.read_text(encoding="utf-8"), script.name).plans
    return _PLANS[script]


def all_cases() -> list[Any]:
    params = []
    for script in SCRIPTS:
        path = cases_path(script)
        if not path.exists():
            continue  # reported by test_example_has_cases
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            params.append(pytest.param(script, case, id=f"{script.stem}::{case['name']}"))
    return params


def zentra_command() -> list[str]:
    exe = Path(sys.executable).parent / "zentra"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "zentra_rules.interfaces.cli"]


def zentra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*zentra_command(), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


# -- (a) every example compiles, without warnings unless the file says one is intended ---------
def test_there_are_examples() -> None:
    assert SEED in SCRIPTS and JOINER in SCRIPTS
    assert len(SCRIPTS) >= 13


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_compiles_cleanly(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), f"{script.name} should open with a comment saying what it does"
    result = compile_text(text, script.name)   # raises CompileError on any error
    assert result.plans
    intended = [m.group(1) for line in text.splitlines() if (m := INTENDED.search(line))]
    messages = [w.message for w in result.warnings]
    unexpected = [m for m in messages if not any(i in m for i in intended)]
    assert not unexpected, f"{script.name}: unintended warnings: {unexpected}"
    missing = [i for i in intended if not any(i in m for m in messages)]
    assert not missing, f"{script.name}: intended warnings that did not occur: {missing}"


# -- (b) every example has its cases ---------------------------------------------------------------
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_has_cases(script: Path) -> None:
    assert cases_path(script).exists(), f"{script.name} has no {cases_path(script).name}"
    doc = load_cases(script)
    assert set(doc) == {"now", "cases"}
    parse_now(doc["now"])
    cases = doc["cases"]
    assert cases, "no cases"
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    for case in cases:
        # `records`, optional: the desk's records the subject refers to by id (users, assets)
        assert set(case) - {"records"} == CASE_KEYS, f"case {case.get('name')!r} has keys {sorted(case)}"
        subject = case["subject"]
        if isinstance(subject, str):
            assert (EXAMPLES / subject).is_file(), f"missing subject file {subject}"
    runs = [run for case in cases for run in case["expect"]["runs"]]
    assert any(run["fired"] for run in runs), "no case fires"
    assert any(not run["fired"] for run in runs) or any(not c["expect"]["runs"] for c in cases), \
        "no case shows the example not firing"
    # Approvals: approved, a negative outcome, and no decision at all (the run waits).
    if any(ins.op is Op.REQUEST for plan in plans_of(script) for ins in plan.code):
        outcomes = {o for case in cases for o in case["decisions"].values()}
        assert "approved" in outcomes
        assert outcomes & {"rejected", "timed_out"}
        assert any(run["status"] == "waiting" and (run["waiting_for"] or {}).get("kind") == "approval"
                   for run in runs), "no case waits for an approval decision"


def test_no_orphan_cases() -> None:
    for path in EXAMPLES.glob("*.cases.json"):
        assert path.with_name(path.name.replace(".cases.json", ".zflow")).exists(), path.name


# -- (c) every case dry-runs to its reviewed trace ------------------------------------------------
@pytest.mark.parametrize(("script", "case"), all_cases())
def test_case(script: Path, case: dict[str, Any]) -> None:
    now = parse_now(load_cases(script)["now"])
    trace = dry_run(plans_of(script), case["event"], load_subject(case["subject"]), case["previous"],
                    case["decisions"], now=now, records=load_subject(case.get("records")))
    assert trace == case["expect"]


# -- the acceptance criteria of the two seed examples, independent of the generated files --------
def _case(script: Path, name: str) -> dict[str, Any]:
    return next(c for c in load_cases(script)["cases"] if c["name"] == name)


def test_seed_expectations_state_the_acceptance_criteria() -> None:
    network = _case(SEED, "urgent network ticket is routed")["expect"]["runs"]
    assert len(network) == 1 and network[0]["fired"] is True
    assert [(a["verb"], a["object"], a.get("value")) for a in network[0]["actions"]] == [
        ("set", "team", "Network"), ("add", "internal note", "Auto-routed by urgency rule"),
        ("notify", "slack", "#incidents")]
    hardware = _case(SEED, "urgent hardware ticket is not routed")["expect"]["runs"]
    assert len(hardware) == 1 and hardware[0]["fired"] is False and hardware[0]["actions"] == []
    category = [c for c in hardware[0]["explain"]["children"] if c["text"] == 'category = "Network"']
    assert len(category) == 1 and category[0]["value"] is False


def test_new_joiner_expectations_cover_every_outcome() -> None:
    def run(name: str) -> dict[str, Any]:
        runs = _case(JOINER, name)["expect"]["runs"]
        assert len(runs) == 1
        return runs[0]

    def sets(r: dict[str, Any]) -> set[tuple[str, Any]]:
        return {(a["object"], a["value"]) for a in r["actions"] if a["verb"] == "set"}

    approved = run("manager approved")
    assert approved["status"] == "completed"
    assert sets(approved) == {("laptop.status", "ready"), ("accounts.status", "ready"),
                              ("desk.status", "ready")}
    for outcome in ("rejected", "timed_out"):
        r = run(f"manager {outcome}")
        assert r["status"] == "completed"
        assert sets(r) == {("laptop.status", "cancelled"), ("accounts.status", "cancelled"),
                           ("desk.status", "cancelled")}
        email = next(a for a in r["actions"] if a["object"] == "email")
        assert email["params"]["body"] == f"Outcome: {outcome}"
    waiting = run("no decision yet: waiting")
    assert waiting["status"] == "waiting"
    assert waiting["waiting_for"]["kind"] == "approval" and waiting["waiting_for"]["name"] == "manager"


# -- together, the examples use every statement and operator of the language page ---------------
def _walk(node: Any) -> Any:
    if isinstance(node, list):
        yield node
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _walk(item)


def test_examples_cover_the_language() -> None:
    actions: set[tuple[str, str]] = set()
    ops: set[str] = set()
    tests: set[str] = set()
    tags: set[str] = set()
    calls: set[str] = set()
    approval: dict[str, set[Any]] = {"order": set(), "kind": set(), "remind": set(), "via": set()}
    waits: set[str] = set()
    for script in SCRIPTS:
        for plan in plans_of(script):
            for ins in plan.code:
                ops.add(ins.op.value)
                if ins.op is Op.ACT:
                    verb, obj = str(ins.args[0]), str(ins.args[1])
                    actions.add((verb, "" if verb == "escalate" else obj))
                    if verb == "escalate":
                        waits.add("escalate=" + ("value" if int(ins.args[2]) >= 0 else "none"))  # type: ignore[arg-type]
                    if verb == "call":
                        waits.add("webhook=" + ("payload" if int(ins.args[3]) >= 0 else "none"))  # type: ignore[arg-type]
                elif ins.op in (Op.WAIT_APPROVAL, Op.WAIT_UNTIL):
                    timeout = ins.args[1]
                    waits.add(f"{ins.op.value}:{'or' if timeout != -1 else 'bare'}")
                elif ins.op is Op.TERMINATE:
                    waits.add("terminate:" + ("with" if ins.args[0] else "bare"))
            for const in plan.to_json()["constants"]:
                for node in _walk(const):
                    if not node or not isinstance(node[0], str):
                        continue
                    tags.add(node[0])
                    if node[0] == "test":
                        tests.add(node[1])
                    elif node[0] == "call":
                        calls.add(node[1])
                    elif node[0] == "approval":
                        spec = node[1]
                        approval["order"].add(spec["order"])
                        approval["kind"].update(a["kind"] for a in spec["approvers"])
                        approval["via"].update(spec["via"])
                        if spec["remind_every"] is not None:
                            approval["remind"].add("every")
                        if spec["remind_before"] is not None:
                            approval["remind"].add("before")
    from zentra_rules.domain.actions import ACTIONS
    assert set(ACTIONS) - actions == set(), "statements no example uses"
    assert {"SET", "CREATE", "REQUEST", "WAIT_APPROVAL", "WAIT_UNTIL", "WAIT", "JUMP_IF_NOT",
            "FORK", "TERMINATE"} <= ops
    assert {"WAIT_APPROVAL:or", "WAIT_APPROVAL:bare", "WAIT_UNTIL:or",
            "terminate:with", "terminate:bare", "escalate=value", "escalate=none",
            "webhook=payload", "webhook=none"} <= waits
    assert {"=", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "starts with", "ends with",
            "matches", "is empty", "is not empty", "changed", "changed from", "changed to"} <= tests
    assert {"and", "or", "not", "truth", "add", "sub", "now", "dur", "tmpl"} <= tags
    assert {"lower", "upper", "len"} <= calls
    assert approval["order"] == {"sequential", "parallel any", "parallel all"}
    assert approval["kind"] == {"user", "role", "group", "path"}
    assert approval["remind"] == {"every", "before"}
    assert {"email", "slack", "teams", "console"} <= approval["via"]
    # A scenario, a schedule and every trigger of the catalog.
    kinds = {plan.kind for s in SCRIPTS for plan in plans_of(s)}
    events = {t.event for s in SCRIPTS for plan in plans_of(s) for t in plan.triggers}
    from zentra_rules.domain.schema import TRIGGERS
    assert kinds == {"workflow", "scenario"}
    assert events == set(TRIGGERS)


# -- (d) the real command line ----------------------------------------------------------------------
def test_cli_check_accepts_every_example() -> None:
    proc = zentra("check", *[str(p.relative_to(ROOT)) for p in SCRIPTS])
    assert proc.returncode == 0, proc.stderr
    intended = any(INTENDED.search(line) for p in SCRIPTS for line in p.read_text().splitlines())
    if not intended:
        assert "warning" not in proc.stderr, proc.stderr
    assert proc.stdout.count(": ok (") == len(SCRIPTS)


@pytest.mark.parametrize("name", ["urgent network ticket is routed",
                                  "urgent hardware ticket is not routed"])
def test_cli_dry_run_seed(name: str) -> None:
    doc = load_cases(SEED)
    case = _case(SEED, name)
    assert isinstance(case["subject"], str)
    proc = zentra("dry-run", str(SEED.relative_to(ROOT)), "--event", case["event"],
                  "--subject", str(EXAMPLES / case["subject"]), "--now", doc["now"], "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == case["expect"]

"""The `zentra` command: exit codes, one-line errors for bad input, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SEED = EXAMPLES / "escalate-urgent.zflow"
JOINER = EXAMPLES / "new-joiner-provisioning.zflow"


def zentra(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zentra_rules.interfaces.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


def write(tmp: Path, name: str, doc: object) -> str:
    path = tmp / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_dry_run_json_of_the_seed_on_an_urgent_network_ticket(tmp_path: Path) -> None:
    subject = write(tmp_path, "t.json", {"priority": "urgent", "category": "Network"})
    proc = zentra("dry-run", str(SEED), "--event", "ticket.created", "--subject", subject, "--json")
    assert proc.returncode == 0, proc.stderr
    run, = json.loads(proc.stdout)["runs"]
    assert run["workflow"] == "escalate-urgent" and run["fired"] is True
    assert run["status"] == "completed" and run["waiting_for"] is None
    assert run["actions"] == [
        {"verb": "set", "object": "team", "value": "Network", "params": {}},
        {"verb": "add", "object": "internal note", "value": "Auto-routed by urgency rule", "params": {}},
        {"verb": "notify", "object": "slack", "value": "#incidents", "params": {}},
    ]


def test_dry_run_json_explains_why_the_seed_did_not_fire(tmp_path: Path) -> None:
    subject = write(tmp_path, "t.json", {"priority": "urgent", "category": "Hardware"})
    proc = zentra("dry-run", str(SEED), "--event", "ticket.created", "--subject", subject, "--json")
    run, = json.loads(proc.stdout)["runs"]
    assert run["fired"] is False and run["actions"] == []
    assert run["explain"]["value"] is False
    category = [c for c in run["explain"]["children"] if c["text"] == 'category = "Network"']
    assert category == [{"text": 'category = "Network"', "value": False, "left": "Hardware",
                         "right": "Network"}]


@pytest.mark.parametrize("decide, branch, status", [
    (["--decide", "manager=approved"], "ready", "completed"),
    (["--decide", "manager=rejected"], "cancelled", "completed"),
    (["--decide", "manager=timed_out"], "cancelled", "completed"),
    ([], None, "waiting"),
])
def test_new_joiner_branches(tmp_path: Path, decide: list[str], branch: str | None,
                             status: str) -> None:
    payload = write(tmp_path, "p.json", {"type": "new_joiner", "name": "Jo", "manager": "u_lee",
                                         "email": "jo@example.com"})
    proc = zentra("dry-run", str(JOINER), "--event", "webhook.received:hr", "--subject", payload,
                  "--now", "2026-11-25T09:00:00Z", "--json", *decide)
    assert proc.returncode == 0, proc.stderr
    run, = json.loads(proc.stdout)["runs"]
    assert run["status"] == status
    sets = {a["value"] for a in run["actions"] if a["verb"] == "set"}
    if branch is None:
        assert sets == set()
        assert run["waiting_for"] == {"kind": "approval", "name": "manager",
                                      "deadline": "2026-11-27T09:00:00Z"}
    else:
        assert sets == {branch}
        assert run["actions"][-1]["verb"] == "send"


def test_human_readable_dry_run(tmp_path: Path) -> None:
    subject = write(tmp_path, "t.json", {"priority": "urgent", "category": "Hardware"})
    proc = zentra("dry-run", str(SEED), "--event", "ticket.created", "--subject", subject)
    assert proc.returncode == 0
    assert 'workflow "escalate-urgent" on ticket.created: did not fire' in proc.stdout
    assert '[false] category = "Network"   (saw "Hardware", compared with "Network")' in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["check", "nope.zflow"], "zentra: error: cannot read nope.zflow: no such file"),
    (["compile", "nope.zflow"], "zentra: error: cannot read nope.zflow: no such file"),
    (["dry-run", str(SEED), "--event", "ticket.created", "--subject", "nope.json"],
     "zentra: error: cannot read nope.json: no such file"),
    (["dry-run", str(SEED), "--event", "ticket.exploded", "--subject", "{S}"],
     "zentra: error: unknown event `ticket.exploded`"),
    (["dry-run", str(SEED), "--event", "ticket.created", "--subject", "{BAD}"],
     "invalid JSON: Expecting"),
    (["dry-run", str(SEED), "--event", "ticket.created", "--subject", "{LIST}"],
     "zentra: error: the subject must be a JSON object"),
    (["dry-run", str(JOINER), "--event", "webhook.received", "--subject", "{S}", "--decide", "x"],
     "zentra: error: --decide takes NAME=approved|rejected|timed_out"),
    (["dry-run", str(SEED), "--event", "ticket.created", "--subject", "{S}", "--now", "soon"],
     "zentra: error: --now takes an ISO time"),
    (["check", str(ROOT / "examples")], "zentra: error: cannot read"),
])
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, args: list[str], message: str) -> None:
    files = {"{S}": write(tmp_path, "s.json", {}), "{LIST}": write(tmp_path, "l.json", [1])}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    files["{BAD}"] = str(bad)
    proc = zentra(*[files.get(a, a) for a in args], cwd=tmp_path)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_compile_json_and_disassembly() -> None:
    proc = zentra("compile", str(SEED), "--json")
    assert proc.returncode == 0
    plan, = json.loads(proc.stdout)["plans"]
    assert plan["name"] == "escalate-urgent" and plan["format_version"] == 1
    proc = zentra("compile", str(SEED), "--disasm")
    assert proc.returncode == 0
    assert "ACT           \"notify\" \"slack\"" in proc.stdout


def test_compile_error_exit_1_with_caret(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zflow"
    bad.write_text("WHEN ticket.created THEN sned survey = \"x\"\n")
    proc = zentra("compile", str(bad))
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[2].strip() == "^"


def test_non_utf8_script_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.zflow"
    bad.write_bytes(b"WHEN ticket.created THEN add tag = \"caf\xe9\"")
    proc = zentra("check", str(bad))
    assert proc.returncode == 1 and "not UTF-8 text" in proc.stderr


def test_previous_subject_feeds_changed_tests(tmp_path: Path) -> None:
    script = tmp_path / "audit.zflow"
    script.write_text('WHEN ticket.updated WHERE priority changed to "urgent" '
                      'THEN add internal note = "was {{event.previous.priority}}"\n')
    now = write(tmp_path, "now.json", {"priority": "urgent"})
    before = write(tmp_path, "before.json", {"priority": "low"})
    proc = zentra("dry-run", str(script), "--event", "ticket.updated", "--subject", now,
                  "--previous", before, "--json")
    run, = json.loads(proc.stdout)["runs"]
    assert run["explain"] == {"text": 'priority changed to "urgent"', "value": True,
                              "left": "urgent", "previous": "low", "right": "urgent"}
    assert run["actions"][0]["value"] == "was low"
    proc = zentra("dry-run", str(script), "--event", "ticket.updated", "--subject", now, "--json")
    assert json.loads(proc.stdout)["runs"][0]["fired"] is False


def test_deep_or_odd_input_is_a_one_line_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    doc: dict = {}  # type: ignore[type-arg]
    cursor = doc
    for _ in range(500):
        cursor["n"] = {}
        cursor = cursor["n"]
    deep.write_text(json.dumps(doc))
    arrays = tmp_path / "arrays.json"
    arrays.write_text("[" * 1000 + "]" * 1000)
    payload = write(tmp_path, "p.json", {"type": "new_joiner"})
    cases = [
        (["dry-run", str(SEED), "--event", "ticket.created", "--subject", str(deep)],
         "the subject is nested more than 64 levels deep"),
        (["dry-run", str(SEED), "--event", "ticket.created", "--subject", str(arrays)],
         "JSON nested too deeply"),
        (["dry-run", str(JOINER), "--event", "webhook.received:hr", "--subject", payload,
          "--decide", "mangaer=approved"], "no approval named `mangaer` is requested in this script; "
                                           "did you mean `manager`?"),
        (["dry-run", str(SEED), "--subject", payload], "the following arguments are required: --event"),
        (["check"], "the following arguments are required: FILE"),
    ]
    for args, message in cases:
        proc = zentra(*args)
        assert proc.returncode == 1, (args, proc.stderr)
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_publish_prints_the_warnings_and_publishes(tmp_path: Path) -> None:
    script = tmp_path / "bare.zflow"
    script.write_text('WHEN ticket.created THEN wait until status = "resolved"\n')
    env = {**__import__("os").environ, "ZENTRA_DATABASE_URL": f"sqlite:///{tmp_path}/z.db",
           "ZENTRA_QUEUE_URL": f"sqlite:///{tmp_path}/q.db"}
    proc = subprocess.run([sys.executable, "-m", "zentra_rules.interfaces.cli", "publish", str(script)],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"{script}:1:26: warning: this wait has no timeout" in proc.stderr
    assert "workflow bare version 1 (active)" in proc.stdout

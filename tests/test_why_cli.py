"""`zentra why TICKET-ID`: for an admin, each event of a ticket, each workflow its trigger named —
fired with the execution, or not with the false parts of the condition — and the executions
that created or changed it, statement by statement; a clear error for an unknown ticket."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .rig import Rig

ROOT = Path(__file__).resolve().parent.parent
ROUTE = ('workflow "route" WHEN ticket.created\n'
         'WHERE category = "Network" AND priority = "urgent"\nTHEN set team = "Net"')
HARDWARE = 'workflow "hardware" WHEN ticket.created WHERE category = "Hardware" THEN add tag = "hw"'


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A desk on a SQLite file, its configuration, and the tickets the tests ask about."""
    tmp = tmp_path_factory.mktemp("why")
    url = f"sqlite:///{tmp}/z.db"
    rig = Rig(url)
    try:
        rig.publish(ROUTE)
        rig.publish(HARDWARE)
        missed = rig.engine.create_ticket({"title": "CRM", "category": "Software",
                                           "priority": "urgent"})["id"]
        routed = rig.engine.create_ticket({"title": "VPN", "category": "Network",
                                           "priority": "urgent"})["id"]
        rig.settle()
        rig.store.records.create_user({"id": "u_mgr_lee", "email": "lee@example.com"})
        rig.publish((ROOT / "examples" / "new-joiner-provisioning.zflow").read_text())
        subject = json.loads((ROOT / "examples" / "subjects" / "hr-new-joiner.json").read_text())
        rig.engine.receive_webhook("hr", subject)
        rig.settle()
        (request,) = rig.store.approvals.listing()
        rig.clock.advance(minutes=10)
        rig.engine.decide(request["id"], "u_mgr_lee", "reject")
        rig.settle()
        laptop = str(int(routed) + 1)
        assert rig.ticket(laptop)["status"] == "cancelled"
    finally:
        rig.close()
    config = tmp / "zentra.toml"
    config.write_text(f'[database]\nurl = "{url}"\n[queue]\nurl = "memory://"\n')
    yield config, {"missed": missed, "routed": routed, "laptop": laptop}


def why(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", "why", *args, "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT)


def test_a_ticket_no_workflow_matched_names_each_candidate_and_the_false_part(
        desk: tuple[Path, dict[str, str]]) -> None:
    config, ids = desk
    proc = why(config, ids["missed"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith(f"ticket {ids['missed']}\n")
    assert "ticket.created" in out and "by api" in out
    assert "route v1: not fired" in out and "hardware v1: not fired" in out
    assert '[false] category = "Network"   (saw "Software", compared with "Network")' in out
    assert '[false] category = "Hardware"   (saw "Software", compared with "Hardware")' in out
    # Only the parts that made the condition false: the priority held, so it is not listed.
    assert '[false] category = "Network" AND priority = "urgent"' in out
    assert '] priority = "urgent"' not in out
    assert "executions that ran on, created or changed it: none" in out


def test_a_fired_workflow_shows_its_execution_and_what_it_changed(
        desk: tuple[Path, dict[str, str]]) -> None:
    config, ids = desk
    out = why(config, ids["routed"]).stdout
    assert "route v1: fired → execution 1 (completed)" in out
    assert 'line 3: THEN set team = "Net"   team: null → "Net"' in out
    assert "execution 1  route v1  completed  (subject, changed)" in out
    only = why(config, ids["routed"], "--workflow", "hardware").stdout
    assert "hardware v1: not fired" in only and "route v1" not in only
    assert "hardware: not triggered by this event (or not active then)" in only   # the update


def test_the_created_and_cancelled_tickets_of_a_rejected_new_joiner(
        desk: tuple[Path, dict[str, str]]) -> None:
    config, ids = desk
    proc = why(config, ids["laptop"], "--json")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert set(found) == {"record", "workflow", "entries", "executions"}
    (run,) = found["executions"]
    assert run["roles"] == ["created", "changed"] and run["created"]["line"] == 6
    text = why(config, ids["laptop"]).stdout
    assert "new-joiner-provisioning v1  waiting  (created, changed)" in text
    assert "created it at line 6: create ticket laptop," in text
    assert 'line 19: set laptop.status = "cancelled"   status: "new" → "cancelled"' in text


@pytest.mark.parametrize(("ticket", "message"), [
    ("424242", "zentra: error: no ticket 424242"),
    ("TICKET-7", "zentra: error: a ticket id is a number"),
])
def test_an_unknown_or_malformed_ticket_is_one_clear_line_and_exit_1(
        desk: tuple[Path, dict[str, str]], ticket: str, message: str) -> None:
    proc = why(desk[0], ticket)
    assert proc.returncode == 1
    assert proc.stderr.startswith(message) and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr and proc.stdout == ""

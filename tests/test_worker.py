"""Real worker processes on real storage: SQLite + Huey's SQLite storage, PostgreSQL + Redis.

These run in real seconds: a worker is a separate `zentra worker` process, killed with SIGKILL at
random points, restarted, and the database checked afterwards.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_source
from runtime.durable.engine import Engine
from zentra_rules.domain.clock import ManualClock
from zentra_rules.domain.config import load
from zentra_rules.interfaces.process import App, open_app

from .receivers import Mailbox, http_receiver, smtp_server, standard_signature
from .rig import stored
from .services import database_url, flush_redis, queue_url

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Stack:
    """A configuration file, the test's own handle on the engine, and worker processes."""

    def __init__(self, tmp_path: Path, db: str, queue: str, mailbox: Mailbox | None = None):
        self.tmp_path = tmp_path
        self.workers: list[subprocess.Popen[bytes]] = []
        self.config_path = tmp_path / "zentra.toml"
        email = (f'[integrations.email]\nurl = "mailto://127.0.0.1:{mailbox.port}'
                 f'?from=desk@example.com&mode=insecure"') if mailbox else ""
        self.config_path.write_text(f"""
[database]
url = "{db}"
[queue]
url = "{queue}"
[webhooks]
allow_private = true
timeout = 5
[runtime]
lease_seconds = 2
sweep_seconds = 0.3
workers = 4
{email}
""")
        self.app: App = open_app(load(self.config_path))
        self.store, self.engine = self.app.store, self.app.engine

    def publish(self, source: str) -> None:
        self.engine.publish(compile_source(source, "test.zflow"), "tests")

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "zentra_rules.interfaces.cli", "worker", "--config",
                                 str(self.config_path)], cwd=ROOT, stdout=log, stderr=log)
        log.close()
        self.workers.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(proc)
        self.store.close()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.tmp_path.glob("worker-*.log")))


@pytest.fixture(params=[("sqlite", "sqlite"), ("postgresql", "redis")], ids=["sqlite", "pg-redis"])
def backends(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with database_url(request.param[0], tmp_path) as db, queue_url(request.param[1], tmp_path) as q:
        if q.startswith("redis"):
            flush_redis("zentra")
        try:
            yield db, q
        finally:
            if q.startswith("redis"):
                flush_redis("zentra")


@contextmanager
def stack(tmp_path: Path, backends: tuple[str, str], mailbox: Mailbox | None = None) -> Iterator[Stack]:
    s = Stack(tmp_path, *backends, mailbox=mailbox)
    try:
        yield s
    except BaseException:
        print(s.logs())
        raise
    finally:
        s.stop()


def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_the_seed_rule_routes_a_ticket_through_a_real_worker(tmp_path: Path,
                                                              backends: tuple[str, str]) -> None:
    with stack(tmp_path, backends) as s:
        s.publish((ROOT / "examples" / "escalate-urgent.zflow").read_text())
        s.start_worker()
        latencies = []
        for n in range(6):
            started = time.monotonic()
            ticket = s.engine.create_ticket({"title": f"VPN down {n}", "priority": "urgent",
                                             "category": "Network"})

            def routed(ticket_id: str = ticket["id"]) -> bool:
                return stored(s.store.records.get_ticket(ticket_id)).get("team") == "Network"
            until(routed, 20, "the ticket to be routed")
            latencies.append(time.monotonic() - started)
        print(f"routing latency (s), first includes the worker's start: {latencies}")
        assert all(len(s.store.records.notes(str(i))) == 1 for i in range(1, 7))


JOINER = """
workflow "joiner"
WHEN webhook.received "hr"
WHERE payload.type = "new_joiner"
THEN
  create ticket laptop, title = "Provision laptop for {{payload.name}}", team = "Field IT"
  create ticket accounts, title = "Create accounts for {{payload.name}}", team = "IAM"
  create ticket desk, title = "Assign desk for {{payload.name}}", team = "Facilities"
  request approval manager from payload.manager remind every 1 seconds via email timeout 4 seconds
  wait for approval manager or 4 seconds
  if manager.approved then
    set laptop.status = "ready"
    notify email = "it@example.com", subject = "Approved: {{payload.name}}", body = "Go ahead"
  else
    set laptop.status = "cancelled"
    notify email = "hr@example.com", subject = "Not approved: {{payload.name}}",
           body = "Outcome: {{manager.outcome}}"
  end
  wait 1 seconds
  send survey = "check-in", to = payload.email
"""


def test_new_joiner_with_real_waits_and_real_email(tmp_path: Path,
                                                   backends: tuple[str, str]) -> None:
    with smtp_server() as mailbox, stack(tmp_path, backends, mailbox) as s:
        s.store.records.create_user({"id": "maria", "email": "maria@example.com"})
        s.publish(JOINER)
        s.start_worker()
        for name in ("Approve", "Reject", "Silent"):
            s.engine.receive_webhook("hr", {"type": "new_joiner", "name": name, "manager": "maria",
                                            "email": f"{name.lower()}@example.com"})
        requests = until(lambda: len(s.store.approvals.listing()) == 3 and s.store.approvals.listing(), 20,
                         "three approval requests")
        until(lambda: any("Reminder" in (m[2]["Subject"] or "") for m in mailbox.messages), 20,
              "a reminder email")
        by_name = {s.store.runs.execution(r["execution"])["inputs"]["data"]["payload"]["name"]: r
                   for r in requests}
        s.engine.decide(by_name["Approve"]["id"], "maria", "approve")
        s.engine.decide(by_name["Reject"]["id"], "maria", "reject", "not yet")
        until(lambda: all(e["status"] == "completed" for e in s.store.runs.executions()) and
              len(s.store.runs.executions()) == 3, 40, "all three runs to complete")
        outcomes = {name: s.store.approvals.approval(r["id"])["status"] for name, r in by_name.items()}
        assert outcomes == {"Approve": "approved", "Reject": "rejected", "Silent": "timed_out"}
        until(lambda: len([m for m in mailbox.messages if "Survey" in (m[2]["Subject"] or "")]) == 3,
              20, "three surveys")

        def outcomes_mailed() -> list[str]:
            return sorted(m[2]["Subject"] for m in mailbox.messages
                          if m[1] in (["it@example.com"], ["hr@example.com"]))
        # Each send is delivered on its own: the outcome mails may come after the surveys.
        until(lambda: len(outcomes_mailed()) >= 3, 20, "three outcome emails")
        assert outcomes_mailed() == ["Approved: Approve", "Not approved: Reject",
                                     "Not approved: Silent"]
        silent = next(m[2] for m in mailbox.messages if m[2]["Subject"] == "Not approved: Silent")
        body = silent.get_payload(decode=True)
        assert isinstance(body, bytes) and "Outcome: timed_out" in body.decode()
        assert stored(s.store.records.get_ticket("1"))["title"].startswith("Provision")


CHAOS = """
workflow "chaos"
WHEN ticket.created
WHERE category = "chaos"
THEN
  add internal note = "one"
  assign team = "Chaos"
  wait 1 seconds
  add internal note = "two"
  call webhook = "receiver", payload = "ticket {{id}}"
  create ticket child, title = "child of {{id}}"
  wait 1 seconds
  add internal note = "three"
"""


def test_kill_9_at_random_points_loses_nothing_and_repeats_nothing(
        tmp_path: Path, backends: tuple[str, str]) -> None:
    rng = random.Random(int(os.environ.get("ZENTRA_CHAOS_SEED", "7")))
    with http_receiver() as receiver, stack(tmp_path, backends) as s:
        with s.store.tx():
            s.store.webhooks.register_endpoint("receiver", "outbound", SECRET, s.engine.clock.now(),
                                      receiver.url)
        s.publish(CHAOS)
        parents = [s.engine.create_ticket({"title": f"T{n}", "category": "chaos"})["id"]
                   for n in range(50)]
        kills = 0
        chaos_until = time.monotonic() + 12
        while time.monotonic() < chaos_until:
            worker = s.start_worker()
            time.sleep(rng.uniform(0.3, 1.5))
            s.kill(worker)
            kills += 1
        s.start_worker()
        until(lambda: len([e for e in s.store.runs.executions(workflow="chaos")
                           if e["status"] == "completed"]) == 50, 90, "all 50 runs to complete")
        until(lambda: all(x["status"] == "delivered" for x in s.store.outbox.sends()), 30,
              "every send to be delivered")
        for parent in parents:
            assert [n["body"] for n in s.store.records.notes(parent)] == ["one", "two", "three"], parent
            assert stored(s.store.records.get_ticket(parent))["team"] == "Chaos"
        children = [c for c in (s.store.records.get_ticket(str(i)) for i in range(51, 200))
                    if c and c["title"].startswith("child of")]
        assert sorted(c["title"] for c in children) == sorted(f"child of {p}" for p in parents)
        ids = receiver.ids()
        assert len(set(ids)) == 50, (len(ids), len(set(ids)))
        assert {s["message_id"] for s in s.store.outbox.sends()} == set(ids)
        assert all(standard_signature(SECRET, h.headers, h.body) for h in receiver.hits)
        redone = {(e["id"], st["slice"]) for e in s.store.runs.executions(workflow="chaos")
                  for st in s.store.runs.execution(e["id"])["steps"] if st["attempt"] > 1}
        print(f"{kills} kills; {len(ids)} deliveries for 50 sends; "
              f"{len(redone)} run slices redone after a kill")
        assert s.store.audit.verify() is None


def test_a_48_hour_wait_that_expired_while_down_resolves_once(
        tmp_path: Path, backends: tuple[str, str]) -> None:
    with http_receiver() as receiver, stack(tmp_path, backends) as s:
        with s.store.tx():
            s.store.webhooks.register_endpoint("receiver", "outbound", SECRET, s.engine.clock.now(),
                                      receiver.url)
        s.publish('workflow "hold" WHEN ticket.created THEN wait 48 hours\n'
                  '  add internal note = "after 48 hours"\n'
                  '  call webhook = "receiver", payload = "done {{id}}"')
        # Two days and an hour ago, with no worker running: the run starts and waits.
        past = Engine(s.store, ManualClock(datetime.now(UTC) - timedelta(hours=49)),
                      s.engine.config)
        ticket = past.create_ticket({"title": "Held"})
        for event in s.store.events.unprocessed_events(datetime.now(UTC)):
            for execution in past.process_event(event):
                past.advance(execution)
        run = s.store.runs.executions()[0]
        assert run["status"] == "waiting"
        # Everything comes back up: two workers, and both sweep.
        s.start_worker()
        s.start_worker()
        until(lambda: s.store.runs.execution(run["id"])["status"] == "completed", 30,
              "the run to resume")
        until(lambda: receiver.hits, 20, "the webhook")
        time.sleep(1.5)   # several more sweeps by both workers
        assert [n["body"] for n in s.store.records.notes(ticket["id"])] == ["after 48 hours"]
        assert len(receiver.hits) == 1
        steps = s.store.runs.execution(run["id"])["steps"]
        assert len([st for st in steps if st["instruction"].startswith("ACT")]) == 2

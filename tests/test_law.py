"""The law: a durable run ends with the records, sends and trace its dry run shows.

Hypothesis writes scripts the way an admin does (waits, created tickets, lookups through the
requester and the linked asset, tags, notes, notifications to users, approvals, branches) and a
ticket history (changes to the ticket and to the tickets the run created, decisions, at generated
times). The durable engine runs on a real database with its clock driven from one moment to the
next: every deadline, every change and every decision at its own time, as it would happen. The
dry run of the same script is given the same inputs: the ticket as created, the desk's directory,
the same history, the ids the desk gave to created tickets, and a closed world up to the same
horizon. Both must agree exactly.

500 examples on each database in the default run; `pytest -m long tests/test_law.py` runs 5,000.
"""

from __future__ import annotations

import contextlib
import itertools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_source
from runtime import vm
from runtime.dryrun import simulate
from runtime.durable.slices import _earliest
from runtime.trace import stored_trace
from zentra_rules.domain.errors import ZentraError

from .rig import Rig
from .services import database_url

HORIZON = timedelta(hours=120)
DECIDER = "u_boss"   # who decides every approval of the history, on both paths
USERS: list[dict[str, Any]] = [
    {"id": "u_boss", "name": "Boss", "email": "boss@example.com"},
    {"id": "u_bob", "name": "Bob", "email": "bob@example.com", "slack": "U0BOB"},
    {"id": "u_ana", "name": "Ana", "email": "ana@example.com", "manager": "u_bob", "vip": True},
    {"id": "u_cat", "name": "Cat", "email": "cat@example.com"},           # no manager
    {"id": "u_kim", "name": "Kim", "email": "kim@example.com", "slack": "U0KIM",
     "teams": "kim@corp.example"},
    {"id": "u_lee", "name": "Lee"},                                       # no email, no chat
]
ASSETS = [{"id": "A1", "name": "db-1", "criticality": 1, "owner": "u_kim", "lifecycle": "deployed"},
          {"id": "A2", "name": "lt-2", "criticality": 3, "owner": "u_lee", "lifecycle": "deployed"}]

TAGS = st.sampled_from(["vip", "net", "hw", "sla"])
STATUSES = st.sampled_from(["open", "in_progress", "pending", "resolved"])
PRIORITIES = st.sampled_from(["low", "normal", "high", "urgent"])
HOURS = st.integers(1, 72)


@st.composite
def statements(draw: Any, depth: int, names: dict[str, list[str]]) -> list[str]:
    """A block of statements; `names` collects the tickets and approvals bound so far."""
    out = []
    for _ in range(draw(st.integers(2, 6) if depth == 0 else st.integers(1, 2))):
        # Statements that bind, send or wait come up more often: they are where paths differ.
        kind = draw(st.sampled_from(
            ["set", "assign", "tag", "untag", "note", "escalate", "transition", "create",
             "create", "set-created", "set-created", "notify-user", "notify-user",
             "notify-created", "wait", "until", "until-created", "until-created", "approval",
             "if", "if-lookup"] if depth < 2 else
            ["set", "tag", "untag", "note", "notify-user"]))
        if kind == "set":
            out.append(f'set priority = "{draw(PRIORITIES)}"')
        elif kind == "assign":
            out.append(f'assign team = "{draw(st.sampled_from(["Network", "IAM", "Desk"]))}"')
        elif kind == "tag":
            out.append(f'add tag = "{draw(TAGS)}"')
        elif kind == "untag":
            out.append(f'remove tag = "{draw(TAGS)}"')
        elif kind == "note":
            out.append('add internal note = "{{title}} is {{priority}} with {{tags}} for '
                       '{{requester.name}}"')
        elif kind == "escalate":
            out.append("escalate")
        elif kind == "transition":
            out.append(f'transition status = "{draw(STATUSES)}"')
        elif kind == "create" and depth == 0:
            name = f"t{len(names['tickets'])}"
            names["tickets"].append(name)
            out.append(f'create ticket {name}, title = "Follow-up of {{{{id}}}}: {{{{title}}}}", '
                       f'team = "Desk", priority = "{draw(PRIORITIES)}"')
        elif kind == "set-created" and names["tickets"]:
            name = draw(st.sampled_from(names["tickets"]))
            out.append(f'set {name}.status = "{draw(STATUSES)}"')
        elif kind == "notify-user":
            out.append(draw(st.sampled_from([
                'notify email = requester.manager, subject = "{{requester.name}}: {{title}}"',
                'notify email = requester, subject = "About {{id}}", body = "{{status}}"',
                'notify slack dm = agent, message = "{{id}} {{tags}} {{escalationLevel}}"',
                'notify teams dm = user "u_kim", message = "{{linkedAsset.name}} ({{id}})"',
                'notify email = linkedAsset.owner, subject = "Asset {{linkedAsset.id}}"',
                'send survey = "Support", to = requester',
                'notify slack = "#desk"'])))
        elif kind == "notify-created" and names["tickets"]:
            name = draw(st.sampled_from(names["tickets"]))
            out.append(f'notify slack = "#desk", message = "{name}: {{{{{name}.id}}}} is '
                       f'{{{{{name}.status}}}}"')
        elif kind == "wait" and depth == 0:
            out.append(f"wait {draw(HOURS)} hours")
        elif kind == "until" and depth == 0:
            out.append(f'wait until status = "{draw(STATUSES)}" or {draw(HOURS)} hours')
        elif kind == "until-created" and depth == 0 and names["tickets"]:
            name = draw(st.sampled_from(names["tickets"]))
            out.append(f'wait until {name}.status = "resolved" or {draw(HOURS)} hours')
        elif kind == "approval" and depth == 0:
            name = f"a{len(names['approvals'])}"
            names["approvals"].append(name)
            timeout = draw(HOURS)
            wait = draw(st.sampled_from(["", f" or {draw(HOURS)} hours"]))
            out.append(f'request approval {name} from user "u_boss" timeout {timeout} hours')
            out.append(f"wait for approval {name}{wait}")
            inner = draw(statements(depth + 1, names))
            other = draw(statements(depth + 1, names))
            out.append(f"if {name}.approved then\n" + "\n".join(inner) + "\nelse\n"
                       + "\n".join(other) + "\nend")
        elif kind == "if":
            test = draw(st.sampled_from(['priority = "urgent"', 'tags contains "vip"',
                                         'status = "resolved"', "escalationLevel >= 2"]))
            out.append(f"if {test} then\n" + "\n".join(draw(statements(depth + 1, names)))
                       + "\nend")
        elif kind == "if-lookup":
            test = draw(st.sampled_from(["requester.vip = true", "linkedAsset.criticality <= 2",
                                         'requester.manager.name = "Bob"']))
            out.append(f"if {test} then\n" + "\n".join(draw(statements(depth + 1, names)))
                       + "\nelse\n" + "\n".join(draw(statements(depth + 1, names))) + "\nend")
        else:
            out.append(f'add tag = "{draw(TAGS)}"')
    return out


@st.composite
def cases(draw: Any) -> dict[str, Any]:
    names: dict[str, list[str]] = {"tickets": [], "approvals": []}
    body = draw(statements(0, names))
    ticket = {"title": draw(st.sampled_from(["VPN down", "New laptop", "Printer"])),
              "priority": draw(PRIORITIES), "tags": draw(st.lists(TAGS, max_size=3)),
              "requester": draw(st.sampled_from(["u_ana", "u_cat", "u_lee"])),
              "agent": draw(st.sampled_from(["u_kim", "u_bob", "u_lee"])),
              "linkedAsset": draw(st.sampled_from(["A1", "A2"]))}
    history = []
    for _ in range(draw(st.integers(0, 5))):
        at = draw(st.integers(1, 100 * 60))     # minutes after the ticket arrived
        what = draw(st.sampled_from(["subject", "created", "decide"]))
        if what == "subject":
            history.append({"minutes": at, "record": "subject",
                            "changes": draw(st.sampled_from([
                                {"status": draw(STATUSES)}, {"priority": draw(PRIORITIES)},
                                {"tags": draw(st.lists(TAGS, max_size=3))}]))})
        elif what == "created" and names["tickets"]:
            history.append({"minutes": at, "record": draw(st.sampled_from(names["tickets"])),
                            "changes": {"status": draw(STATUSES)}})
        elif what == "decide" and names["approvals"]:
            history.append({"minutes": at, "decide": draw(st.sampled_from(names["approvals"])),
                            "outcome": draw(st.sampled_from(["approved", "rejected"])),
                            "comment": draw(st.sampled_from([None, "fine", "no budget"]))})
    return {"body": body, "ticket": ticket, "history": history}


class Law:
    """One database, many examples: each its own workflow and ticket, time moving on."""

    def __init__(self, url: str):
        self.rig = Rig(url)
        for user in USERS:
            self.rig.store.records.create_user(dict(user))
        for asset in ASSETS:
            self.rig.engine.put_asset(dict(asset), create=True)
        self.rig.settle()
        self.serial = itertools.count(1)
        self.seen: dict[str, int] = {}    # what the examples exercised, for the summary

    def check(self, case: dict[str, Any]) -> None:
        rig, n = self.rig, next(self.serial)
        source = (f'workflow "law-{n}"\nWHEN ticket.created\nWHERE category = "law-{n}"\nTHEN\n'
                  + "\n".join(case["body"]) + "\n")
        try:
            plans = compile_source(source, "law.zflow")
        except ZentraError as exc:     # the generator writes only valid scripts
            raise AssertionError(f"{exc}\n{source}") from exc
        start = rig.clock.now()
        timeline = [{**{k: v for k, v in h.items() if k != "minutes"},
                     "at": start + timedelta(minutes=h["minutes"])} for h in case["history"]]
        rig.engine.publish(plans, "law")
        ticket = rig.engine.create_ticket({**case["ticket"], "category": f"law-{n}"})
        rig.settle()
        run = rig.store.runs.executions(workflow=f"law-{n}")[0]
        self._drive(run["id"], timeline, start + HORIZON)
        run = rig.store.runs.execution(run["id"])
        rig.store.definitions.activate(f"law-{n}", None, rig.clock.now())

        created = [run["state"]["vars"][name]["id"] for name in _created_order(run["state"])]
        records = rig.engine.directory(plans, "ticket.created", ticket)
        trace, (world,) = simulate(plans, "ticket.created", ticket, now=start, records=records,
                                   timeline=[{**t, "at": t["at"].isoformat(),
                                              **({"by": DECIDER} if "decide" in t else {})}
                                             for t in timeline],
                                   until=start + HORIZON, ids=iter(created))
        dry = trace["runs"][0]
        real = stored_trace(run, rig.engine.plan_of(run))
        context = f"\n{source}\nticket {case['ticket']}\nhistory {case['history']}"
        for key in ("status", "actions", "sends", "path", "waiting_for", "timeline"):
            assert real[key] == dry[key], f"{key} differs{context}"
        assert real.get("reason") == dry.get("reason"), context
        assert world.created == created, context
        for which in [("ticket", ticket["id"]), *(("ticket", i) for i in created)]:
            assert rig.store.records.get_ticket(which[1]) == world.records[which], f"record {which}{context}"
        outbox = [(s["channel"], s["target"], s["payload"]) for s in rig.store.outbox.sends(run["id"])]
        shown = [(s["channel"], s["to"], {k: v for k, v in s.items()
                                          if k not in ("channel", "to", "not_before")})
                 for s in world.sends]
        assert outbox == shown, context
        notes = [(n["kind"], n["body"]) for n in rig.store.records.notes(ticket["id"])]
        assert notes == [(n["kind"], n["body"]) for n in world.notes if n["kind"] != "link"]
        for label, hit in (("examples", True), (f"status {real['status']}", True),
                           ("created tickets", bool(created)), ("sends", bool(outbox)),
                           ("resumed after a wait", len({s["slice"] for s in run["steps"]}) > 1),
                           ("history", bool(timeline))):
            self.seen[label] = self.seen.get(label, 0) + hit

    def _drive(self, execution: int, timeline: list[dict[str, Any]], until: datetime) -> None:
        """Move the clock from one moment to the next: a change, a decision or a deadline."""
        rig = self.rig
        pending = list(timeline)
        while True:
            run = rig.store.runs.execution(execution)
            wake = (_earliest(run["state"], vm.waits(run["state"]))
                    if run["status"] == "waiting" else None)
            times = [t["at"] for t in pending] + ([wake] if wake else [])
            times = [t for t in times if t <= until]
            if not times:
                break
            at = max(min(times), rig.clock.now())
            rig.clock.set(at)
            for item in [t for t in pending if t["at"] <= at]:
                pending.remove(item)
                self._happen(run, item)
            rig.settle()
        rig.clock.set(max(until, rig.clock.now()))
        rig.settle()

    def _happen(self, run: dict[str, Any], item: dict[str, Any]) -> None:
        rig = self.rig
        if "decide" in item:
            request = rig.store.approvals.approval_of(run["id"], item["decide"])
            if request is None:
                return
            with contextlib.suppress(ZentraError):   # decided already, or timed out: no change
                rig.engine.decide(request["id"], DECIDER,
                                  "approve" if item["outcome"] == "approved" else "reject",
                                  item.get("comment"))
            return
        if item["record"] == "subject":
            rig.engine.update_ticket(run["subject"]["id"], item["changes"])
            return
        var = (run["state"] or {}).get("vars", {}).get(item["record"])
        if isinstance(var, dict) and var.get("id") is not None:
            rig.engine.update_ticket(var["id"], item["changes"])

    def close(self) -> None:
        self.rig.close()


def _created_order(state: dict[str, Any]) -> list[str]:
    """The created tickets' names in the order the desk numbered them."""
    names = [n for n, v in state["vars"].items() if isinstance(v, dict) and v.get("kind") == "ticket"]
    return sorted(names, key=lambda n: int(state["vars"][n]["id"]))


def _law(backend: str, tmp_path: Path, examples: int) -> None:
    with database_url(backend, tmp_path) as url:
        law = Law(url)
        try:
            @settings(max_examples=examples, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
            @given(case=cases())
            def check(case: dict[str, Any]) -> None:
                law.check(case)
            check()
            print(f"law on {backend}: {law.seen}")
            assert law.seen["examples"] >= examples
        finally:
            law.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_durable_run_does_what_its_dry_run_shows(backend: str, tmp_path: Path) -> None:
    _law(backend, tmp_path, int(__import__("os").environ.get("ZENTRA_LAW_EXAMPLES", 500)))


@pytest.mark.long
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_durable_run_does_what_its_dry_run_shows_long(backend: str, tmp_path: Path) -> None:
    _law(backend, tmp_path, 5000)

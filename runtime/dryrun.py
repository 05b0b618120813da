"""Dry runs: the engine's own matcher, VM and driver, with a world kept in memory.

A dry run changes nothing: created tickets, record changes, notes and sends land in a `DryWorld`
instead of the store, and time is simulated. It runs the same code as a real execution (the
matcher decides, runtime/drive.py drives the VM), so what it shows is what a real run does.

Time moves on in a dry run by itself only where nothing outside can change the outcome: a plain
`wait DURATION` passes. A wait for an approval or a condition stops the dry run (`waiting`) unless
a decision is given for it, or a `timeline` says what happens and when, or `until` closes the
world: then nothing happens but the timeline, and every deadline up to `until` passes.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime import vm
from runtime.drive import drive
from runtime.events import event_data, parse_event, subject_root
from runtime.matcher import Matcher
from runtime.trace import actions_and_sends
from runtime.trace import decisions as with_decisions
from zentra_rules.domain.changes import new_ticket_fields, ticket_record, with_changes
from zentra_rules.domain.errors import InputError
from zentra_rules.domain.limits import DEFAULT_LIMITS, Limits
from zentra_rules.domain.plan import Op, Plan, describe_constant
from zentra_rules.domain.schema import APPROVAL_OUTCOMES, RECORD_KINDS
from zentra_rules.domain.suggest import did_you_mean
from zentra_rules.domain.values import as_datetime, iso

MAX_RESUMES = 1000
MAX_JSON_DEPTH = 64   # records nest a few levels; far deeper input is a mistake, refused early
Record = dict[str, Any]


def json_depth(doc: Any) -> int:
    """How deeply a JSON document nests (iteratively: deep input must not exhaust the stack)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((child, depth + 1) for child in
                             (node.values() if isinstance(node, dict) else node))
    return deepest


@dataclass
class DryWorld:
    """Where a dry run's effects land: records, notes, links and sends (an approval request
    lives in the run's state, as in a real run)."""

    ids: Iterator[str]
    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    notes: list[Record] = field(default_factory=list)
    sends: list[Record] = field(default_factory=list)

    def create_ticket(self, fields: Record, now: datetime) -> Record:
        ticket_id = next(self.ids)
        record = ticket_record(ticket_id, new_ticket_fields(fields), now, now)
        self.records[("ticket", ticket_id)] = record
        self.created.append(ticket_id)
        return copy.deepcopy(record)

    def apply(self, effect: Record, now: datetime) -> None:
        verb, obj = effect["verb"], effect["object"]
        if "send" in effect:
            self.sends.append(copy.deepcopy(effect["send"]))
        elif (verb, obj) in (("add", "internal note"), ("post", "reply")):
            self.notes.append({"kind": "internal" if verb == "add" else "public",
                               "body": effect.get("value")})
        elif (verb, obj) == ("link", "ticket"):
            self.notes.append({"kind": "link", "body": effect.get("value")})

    def save(self, kind: str, record_id: Any, changes: Record, now: datetime) -> Record:
        key = (kind, str(record_id))
        self.records[key] = with_changes(self.records.get(key, {}), changes, now)
        return copy.deepcopy(self.records[key])

    def change(self, kind: str, record_id: Any, changes: Record, now: datetime) -> None:
        """Somebody else changed a record (a timeline entry)."""
        key = (kind, str(record_id))
        if key in self.records:
            self.records[key] = with_changes(self.records[key], changes, now)


def new_ids() -> Iterator[str]:
    """Ids of tickets a dry run creates: the desk numbers real ones when they are created."""
    return (f"NEW-{n}" for n in itertools.count(1))


def dry_run(plans: list[Plan], event: str, subject: Any, previous: Any = None,
            decisions: dict[str, str] | None = None, *, now: datetime,
            actor: str | None = None, limits: Limits = DEFAULT_LIMITS,
            records: dict[str, dict[str, Record]] | None = None,
            timeline: list[Record] | None = None, until: datetime | None = None,
            ids: Iterable[str] | None = None) -> dict[str, Any]:
    """The trace of every definition whose trigger matches `event` (see docs/trace.md)."""
    return simulate(plans, event, subject, previous, decisions, now=now, actor=actor, limits=limits,
                    records=records, timeline=timeline, until=until, ids=ids)[0]


def simulate(plans: list[Plan], event: str, subject: Any, previous: Any = None,
             decisions: dict[str, str] | None = None, *, now: datetime,
             actor: str | None = None, limits: Limits = DEFAULT_LIMITS,
             records: dict[str, dict[str, Record]] | None = None,
             timeline: list[Record] | None = None, until: datetime | None = None,
             ids: Iterable[str] | None = None) -> tuple[dict[str, Any], list[DryWorld]]:
    """The trace, and each run's world (records, notes, sends) as the dry run left it."""
    name, qualifier = parse_event(event)
    decisions = dict(decisions or {})
    for key, decision in decisions.items():
        outcome = str(decision).partition(":")[0]
        if outcome not in APPROVAL_OUTCOMES[1:]:
            raise InputError(f"decision for {key!r} must be approved, rejected or timed_out "
                             f"(optionally followed by :WHO), not {decision!r}")
    if subject is not None and not isinstance(subject, dict):
        raise InputError("the subject must be a JSON object")
    if previous is not None and not isinstance(previous, dict):
        raise InputError("the previous subject must be a JSON object")
    for what, doc in (("subject", subject), ("previous subject", previous)):
        if json_depth(doc) > MAX_JSON_DEPTH:
            raise InputError(f"the {what} is nested more than {MAX_JSON_DEPTH} levels deep")
    requested = sorted({str(ins.args[0]) for plan in plans for ins in plan.code
                        if ins.op is Op.REQUEST})
    for key in decisions:
        if key not in requested:
            raise InputError(f"--decide {key}=…: no approval named `{key}` is requested in this "
                             "script" + (did_you_mean(key, requested) or
                                         f"; approvals: {', '.join(requested) or 'none'}"))
    id_source = iter(ids) if ids is not None else new_ids()
    runs, worlds = [], []
    data = event_data(name, qualifier, copy.deepcopy(subject), copy.deepcopy(previous), now,
                      actor, copy.deepcopy(records) if records else None)
    for plan, tree in Matcher(plans).decide(event, subject, data, now, every=True):
        world = DryWorld(id_source)
        runs.append(run_one(plan, event.strip().partition(":")[0], copy.deepcopy(data), tree,
                            dict(decisions), now, limits.step_budget, world,
                            _ordered(timeline), until))
        worlds.append(world)
    return {"runs": runs}, worlds


def run_one(plan: Plan, trigger: str, data: dict[str, Any], tree: dict[str, Any],
            decisions: dict[str, str], now: datetime, budget: int, world: DryWorld,
            timeline: list[Record], until: datetime | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"workflow": plan.name, "kind": plan.kind, "trigger": trigger,
                             "fired": bool(tree["value"]), "explain": tree}
    if not entry["fired"]:
        entry.update(status="skipped", actions=[], sends=[], path=[], waiting_for=None)
        return with_decisions(plan, entry, [])
    root = subject_root(trigger)
    if root in RECORD_KINDS and isinstance(data.get(root), dict):
        world.records[(root, str(data[root].get("id")))] = copy.deepcopy(data[root])
    state = vm.start(data)
    outcome = drive(plan, state, [None], now, world, budget)
    state, actions = outcome.state, [s.effect for s in outcome.steps if s.effect is not None]
    pending = list(timeline)
    for _ in range(MAX_RESUMES):
        if state["status"] != "waiting":
            break
        resume = _next_resume(plan, state, decisions, pending, now, until)
        if resume is None:
            break
        event, now = resume
        events = [event] if event else []
        for item in [t for t in pending if _at(t) <= now]:
            pending.remove(item)
            events += _happen(plan, state, world, item, now)
        events.insert(0, _refresh(plan, state, world))
        outcome = drive(plan, state, events, now, world, budget)
        state = outcome.state
        actions += [s.effect for s in outcome.steps if s.effect is not None]
    # The rest of the history still happens to the records, up to the end of a closed world.
    for item in pending:
        if "changes" in item and (until is None or _at(item) <= until):
            _happen(plan, state, world, item, max(now, _at(item)))
    shown, sends = actions_and_sends(actions)
    entry.update(status=state["status"], actions=shown, sends=sends, path=state["path"],
                 waiting_for=_waiting_for(plan, state))
    if state["status"] in ("terminated", "failed"):
        entry["reason"] = state["reason"]
    return with_decisions(plan, entry, state["log"])


def _at(item: Record) -> datetime:
    when = as_datetime(item.get("at"))
    if when is None:
        raise InputError(f"a timeline entry needs an ISO 8601 `at`, not {item.get('at')!r}")
    return when


def _ordered(timeline: list[Record] | None) -> list[Record]:
    """Timeline entries in time order (entries at the same moment keep their order)."""
    return sorted(timeline or [], key=_at)


def _happen(plan: Plan, state: vm.State, world: DryWorld, item: Record,
            now: datetime) -> list[Record]:
    """A timeline entry at `now`: a decision becomes an event for the run; a change lands in
    the world. An entry about something the run does not have (yet) changes nothing."""
    if "decide" in item:
        var = state["vars"].get(item["decide"])
        if not isinstance(var, dict) or var.get("kind") != "approval":
            return []
        return [{"type": "decision", "name": item["decide"], "outcome": item["outcome"],
                 "by": item.get("by"), "comment": item.get("comment"), "at": iso(now)}]
    target = item.get("record", "subject")
    if target == "subject":
        record = state["data"].get(plan.subject or "")
        if isinstance(record, dict):
            world.change(plan.subject or "", record.get("id"), item["changes"], now)
        return []
    var = state["vars"].get(target)
    if isinstance(var, dict) and var.get("kind") == "ticket" and var.get("id") is not None:
        world.change("ticket", var["id"], item["changes"], now)
    return []


def _refresh(plan: Plan, state: vm.State, world: DryWorld) -> Record:
    """The records the run reads, as the dry world has them now (the durable run reads the
    store the same way at the start of each slice)."""
    data = {}
    subject = state["data"].get(plan.subject or "")
    if plan.subject in RECORD_KINDS and isinstance(subject, dict):
        found = world.records.get((plan.subject, str(subject.get("id"))))
        if found is not None:
            data[plan.subject] = copy.deepcopy(found)
    created = {name: copy.deepcopy(world.records[("ticket", str(var["id"]))])
               for name, var in state["vars"].items()
               if isinstance(var, dict) and var.get("kind") == "ticket"
               and ("ticket", str(var.get("id"))) in world.records}
    return {"type": "subject", "data": data, "vars": created}


def _next_resume(plan: Plan, state: vm.State, decisions: dict[str, str], timeline: list[Record],
                 now: datetime, until: datetime | None) -> tuple[Record | None, datetime] | None:
    """What moves a waiting dry run on next, and when: a given decision (at once), the next
    timeline entry, a timer, or (in a closed world) any deadline up to `until`."""
    waits = vm.waits(state)
    for wait in waits:
        if wait["kind"] == "approval" and wait["name"] in decisions:
            outcome, _, by = decisions.pop(wait["name"]).partition(":")
            deadline = as_datetime(wait["deadline"])
            if outcome == "timed_out" and deadline is not None:
                return {"type": "tick"}, max(now, deadline)
            return {"type": "decision", "name": wait["name"], "outcome": outcome,
                    "by": by or _first_approver(state, wait["name"]), "at": iso(now)}, now
    times = [t for w in waits if w["kind"] == "timer" or until is not None
             if (t := as_datetime(w["deadline"])) is not None]
    if until is not None:
        times += [t for v in state["vars"].values()
                  if isinstance(v, dict) and v.get("kind") == "approval"
                  and v["outcome"] == "pending" and (t := as_datetime(v.get("deadline")))]
        times = [t for t in times if t <= until]
    soonest = min(times) if times else None
    if timeline:
        at = _at(timeline[0])
        if (soonest is None or at <= soonest) and (until is None or at <= until):
            return {"type": "tick"}, max(now, at)
    if soonest is None:
        return None
    return {"type": "tick"}, max(now, soonest)


def _first_approver(state: vm.State, name: str) -> str | None:
    """Who decides when a dry run is told only the outcome: the first approver asked (a dry run
    has no user to act as, and the first asked is the one a real desk would hear from first)."""
    approvers = (state["vars"].get(name) or {}).get("approvers") or []
    return str(approvers[0]["value"]) if approvers and approvers[0].get("value") is not None \
        else None


def _waiting_for(plan: Plan, state: dict[str, Any]) -> dict[str, Any] | None:
    if state["status"] != "waiting":
        return None
    wait = dict(vm.waits(state)[0])
    if wait["kind"] == "until":
        wait["condition"] = describe_constant(plan.constants[wait.pop("cond")])
    return wait

"""Dry runs: the same VM with effects recorded instead of applied, and time simulated."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from zentra_rules.errors import InputError
from zentra_rules.expr import explain
from zentra_rules.limits import DEFAULT_LIMITS, Limits
from zentra_rules.plan import Op, Plan, describe_constant
from zentra_rules.schema import APPROVAL_OUTCOMES
from zentra_rules.suggest import did_you_mean
from zentra_rules.values import as_datetime

from . import vm
from .events import event_data, parse_event, triggered_by

MAX_RESUMES = 1000
MAX_JSON_DEPTH = 64   # records nest a few levels; far deeper input is a mistake, refused early


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


def dry_run(plans: list[Plan], event: str, subject: Any, previous: Any = None,
            decisions: dict[str, str] | None = None, now: datetime | None = None,
            actor: str | None = None, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The trace of every definition whose trigger matches `event` (see docs/trace.md)."""
    name, qualifier = parse_event(event)
    decisions = dict(decisions or {})
    for key, outcome in decisions.items():
        if outcome not in APPROVAL_OUTCOMES[1:]:
            raise InputError(f"decision for {key!r} must be approved, rejected or timed_out, "
                             f"not {outcome!r}")
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
    now = now or datetime.now(UTC)
    runs = []
    for plan in plans:
        if triggered_by(plan, name, qualifier):
            data = event_data(name, qualifier, copy.deepcopy(subject), copy.deepcopy(previous), now,
                              actor)
            runs.append(run_one(plan, name, data, decisions, now, limits.step_budget))
    return {"runs": runs}


def run_one(plan: Plan, trigger: str, data: dict[str, Any], decisions: dict[str, str],
            now: datetime, budget: int) -> dict[str, Any]:
    env = dict(data)
    env["$now"] = now
    if plan.condition >= 0:
        tree = explain(plan.constants[plan.condition], env)
    else:
        tree = {"text": "(no condition)", "value": True}
    entry: dict[str, Any] = {"workflow": plan.name, "kind": plan.kind, "trigger": trigger,
                             "fired": bool(tree["value"]), "explain": tree}
    if not entry["fired"]:
        entry.update(status="skipped", actions=[], path=[], waiting_for=None)
        return entry
    state = vm.start(data)
    actions: list[dict[str, Any]] = []
    state, effects = vm.step(plan, state, None, now, budget)
    actions += effects
    for _ in range(MAX_RESUMES):
        if state["status"] != "waiting":
            break
        event, now = _next_resume(state, decisions, now)
        if event is None:
            break
        state, effects = vm.step(plan, state, event, now, budget)
        actions += effects
    entry.update(status=state["status"], actions=actions, path=state["path"],
                 waiting_for=_waiting_for(plan, state))
    if state["status"] in ("terminated", "failed"):
        entry["reason"] = state["reason"]
    return entry


def _next_resume(state: dict[str, Any], decisions: dict[str, str],
                 now: datetime) -> tuple[dict[str, Any] | None, datetime]:
    """What moves a waiting dry run on: a given decision, or a timer passing in simulated time."""
    pending = vm.waits(state)
    for wait in pending:
        if wait["kind"] == "approval" and wait["name"] in decisions:
            outcome = decisions.pop(wait["name"])
            deadline = as_datetime(wait["deadline"])
            if outcome == "timed_out" and deadline is not None:
                return {"type": "tick"}, max(now, deadline)
            return {"type": "decision", "name": wait["name"], "outcome": outcome}, now
    timers = [t for w in pending if w["kind"] == "timer"
              if (t := as_datetime(w["deadline"])) is not None]
    if timers:
        return {"type": "tick"}, max(now, min(timers))
    return None, now


def _waiting_for(plan: Plan, state: dict[str, Any]) -> dict[str, Any] | None:
    if state["status"] != "waiting":
        return None
    wait = dict(vm.waits(state)[0])
    if wait["kind"] == "until":
        wait["condition"] = describe_constant(plan.constants[wait.pop("cond")])
    return wait

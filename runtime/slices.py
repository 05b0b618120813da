"""One run slice: take the lease, feed the VM what happened, commit effects and state together."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zentra_rules.effects import Slice, apply
from zentra_rules.errors import InputError, RunError
from zentra_rules.plan import Op, Plan
from zentra_rules.values import as_datetime

from . import vm

if TYPE_CHECKING:
    from .engine import Engine

EFFECT_OPS = (Op.ACT, Op.SET, Op.CREATE, Op.REQUEST)   # each executed one yields one effect
MAX_REDO = 20
MAX_ATTEMPTS = 10   # a slice that keeps killing or failing its worker is given up, with the reason


class _Stale(Exception):
    """The execution changed under the slice (a decision, an event): run the slice again."""


def advance(engine: Engine, execution_id: int) -> None:
    """Run an execution until it ends or waits; safe to call twice, or after a crash."""
    for _ in range(MAX_REDO):
        try:
            _slice(engine, execution_id)
            return
        except _Stale:
            engine.store.release(execution_id, engine.owner)


def _slice(engine: Engine, execution_id: int) -> None:
    store, now = engine.store, engine.clock.now()
    with store.tx():
        store.wake(execution_id, now)   # the task scheduled at a deadline: the fast path
        ex = store.claim(execution_id, engine.owner, now, engine.config.lease_seconds)
    if ex is None:
        return
    if ex["attempt"] > MAX_ATTEMPTS:
        _fail(engine, ex, now, f"gave up after {MAX_ATTEMPTS} attempts at one run slice "
                               "(each ended without committing; see the worker's log)")
        return
    started = time.perf_counter()
    plan = engine.plan(ex["version"])
    try:
        state, ran = _run(engine, plan, ex, now)
    except (RunError, InputError) as exc:   # recorded as the run's end, never retried forever
        _fail(engine, ex, now, str(exc))
        return
    run = Slice(execution=execution_id, workflow=ex["definition"],
                subject_kind=ex["subject_kind"], subject_id=ex["subject_id"],
                cascade=ex["cascade"], now=now, state=state)
    try:
        with store.tx():
            apply(store, run, [(plan.code[pc], eff) for pc, eff in ran if eff is not None])
            status = state["status"]
            waits = vm.waits(state) if status == "waiting" else []
            wake = _earliest(state, waits)
            if not store.commit_execution(execution_id, engine.owner, ex["revision"], now, state,
                                          status, state.get("reason"), wake):
                raise _Stale
            store.replace_waits(execution_id, waits, now,
                                "terminate" if status == "terminated" else "resumed")
            elapsed = (time.perf_counter() - started) * 1000
            store.add_steps([{"execution": execution_id, "slice": ex["slices"] + 1,
                              "attempt": ex["attempt"], "pc": pc, "line": plan.code[pc].line,
                              "instruction": plan.describe(pc), "output": _output(plan, ran, i),
                              "started_at": now, "duration_ms": round(elapsed, 3)}
                             for i, (pc, _) in enumerate(ran)])
            if status not in ("waiting", "runnable"):
                store.audit(f"execution.{status}", now, {"workflow": ex["definition"],
                                                         "reason": state.get("reason")},
                            execution_id, f"{ex['subject_kind']}:{ex['subject_id']}")
    except (RunError, InputError) as exc:   # an effect could not be applied: nothing stays
        _fail(engine, ex, now, str(exc))
        return
    for event in run.events:
        engine.queue.process(event)
    for send in run.sends:
        engine.queue.deliver(send)
    if wake is not None:
        engine.queue.advance(execution_id, eta=wake)


def _fail(engine: Engine, ex: dict[str, Any], now: datetime, reason: str) -> None:
    state = dict(ex["state"] or vm.start(ex["inputs"]["data"]))
    state.update(status="failed", reason=reason)
    with engine.store.tx():
        if not engine.store.commit_execution(ex["id"], engine.owner, ex["revision"], now, state,
                                             "failed", reason, None):
            raise _Stale
        engine.store.replace_waits(ex["id"], [], now, "failed")
        engine.store.audit("execution.failed", now, {"workflow": ex["definition"],
                                                     "reason": reason},
                           ex["id"], f"{ex['subject_kind']}:{ex['subject_id']}")


def _run(engine: Engine, plan: Plan, ex: dict[str, Any],
         now: datetime) -> tuple[dict[str, Any], list[tuple[int, dict[str, Any] | None]]]:
    """Step the pure VM over what happened since the last slice; (state, [(pc, effect)])."""
    budget = engine.config.limits.step_budget
    if ex["state"] is None:
        events: list[dict[str, Any] | None] = [None]
        state = vm.start(ex["inputs"]["data"])
    else:
        state = ex["state"]
        events = [*_decisions(engine, ex, state, now), _subject_event(engine, ex)]
    ran: list[tuple[int, dict[str, Any] | None]] = []
    for event in events:
        before = len(state["path"])
        state, effects = vm.step(plan, state, event, now, budget)
        pending = iter(effects)
        for pc in state["path"][before:]:
            ran.append((pc, next(pending, None) if plan.code[pc].op in EFFECT_OPS else None))
    return state, ran


def _decisions(engine: Engine, ex: dict[str, Any], state: dict[str, Any],
               now: datetime) -> list[dict[str, Any]]:
    """Resume events for the approvals this run asked for, as the database has them.

    A pending approval past its deadline (its own timeout, or a shorter `or DURATION` of the wait
    on it) is timed out by compare-and-set first: if an approver's decision got there first, the
    decision is what the run sees. Either way there is exactly one outcome."""
    out = []
    for name, var in state["vars"].items():
        if not isinstance(var, dict) or var.get("kind") != "approval" or var["outcome"] != "pending":
            continue
        request = engine.store.approval_of(ex["id"], name)
        if request is None:
            continue
        deadlines = [d for d in [as_datetime(var.get("deadline")), *(
            as_datetime(w["deadline"]) for w in vm.waits(state)
            if w["kind"] == "approval" and w["name"] == name)] if d is not None]
        if request["status"] == "pending" and deadlines and now >= min(deadlines):
            with engine.store.tx():
                engine.store.time_out(request["id"], now)
            request = engine.store.approval(request["id"])
        if request["status"] == "pending":
            continue
        last = (engine.store.decisions(request["id"]) or [{}])[-1]
        out.append({"type": "decision", "name": name, "outcome": request["status"],
                    "by": last.get("user") if request["status"] != "timed_out" else None,
                    "comment": last.get("comment") if request["status"] != "timed_out" else None})
    return out


def _subject_event(engine: Engine, ex: dict[str, Any]) -> dict[str, Any] | None:
    """The subject as it is now, so a resumed run (and `wait until`) reads current values."""
    kind, record_id = ex["subject_kind"], ex["subject_id"]
    if kind not in ("ticket", "asset", "change") or record_id is None:
        return None
    record = engine.store.get_record(kind, record_id)
    if record is None:
        return None
    return {"type": "subject", "data": {kind: record,
                                        "$records": engine.store.referenced(kind, record)}}


def _earliest(state: dict[str, Any], waits: list[dict[str, Any]]) -> datetime | None:
    """When the run must be looked at again even if nothing happens: its earliest deadline."""
    times = [as_datetime(w.get("deadline")) for w in waits]
    times += [as_datetime(v.get("deadline")) for v in state["vars"].values()
              if isinstance(v, dict) and v.get("kind") == "approval" and v["outcome"] == "pending"]
    found = [t for t in times if t is not None]
    return min(found) if found else None


def _output(plan: Plan, ran: list[tuple[int, dict[str, Any] | None]], i: int) -> Any:
    """What a step produced: its effect, the branch a test took, or where it stopped."""
    pc, effect = ran[i]
    op = plan.code[pc].op
    if effect is not None:
        return effect
    if op is Op.JUMP_IF_NOT:
        following = ran[i + 1][0] if i + 1 < len(ran) else None
        return {"condition": following == pc + 1} if following is not None else None
    if op in (Op.WAIT, Op.WAIT_UNTIL, Op.WAIT_APPROVAL):
        return {"waited": i + 1 == len(ran) or ran[i + 1][0] != pc + 1}
    return None

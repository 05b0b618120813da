"""One run slice: take the lease, feed the VM what happened, commit effects and state together."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from runtime import vm
from runtime.drive import EffectFailed, Step, drive
from runtime.durable.delivery import backoff
from runtime.durable.leases import Leases
from runtime.durable.plans import Plans
from runtime.durable.ports import ApprovalPort, Queue, Store
from runtime.durable.reads import fresh, watched
from zentra_rules.domain.clock import Clock
from zentra_rules.domain.errors import InputError, RunError
from zentra_rules.domain.plan import Op, Plan
from zentra_rules.domain.values import as_datetime

MAX_REDO = 20
MAX_ATTEMPTS = 10   # a slice that keeps killing its worker is given up, with the reason
SLICE_RETRIES = 5   # a slice that keeps failing with an unexpected error is given up, with it
log = logging.getLogger("zentra.worker")


class _Stale(Exception):
    """The execution changed under the slice (a decision, an event): run the slice again."""


def advance(execution_id: int, *, store: Store, plans: Plans, queue: Queue, clock: Clock,
            leases: Leases, step_budget: int) -> None:
    """Run an execution until it ends or waits; safe to call twice, or after a crash."""
    with leases.holding(execution_id):
        for _ in range(MAX_REDO):
            try:
                _slice(execution_id, store, plans, queue, clock.now(), leases, step_budget)
                return
            except _Stale:
                store.runs.release(execution_id, leases.owner)
            except Exception as exc:   # a bug or a fault, not the run's: retry it, then give up
                log.exception("execution %s: a slice failed", execution_id)
                _retry_or_give_up(execution_id, exc, store, queue, clock.now(), leases.owner)
                return


def _retry_or_give_up(execution_id: int, exc: Exception, store: Store, queue: Queue,
                      now: datetime, owner: str) -> None:
    """Record what went wrong on the run; try again later, or end it `failed` after
    SLICE_RETRIES attempts, so that no run stays runnable for ever."""
    error = f"{type(exc).__name__}: {exc}"[:500]
    attempt = store.runs.attempts(execution_id)
    with store.tx():
        if attempt >= SLICE_RETRIES:
            reason = f"gave up after {attempt} attempts at one run slice; the last failed with {error}"
            if store.runs.give_up(execution_id, now, reason):
                store.runs.replace_waits(execution_id, [], now, "failed")
                store.runs.replace_watches(execution_id, set())
                store.audit.write("execution.failed", now, {"reason": reason}, execution_id)
            return
        # The outbox's rule: 5, 10, 20, 40 s before attempts 2 to 5.
        until = now + timedelta(seconds=backoff(attempt))
        retried = store.runs.retry_later(execution_id, owner, until,
                                         f"attempt {attempt} failed with {error}; retrying")
    if retried:
        queue.advance(execution_id, eta=until)


def _slice(execution_id: int, store: Store, plans: Plans, queue: Queue, now: datetime,
           leases: Leases, step_budget: int) -> None:
    owner = leases.owner
    with store.tx():
        store.runs.wake(execution_id, now)   # the task scheduled at a deadline: the fast path
        ex = store.runs.claim(execution_id, owner, now, leases.seconds)
    if ex is None:
        return
    if ex["attempt"] > MAX_ATTEMPTS:
        _fail(store, owner, ex, now, f"gave up after {MAX_ATTEMPTS} attempts at one run slice "
                                     "(each ended without committing; see the worker's log)")
        return
    plan = plans.plan(ex["version_id"])
    world = store.world(execution_id, ex["definition"], ex["subject_kind"], ex["subject_id"],
                        ex["cascade"])
    try:
        with store.tx():
            state = ex["state"] or vm.start(ex["inputs"]["data"])
            # Every record the run reads is read afresh, then what happened is delivered.
            events = [fresh(store.records, plan, ex, state),
                      *_decisions(store.approvals, ex, state, now)]
            outcome = drive(plan, state, events, now, world, step_budget, time.perf_counter)
            state = outcome.state
            status = state["status"]
            waits = vm.waits(state) if status == "waiting" else []
            wake = _earliest(state, waits)
            if not store.runs.commit_execution(execution_id, owner, ex["revision"], now, state,
                                          status, state.get("reason"), wake):
                raise _Stale
            store.runs.replace_waits(execution_id, waits, now,
                                "terminate" if status == "terminated" else "resumed")
            store.runs.replace_watches(execution_id, watched(plan, ex, state, waits))
            store.runs.add_steps(_rows(plan, ex, outcome.steps))
            store.links.add(_links(plan, ex, outcome.steps))
            if status not in ("waiting", "runnable"):
                store.audit.write(f"execution.{status}", now, {"workflow": ex["definition"],
                                                         "reason": state.get("reason")},
                            execution_id, f"{ex['subject_kind']}:{ex['subject_id']}")
    except EffectFailed as exc:   # the store refused an effect: nothing of the slice stays
        _fail(store, owner, ex, now, f"line {plan.code[exc.step.pc].line}: {exc}",
              _rows(plan, ex, [exc.step]))
        return
    except (RunError, InputError) as exc:
        _fail(store, owner, ex, now, str(exc))
        return
    for event in world.events:
        queue.process(event)
    for send in world.sends:
        queue.deliver(send)
    if wake is not None:
        queue.advance(execution_id, eta=wake)


def _rows(plan: Plan, ex: dict[str, Any], steps: list[Step]) -> list[dict[str, Any]]:
    """The audit rows of a slice's steps: each statement with its output, start and duration."""
    return [{"execution": ex["id"], "slice": ex["slices"] + 1, "attempt": ex["attempt"],
             "pc": step.pc, "line": plan.code[step.pc].line, "instruction": plan.describe(step.pc),
             "output": ({"error": step.error} if step.error is not None
                        else _output(plan, steps, i)),
             "started_at": step.started_at, "duration_ms": step.duration_ms}
            for i, step in enumerate(steps)]


def _links(plan: Plan, ex: dict[str, Any], steps: list[Step]) -> list[dict[str, Any]]:
    """The records the slice's statements created or changed, each with its statement."""
    return [{"execution": ex["id"], "kind": t.kind, "record_id": t.record_id,
             "role": "created" if t.field is None else "changed", "pc": step.pc,
             "line": plan.code[step.pc].line, "statement": statement(plan, step.pc),
             "instruction": plan.describe(step.pc), "field": t.field, "old": t.old,
             "new": t.new, "at": step.started_at}
            for step in steps for t in step.touched]


def statement(plan: Plan, pc: int) -> str:
    """The statement of instruction `pc` as its script has it (with the lines it continues on
    after a trailing comma); the instruction itself for a plan that kept no source."""
    lines = plan.source.splitlines()
    at = plan.code[pc].line - plan.line
    if not 0 <= at < len(lines):
        return plan.describe(pc)
    parts = [lines[at].strip()]
    while parts[-1].endswith(",") and at + 1 < len(lines):
        at += 1
        parts.append(lines[at].strip())
    return " ".join(parts)


def _fail(store: Store, owner: str, ex: dict[str, Any], now: datetime, reason: str,
          steps: list[dict[str, Any]] | None = None) -> None:
    state = dict(ex["state"] or vm.start(ex["inputs"]["data"]))
    state.update(status="failed", reason=reason)
    with store.tx():
        if not store.runs.commit_execution(ex["id"], owner, ex["revision"], now, state,
                                           "failed", reason, None):
            raise _Stale
        store.runs.replace_waits(ex["id"], [], now, "failed")
        store.runs.replace_watches(ex["id"], set())
        store.runs.add_steps(steps or [])
        store.audit.write("execution.failed", now, {"workflow": ex["definition"],
                                                     "reason": reason},
                           ex["id"], f"{ex['subject_kind']}:{ex['subject_id']}")


def _decisions(approvals: ApprovalPort, ex: dict[str, Any], state: dict[str, Any],
               now: datetime) -> list[dict[str, Any]]:
    """Resume events for the approvals this run asked for, as the database has them.

    A pending approval past its deadline (its own timeout, or a shorter `or DURATION` of the wait
    on it) is timed out by compare-and-set first: if an approver's decision got there first, the
    decision is what the run sees. Either way there is exactly one outcome."""
    out = []
    for name, var in state["vars"].items():
        if not isinstance(var, dict) or var.get("kind") != "approval" or var["outcome"] != "pending":
            continue
        request = approvals.approval_of(ex["id"], name)
        if request is None:
            continue
        deadlines = [d for d in [as_datetime(var.get("deadline")), *(
            as_datetime(w["deadline"]) for w in vm.waits(state)
            if w["kind"] == "approval" and w["name"] == name)] if d is not None]
        if request["status"] == "pending" and deadlines and now >= min(deadlines):
            approvals.time_out(request["id"], min(deadlines))
            request = approvals.approval(request["id"])
        if request["status"] == "pending":
            continue
        last = (approvals.decisions(request["id"]) or [{}])[-1]
        timed_out = request["status"] == "timed_out"
        # A timeout happened at its deadline, a decision when the approver made it.
        out.append({"type": "decision", "name": name, "outcome": request["status"],
                    "by": None if timed_out else last.get("user"),
                    "comment": None if timed_out else last.get("comment"),
                    "at": request["decided_at"] if timed_out else last.get("at")})
    return out


def _earliest(state: dict[str, Any], waits: list[dict[str, Any]]) -> datetime | None:
    """When the run must be looked at again even if nothing happens: its earliest deadline."""
    times = [as_datetime(w.get("deadline")) for w in waits]
    times += [as_datetime(v.get("deadline")) for v in state["vars"].values()
              if isinstance(v, dict) and v.get("kind") == "approval" and v["outcome"] == "pending"]
    found = [t for t in times if t is not None]
    return min(found) if found else None


def _output(plan: Plan, steps: list[Step], i: int) -> Any:
    """What a step produced: its effect, the branch a test took, or where it stopped."""
    step = steps[i]
    op = plan.code[step.pc].op
    if step.effect is not None:
        return step.effect
    following = steps[i + 1].pc if i + 1 < len(steps) else None
    if op is Op.JUMP_IF_NOT:
        return {"condition": following == step.pc + 1} if following is not None else None
    if op in (Op.WAIT, Op.WAIT_UNTIL, Op.WAIT_APPROVAL):
        return {"waited": following != step.pc + 1}
    return None

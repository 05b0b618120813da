"""One slice of a run, driven the same way for the dry run and the durable engine.

The VM decides what every statement means; a `World` only keeps what it did: the durable world
writes the store inside the slice's transaction, the dry world keeps everything in memory. Both
receive the same calls in the same order, so what a dry run shows is what a real run does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from runtime import vm
from zentra_rules.domain.changes import differences
from zentra_rules.domain.errors import InputError, RunError
from zentra_rules.domain.limits import DEFAULT_LIMITS
from zentra_rules.domain.plan import Plan
from zentra_rules.domain.schema import RECORD_KINDS

Record = dict[str, Any]


class World(Protocol):
    """Where a run's effects land."""

    def create_ticket(self, fields: Record, now: datetime) -> Record:
        """Store a new ticket; the record as every reader will see it (with its id)."""

    def apply(self, effect: Record, now: datetime) -> None:
        """Keep an effect that is not a field change: a note, a link, a send, an approval."""

    def save(self, kind: str, record_id: Any, changes: Record, now: datetime) -> Record:
        """Write the fields a slice changed on one record; the record afterwards."""


# A source of seconds for timing statements: the durable engine passes `time.perf_counter`.
Timer = Callable[[], float]


def _untimed() -> float:
    return 0.0


@dataclass
class Step:
    """One executed instruction: its effect, when it started and how long it took."""

    pc: int
    effect: Record | None
    started_at: datetime
    duration_ms: float
    error: str | None = None


@dataclass
class Outcome:
    state: vm.State
    steps: list[Step] = field(default_factory=list)


class EffectFailed(Exception):
    """The world refused an effect (the store said no): the slice keeps nothing of itself."""

    def __init__(self, step: Step, cause: Exception):
        super().__init__(str(cause))
        self.step = step


def views(plan: Plan, state: vm.State) -> Iterator[tuple[str, Any, Record]]:
    """(kind, id, record) of every record the run holds and may change: its subject and the
    tickets it created (each as the run sees it now)."""
    root = plan.subject
    if root in RECORD_KINDS and isinstance(state["data"].get(root), dict):
        record = state["data"][root]
        yield root, record.get("id"), record
    for var in state["vars"].values():
        if isinstance(var, dict) and var.get("kind") == "ticket" and var.get("id") is not None:
            yield "ticket", var["id"], var


def drive(plan: Plan, state: vm.State, events: Sequence[Record | None], now: datetime, world: World,
          budget: int = DEFAULT_LIMITS.step_budget, timer: Timer | None = None) -> Outcome:
    """Deliver `events`, run the VM until it ends or waits, and keep its effects in `world`.

    `timer` (seconds, e.g. `time.perf_counter`) times each statement for the audit; without one
    every step takes 0 ms and starts at `now`, as in a dry run."""
    machine = vm.Machine(plan, state, now, budget)
    if machine.st["status"] not in vm.TERMINAL:
        for event in events:
            machine.deliver(event)
    # What the records are now (after the fresh read): a slice writes only what it changes.
    before = {(k, str(i)): copy.deepcopy(r) for k, i, r in views(plan, machine.st)}
    steps: list[Step] = []
    clock = timer or _untimed
    began = clock()
    run = machine.proceed()
    answer: Any = None
    error: Exception | None = None
    while True:
        mark = clock()
        try:
            pc, effect = run.throw(error) if error is not None else run.send(answer)
        except StopIteration:
            break
        answer, error = None, None
        step = Step(pc, effect, _later(now, mark - began), 0.0)
        steps.append(step)
        if effect is not None:
            try:
                if effect["verb"] == "create":
                    try:
                        answer = world.create_ticket(effect["params"], now)
                    except (RunError, InputError) as exc:   # the VM fails the run at this line
                        error = exc
                        step.effect, step.error = None, f"line {plan.code[pc].line}: {exc}"
                    else:
                        before[("ticket", str(answer["id"]))] = copy.deepcopy(answer)
                else:
                    world.apply(effect, now)
            except (RunError, InputError) as exc:
                step.duration_ms = round((clock() - mark) * 1000, 3)
                step.error = str(exc)
                raise EffectFailed(step, exc) from exc
        step.duration_ms = round((clock() - mark) * 1000, 3)
    if machine.st["status"] == "failed" and steps and steps[-1].error is None:
        steps[-1].error = machine.st["reason"]    # the statement the run failed at
    _save(plan, machine.st, before, now, world)
    return Outcome(machine.st, steps)


def _later(now: datetime, seconds: float) -> datetime:
    """When a step started: the slice's time plus the time the slice has taken so far."""
    try:
        return now + timedelta(seconds=seconds)
    except OverflowError:   # a simulated time at the end of the calendar
        return now


def _save(plan: Plan, state: vm.State, before: dict[tuple[str, str], Record], now: datetime,
          world: World) -> None:
    """Write what the slice changed on each record, once (one event per record per slice)."""
    for kind, record_id, record in list(views(plan, state)):
        changed = differences(before.get((kind, str(record_id))), record)
        if changed:
            saved = world.save(kind, record_id, changed, now)
            keep = record.get("kind")
            record.clear()
            record.update(copy.deepcopy(saved))
            if keep is not None:
                record["kind"] = keep

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
from zentra_rules.domain.changes import FIELD_STATEMENTS, differences
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


@dataclass(frozen=True)
class Touch:
    """A record one statement created (`field` None) or changed: the field before and after."""

    kind: str
    record_id: str
    field: str | None = None
    old: Any = None
    new: Any = None


@dataclass
class Step:
    """One executed instruction: its effect, when it started and how long it took, and the
    records it created or changed (as the run saw them)."""

    pc: int
    effect: Record | None
    started_at: datetime
    duration_ms: float
    error: str | None = None
    touched: list[Touch] = field(default_factory=list)


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
    seen = copy.deepcopy(before)   # the records as the last statement left them
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
                        seen[("ticket", str(answer["id"]))] = copy.deepcopy(answer)
                        step.touched.append(Touch("ticket", str(answer["id"])))
                else:
                    world.apply(effect, now)
                    if effect["verb"] == "set" or (effect["verb"], effect["object"]) in FIELD_STATEMENTS:
                        step.touched += _changed(plan, machine.st, seen, effect)
            except (RunError, InputError) as exc:
                step.duration_ms = round((clock() - mark) * 1000, 3)
                step.error = str(exc)
                raise EffectFailed(step, exc) from exc
        step.duration_ms = round((clock() - mark) * 1000, 3)
    if machine.st["status"] == "failed" and steps and steps[-1].error is None:
        steps[-1].error = machine.st["reason"]    # the statement the run failed at
    _save(plan, machine.st, before, now, world)
    return Outcome(machine.st, steps)


def _changed(plan: Plan, state: vm.State, seen: dict[tuple[str, str], Record],
             effect: Record) -> list[Touch]:
    """The fields one statement changed, on whichever record it changed (and `seen` moved on).
    A `set` of a dotted field below `custom` names that field, not the whole `custom`."""
    path = str(effect["object"])
    head, _, rest = path.partition(".")
    if rest and isinstance(state["vars"].get(head), dict):
        path = rest   # `set laptop.status`: the field of the ticket bound to `laptop`
    out = []
    for kind, record_id, record in views(plan, state):
        if record_id is None:
            continue
        key = (kind, str(record_id))
        old = seen.get(key) or {}
        changed = differences(old, record)
        if not changed:
            continue
        for name, value in changed.items():
            if "." in path and path.split(".")[0] == name:
                out.append(Touch(kind, str(record_id), path, _dig(old, path), _dig(record, path)))
            else:
                out.append(Touch(kind, str(record_id), name, copy.deepcopy(old.get(name)), value))
        seen[key] = copy.deepcopy(record)
    return out


def _dig(record: Record, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return copy.deepcopy(value)


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

"""The pure VM: `step(plan, state, event, now)` -> (new state, effects).

No clock, no I/O, no randomness: time arrives as `now`, the outside world as `event`, and what
should happen outside leaves as effects. State is plain JSON so the runtime can store it between
slices; an execution suspended at a wait resumes from exactly that state.

State:  {"status", "reason", "threads": [{"id", "pc", "parent", "wait", "joining"}],
         "next_thread", "data": {root: record}, "vars": {name: record}, "path": [pc...],
         "steps"}
Events: None (run/tick), {"type": "decision", "name", "outcome", "by"?, "comment"?},
        {"type": "subject", "data": {root: record}}  (the subject changed: re-check waits)
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from zentra_rules.errors import RunError
from zentra_rules.expr import compile_value
from zentra_rules.limits import DEFAULT_LIMITS
from zentra_rules.plan import Op, Plan
from zentra_rules.schema import APPROVAL_OUTCOMES
from zentra_rules.values import as_datetime, iso, to_json

from .compiled import condition_fn, value_fn

SUBJECT_ROOTS = ("ticket", "asset", "change")
TERMINAL = ("completed", "terminated", "failed")

State = dict[str, Any]
Effect = dict[str, Any]


def start(data: dict[str, Any]) -> State:
    """A fresh execution state over `data` (the roots: subject, event, payload, $records)."""
    return {"status": "running", "reason": None,
            "threads": [{"id": 0, "pc": 0, "parent": None, "wait": None, "joining": False}],
            "next_thread": 1, "data": copy.deepcopy(data), "vars": {}, "path": [], "steps": 0}


def step(plan: Plan, state: State, event: dict[str, Any] | None, now: datetime,
         budget: int = DEFAULT_LIMITS.step_budget) -> tuple[State, list[Effect]]:
    """Advance an execution until every thread ends or waits; never mutates `state`."""
    if now.tzinfo is None:
        raise RunError("`now` must be timezone-aware")
    st = copy.deepcopy(state)
    if st["status"] in TERMINAL:
        return st, []
    machine = _Machine(plan, st, now, budget)
    machine.deliver(event)
    machine.resolve_waits()
    machine.run()
    return st, machine.effects


def waits(state: State) -> list[dict[str, Any]]:
    """The waits an execution is suspended at (kind, name/cond, deadline)."""
    return [t["wait"] for t in state["threads"] if t["wait"]]


class _Machine:
    def __init__(self, plan: Plan, st: State, now: datetime, budget: int):
        self.plan, self.st, self.now, self.budget = plan, st, now, budget
        self.effects: list[Effect] = []
        self.executed = 0

    # -- environment ---------------------------------------------------------------------------
    def env(self) -> dict[str, Any]:
        env = dict(self.st["data"])
        env.update(self.st["vars"])
        env["$now"] = self.now
        return env

    def value(self, index: int) -> Any:
        return value_fn(self.plan, index)(self.env())

    def later(self, seconds: float | None) -> str | None:
        if seconds is None or seconds < 0:
            return None
        try:
            return iso(self.now + timedelta(seconds=seconds))
        except OverflowError:   # past the end of the calendar: the last representable moment
            return iso(datetime.max.replace(tzinfo=UTC))

    def due(self, deadline: str | None) -> bool:
        when = as_datetime(deadline)
        return when is not None and self.now >= when

    # -- resuming --------------------------------------------------------------------------------
    def deliver(self, event: dict[str, Any] | None) -> None:
        if event is None or event.get("type") in (None, "tick"):
            return
        kind = event.get("type")
        if kind == "decision":
            name, outcome = event.get("name"), event.get("outcome")
            var = self.st["vars"].get(name)
            if not isinstance(var, dict) or var.get("kind") != "approval":
                raise RunError(f"no approval named {name!r} was requested in this execution")
            if outcome not in APPROVAL_OUTCOMES[1:]:
                raise RunError(f"an approval outcome is approved, rejected or timed_out, "
                               f"not {outcome!r}")
            if var["outcome"] == "pending":   # a late second decision changes nothing
                self._decide(var, outcome, event.get("by"), event.get("comment"))
        elif kind == "subject":
            for root, record in (event.get("data") or {}).items():
                self.st["data"][root] = copy.deepcopy(record)
        else:
            raise RunError(f"unknown resume event {kind!r}")

    def _decide(self, var: dict[str, Any], outcome: str, by: Any = None, comment: Any = None) -> None:
        var.update(outcome=outcome, approved=outcome == "approved", decidedAt=iso(self.now),
                   decidedBy=by, comment=comment)

    def resolve_waits(self) -> None:
        for var in self.st["vars"].values():
            if var.get("kind") == "approval" and var["outcome"] == "pending" and self.due(
                    var.get("deadline")):
                self._decide(var, "timed_out")
        for thread in self.st["threads"]:
            wait = thread["wait"]
            if not wait:
                continue
            done = False
            if wait["kind"] == "approval":
                var = self.st["vars"][wait["name"]]
                if var["outcome"] == "pending" and self.due(wait["deadline"]):
                    self._decide(var, "timed_out")
                done = var["outcome"] != "pending"
            elif wait["kind"] == "until":
                done = self._holds(wait) or self.due(wait["deadline"])
            else:
                done = self.due(wait["deadline"])
            if done:
                self._wake(thread)

    def _holds(self, wait: dict[str, Any]) -> bool:
        return bool(condition_fn(self.plan, wait["cond"])(self.env()))

    @staticmethod
    def _wake(thread: dict[str, Any]) -> None:
        thread["wait"] = None
        thread["pc"] += 1

    # -- running ---------------------------------------------------------------------------------
    def run(self) -> None:
        st = self.st
        st["status"] = "running"
        while st["status"] == "running":
            thread = self._runnable()
            if thread is None:
                # A branch may have changed what another branch's `wait until` reads.
                if self._recheck_until():
                    continue
                break
            self._run_thread(thread)
        if st["status"] == "running":
            st["status"] = "waiting" if any(t["wait"] for t in st["threads"]) else "completed"

    def _recheck_until(self) -> bool:
        woke = False
        for thread in self.st["threads"]:
            wait = thread["wait"]
            if wait and wait["kind"] == "until" and self._holds(wait):
                self._wake(thread)
                woke = True
        return woke

    def _runnable(self) -> dict[str, Any] | None:
        threads = self.st["threads"]
        for thread in threads:
            if thread["wait"]:
                continue
            if thread["joining"]:
                if any(t["parent"] == thread["id"] for t in threads):
                    continue
                thread["joining"] = False
            return thread
        return None

    def _run_thread(self, thread: dict[str, Any]) -> None:
        code = self.plan.code
        st = self.st
        while True:
            self.executed += 1
            st["steps"] += 1
            if self.executed > self.budget:
                self._fail(f"step budget of {self.budget} instructions exceeded in one run slice")
                return
            pc = thread["pc"]
            ins = code[pc]
            st["path"].append(pc)
            op, args = ins.op, ins.args
            if op is Op.ACT:
                self._act(args)
            elif op is Op.SET:
                root = str(args[0])
                if root not in st["vars"] and root not in SUBJECT_ROOTS:
                    self._fail(f"line {ins.line}: ticket `{root}` was not created on the path "
                               "this run took")
                    return
                self._set(root, str(args[1]), self.value(int(args[2])))  # type: ignore[arg-type]
            elif op is Op.CREATE:
                self._create(str(args[0]), int(args[1]))  # type: ignore[arg-type]
            elif op is Op.REQUEST:
                self._request(str(args[0]), int(args[1]))  # type: ignore[arg-type]
            elif op is Op.WAIT_APPROVAL:
                var = st["vars"].get(args[0])
                if var is None:
                    self._fail(f"line {ins.line}: approval `{args[0]}` was not requested on the "
                               "path this run took")
                    return
                if var["outcome"] == "pending":
                    deadline = self.later(args[1])  # type: ignore[arg-type]
                    own = var.get("deadline")
                    if own and (deadline is None or as_datetime(own) < as_datetime(deadline)):  # type: ignore[operator]
                        deadline = own
                    thread["wait"] = {"kind": "approval", "name": args[0], "deadline": deadline}
                    return
            elif op is Op.WAIT_UNTIL:
                if not condition_fn(self.plan, int(args[0]))(self.env()):  # type: ignore[arg-type]
                    thread["wait"] = {"kind": "until", "cond": args[0],
                                      "deadline": self.later(args[1])}  # type: ignore[arg-type]
                    return
            elif op is Op.WAIT:
                if args[0]:
                    thread["wait"] = {"kind": "timer", "deadline": self.later(args[0])}  # type: ignore[arg-type]
                    return
            elif op is Op.JUMP_IF_NOT:
                if not condition_fn(self.plan, int(args[0]))(self.env()):  # type: ignore[arg-type]
                    thread["pc"] = args[1]
                    continue
            elif op is Op.JUMP:
                thread["pc"] = args[0]
                continue
            elif op is Op.FORK:
                # Children go right after their parent, so branches run depth-first, in order.
                at = st["threads"].index(thread) + 1
                for offset, target in enumerate(args[1:]):
                    st["threads"].insert(at + offset, {
                        "id": st["next_thread"], "pc": target, "parent": thread["id"],
                        "wait": None, "joining": False})
                    st["next_thread"] += 1
                thread["pc"], thread["joining"] = args[0], True
                return
            elif op is Op.END_BRANCH:
                st["threads"].remove(thread)
                return
            elif op is Op.TERMINATE:
                st["status"], st["reason"] = "terminated", args[0] or "terminated"
                for other in st["threads"]:
                    other["wait"] = None
                return
            elif op is Op.END:
                st["threads"].remove(thread)
                return
            # JOIN and every non-jumping instruction fall through to the next one.
            thread["pc"] = pc + 1

    def _fail(self, reason: str) -> None:
        self.st["status"], self.st["reason"] = "failed", reason
        for thread in self.st["threads"]:
            thread["wait"] = None

    # -- effects ---------------------------------------------------------------------------------
    def _act(self, args: tuple[Any, ...]) -> None:
        verb, obj, value, params = args
        effect: Effect = {"verb": verb, "object": obj}
        if value >= 0:
            effect["value"] = to_json(self.value(value))
        effect["params"] = to_json(self.value(params)) if params >= 0 else {}
        self.effects.append(effect)
        subject = self.st["data"].get("ticket")
        if verb == "add" and obj == "tag" and isinstance(subject, dict):
            if subject.get("tags") is None:   # missing or null: the first tag starts the list
                subject["tags"] = []
            tags = subject["tags"]
            if isinstance(tags, list) and effect.get("value") not in tags:
                tags.append(effect.get("value"))
        elif verb == "remove" and obj == "tag" and isinstance(subject, dict):
            tags = subject.get("tags")
            if isinstance(tags, list) and effect.get("value") in tags:
                tags.remove(effect.get("value"))
        elif verb == "update" and isinstance(asset := self.st["data"].get("asset"), dict):
            asset["lifecycle"] = effect.get("value")
        elif verb == "attach" and isinstance(asset := self.st["data"].get("asset"), dict):
            if asset.get("contracts") is None:
                asset["contracts"] = []
            contracts = asset["contracts"]
            if isinstance(contracts, list):
                contracts.append(effect.get("value"))
        elif verb == "escalate" and isinstance(subject, dict):
            level = subject.get("escalationLevel")
            # Any number is a level (2.0 is 2); anything else starts the count at 1.
            subject["escalationLevel"] = effect["value"] if "value" in effect else (
                level + 1 if isinstance(level, int | float) and not isinstance(level, bool) else 1)
        elif (verb, obj) in (("assign", "team"), ("assign", "agent"),
                             ("transition", "status")) and isinstance(subject, dict):
            subject[obj] = effect.get("value")

    def _set(self, root: str, field: str, value: Any) -> None:
        value = to_json(value)
        is_var = root in self.st["vars"]
        record = self.st["vars"][root] if is_var else self.st["data"].setdefault(root, {})
        parts = field.split(".")
        target = record
        for part in parts[:-1]:
            nxt = target.get(part)
            if not isinstance(nxt, dict):
                nxt = target[part] = {}
            target = nxt
        target[parts[-1]] = value
        name = f"{root}.{field}" if is_var else field
        self.effects.append({"verb": "set", "object": name, "value": value, "params": {}})

    def _create(self, name: str, params_index: int) -> None:
        params = to_json(self.value(params_index))
        record = {"id": None, "status": "new", **params}
        self.st["vars"][name] = {"kind": "ticket", **record}
        self.effects.append({"verb": "create", "object": "ticket", "name": name,
                             "params": params})

    def _request(self, name: str, spec_index: int) -> None:
        spec = self.plan.constants[spec_index][1]
        env = self.env()
        approvers = [{"kind": a["kind"], "value": to_json(compile_value(a["value"])(env))}
                     for a in spec["approvers"]]
        params = {"approvers": approvers, "order": spec["order"],
                  "remind_every": spec["remind_every"], "remind_before": spec["remind_before"],
                  "via": spec["via"], "timeout": spec["timeout"]}
        self.st["vars"][name] = {"kind": "approval", "outcome": "pending", "approved": False,
                                 "requestedAt": iso(self.now), "deadline": self.later(spec["timeout"]),
                                 "decidedAt": None, "decidedBy": None, "comment": None,
                                 "approvers": approvers}
        self.effects.append({"verb": "request", "object": "approval", "name": name,
                             "params": params})

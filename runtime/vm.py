"""The pure VM: `Machine(plan, state, now).run()` yields every instruction it executes.

No clock, no I/O, no randomness: time arrives as `now`, the outside world as events, and what
should happen outside leaves as effects, one yielded with each instruction. A `create ticket`
yields its effect and receives the new record (with the id the desk gave it) back from the host,
so later statements of the same slice read it. State is plain JSON so the runtime can store it
between slices; an execution suspended at a wait resumes from exactly that state.

The VM is the one place that knows what a statement means: it changes the records the run sees
(`zentra_rules.domain.changes`), renders messages and resolves their recipients
(`zentra_rules.domain.messages`). A host only persists what the VM did (runtime/drive.py).

State:  {"format", "status", "reason", "threads": [{"id", "pc", "parent", "wait", "joining",
         "branch"?}], "next_thread", "data": {root: record}, "vars": {name: record},
         "path": [pc...], "steps", "log": [entry...]}
        `format` is STATE_FORMAT; a state saved without one is format 1 (the same fields, no
        log), format 2 had no log either, and `upgrade` turns every format this engine reads
        into the current one.
Log:    every decision the run made, in order, as it made it (runtime/trace.py turns it into the
        trace's timeline): {"kind", "pc", "thread", "at", ...} with kind test (value, explain),
        wait (what it waits for), resumed (how the wait ended), fork, branch, join, action,
        terminate, failed, end.
Events: None (run/tick), {"type": "decision", "name", "outcome", "by"?, "comment"?, "at"?},
        {"type": "subject", "data": {root: record}, "vars"?: {name: record}}  (the records as
        they are now: the run reads them afresh and re-checks its waits)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.conditions import condition_fn, value_fn
from zentra_rules.domain import changes, ir, messages
from zentra_rules.domain.errors import InputError, RunError
from zentra_rules.domain.evaluation import compile_value, explain, reference
from zentra_rules.domain.limits import DEFAULT_LIMITS
from zentra_rules.domain.plan import Op, Plan, describe_constant
from zentra_rules.domain.schema import APPROVAL_OUTCOMES, RECORD_KINDS
from zentra_rules.domain.values import as_datetime, iso, to_json

SUBJECT_ROOTS = RECORD_KINDS
STATE_FORMAT = 3
_ASSET_OWNER = ir.Path("asset", ("owner",), ("user",))   # whom a renewal alert goes to
TERMINAL = ("completed", "terminated", "failed")

State = dict[str, Any]
Effect = dict[str, Any]
# What the machine yields: (pc, effect or None); a `create` is answered with the new record.
Run = Generator[tuple[int, Effect | None], Any, None]


def start(data: dict[str, Any]) -> State:
    """A fresh execution state over `data` (the roots: subject, event, payload, $records)."""
    return {"format": STATE_FORMAT, "status": "running", "reason": None,
            "threads": [{"id": 0, "pc": 0, "parent": None, "wait": None, "joining": False}],
            "next_thread": 1, "data": copy.deepcopy(data), "vars": {}, "path": [], "steps": 0,
            "log": []}


def upgrade(state: State) -> State:
    """A saved state in the current format (a new dict when it changes): format 1, saved before
    states had a version, gains `format`; an unknown format is refused."""
    if not isinstance(state, dict):
        raise RunError(f"an execution state is a JSON object, not {type(state).__name__}")
    version = state.get("format", 1)
    if type(version) is int and version > STATE_FORMAT:
        raise RunError(f"execution state format {version} is newer than this engine reads "
                       f"(formats 1 to {STATE_FORMAT}): a newer version of the engine saved it")
    if type(version) is not int or version < 1:
        raise RunError(f"execution state format {version!r} is not one this engine reads "
                       f"(formats 1 to {STATE_FORMAT})")
    if version < STATE_FORMAT:   # format 2 added the version itself, format 3 the log
        state = ({"format": STATE_FORMAT} | {k: v for k, v in state.items() if k != "format"}
                 | {"log": state.get("log") or []})
    return state


def unsaved_ticket(fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A created ticket as it reads before any desk stored it (a host that keeps nothing)."""
    return changes.ticket_record(None, changes.new_ticket_fields(fields), now, now)  # type: ignore[arg-type]


def step(plan: Plan, state: State, event: dict[str, Any] | None, now: datetime,
         budget: int = DEFAULT_LIMITS.step_budget,
         create: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
         ) -> tuple[State, list[Effect]]:
    """Advance an execution until every thread ends or waits; never mutates `state`.

    `create` makes the record of a `create ticket` (default: an unsaved ticket with no id)."""
    machine = Machine(plan, state, now, budget)
    effects: list[Effect] = []
    run = machine.resume(event)
    answer: Any = None
    while True:
        try:
            _, effect = run.send(answer)
        except StopIteration:
            return machine.st, effects
        answer = None
        if effect is not None:
            effects.append(effect)
            if effect["verb"] == "create":
                answer = (create or (lambda f: unsaved_ticket(f, now)))(effect["params"])


def waits(state: State) -> list[dict[str, Any]]:
    """The waits an execution is suspended at (kind, name/cond, deadline)."""
    return [t["wait"] for t in state["threads"] if t["wait"]]


class Machine:
    """One slice of one execution over its own copy of the state (`st`)."""

    def __init__(self, plan: Plan, state: State, now: datetime,
                 budget: int = DEFAULT_LIMITS.step_budget):
        if now.tzinfo is None:
            raise RunError("`now` must be timezone-aware")
        self.plan, self.now, self.budget = plan, now, budget
        self.st: State = upgrade(copy.deepcopy(state))
        self.executed = 0

    def resume(self, events: Sequence[dict[str, Any] | None] | dict[str, Any] | None) -> Run:
        """Deliver what happened (events in order), then run until every thread ends or waits."""
        if self.st["status"] in TERMINAL:
            return
        for event in events if isinstance(events, Sequence) else [events]:
            self.deliver(event)
        yield from self.proceed()

    def proceed(self) -> Run:
        """Run on from what has been delivered: resolve the waits that ended, then run."""
        if self.st["status"] in TERMINAL:
            return
        self.resolve_waits()
        yield from self.run()

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
                self._decide(var, outcome, event.get("by"), event.get("comment"), event.get("at"))
        elif kind == "subject":
            for root, record in (event.get("data") or {}).items():
                self.st["data"][root] = copy.deepcopy(record)
            for name, record in (event.get("vars") or {}).items():
                if isinstance(self.st["vars"].get(name), dict) and isinstance(record, dict):
                    self.st["vars"][name] = {"kind": "ticket", **copy.deepcopy(record)}
        else:
            raise RunError(f"unknown resume event {kind!r}")

    def _decide(self, var: dict[str, Any], outcome: str, by: Any = None, comment: Any = None,
                at: Any = None) -> None:
        var.update(outcome=outcome, approved=outcome == "approved",
                   decidedAt=iso(as_datetime(at) or self.now), decidedBy=by, comment=comment)

    def resolve_waits(self) -> None:
        # A timeout happened at its deadline, however late the slice that notices it runs.
        for var in self.st["vars"].values():
            if var.get("kind") == "approval" and var["outcome"] == "pending" and self.due(
                    var.get("deadline")):
                self._decide(var, "timed_out", at=var.get("deadline"))
        for thread in self.st["threads"]:
            wait = thread["wait"]
            if not wait:
                continue
            done = False
            if wait["kind"] == "approval":
                var = self.st["vars"][wait["name"]]
                if var["outcome"] == "pending" and self.due(wait["deadline"]):
                    self._decide(var, "timed_out", at=wait["deadline"])
                done = var["outcome"] != "pending"
            elif wait["kind"] == "until":
                done = self._holds(wait) or self.due(wait["deadline"])
            else:
                done = self.due(wait["deadline"])
            if done:
                self._wake(thread)

    def _holds(self, wait: dict[str, Any]) -> bool:
        return bool(condition_fn(self.plan, wait["cond"])(self.env()))

    def _wake(self, thread: dict[str, Any]) -> None:
        self._log("resumed", thread, **self._how(thread["wait"]))
        thread["wait"] = None
        thread["pc"] += 1

    def _how(self, wait: dict[str, Any]) -> dict[str, Any]:
        """How a wait ended (or why it did not wait): for the log."""
        kind = wait["kind"]
        if kind == "approval":
            var = self.st["vars"][wait["name"]]
            return {"wait": "approval", "name": wait["name"], "outcome": var["outcome"],
                    "by": var.get("decidedBy"), "comment": var.get("comment"),
                    "decided_at": var.get("decidedAt")}
        if kind == "until":
            tree = self._explain(int(wait["cond"]))
            if tree["value"]:
                return {"wait": "until", "outcome": "condition", "explain": tree}
            return {"wait": "until", "outcome": "timed_out", "deadline": wait.get("deadline"),
                    "explain": tree}
        return {"wait": "timer", "outcome": "elapsed", "deadline": wait.get("deadline")}

    def _explain(self, index: int) -> dict[str, Any]:
        return explain(self.plan.constants[index], self.env())

    def _log(self, kind: str, thread: dict[str, Any] | None, pc: int | None = None,
             **fields: Any) -> None:
        self.st["log"].append({"kind": kind, "pc": thread["pc"] if pc is None and thread else pc,
                               "thread": thread["id"] if thread else None, "at": iso(self.now),
                               **fields})

    # -- running ---------------------------------------------------------------------------------
    def run(self) -> Run:
        st = self.st
        st["status"] = "running"
        while st["status"] == "running":
            thread = self._runnable()
            if thread is None:
                # A branch may have changed what another branch's `wait until` reads.
                if self._recheck_until():
                    continue
                break
            yield from self._run_thread(thread)
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

    def _run_thread(self, thread: dict[str, Any]) -> Run:
        code = self.plan.code
        st = self.st
        while True:
            self.executed += 1
            st["steps"] += 1
            if self.executed > self.budget:
                self._fail(f"step budget of {self.budget} instructions exceeded in one run slice",
                           thread)
                return
            pc = thread["pc"]
            ins = code[pc]
            st["path"].append(pc)
            if thread.get("branch"):   # a parallel branch's first instruction
                self._log("branch", thread, index=thread.pop("branch"))
            op, args = ins.op, ins.args
            if op in (Op.ACT, Op.SET, Op.CREATE, Op.REQUEST):
                yielded = False
                try:
                    if op is Op.CREATE:
                        effect = self._create(str(args[0]), int(args[1]))  # type: ignore[arg-type]
                        yielded = True
                        record = yield pc, effect     # the host answers with the new record
                        self.st["vars"][str(args[0])] = {"kind": "ticket", **record}
                    else:
                        effect = self._effect(ins)
                        yielded = True
                        yield pc, effect
                    self._log("action", thread)
                except (RunError, InputError) as exc:
                    self._fail(f"line {ins.line}: {exc}", thread)
                    if not yielded:
                        yield pc, None    # the host records the statement that failed
                    return
                if st["status"] != "running":
                    return
                thread["pc"] = pc + 1
                continue
            yield pc, None
            if op is Op.WAIT_APPROVAL:
                var = st["vars"].get(args[0])
                if var is None:
                    self._fail(f"line {ins.line}: approval `{args[0]}` was not requested on the "
                               "path this run took", thread)
                    return
                wait = {"kind": "approval", "name": args[0], "deadline": var.get("deadline")}
                if var["outcome"] == "pending":
                    deadline = self.later(args[1])  # type: ignore[arg-type]
                    own = var.get("deadline")
                    if own and (deadline is None or as_datetime(own) < as_datetime(deadline)):  # type: ignore[operator]
                        deadline = own
                    wait["deadline"] = deadline
                    self._suspend(thread, wait)
                    return
                self._log("wait", thread, wait=wait)   # decided already: it does not wait
                self._log("resumed", thread, **self._how(wait))
            elif op is Op.WAIT_UNTIL:
                wait = {"kind": "until", "cond": args[0],
                        "deadline": self.later(args[1])}  # type: ignore[arg-type]
                if not condition_fn(self.plan, int(args[0]))(self.env()):  # type: ignore[arg-type]
                    self._suspend(thread, wait)
                    return
                self._log("wait", thread, wait=self._shown(wait))
                self._log("resumed", thread, **self._how(wait))
            elif op is Op.WAIT:
                if args[0]:
                    self._suspend(thread, {"kind": "timer", "deadline": self.later(args[0])})  # type: ignore[arg-type]
                    return
            elif op is Op.JUMP_IF_NOT:
                taken = bool(condition_fn(self.plan, int(args[0]))(self.env()))  # type: ignore[arg-type]
                # The decision is the compiled condition's; the tree shows the parts it read.
                self._log("test", thread, value=taken,
                          explain=self._explain(int(args[0])) | {"value": taken})  # type: ignore[arg-type]
                if not taken:
                    thread["pc"] = args[1]
                    continue
            elif op is Op.JUMP:
                thread["pc"] = args[0]
                continue
            elif op is Op.FORK:
                # Children go right after their parent, so branches run depth-first, in order.
                at = st["threads"].index(thread) + 1
                self._log("fork", thread, branches=len(args) - 1)
                for offset, target in enumerate(args[1:]):
                    st["threads"].insert(at + offset, {
                        "id": st["next_thread"], "pc": target, "parent": thread["id"],
                        "wait": None, "joining": False, "branch": offset + 1})
                    st["next_thread"] += 1
                thread["pc"], thread["joining"] = args[0], True
                return
            elif op is Op.END_BRANCH:
                st["threads"].remove(thread)
                return
            elif op is Op.JOIN:
                self._log("join", thread)
            elif op is Op.TERMINATE:
                st["status"], st["reason"] = "terminated", args[0] or "terminated"
                self._log("terminate", thread, reason=st["reason"])
                for other in st["threads"]:
                    other["wait"] = None
                return
            elif op is Op.END:
                self._log("end", thread)
                st["threads"].remove(thread)
                return
            # JOIN and every non-jumping instruction fall through to the next one.
            thread["pc"] = pc + 1

    def _suspend(self, thread: dict[str, Any], wait: dict[str, Any]) -> None:
        thread["wait"] = wait
        self._log("wait", thread, wait=self._shown(wait))

    def _shown(self, wait: dict[str, Any]) -> dict[str, Any]:
        """A wait as the trace shows it: an `until` with its condition's text."""
        if wait["kind"] != "until":
            return dict(wait)
        return {k: v for k, v in wait.items() if k != "cond"} | {
            "condition": describe_constant(self.plan.constants[int(wait["cond"])])}

    def _fail(self, reason: str, thread: dict[str, Any]) -> None:
        self._log("failed", thread, reason=reason)
        self.st["status"], self.st["reason"] = "failed", reason
        for thread in self.st["threads"]:
            thread["wait"] = None

    # -- effects ---------------------------------------------------------------------------------
    def _effect(self, ins: Any) -> Effect:
        args = ins.args
        if ins.op is Op.SET:
            root = str(args[0])
            if root not in self.st["vars"] and root not in SUBJECT_ROOTS:
                raise RunError(f"ticket `{root}` was not created on the path this run took")
            return self._set(root, str(args[1]), self.value(int(args[2])))
        if ins.op is Op.REQUEST:
            return self._request(str(args[0]), int(args[1]))
        return self._act(args)

    def _act(self, args: tuple[Any, ...]) -> Effect:
        verb, obj, value, params = args
        effect: Effect = {"verb": verb, "object": obj}
        if value >= 0:
            effect["value"] = to_json(self.value(value))
        effect["params"] = to_json(self.value(params)) if params >= 0 else {}
        kind = changes.FIELD_STATEMENTS.get((verb, obj))
        if kind is not None:
            record = self.st["data"].get(kind)
            if not isinstance(record, dict):
                raise RunError(f"`{verb} {obj}` acts on a {kind}, and this run has none")
            changes.apply_statement(verb, obj, record, effect.get("value"))
        elif (verb, obj) in messages.SENDS:
            effect["send"] = self._message(verb, obj, value, params, effect)
        return effect

    def _message(self, verb: str, obj: str, value_index: int, params_index: int,
                 effect: Effect) -> Effect:
        """What the statement sends and to whom (a user recipient reached at their address)."""
        params = effect["params"]
        env = self.env()
        to = ""
        if verb == "notify" or (verb, obj) == ("send", "survey"):
            node = (self.plan.constants[value_index] if verb == "notify"
                    else self._param_node(params_index, "to"))
            shown = effect.get("value") if verb == "notify" else params.get("to")
            is_user = isinstance(node, ir.User)
            user = reference(node, env, "user")[1] if is_user and node is not None else None
            to = messages.recipient(obj if verb == "notify" else "email", shown, user, is_user)
        subject_kind = self.plan.subject
        subject = self.st["data"].get(subject_kind or "")
        owner = None
        if (verb, obj) == ("schedule", "renewal alert") and isinstance(subject, dict):
            owner = reference(_ASSET_OWNER, env, "user")[1]
        return messages.outbound(verb, obj, effect.get("value"), params, to,
                                 workflow=self.plan.name, kind=subject_kind, subject=subject,
                                 execution=self.st["data"].get("$execution"), owner=owner)

    def _param_node(self, params_index: int, key: str) -> ir.Expr | None:
        """The expression the script gave for one parameter (to see whether it names a user)."""
        node = self.plan.constants[params_index] if params_index >= 0 else None
        return node.get(key) if isinstance(node, ir.Map) else None

    def _set(self, root: str, field: str, value: Any) -> Effect:
        value = to_json(value)
        is_var = root in self.st["vars"]
        record = self.st["vars"][root] if is_var else self.st["data"].setdefault(root, {})
        head = field.split(".")[0]
        kind = "ticket" if is_var else root
        # The desk would refuse a value of the wrong kind: the run fails here, in both paths.
        changes.check_fields(kind, {head: value if head == field else {}})
        changes.set_path(record, field, value)
        name = f"{root}.{field}" if is_var else field
        return {"verb": "set", "object": name, "value": value, "params": {}}

    def _create(self, name: str, params_index: int) -> Effect:
        params = to_json(self.value(params_index))
        changes.new_ticket_fields(params)   # a field the desk would refuse fails the run here
        return {"verb": "create", "object": "ticket", "name": name, "params": params}

    def _request(self, name: str, spec_index: int) -> Effect:
        spec = self.plan.constants[spec_index]
        if not isinstance(spec, ir.Approval):
            raise RunError(f"constant {spec_index} is not an approval spec")
        env = self.env()
        approvers = [{"kind": a.kind, "value": to_json(compile_value(a.value)(env))}
                     for a in spec.approvers]
        deadline = self.later(spec.timeout)
        params = {"approvers": approvers, "order": spec.order,
                  "remind_every": spec.remind_every, "remind_before": spec.remind_before,
                  "via": list(spec.via), "timeout": spec.timeout, "deadline": deadline}
        self.st["vars"][name] = {"kind": "approval", "outcome": "pending", "approved": False,
                                 "requestedAt": iso(self.now), "deadline": deadline,
                                 "decidedAt": None, "decidedBy": None, "comment": None,
                                 "approvers": approvers}
        return {"verb": "request", "object": "approval", "name": name, "params": params}

"""Effect handlers: a run slice's effects applied to the store, inside the slice's transaction.

Local effects (ticket and asset changes, notes, links, created tickets, approval requests) are
written directly; external sends (email, chat, webhooks, surveys, renewal alerts) go to the outbox.
Each changed record is written once per slice, so it emits one `ticket.updated`, not one per `set`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import RunError
from .plan import Instruction, Op
from .store import Store
from .values import as_datetime, text

RECORD_ROOTS = ("ticket", "asset", "change")
CHAT = {"slack": "slack dm", "teams": "teams dm"}


@dataclass
class Slice:
    """What the handlers need to know about the run the effects come from."""

    execution: int
    workflow: str
    subject_kind: str | None
    subject_id: str | None
    cascade: int
    now: datetime
    state: dict[str, Any]                 # the VM's new state: created tickets get their ids here
    events: list[int] = field(default_factory=list)
    sends: list[int] = field(default_factory=list)
    changes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    current: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return f"workflow:{self.workflow}#{self.execution}"


def apply(store: Store, run: Slice, pairs: list[tuple[Instruction, dict[str, Any]]]) -> None:
    """Apply every effect in order; call inside the transaction that saves the new state."""
    for ins, effect in pairs:
        _apply_one(store, run, ins, effect)
    _flush(store, run)


def _record(store: Store, run: Slice, kind: str, record_id: str) -> dict[str, Any]:
    """The record as this slice has changed it so far."""
    key = (kind, record_id)
    if key not in run.current:
        found = store.get_record(kind, record_id)
        if found is None:
            raise RunError(f"the {kind} {record_id} no longer exists")
        run.current[key] = found
    return run.current[key]


def _change(store: Store, run: Slice, kind: str, record_id: str, name: str, value: Any) -> None:
    record = _record(store, run, kind, record_id)
    record[name] = value
    run.changes.setdefault((kind, record_id), {})[name] = value


def _subject(run: Slice, kind: str) -> str:
    if run.subject_kind != kind or run.subject_id is None:
        raise RunError(f"this statement acts on a {kind}, and this run's subject is "
                       f"{'a ' + run.subject_kind if run.subject_kind else 'none'}")
    return run.subject_id


def _apply_one(store: Store, run: Slice, ins: Instruction, effect: dict[str, Any]) -> None:
    verb, obj = effect["verb"], effect["object"]
    value, params = effect.get("value"), effect.get("params") or {}
    if ins.op is Op.SET:
        root = str(ins.args[0])
        if root in RECORD_ROOTS:
            _change(store, run, root, _subject(run, root), str(ins.args[1]).split(".")[0],
                    _top(run.state["data"].get(root), str(ins.args[1])))
        else:   # a ticket this run created
            ticket_id = run.state["vars"][root].get("id")
            field_name = str(ins.args[1]).split(".")[0]
            _change(store, run, "ticket", str(ticket_id), field_name,
                    _top(run.state["vars"][root], str(ins.args[1])))
    elif ins.op is Op.CREATE:
        name = str(effect["name"])
        record, event = store.create_ticket(params, run.now, run.actor, run.cascade + 1,
                                            run.execution)
        run.state["vars"][name]["id"] = record["id"]
        run.events += [event] if event is not None else []
    elif ins.op is Op.REQUEST:
        _request(store, run, effect)
    elif verb == "notify":
        channel = obj
        body = params.get("message") or params.get("body") or _summary(run)
        _send(store, run, channel, text(value), {"subject": params.get("subject"), "body": body})
    elif (verb, obj) == ("call", "webhook"):
        body = params.get("payload")
        if body is None:
            body = {"workflow": run.workflow, "execution": run.execution,
                    "subject": run.state["data"].get(run.subject_kind or "")}
        _send(store, run, "webhook", text(value), {"body": body})
    elif (verb, obj) == ("send", "survey"):
        _send(store, run, "email", text(params.get("to")),
              {"subject": f"Survey: {text(value)}", "body": f"Please tell us how it went: {text(value)}",
               "kind": "survey"})
    elif (verb, obj) == ("schedule", "renewal alert"):
        _renewal(store, run, value, params)
    else:
        _ticket_or_asset(store, run, verb, obj, value)


def _summary(run: Slice) -> str:
    """The text of a notification whose statement gave none: what it is about."""
    subject = run.state["data"].get(run.subject_kind or "")
    about = ""
    if isinstance(subject, dict) and run.subject_kind in RECORD_ROOTS:
        about = f" on {run.subject_kind} {text(subject.get('id'))}"
        if subject.get("title") or subject.get("name"):
            about += f": {text(subject.get('title') or subject.get('name'))}"
    return f"{run.workflow}{about}"


def _top(record: Any, path: str) -> Any:
    """The new value of the top-level field a dotted `set` changed (custom.x changes custom)."""
    head = path.split(".")[0]
    return record.get(head) if isinstance(record, dict) else None


def _ticket_or_asset(store: Store, run: Slice, verb: str, obj: str, value: Any) -> None:
    if (verb, obj) in (("add", "internal note"), ("post", "reply")):
        store.add_note(_subject(run, "ticket"), "internal" if verb == "add" else "public",
                       text(value), run.actor, run.now, run.execution)
    elif (verb, obj) == ("link", "ticket"):
        store.add_link(_subject(run, "ticket"), text(value), run.now, run.execution)
    elif (verb, obj) in (("assign", "team"), ("assign", "agent"), ("transition", "status")):
        _change(store, run, "ticket", _subject(run, "ticket"), obj, value)
    elif obj == "tag":
        ticket = _record(store, run, "ticket", _subject(run, "ticket"))
        tags = [t for t in (ticket.get("tags") or []) if t != value]
        _change(store, run, "ticket", _subject(run, "ticket"), "tags",
                [*tags, value] if verb == "add" else tags)
    elif verb == "escalate":
        ticket = _record(store, run, "ticket", _subject(run, "ticket"))
        level = ticket.get("escalationLevel")
        level = level if isinstance(level, int | float) and not isinstance(level, bool) else 0
        _change(store, run, "ticket", _subject(run, "ticket"), "escalationLevel",
                value if value is not None else level + 1)
    elif (verb, obj) == ("update", "asset lifecycle"):
        _change(store, run, "asset", _subject(run, "asset"), "lifecycle", value)
    elif (verb, obj) == ("attach", "contract"):
        asset = _record(store, run, "asset", _subject(run, "asset"))
        _change(store, run, "asset", _subject(run, "asset"), "contracts",
                [*(asset.get("contracts") or []), value])
    else:
        raise RunError(f"no handler for `{verb} {obj}`")


def _flush(store: Store, run: Slice) -> None:
    """Write each changed record once (one event per record per slice)."""
    for (kind, record_id), changes in run.changes.items():
        if kind == "ticket":
            _, events = store.update_ticket(record_id, changes, run.now, run.actor,
                                            run.cascade + 1, run.execution)
        elif kind == "asset":
            _, events = store.put_asset({"id": record_id, **changes}, run.now, run.actor,
                                        create=False, cascade=run.cascade + 1,
                                        execution=run.execution)
        else:
            _, events = store.put_change({"id": record_id, **changes}, run.now, run.actor,
                                         create=False, cascade=run.cascade + 1)
        run.events += events
    run.changes.clear()


def _send(store: Store, run: Slice, channel: str, target: str, payload: dict[str, Any],
          not_before: datetime | None = None) -> None:
    run.sends.append(store.queue_send(channel, target, payload, run.now, run.execution,
                                      not_before))


def _renewal(store: Store, run: Slice, value: Any, params: dict[str, Any]) -> None:
    when = as_datetime(value)
    if when is None:
        raise RunError(f"a renewal alert needs a date, not {value!r}")
    before = params.get("before") or 0
    asset = _record(store, run, "asset", _subject(run, "asset"))
    owner = store.get_user(str(asset.get("owner"))) if asset.get("owner") else None
    target = (owner or {}).get("email") or ""
    _send(store, run, "email", target,
          {"subject": f"Renewal due: {text(asset.get('name') or asset['id'])}",
           "body": f"The contract of {text(asset.get('name') or asset['id'])} renews on "
                   f"{text(value)}.", "kind": "renewal alert"},
          not_before=when - timedelta(seconds=float(before)))


def _request(store: Store, run: Slice, effect: dict[str, Any]) -> None:
    name, params = str(effect["name"]), effect["params"]
    var = run.state["vars"][name]
    approvers = store.resolve_approvers(params["approvers"])
    deadline = as_datetime(var.get("deadline"))
    request_id = store.create_request(run.execution, name, approvers, params["order"], deadline,
                                      list(params.get("via") or ["console"]),
                                      params.get("remind_every"), params.get("remind_before"),
                                      run.now)
    ask_approvers(store, run.now, request_id, run.sends, reminder=False)


def ask_approvers(store: Store, now: datetime, request_id: int, sends: list[int],
                  reminder: bool) -> None:
    """Tell the approvers asked now, through the request's channels (`console`: no send)."""
    request = store.approval(request_id)
    word = "Reminder: approval" if reminder else "Approval"
    for user_key in store.asked(request_id):
        user = store.get_user(user_key) or {"id": user_key, "email": user_key}
        message = {"subject": f"{word} needed: {request['name']}",
                   "body": f"{word} `{request['name']}` (request {request_id}) is waiting for "
                           f"your decision" + (f" until {request['deadline']}."
                                               if request["deadline"] else ".")}
        for channel in request["via"]:
            if channel == "email" and user.get("email"):
                sends.append(store.queue_send("email", str(user["email"]), message, now,
                                              request["execution"]))
            elif channel in CHAT:
                sends.append(store.queue_send(CHAT[channel], str(user.get("email") or user["id"]),
                                              {"body": message["body"]}, now,
                                              request["execution"]))

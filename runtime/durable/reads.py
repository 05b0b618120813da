"""What a durable run reads: every record afresh at the start of each slice, and which records
a waiting run depends on (a change to any of them re-checks its `wait until`)."""

from __future__ import annotations

from typing import Any

from runtime.drive import views
from runtime.durable.ports import RecordPort
from runtime.events import parse_event, subject_root
from zentra_rules.domain import ir
from zentra_rules.domain.plan import Plan
from zentra_rules.domain.schema import RECORD_KINDS


def fresh(desk: RecordPort, plan: Plan, ex: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """A `subject` event with the records as the store has them now: the run's subject, the
    tickets it created, every record they refer to, and the users the script names."""
    kind, record_id = ex["subject_kind"], ex["subject_id"]
    data: dict[str, Any] = {}
    records: dict[str, dict[str, Any]] = {"user": {}, "asset": {}}
    subject = desk.get_record(kind, record_id) if kind in RECORD_KINDS and record_id else None
    if subject is not None:
        data[kind] = subject
        _merge(records, desk.referenced(kind, subject))
    created = {}
    for name, var in state["vars"].items():
        if isinstance(var, dict) and var.get("kind") == "ticket" and var.get("id") is not None:
            ticket = desk.get_ticket(var["id"])
            if ticket is not None:
                created[name] = ticket
                _merge(records, desk.referenced("ticket", ticket))
    _add_named_users(desk, [plan], records)
    data["$records"] = records
    data["$execution"] = ex["id"]   # a webhook sent without a payload names its execution
    return {"type": "subject", "data": data, "vars": created}


def _merge(into: dict[str, dict[str, Any]], more: dict[str, dict[str, Any]]) -> None:
    for kind, found in more.items():
        into.setdefault(kind, {}).update(found)


def _add_named_users(desk: RecordPort, plans: list[Plan], records: dict[str, dict[str, Any]]) -> None:
    """The users the scripts name (`user "ID"`) that `records` does not hold yet."""
    for user_id in sorted({u for plan in plans for u in named_users(plan)}):
        if user_id not in records["user"] and (user := desk.get_user(user_id)) is not None:
            records["user"][user_id] = user


def named_users(plan: Plan) -> list[str]:
    """The users a plan names literally (`user "ID"` as a recipient), found once per plan."""
    cache: dict[Any, Any] = plan._cache
    if "users" not in cache:
        cache["users"] = sorted({str(node.expr.value) for constant in plan.constants
                                 for node in ir.walk(constant)
                                 if isinstance(node, ir.User) and isinstance(node.expr, ir.Const)})
    return cache["users"]  # type: ignore[no-any-return]


def watched(plan: Plan, ex: dict[str, Any], state: dict[str, Any],
            waits: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The records whose change may make a `wait until` of this run true (none without one)."""
    if not any(w["kind"] == "until" for w in waits):
        return set()
    keys = {(kind, str(record_id)) for kind, record_id, _ in views(plan, state)
            if record_id is not None}
    if ex["subject_kind"] in RECORD_KINDS and ex["subject_id"]:
        keys.add((ex["subject_kind"], str(ex["subject_id"])))
    for kind, found in (state["data"].get("$records") or {}).items():
        keys |= {(kind, str(record_id)) for record_id in found}
    return keys


def directory(desk: RecordPort, plans: list[Plan], event: str, subject: Any) -> dict[str, Any]:
    """`$records` for a dry run on the desk: the users and assets the subject refers to by id,
    and the users the scripts name, as the store has them (embedded records still win)."""
    root = subject_root(parse_event(event)[0])
    records: dict[str, dict[str, Any]] = {"user": {}, "asset": {}}
    if root in RECORD_KINDS and isinstance(subject, dict):
        _merge(records, desk.referenced(root, subject))
    _add_named_users(desk, plans, records)
    return records

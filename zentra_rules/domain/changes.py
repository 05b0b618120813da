"""What a statement does to a record, written once: the VM applies it to the records a run sees,
and the store only persists the difference. The dry run and the durable run therefore cannot
disagree about a record (the tag order, a duplicate tag, an escalation level)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zentra_rules.domain.errors import InputError
from zentra_rules.domain.schema import READ_ONLY, RECORDS
from zentra_rules.domain.suggest import did_you_mean
from zentra_rules.domain.values import as_datetime, iso

Record = dict[str, Any]
# Kept by the desk, never a change a run makes (and `kind` marks a created ticket in run state).
BOOKKEEPING = frozenset({"id", "createdAt", "updatedAt", "kind"})
# (verb, object) of the statements that change a field of their record, and which record.
FIELD_STATEMENTS = {("assign", "team"): "ticket", ("assign", "agent"): "ticket",
                    ("transition", "status"): "ticket", ("add", "tag"): "ticket",
                    ("remove", "tag"): "ticket", ("escalate", "ticket"): "ticket",
                    ("update", "asset lifecycle"): "asset", ("attach", "contract"): "asset"}


def check_fields(kind: str, fields: Any) -> dict[str, Any]:
    """Known fields with values of the right kind; the error names the field and the fix."""
    if not isinstance(fields, dict):
        raise InputError(f"a {kind} must be a JSON object")
    schema = RECORDS[kind]
    for name, value in fields.items():
        if name not in schema:
            raise InputError(f"unknown {kind} field `{name}`"
                             + (did_you_mean(name, list(schema)) or "")
                             + f"; {kind} fields: {', '.join(schema)}")
        if name in READ_ONLY.get(kind, ()) and name != "id":
            raise InputError(f"`{name}` is kept by the desk and cannot be set")
        spec = schema[name]
        if value is None or spec.kind in ("any", "ref", "record"):
            continue
        if spec.enum and value not in spec.enum:
            raise InputError(f"{kind} `{name}` must be {spec.describe()}, not {value!r}")
        if spec.kind == "datetime" and as_datetime(value) is None:
            raise InputError(f"{kind} `{name}` must be an ISO 8601 date-time, not {value!r}")
        if spec.kind == "bool" and not isinstance(value, bool):
            raise InputError(f"{kind} `{name}` must be true or false")
        if spec.kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InputError(f"{kind} `{name}` must be a number")
        if spec.kind == "list" and not isinstance(value, list):
            raise InputError(f"{kind} `{name}` must be a list")
        if spec.kind == "list" and spec.item == "string" and not all(isinstance(v, str) for v in value):
            raise InputError(f"{kind} `{name}` must be a list of strings")
        if name == "criticality" and not 1 <= value <= 4:
            raise InputError(f"{kind} `criticality` is 1 (highest) to 4, not {value!r}")
        if spec.kind == "string" and not spec.enum and not isinstance(value, str):
            raise InputError(f"{kind} `{name}` must be a string")
    return dict(fields)


def new_ticket_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The stored fields of a new ticket: checked, with the desk's defaults filled in."""
    fields = check_fields("ticket", {k: v for k, v in fields.items() if k != "id"})
    if fields.get("status") is None:
        fields["status"] = "new"
    if fields.get("tags") is None:
        fields["tags"] = []
    return fields


def ticket_record(ticket_id: str, fields: dict[str, Any], created: datetime,
                  updated: datetime) -> Record:
    """A ticket as every reader sees it (API, runs, events): id, fields, then its two times."""
    return {"id": ticket_id, **fields, "createdAt": iso(created), "updatedAt": iso(updated)}


def differences(before: Record | None, after: Record) -> dict[str, Any]:
    """The top-level fields a run changed on a record (bookkeeping fields never count)."""
    before = before or {}
    return {k: copy.deepcopy(v) for k, v in after.items()
            if k not in BOOKKEEPING and before.get(k) != v}


def apply_statement(verb: str, obj: str, record: Record, value: Any) -> None:
    """Change `record` in place as the statement `verb obj = value` means it."""
    key = (verb, obj)
    if key in (("assign", "team"), ("assign", "agent"), ("transition", "status")):
        record[obj] = value
    elif key == ("add", "tag"):
        tags = record.get("tags")
        if tags is None:   # missing or null: the first tag starts the list
            record["tags"] = [value]
        elif isinstance(tags, list) and value not in tags:
            record["tags"] = [*tags, value]
    elif key == ("remove", "tag"):
        tags = record.get("tags")
        if isinstance(tags, list) and value in tags:   # every copy goes: the tag is not there after
            record["tags"] = [t for t in tags if t != value]
    elif key == ("escalate", "ticket"):
        level = record.get("escalationLevel")
        # Any number is a level (2.0 is 2); anything else starts the count at 1.
        record["escalationLevel"] = value if value is not None else (
            level + 1 if isinstance(level, int | float) and not isinstance(level, bool) else 1)
    elif key == ("update", "asset lifecycle"):
        record["lifecycle"] = value
    elif key == ("attach", "contract"):
        contracts = record.get("contracts")
        record["contracts"] = [*(contracts if isinstance(contracts, list) else []), value]
    else:
        raise ValueError(f"`{verb} {obj}` changes no field")


def set_path(record: Record, field: str, value: Any) -> None:
    """`set FIELD = value` (a dotted field below `custom` creates the objects on its way)."""
    parts = field.split(".")
    target = record
    for part in parts[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = target[part] = {}
        target = nxt
    target[parts[-1]] = value


def effective(record: Record, changes: dict[str, Any]) -> dict[str, Any]:
    """The part of `changes` that changes something: a write of nothing else is no write."""
    return {k: v for k, v in changes.items() if record.get(k) != v}


def with_changes(record: Record, changes: dict[str, Any], now: datetime) -> Record:
    """The record after a write of `changes` at `now` (what the store saves and returns);
    the record itself, untouched, when nothing in `changes` differs."""
    if not effective(record, changes):
        return record
    out = {**record, **copy.deepcopy(changes)}
    if "updatedAt" in record:
        out["updatedAt"] = iso(now)
    return out


# The events a write of a record emits, besides `KIND.updated` (which wakes the runs that watch
# the record; on tickets it is also a trigger): the kind, the event, the field whose change it
# announces and, for some, the value the field must change to. Written once: the store emits
# what this says, and the compiler's re-trigger check reads which writes fire which trigger.
@dataclass(frozen=True)
class Transition:
    kind: str
    event: str
    field: str
    to: Any = None   # None: any change of `field`

    def fires(self, before: Record | None, after: Record) -> bool:
        if self.to is not None:
            return after.get(self.field) == self.to and (before or {}).get(self.field) != self.to
        return before is not None and before.get(self.field) != after.get(self.field)


TRANSITIONS: tuple[Transition, ...] = (
    Transition("ticket", "ticket.status_changed", "status"),
    Transition("asset", "asset.lifecycle_changed", "lifecycle"),
    Transition("change", "change.approved", "status", to="approved"),
)


def emitted(kind: str, before: Record | None, after: Record) -> list[str]:
    """The events, in order, that writing `after` over `before` (None: a new record) emits."""
    if before is None:
        first = ["ticket.created"] if kind == "ticket" else []
    else:
        first = [f"{kind}.updated"] if before != after else []
    return first + [t.event for t in TRANSITIONS if t.kind == kind and t.fires(before, after)]

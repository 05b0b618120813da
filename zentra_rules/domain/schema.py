"""The subject schema and the trigger catalog: what scripts may read and write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Type:
    """A static type: `kind` is string|number|bool|datetime|duration|list|any|ref|record|approval."""

    kind: str
    enum: tuple[str | int, ...] = ()
    ref: str = ""       # for kind "ref"/"record": the record kind (user, asset, ticket, ...)
    item: str = ""      # for kind "list": the item kind
    note: str = ""      # a human hint shown in type errors, e.g. "1 highest … 4"

    def describe(self) -> str:
        if self.kind == "ref" or self.kind == "record":
            return f"{'an' if self.ref[:1] in tuple('aeiou') else 'a'} {self.ref} record"
        if self.enum and self.kind == "string":
            return "one of " + ", ".join(f'"{v}"' for v in self.enum)
        if self.note:
            return f"a {self.kind} ({self.note})"
        article = "an" if self.kind[0] in "aeiou" else "a"
        return f"{article} {self.kind}"


STRING: Final = Type("string")
NUMBER: Final = Type("number")
BOOL: Final = Type("bool")
DATETIME: Final = Type("datetime")
DURATION: Final = Type("duration")
ANY: Final = Type("any")
NULL: Final = Type("null")
STRINGS: Final = Type("list", item="string")
LIST: Final = Type("list")


def ref(kind: str) -> Type:
    return Type("ref", ref=kind)


def enum(*values: str) -> Type:
    return Type("string", enum=values)


# `ready` and `cancelled` are statuses the new-joiner process of the language page sets.
TICKET_STATUS: Final = ("new", "open", "in_progress", "pending", "ready", "resolved", "closed",
                        "cancelled")
PRIORITIES: Final = ("low", "normal", "high", "urgent")
CHANNELS: Final = ("email", "portal", "chat", "phone", "api")
LIFECYCLES: Final = ("ordered", "deployed", "in_repair", "retired", "disposed")
APPROVAL_OUTCOMES: Final = ("pending", "approved", "rejected", "timed_out")

# `custom` is free-form: any path below it is accepted.
RECORDS: Final[dict[str, dict[str, Type]]] = {
    "ticket": {
        "id": STRING, "title": STRING, "description": STRING,
        "status": enum(*TICKET_STATUS), "priority": enum(*PRIORITIES),
        "category": STRING, "team": STRING, "agent": ref("user"),
        "requester": ref("user"), "linkedAsset": ref("asset"), "tags": STRINGS,
        "channel": enum(*CHANNELS), "createdAt": DATETIME, "updatedAt": DATETIME,
        "dueAt": DATETIME, "custom": ANY, "escalationLevel": NUMBER,
    },
    "user": {
        "id": STRING, "name": STRING, "email": STRING, "organizationId": STRING,
        "manager": ref("user"), "roles": STRINGS, "groups": STRINGS, "vip": BOOL,
        # Where a direct message reaches the user: a Slack member id or @name, a Teams address.
        "slack": STRING, "teams": STRING,
    },
    "asset": {
        "id": STRING, "name": STRING, "type": STRING, "lifecycle": enum(*LIFECYCLES),
        "criticality": Type("number", note="1 highest … 4"), "owner": ref("user"),
        "contracts": STRINGS, "renewalDate": DATETIME,
    },
    "change": {
        "id": STRING, "title": STRING, "status": STRING, "risk": STRING,
        "requestedBy": ref("user"), "linkedAssets": Type("list", item="asset"),
    },
    "approval": {
        "outcome": enum(*APPROVAL_OUTCOMES), "approved": BOOL, "decidedBy": STRING,
        "comment": STRING, "requestedAt": DATETIME, "decidedAt": DATETIME,
    },
    "event": {
        "name": STRING, "at": DATETIME, "actor": STRING, "previous": ANY, "qualifier": STRING,
    },
}

# Fields a script may not `set`: identity and bookkeeping the desk maintains itself.
READ_ONLY: Final = {"ticket": {"id", "createdAt", "updatedAt"}, "asset": {"id"}}


@dataclass(frozen=True)
class TriggerSpec:
    name: str
    subject: str | None     # the root that bare paths read from
    qualifier: str | None   # None: no qualifier allowed; otherwise what it names
    fires_when: str


TRIGGERS: Final[dict[str, TriggerSpec]] = {t.name: t for t in (
    TriggerSpec("ticket.created", "ticket", None, "a new ticket arrives via any channel"),
    TriggerSpec("ticket.updated", "ticket", None, "any field on a ticket changes"),
    TriggerSpec("ticket.status_changed", "ticket", None, "status transitions"),
    TriggerSpec("ticket.sla_breached", "ticket", None, "an SLA timer expires"),
    TriggerSpec("change.approved", "change", None, "a change record completes its approval graph"),
    TriggerSpec("asset.lifecycle_changed", "asset", None, "an asset changes lifecycle state"),
    TriggerSpec("schedule.cron", None, "a 5-field cron expression", "a cron expression matches"),
    TriggerSpec("webhook.received", "payload", "an inbound endpoint name",
                "a signed request hits the named inbound endpoint"),
)}

# The kinds of record a run can have as its subject and change (the desk stores them by id).
RECORD_KINDS: Final = ("ticket", "asset", "change")

# The roots a path may start with, besides names bound in the script.
ROOTS: Final = ("ticket", "change", "asset", "payload", "event")


def catalog_text() -> str:
    """The trigger catalog as one line, for error messages."""
    parts = []
    for t in TRIGGERS.values():
        parts.append(f'{t.name} "…"' if t.qualifier else t.name)
    return ", ".join(parts)

"""The tables: the desk's records, definitions and their versions, and everything a run leaves."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import peewee as pw

from zentra_rules.domain import jsonlimits

# Bound to a real database by `zentra_rules.store.db.open_database`.
proxy = pw.DatabaseProxy()


class JSONField(pw.TextField):
    """JSON as text: the same on SQLite and PostgreSQL, and readable in either."""

    def db_value(self, value: Any) -> str | None:
        # Through the JSON gate: what is written can always be read back and sent as JSON.
        return None if value is None else jsonlimits.dumps(value)

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)


class UTCField(pw.DateTimeField):
    """Aware UTC datetimes in, aware UTC datetimes out; stored naive in UTC on both databases."""

    def db_value(self, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value: Any) -> Any:
        value = super().python_value(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(pw.Model):
    class Meta:
        database = proxy
        legacy_table_names = False


class Meta(Base):
    """Small facts the engine keeps: schema version, the last cron minute fired."""

    key = pw.CharField(primary_key=True, max_length=100)
    value = pw.TextField()


# -- the desk ----------------------------------------------------------------------------------
class User(Base):
    id = pw.CharField(primary_key=True, max_length=100)
    email = pw.CharField(max_length=320, null=True, index=True)
    data = JSONField()                       # name, organizationId, manager, roles, groups, vip


class Team(Base):
    name = pw.CharField(primary_key=True, max_length=200)
    data = JSONField(default=dict)


class Ticket(Base):
    id = pw.AutoField()
    data = JSONField()                       # every documented field but id/createdAt/updatedAt
    status = pw.CharField(max_length=40, index=True)
    due_at = UTCField(null=True, index=True)
    sla_breached_at = UTCField(null=True)
    created_at = UTCField()
    updated_at = UTCField()


class TicketNote(Base):
    """Internal notes and public replies."""

    ticket = pw.ForeignKeyField(Ticket, backref="notes", on_delete="CASCADE")
    kind = pw.CharField(max_length=20)       # internal | public
    body = pw.TextField()
    author = pw.CharField(max_length=200)
    execution = pw.IntegerField(null=True)
    at = UTCField()


class TicketLink(Base):
    ticket = pw.ForeignKeyField(Ticket, backref="links", on_delete="CASCADE")
    other = pw.CharField(max_length=100)
    execution = pw.IntegerField(null=True)
    at = UTCField()


class TicketHistory(Base):
    ticket = pw.ForeignKeyField(Ticket, backref="history", on_delete="CASCADE")
    actor = pw.CharField(max_length=200)
    changes = JSONField()                    # {field: [before, after]}
    at = UTCField()


class Asset(Base):
    id = pw.CharField(primary_key=True, max_length=100)
    data = JSONField()                       # name, type, lifecycle, criticality, owner, contracts, ...
    updated_at = UTCField()


class Change(Base):
    id = pw.CharField(primary_key=True, max_length=100)
    data = JSONField()
    updated_at = UTCField()


# -- definitions -------------------------------------------------------------------------------
class Definition(Base):
    name = pw.CharField(primary_key=True, max_length=200)
    kind = pw.CharField(max_length=20)       # workflow | scenario | rule
    active_version = pw.IntegerField(null=True)   # None: deactivated


class DefinitionVersion(Base):
    """Immutable: a new source is a new version; executions keep the one they started with."""

    definition = pw.CharField(max_length=200, index=True)
    version = pw.IntegerField()
    source = pw.TextField()
    plan = JSONField()
    plan_hash = pw.CharField(max_length=80)
    author = pw.CharField(max_length=200)
    created_at = UTCField()

    class Meta:
        indexes = ((("definition", "version"), True),)


class Activation(Base):
    """Which version of a definition was active from when until when (None: still active).

    Written whenever activation changes (publish, activate, deactivate), so the versions an
    event was matched against can be found again at any age."""

    definition = pw.CharField(max_length=200, index=True)
    version = pw.IntegerField()
    version_row = pw.IntegerField()          # the DefinitionVersion's id (its plan)
    kind = pw.CharField(max_length=20)
    active_from = UTCField(index=True)
    active_until = UTCField(null=True, index=True)
    actor = pw.CharField(max_length=200, null=True)


class AutomationRule(Base):
    id = pw.CharField(primary_key=True, max_length=100)
    data = JSONField()
    position = pw.IntegerField(default=0)
    active = pw.BooleanField(default=True)


# -- runs --------------------------------------------------------------------------------------
class Event(Base):
    name = pw.CharField(max_length=60)
    qualifier = pw.CharField(max_length=200, null=True)
    subject_kind = pw.CharField(max_length=20, null=True)
    subject_id = pw.CharField(max_length=100, null=True)
    subject = JSONField(null=True)           # the record as it was when the event happened
    previous = JSONField(null=True)
    cascade = pw.IntegerField(default=0)
    dedupe_key = pw.CharField(max_length=300, null=True, unique=True)
    actor = pw.CharField(max_length=200, null=True)
    execution = pw.IntegerField(null=True)   # the execution whose effect caused it
    at = UTCField()
    processed_at = UTCField(null=True, index=True)
    # The records the subject referred to when the event was matched (requester, manager, asset):
    # the data a definition's condition read, kept so a miss can be explained at any age.
    records = JSONField(null=True)

    class Meta:
        indexes = ((("subject_kind", "subject_id"), False),)


class Execution(Base):
    definition = pw.CharField(max_length=200, index=True)
    version = pw.ForeignKeyField(DefinitionVersion, backref="executions")
    kind = pw.CharField(max_length=20)
    trigger = pw.CharField(max_length=260)
    event = pw.ForeignKeyField(Event, null=True, backref="executions")
    subject_kind = pw.CharField(max_length=20, null=True)
    subject_id = pw.CharField(max_length=100, null=True, index=True)
    cascade = pw.IntegerField(default=0)
    inputs = JSONField()                     # the data roots it started with, and the explain tree
    state = JSONField(null=True)
    # runnable | waiting | completed | terminated | failed | stopped
    status = pw.CharField(max_length=20, index=True)
    reason = pw.TextField(null=True)
    wake_at = UTCField(null=True, index=True)
    lease_owner = pw.CharField(max_length=200, null=True)
    lease_until = UTCField(null=True)
    revision = pw.IntegerField(default=0)    # optimistic lock: a slice commits only on its own
    slices = pw.IntegerField(default=0)
    attempt = pw.IntegerField(default=0)     # tries of the current slice (a lost lease retries)
    created_at = UTCField(index=True)
    updated_at = UTCField()
    finished_at = UTCField(null=True)


class RecordLink(Base):
    """An execution and a record it ran on (`subject`), created or changed: append-only.

    A `created` or `changed` row names the statement (pc, source line, its text) and, for a
    change, the field with its value before and after."""

    execution = pw.IntegerField(index=True)
    kind = pw.CharField(max_length=20)       # ticket | asset | change
    record_id = pw.CharField(max_length=100)
    role = pw.CharField(max_length=20)       # subject | created | changed
    pc = pw.IntegerField(null=True)
    line = pw.IntegerField(null=True)
    statement = pw.TextField(null=True)
    instruction = pw.TextField(null=True)
    field = pw.CharField(max_length=200, null=True)
    old = JSONField(null=True)
    new = JSONField(null=True)
    at = UTCField()

    class Meta:
        indexes = ((("kind", "record_id"), False),)


class Step(Base):
    execution = pw.ForeignKeyField(Execution, backref="steps", on_delete="CASCADE")
    slice = pw.IntegerField()
    attempt = pw.IntegerField()
    pc = pw.IntegerField()
    line = pw.IntegerField()
    instruction = pw.TextField()
    output = JSONField(null=True)
    started_at = UTCField()
    duration_ms = pw.FloatField()


class Wait(Base):
    execution = pw.ForeignKeyField(Execution, backref="waits", on_delete="CASCADE")
    kind = pw.CharField(max_length=20)       # approval | until | timer
    name = pw.CharField(max_length=200, null=True)
    deadline = UTCField(null=True, index=True)
    created_at = UTCField()
    resolved_at = UTCField(null=True)
    resolved_by = pw.CharField(max_length=40, null=True)   # decision | event | deadline | terminate


class Watch(Base):
    """A record a waiting execution reads: a change to it re-checks the run's `wait until`."""

    execution = pw.ForeignKeyField(Execution, backref="watches", on_delete="CASCADE")
    kind = pw.CharField(max_length=20)         # ticket | asset | change | user
    record_id = pw.CharField(max_length=200)

    class Meta:
        indexes = ((("kind", "record_id"), False), (("execution", "kind", "record_id"), True))


class ApprovalRequest(Base):
    execution = pw.ForeignKeyField(Execution, backref="approvals")
    name = pw.CharField(max_length=200)
    approvers = JSONField()                  # [{"kind", "value", "users": [...]}], one entry a stage
    order = pw.CharField(max_length=20)      # sequential | parallel any | parallel all
    status = pw.CharField(max_length=20, index=True)   # pending | approved | rejected | timed_out
    stage = pw.IntegerField(default=0)      # sequential: the approver asked now
    deadline = UTCField(null=True)
    via = JSONField()
    remind_every = pw.FloatField(null=True)
    remind_before = pw.FloatField(null=True)
    next_reminder_at = UTCField(null=True, index=True)
    reminders_sent = pw.IntegerField(default=0)
    created_at = UTCField()
    decided_at = UTCField(null=True)

    class Meta:
        indexes = ((("execution", "name"), True),)


class ApprovalDecision(Base):
    """Append-only (database triggers refuse UPDATE, DELETE and a replacing INSERT), hash-chained."""

    request = pw.IntegerField(index=True)
    user = pw.CharField(max_length=200)
    decision = pw.CharField(max_length=20)   # approve | reject
    comment = pw.TextField(null=True)
    at = UTCField()
    prev_hash = pw.CharField(max_length=64)
    hash = pw.CharField(max_length=64)


class AuditLog(Base):
    """Append-only, hash-chained record of what the engine decided (starts, ends, outcomes)."""

    at = UTCField()
    kind = pw.CharField(max_length=60)
    execution = pw.IntegerField(null=True, index=True)
    subject = pw.CharField(max_length=140, null=True, index=True)
    data = JSONField()
    prev_hash = pw.CharField(max_length=64)
    hash = pw.CharField(max_length=64)


class Outbox(Base):
    """External sends, written in the slice's transaction, delivered later with a stable id."""

    message_id = pw.CharField(max_length=100, unique=True)
    channel = pw.CharField(max_length=30)    # email | slack | slack dm | teams | teams dm | webhook
    target = pw.TextField()
    payload = JSONField()                    # subject/body, or the webhook body
    execution = pw.IntegerField(null=True, index=True)
    status = pw.CharField(max_length=20, index=True)   # pending | delivered | failed
    attempts = pw.IntegerField(default=0)
    next_attempt_at = UTCField(index=True)
    lease_until = UTCField(null=True)
    last_error = pw.TextField(null=True)
    created_at = UTCField()
    delivered_at = UTCField(null=True)


class WebhookEndpoint(Base):
    name = pw.CharField(max_length=200)
    direction = pw.CharField(max_length=10)  # inbound | outbound
    url = pw.TextField(null=True)
    secret = pw.TextField()
    created_at = UTCField()

    class Meta:
        indexes = ((("name", "direction"), True),)


class InboundDelivery(Base):
    """webhook-ids already accepted: a repeated delivery is answered again without a new event."""

    endpoint = pw.CharField(max_length=200)
    webhook_id = pw.CharField(max_length=200)
    event = pw.IntegerField(null=True)
    at = UTCField()

    class Meta:
        indexes = ((("endpoint", "webhook_id"), True),)


class ApiToken(Base):
    token_hash = pw.CharField(max_length=64, unique=True)
    role = pw.CharField(max_length=20)
    user = pw.CharField(max_length=100, null=True)
    created_at = UTCField()
    revoked_at = UTCField(null=True)


MODELS: list[type[Base]] = [
    Meta, User, Team, Ticket, TicketNote, TicketLink, TicketHistory, Asset, Change, Definition,
    DefinitionVersion, Activation, AutomationRule, Event, Execution, RecordLink, Step, Wait, Watch,
    ApprovalRequest, ApprovalDecision, AuditLog, Outbox, WebhookEndpoint, InboundDelivery, ApiToken,
]
APPEND_ONLY = ("approval_decision", "audit_log", "record_link")

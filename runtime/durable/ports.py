"""The ports of the durable engine: what it asks of the store, the queue and the senders.

The engine never imports the store (peewee) or the integrations (Apprise, HTTP): it is handed
objects that have these shapes (`zentra_rules.store.Store`, `runtime.durable.queue.HueyQueue`,
`zentra_rules.integrations.outbound.Outbound`), and mypy checks that they do where they are wired.
Like Huey's own `BaseStorage`, the seam is a small set of methods, not the database's models.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from runtime.drive import World

Record = dict[str, Any]


class Queue(Protocol):
    """What the engine asks of the task queue: wake somebody up for this id (now or later)."""

    def advance(self, execution_id: int, eta: datetime | None = None) -> None: ...
    def process(self, event_id: int) -> None: ...
    def deliver(self, send_id: int, eta: datetime | None = None) -> None: ...


class Sender(Protocol):
    """The integrations: one attempt at one send; a failure raises `DeliveryError`."""

    def webhook(self, url: str, secret: str, message_id: str, body: bytes, timestamp: int) -> None:
        ...

    def message(self, channel: str, target: str, subject: str | None, body: str,
                message_id: str) -> None: ...


class SliceWorld(World, Protocol):
    """The world of one durable slice: it also collects the events and sends it made."""

    events: list[int]
    sends: list[int]


class RecordPort(Protocol):
    """The desk's records, as the durable engine reads and writes them."""

    def get_user(self, key: str) -> Record | None:
        """A user by id, or else by email address."""
        ...

    def get_ticket(self, ticket_id: Any) -> Record | None: ...

    def get_record(self, kind: str, record_id: Any) -> Record | None: ...

    def referenced(self, kind: str, record: Record) -> dict[str, dict[str, Record]]:
        """`$records` for a run: every user/asset the subject refers to, a few levels deep."""
        ...

    def create_ticket(self, fields: dict[str, Any], now: datetime, actor: str, cascade: int = 0,
                      execution: int | None = None) -> tuple[Record, int | None]: ...

    def update_ticket(self, ticket_id: Any, changes: dict[str, Any], now: datetime, actor: str,
                      cascade: int = 0, execution: int | None = None) -> tuple[Record, list[int]]:
        """Apply field changes; emits ticket.updated (+ ticket.status_changed) if any differ."""
        ...

    def put_asset(self, fields: dict[str, Any], now: datetime, actor: str, create: bool,
                  cascade: int = 0, execution: int | None = None) -> tuple[Record, list[int]]: ...

    def put_change(self, fields: dict[str, Any], now: datetime, actor: str, create: bool,
                   cascade: int = 0) -> tuple[Record, list[int]]: ...

    def tickets_breaching(self, now: datetime) -> list[int]:
        """Open tickets whose due date has passed and whose breach was not yet announced."""
        ...

    def mark_breached(self, ticket_id: int, now: datetime) -> bool:
        """Compare-and-set: True for exactly one caller."""
        ...


class EventPort(Protocol):
    """Events as they happened: the queue of record."""

    def emit(self, name: str, now: datetime, *, qualifier: str | None = None,
             subject_kind: str | None = None, subject: Record | None = None,
             previous: Record | None = None, cascade: int = 0, actor: str | None = None,
             dedupe_key: str | None = None, execution: int | None = None) -> int | None:
        """Record an event; None when `dedupe_key` was seen before (it happened already)."""
        ...

    def event(self, event_id: int) -> Record | None: ...

    def mark_processed(self, event_id: int, now: datetime,
                       records: dict[str, Any] | None = None) -> bool:
        """Compare-and-set: exactly one processor turns an event into executions; `records` are
        the records its subject referred to then (what the conditions read besides it)."""
        ...

    def unprocessed_events(self, before: datetime) -> list[int]:
        """Events not yet matched that happened before `before` (newer ones have a task)."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class DefinitionPort(Protocol):
    """Published versions and which one is active."""

    def publish(self, name: str, kind: str, source: str, plan: dict[str, Any], plan_hash: str,
                author: str, now: datetime) -> int:
        """Store a new immutable version and make it the active one; returns its number."""
        ...

    def version_plan(self, version_id: int) -> dict[str, Any]: ...

    def active_versions(self) -> list[tuple[int, str]]:
        """(version row id, plan hash) of every active definition."""
        ...

    def active_version_of(self, name: str) -> int | None:
        """The row id of a definition's active version."""
        ...


class RunPort(Protocol):
    """Executions: leases, state, waits, watches and steps."""

    def create_execution(self, now: datetime, **fields: Any) -> int: ...

    def runs_since(self, definition: str, subject_kind: str | None, subject_id: str | None,
                   since: datetime) -> int:
        """How many runs of a definition started on one subject since `since` (rate limit)."""
        ...

    def claim(self, execution_id: int, owner: str, now: datetime, lease: float) -> Record | None:
        """Take a runnable execution with a lease; None if another worker holds it or it is done."""
        ...

    def commit_execution(self, execution_id: int, owner: str, revision: int, now: datetime,
                         state: dict[str, Any], status: str, reason: str | None,
                         wake_at: datetime | None) -> bool:
        """Save a slice's outcome if this worker still holds the lease and nothing changed."""
        ...

    def renew(self, owner: str, now: datetime, lease: float, executions: list[int]) -> int:
        """Extend the leases of the slices `owner` is running now (a worker's heartbeat); a lease
        whose slice has ended, however it ended, is left to expire."""
        ...

    def retry_later(self, execution_id: int, owner: str, until: datetime, reason: str) -> bool:
        """A slice failed unexpectedly: nobody may take the run before `until` (the sweeper
        re-queues it then); `reason` says what went wrong, for whoever looks meanwhile."""
        ...

    def give_up(self, execution_id: int, now: datetime, reason: str) -> bool:
        """End a run whose slices keep failing: `failed`, with the reason (compare-and-set)."""
        ...

    def attempts(self, execution_id: int) -> int: ...

    def release(self, execution_id: int, owner: str) -> None:
        """Give a lease back early (the slice will be redone by whoever takes it next)."""
        ...

    def nudge(self, execution_id: int, now: datetime) -> bool:
        """Something a waiting execution may be waiting for happened: make it runnable.

        The revision bump also makes a slice in flight fail its commit and run again, so a
        decision that lands mid-slice is never lost."""
        ...

    def wake(self, execution_id: int, now: datetime) -> bool:
        """Make one waiting execution runnable if its earliest deadline has passed (CAS)."""
        ...

    def wake_due(self, now: datetime) -> list[int]:
        """Waiting executions whose earliest deadline has passed, made runnable (CAS each)."""
        ...

    def runnable_unleased(self, now: datetime, grace: float) -> list[int]:
        """Runnable executions nobody is running: a lease that expired (a dead worker), or no
        lease for longer than `grace` seconds (a lost task). Fresh ones are left to their task."""
        ...

    def watchers(self, kind: str, record_id: str) -> list[int]:
        """Executions a change of this record may concern: those waiting `until` a condition
        that reads it (their watch list), and those running a slice on it now as their subject
        (their view of it may be stale: they redo it)."""
        ...

    def replace_watches(self, execution_id: int, records: set[tuple[str, str]]) -> None:
        """The records an execution's `wait until` reads now (none once it no longer waits)."""
        ...

    def replace_waits(self, execution_id: int, waits: list[dict[str, Any]], now: datetime,
                      resolved_by: str) -> None:
        """Mirror the VM's waits as rows (deadlines queryable); resolve the ones that ended."""
        ...

    def add_steps(self, rows: list[dict[str, Any]]) -> None: ...


class LinkPort(Protocol):
    """Which executions ran on, created or changed which records."""

    def add(self, rows: list[Record]) -> None:
        """Link executions to records: each row `{"execution", "kind", "record_id", "role",
        "at"}`, with `pc`, `line`, `statement`, `instruction`, `field`, `old`, `new` where they
        apply (inside the caller's transaction)."""
        ...


class AuditPort(Protocol):
    """The audit log."""

    def write(self, kind: str, now: datetime, data: dict[str, Any], execution: int | None = None,
              subject: str | None = None) -> None: ...


class ApprovalPort(Protocol):
    """Approval requests and their decisions."""

    def approval(self, request_id: int) -> Record: ...

    def approval_of(self, execution: int, name: str) -> Record | None: ...

    def decide(self, request_id: int, user: str, decision: str, comment: str | None,
               now: datetime) -> Record:
        """Record one approver's decision; exactly one outcome wins against the timeout."""
        ...

    def decisions(self, request_id: int) -> list[Record]: ...

    def time_out(self, request_id: int, now: datetime) -> bool:
        """Compare-and-set pending -> timed_out; False when a decision got there first."""
        ...

    def asked(self, request_id: int) -> list[str]: ...

    def due_reminders(self, now: datetime) -> list[int]: ...

    def mark_reminded(self, request_id: int, now: datetime) -> bool:
        """Move a due reminder on (CAS): True for exactly one caller per reminder."""
        ...


class OutboxPort(Protocol):
    """The outbox of external sends."""

    def due_sends(self, now: datetime) -> list[int]: ...

    def claim_send(self, send_id: int, now: datetime, lease: float) -> Record | None:
        """Take a due send with a lease (a worker dying mid-send lets it go again, same id)."""
        ...

    def send_done(self, send_id: int, now: datetime) -> None: ...

    def send_failed(self, send_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: try again at `retry_at`, or give up (None)."""
        ...

    def queue_send(self, channel: str, target: str, payload: dict[str, Any], now: datetime,
                   execution: int | None = None, not_before: datetime | None = None) -> int:
        """Write a send to the outbox (inside the caller's transaction); its id never changes."""
        ...


class WebhookPort(Protocol):
    """Webhook endpoints and inbound deliveries."""

    def endpoint(self, name: str, direction: str) -> Record: ...

    def accept_inbound(self, endpoint: str, webhook_id: str, now: datetime) -> int | None:
        """Remember a delivery id; the id of the earlier event (or None) if seen before."""
        ...

    def inbound_event(self, endpoint: str, webhook_id: str, event: int | None) -> None: ...

class Store(Protocol):
    """The whole store as the engine sees it: its parts and its transactions."""

    @property
    def records(self) -> RecordPort: ...
    @property
    def events(self) -> EventPort: ...
    @property
    def definitions(self) -> DefinitionPort: ...
    @property
    def runs(self) -> RunPort: ...
    @property
    def links(self) -> LinkPort: ...
    @property
    def audit(self) -> AuditPort: ...
    @property
    def approvals(self) -> ApprovalPort: ...
    @property
    def outbox(self) -> OutboxPort: ...
    @property
    def webhooks(self) -> WebhookPort: ...

    def tx(self) -> AbstractContextManager[None]:
        """One transaction around everything done inside it."""
        ...

    def world(self, execution: int, workflow: str, subject_kind: str | None,
              subject_id: str | None, cascade: int) -> SliceWorld:
        """Where one slice of one execution keeps its effects, inside the slice's transaction."""
        ...

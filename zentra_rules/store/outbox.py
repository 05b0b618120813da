"""The outbox: every external send, with its message id, attempts and outcome."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from zentra_rules.domain.values import iso
from zentra_rules.store.models import (
    Outbox as OutboxRow,
)

Record = dict[str, Any]


class Outbox:
    """The outbox: every external send, with its message id, attempts and outcome."""

    def __init__(self, db: pw.Database):
        self.db = db

    def queue_send(self, channel: str, target: str, payload: dict[str, Any], now: datetime,
                   execution: int | None = None, not_before: datetime | None = None) -> int:
        """Write a send to the outbox (inside the caller's transaction); its id never changes."""
        return int(OutboxRow.insert(
            message_id=f"msg_{uuid.uuid4().hex}", channel=channel, target=target,
            payload=payload, execution=execution, status="pending",
            next_attempt_at=not_before or now, created_at=now).execute())

    def due_sends(self, now: datetime) -> list[int]:
        return [o.id for o in OutboxRow.select(OutboxRow.id).where(
            OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now,
            (OutboxRow.lease_until.is_null()) | (OutboxRow.lease_until < now)).order_by(OutboxRow.id)]

    def claim_send(self, send_id: int, now: datetime, lease: float) -> Record | None:
        """Take a due send with a lease (a worker dying mid-send lets it go again, same id)."""
        taken = OutboxRow.update(lease_until=now + timedelta(seconds=lease),
                              attempts=OutboxRow.attempts + 1).where(
            OutboxRow.id == send_id, OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now,
            (OutboxRow.lease_until.is_null()) | (OutboxRow.lease_until < now)).execute()
        if not taken:
            return None
        row = OutboxRow.get_by_id(send_id)
        return {"id": row.id, "message_id": row.message_id, "channel": row.channel,
                "target": row.target, "payload": row.payload, "attempts": row.attempts,
                "execution": row.execution, "created_at": row.created_at}

    def send_done(self, send_id: int, now: datetime) -> None:
        OutboxRow.update(status="delivered", delivered_at=now, lease_until=None,
                      last_error=None).where(OutboxRow.id == send_id).execute()

    def send_failed(self, send_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: try again at `retry_at`, or give up (None)."""
        fields: dict[Any, Any] = {OutboxRow.last_error: error[:2000], OutboxRow.lease_until: None}
        if retry_at is None:
            fields[OutboxRow.status] = "failed"
        else:
            fields[OutboxRow.next_attempt_at] = retry_at
        OutboxRow.update(fields).where(OutboxRow.id == send_id).execute()

    def sends(self, execution: int | None = None) -> list[Record]:
        query = OutboxRow.select().order_by(OutboxRow.id)
        if execution is not None:
            query = query.where(OutboxRow.execution == execution)
        return [{"id": o.id, "message_id": o.message_id, "channel": o.channel, "target": o.target,
                 "payload": o.payload, "status": o.status, "attempts": o.attempts,
                 "last_error": o.last_error, "execution": o.execution,
                 "delivered_at": iso(o.delivered_at) if o.delivered_at else None}
                for o in query]

"""The outbox of external sends, webhook endpoints, inbound deliveries seen, and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from zentra_rules.domain.errors import ConflictError, InputError, NotFoundError
from zentra_rules.domain.values import iso
from zentra_rules.store.models import ApiToken, InboundDelivery, Outbox, WebhookEndpoint

Record = dict[str, Any]
ROLES = ("admin", "editor", "agent", "viewer")


class Sends:
    """Mixin of `Store`: what must leave the engine, and the endpoints it may go to."""

    db: pw.Database

    def queue_send(self, channel: str, target: str, payload: dict[str, Any], now: datetime,
                   execution: int | None = None, not_before: datetime | None = None) -> int:
        """Write a send to the outbox (inside the caller's transaction); its id never changes."""
        return int(Outbox.insert(
            message_id=f"msg_{uuid.uuid4().hex}", channel=channel, target=target,
            payload=payload, execution=execution, status="pending",
            next_attempt_at=not_before or now, created_at=now).execute())

    def due_sends(self, now: datetime) -> list[int]:
        return [o.id for o in Outbox.select(Outbox.id).where(
            Outbox.status == "pending", Outbox.next_attempt_at <= now,
            (Outbox.lease_until.is_null()) | (Outbox.lease_until < now)).order_by(Outbox.id)]

    def claim_send(self, send_id: int, now: datetime, lease: float) -> Record | None:
        """Take a due send with a lease (a worker dying mid-send lets it go again, same id)."""
        taken = Outbox.update(lease_until=now + timedelta(seconds=lease),
                              attempts=Outbox.attempts + 1).where(
            Outbox.id == send_id, Outbox.status == "pending", Outbox.next_attempt_at <= now,
            (Outbox.lease_until.is_null()) | (Outbox.lease_until < now)).execute()
        if not taken:
            return None
        row = Outbox.get_by_id(send_id)
        return {"id": row.id, "message_id": row.message_id, "channel": row.channel,
                "target": row.target, "payload": row.payload, "attempts": row.attempts,
                "execution": row.execution, "created_at": row.created_at}

    def send_done(self, send_id: int, now: datetime) -> None:
        Outbox.update(status="delivered", delivered_at=now, lease_until=None,
                      last_error=None).where(Outbox.id == send_id).execute()

    def send_failed(self, send_id: int, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt: try again at `retry_at`, or give up (None)."""
        fields: dict[Any, Any] = {Outbox.last_error: error[:2000], Outbox.lease_until: None}
        if retry_at is None:
            fields[Outbox.status] = "failed"
        else:
            fields[Outbox.next_attempt_at] = retry_at
        Outbox.update(fields).where(Outbox.id == send_id).execute()

    def sends(self, execution: int | None = None) -> list[Record]:
        query = Outbox.select().order_by(Outbox.id)
        if execution is not None:
            query = query.where(Outbox.execution == execution)
        return [{"id": o.id, "message_id": o.message_id, "channel": o.channel, "target": o.target,
                 "payload": o.payload, "status": o.status, "attempts": o.attempts,
                 "last_error": o.last_error, "execution": o.execution,
                 "delivered_at": iso(o.delivered_at) if o.delivered_at else None}
                for o in query]

    # -- webhook endpoints ------------------------------------------------------------------
    def register_endpoint(self, name: str, direction: str, secret: str, now: datetime,
                          url: str | None = None) -> None:
        if WebhookEndpoint.get_or_none(WebhookEndpoint.name == name,
                                       WebhookEndpoint.direction == direction) is not None:
            raise ConflictError(f"an {direction} webhook named `{name}` exists already")
        WebhookEndpoint.create(name=name, direction=direction, url=url, secret=secret,
                               created_at=now)

    def endpoint(self, name: str, direction: str) -> Record:
        row = WebhookEndpoint.get_or_none(WebhookEndpoint.name == name,
                                          WebhookEndpoint.direction == direction)
        if row is None:
            raise NotFoundError(f"no {direction} webhook endpoint named `{name}`")
        return {"name": row.name, "url": row.url, "secret": row.secret}

    def accept_inbound(self, endpoint: str, webhook_id: str, now: datetime) -> int | None:
        """Remember a delivery id; the id of the earlier event (or None) if seen before."""
        try:
            with self.db.atomic():
                InboundDelivery.create(endpoint=endpoint, webhook_id=webhook_id, at=now)
        except pw.IntegrityError:
            row = InboundDelivery.get(InboundDelivery.endpoint == endpoint,
                                      InboundDelivery.webhook_id == webhook_id)
            return -1 if row.event is None else int(row.event)
        return None

    def inbound_event(self, endpoint: str, webhook_id: str, event: int | None) -> None:
        InboundDelivery.update(event=event).where(InboundDelivery.endpoint == endpoint,
                                                  InboundDelivery.webhook_id == webhook_id).execute()

    # -- API tokens -------------------------------------------------------------------------
    def create_token(self, role: str, user: str | None, now: datetime,
                     token: str | None = None) -> str:
        """A new token (only its hash is stored); `token` given: make sure it exists."""
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        token = token or "zt_" + secrets.token_urlsafe(32)
        digest = hashlib.sha256(token.encode()).hexdigest()
        ApiToken.insert(token_hash=digest, role=role, user=user, created_at=now
                        ).on_conflict_ignore().execute()
        return token

    def token(self, token: str) -> Record | None:
        """The live token with this value (looked up by its hash), or None."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        row = ApiToken.get_or_none(ApiToken.token_hash == digest, ApiToken.revoked_at.is_null())
        return None if row is None else {"id": row.id, "role": row.role, "user": row.user}

    def token_id(self, token: str) -> int:
        digest = hashlib.sha256(token.encode()).hexdigest()
        return int(ApiToken.get(ApiToken.token_hash == digest).id)

    def tokens(self) -> list[Record]:
        return [{"id": t.id, "role": t.role, "user": t.user, "created_at": iso(t.created_at),
                 "revoked_at": iso(t.revoked_at) if t.revoked_at else None}
                for t in ApiToken.select().order_by(ApiToken.id)]

    def revoke_token(self, token_id: int, now: datetime) -> None:
        if ApiToken.get_or_none(ApiToken.id == token_id) is None:
            raise NotFoundError(f"no token {token_id}")
        ApiToken.update(revoked_at=now).where(ApiToken.id == token_id,
                                              ApiToken.revoked_at.is_null()).execute()

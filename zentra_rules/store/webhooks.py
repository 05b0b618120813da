"""Registered webhook endpoints and the inbound deliveries already seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee as pw

from zentra_rules.domain.errors import ConflictError, NotFoundError
from zentra_rules.store.models import (
    InboundDelivery,
    WebhookEndpoint,
)

Record = dict[str, Any]


class Webhooks:
    """Registered webhook endpoints and the inbound deliveries already seen."""

    def __init__(self, db: pw.Database):
        self.db = db

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

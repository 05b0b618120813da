"""Delivering the outbox: one send at a time, retried with backoff under the same message id."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from zentra_rules.domain.errors import DeliveryError, NotFoundError
from zentra_rules.domain.values import text
from zentra_rules.integrations import notify, webhooks

if TYPE_CHECKING:
    from runtime.durable.engine import Engine

LEASE_MARGIN = 30.0        # seconds beyond the send's own timeout before another worker may retry
MAX_BACKOFF = 3600.0


def backoff(attempts: int) -> float:
    """Seconds before the next try: 5 s, 10 s, 20 s, ... at most an hour."""
    return min(5.0 * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def deliver(engine: Engine, send_id: int) -> None:
    """Try one due send. The retry decision is made here, from `DeliveryError.retryable`."""
    store, config = engine.store, engine.config
    now = engine.clock.now()
    with store.tx():
        send = store.outbox.claim_send(send_id, now, config.webhook_timeout + LEASE_MARGIN)
    if send is None:
        return
    try:
        _dispatch(engine, send)
    except DeliveryError as exc:
        retry = exc.retryable and send["attempts"] < config.max_attempts
        retry_at = now + timedelta(seconds=backoff(send["attempts"])) if retry else None
        with store.tx():
            store.outbox.send_failed(send_id, str(exc), retry_at)
            if retry_at is None:
                store.audit.write("send.failed", now, {"message_id": send["message_id"],
                                                 "channel": send["channel"], "error": str(exc),
                                                 "attempts": send["attempts"]}, send["execution"])
        if retry_at is not None:
            engine.queue.deliver(send_id, eta=retry_at)
        return
    with store.tx():
        store.outbox.send_done(send_id, engine.clock.now())


def _dispatch(engine: Engine, send: dict[str, Any]) -> None:
    payload, config = send["payload"], engine.config
    if send["channel"] == "webhook":
        try:
            endpoint = engine.store.webhooks.endpoint(send["target"], "outbound")
        except NotFoundError:
            raise DeliveryError(f"no outbound webhook endpoint named `{send['target']}` is "
                                "registered", retryable=False) from None
        body = json.dumps(payload.get("body"), separators=(",", ":"), ensure_ascii=False,
                          default=str).encode()
        webhooks.deliver(str(endpoint["url"]), str(endpoint["secret"]), send["message_id"], body,
                         int(engine.clock.now().timestamp()), timeout=config.webhook_timeout,
                         allow_private=config.allow_private)
        return
    if not send["target"]:
        raise DeliveryError(f"a {send['channel']} message has no recipient", retryable=False)
    notify.send(send["channel"], send["target"], payload.get("subject"),
                text(payload.get("body")), config.integrations, send["message_id"])

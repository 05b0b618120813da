"""Delivering the outbox: one send at a time, retried with backoff under the same message id."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from runtime.durable.ports import Queue, Sender, Store
from zentra_rules.domain.clock import Clock
from zentra_rules.domain.errors import DeliveryError, NotFoundError
from zentra_rules.domain.values import text

LEASE_MARGIN = 30.0        # seconds beyond the send's own timeout before another worker may retry
MAX_BACKOFF = 3600.0


def backoff(attempts: int) -> float:
    """Seconds before the next try: 5 s, 10 s, 20 s, ... at most an hour."""
    return min(5.0 * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def deliver(send_id: int, *, store: Store, sender: Sender, queue: Queue, clock: Clock,
            timeout: float, max_attempts: int) -> None:
    """Try one due send. The retry decision is made here, from `DeliveryError.retryable`."""
    now = clock.now()
    with store.tx():
        send = store.outbox.claim_send(send_id, now, timeout + LEASE_MARGIN)
    if send is None:
        return
    try:
        _dispatch(store, sender, send, clock)
    except DeliveryError as exc:
        retry = exc.retryable and send["attempts"] < max_attempts
        retry_at = now + timedelta(seconds=backoff(send["attempts"])) if retry else None
        with store.tx():
            store.outbox.send_failed(send_id, str(exc), retry_at)
            if retry_at is None:
                store.audit.write("send.failed", now, {"message_id": send["message_id"],
                                                       "channel": send["channel"],
                                                       "error": str(exc),
                                                       "attempts": send["attempts"]},
                                  send["execution"])
        if retry_at is not None:
            queue.deliver(send_id, eta=retry_at)
        return
    with store.tx():
        store.outbox.send_done(send_id, clock.now())


def _dispatch(store: Store, sender: Sender, send: dict[str, Any], clock: Clock) -> None:
    payload = send["payload"]
    if send["channel"] == "webhook":
        try:
            endpoint = store.webhooks.endpoint(send["target"], "outbound")
        except NotFoundError:
            raise DeliveryError(f"no outbound webhook endpoint named `{send['target']}` is "
                                "registered", retryable=False) from None
        body = json.dumps(payload.get("body"), separators=(",", ":"), ensure_ascii=False,
                          default=str).encode()
        sender.webhook(str(endpoint["url"]), str(endpoint["secret"]), send["message_id"], body,
                       int(clock.now().timestamp()))
        return
    if not send["target"]:
        raise DeliveryError(f"a {send['channel']} message has no recipient", retryable=False)
    sender.message(send["channel"], send["target"], payload.get("subject"),
                   text(payload.get("body")), send["message_id"])

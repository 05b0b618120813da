"""The engine's sender: one attempt at a webhook or a message, with the configured settings."""

from __future__ import annotations

from zentra_rules.domain.config import Config
from zentra_rules.integrations import notify, webhooks


class Outbound:
    """`runtime.durable.ports.Sender` on HTTP (webhooks) and Apprise (email, Slack, Teams)."""

    def __init__(self, config: Config):
        self.config = config

    def webhook(self, url: str, secret: str, message_id: str, body: bytes, timestamp: int) -> None:
        webhooks.deliver(url, secret, message_id, body, timestamp,
                         timeout=self.config.webhook_timeout,
                         allow_private=self.config.allow_private)

    def message(self, channel: str, target: str, subject: str | None, body: str,
                message_id: str) -> None:
        notify.send(channel, target, subject, body, self.config.integrations, message_id)

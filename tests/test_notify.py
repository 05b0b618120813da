"""Notifications through Apprise, against a real SMTP server and a real local HTTPS receiver."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import apprise
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from apprise.plugins.slack import NotifySlack

from zentra_rules.domain.errors import DeliveryError
from zentra_rules.integrations.notify import MESSAGE_ID_HEADER, _slack_target, _slack_url, redact, send

from .services import require_tool

# Apprise loads every plugin on first use; its email plugin imports `imghdr` (for PGPy), which warns on
# Python 3.11-3.12. Nothing we call uses it, and the warning is the library's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

SECRET = "s3cret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler: keeps every envelope it is given."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def only(self) -> tuple[Envelope, EmailMessage]:
        assert len(self.envelopes) == 1
        envelope = self.envelopes[0]
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return envelope, message


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mail_url(port: int, extra: str = "") -> str:
    # mailto:// (not mailtos://) with mode=insecure: plain SMTP, no STARTTLS, as a local relay speaks it
    return f"mailto://127.0.0.1:{port}{extra}?from=desk@example.com&mode=insecure"


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def test_email_reaches_a_real_smtp_server(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    send("email", "hr@example.com", "New joiner Ana: not approved", "Outcome: rejected",
         {"email": mail_url(port)}, "msg_123")
    envelope, message = inbox.only()
    assert envelope.mail_from == "desk@example.com"
    assert envelope.rcpt_tos == ["hr@example.com"]
    assert message["Subject"] == "New joiner Ana: not approved"
    assert message["From"] == "desk@example.com"
    assert message["To"] == "hr@example.com"
    assert message[MESSAGE_ID_HEADER] == "msg_123"
    assert len(message.get_all("Message-ID") or []) == 1   # Apprise's own, not a second one of ours
    assert text_of(message).strip() == "Outcome: rejected"


def test_the_statement_target_is_the_only_recipient(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    configured = (f"mailto://127.0.0.1:{port}/old@example.com?to=older@example.com"
                  "&%2BX-Zentra-Message-ID=stale&from=desk@example.com&mode=insecure")
    send("email", "hr@example.com", "Hi", "Body", {"email": configured}, "msg_9")
    envelope, message = inbox.only()
    assert envelope.rcpt_tos == ["hr@example.com"]
    assert message.get_all(MESSAGE_ID_HEADER) == ["msg_9"]


def test_ticket_text_cannot_forge_headers_or_markup(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    # format=html asks Apprise for HTML mail: our plain text must arrive escaped, not as markup
    send("email", "hr@example.com", "Hi\r\nBcc: evil@example.com", "<b>bold</b>",
         {"email": mail_url(port) + "&format=html"}, "msg_1")
    envelope, message = inbox.only()
    assert envelope.rcpt_tos == ["hr@example.com"]
    assert message["Bcc"] is None
    assert message["Subject"] == "Hi Bcc: evil@example.com"
    html = text_of(message, "html")
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>" not in html


def test_smtp_down_is_retryable_and_keeps_the_password_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="apprise")
    url = f"mailto://user:{SECRET}@127.0.0.1:{free_port()}?from=desk@example.com&mode=insecure"
    with pytest.raises(DeliveryError) as caught:
        send("email", "hr@example.com", "Hi", "Body", {"email": url}, "msg_1")
    assert caught.value.retryable is True
    assert SECRET not in str(caught.value)
    assert "mailto://127.0.0.1:" in str(caught.value)
    assert caplog.records and SECRET not in caplog.text


@pytest.mark.parametrize(("channel", "key"), [("email", "email"), ("slack dm", "slack"), ("teams", "teams")])
def test_missing_url_names_the_config_key(channel: str, key: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel, "someone", None, "Body", {"other": "x"}, "msg_1")
    assert caught.value.retryable is False
    assert f"integrations.{key}.url" in str(caught.value)
    assert f"ZENTRA_INTEGRATIONS_{key.upper()}_URL" in str(caught.value)


def test_unknown_channel_is_not_retried() -> None:
    with pytest.raises(DeliveryError, match="unknown notification channel 'pager'") as caught:
        send("pager", "x", None, "Body", {"email": "mailto://127.0.0.1"}, "msg_1")
    assert caught.value.retryable is False


@pytest.mark.parametrize(("channel", "url"), [
    ("email", f"nosuchscheme://user:{SECRET}@example.com"),
    ("teams", f"workflow://user:{SECRET}@example.com/not valid/"),
    ("slack", f"slack://user:{SECRET}@"),
])
def test_url_apprise_cannot_use_is_not_retried(channel: str, url: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel, "x@example.com" if channel == "email" else "general", None, "Body",
             {channel: url}, "msg_1")
    assert caught.value.retryable is False
    assert f"integrations.{channel}.url" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(("channel", "target"), [
    ("email", "a@example.com, evil@example.com"), ("email", "not-an-address"),
    ("slack", "#two words"), ("slack dm", "#chan"), ("slack", "x" * 33),
])
def test_bad_targets_are_not_retried(channel: str, target: str) -> None:
    urls = {"email": "mailto://127.0.0.1?from=desk@example.com", "slack": "slack://A/B/C"}
    with pytest.raises(DeliveryError) as caught:
        send(channel, target, None, "Body", urls, "msg_1")
    assert caught.value.retryable is False


@pytest.mark.parametrize(("url", "shown"), [
    ("mailtos://user:pass@smtp.example.com:587?from=desk@example.com", "mailtos://smtp.example.com:587"),
    ("mailto://127.0.0.1:8025?from=desk@example.com", "mailto://127.0.0.1:8025"),
    ("slack://TokenA/TokenB/TokenC/#chan", "slack://…/…"),
    ("slack://xoxb-1234-abcd", "slack://…"),
    ("workflow://prod.logic.azure.com:443/WORKFLOW/SIG?sig=x", "workflow://prod.logic.azure.com:443/…"),
    ("not a url", "<not a URL>"),
])
def test_redact_keeps_only_scheme_and_host(url: str, shown: str) -> None:
    assert redact(url) == shown


SLACK_HOOK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"


@pytest.mark.parametrize(("channel", "target", "channels"), [
    # Apprise reads `#` in `to=` as a separator and makes a bare name a channel again: "hr" means #hr
    ("slack", "#hr", ["hr"]), ("slack", "hr", ["hr"]), ("slack", "+C012AB3CD", ["+C012AB3CD"]),
    ("slack dm", "ana", ["@ana"]), ("slack dm", "@ana", ["@ana"]),
    ("slack dm", "ana@example.com", ["ana@example.com"]),
])
@pytest.mark.parametrize("configured", [
    SLACK_HOOK,
    SLACK_HOOK + "/#general/@bob?to=%23old",
    "slack://xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d/#general",
    "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7",
])
def test_slack_target_is_the_only_channel_apprise_sees(
        channel: str, target: str, channels: list[str], configured: str) -> None:
    plugin = apprise.Apprise.instantiate(_slack_url(configured, _slack_target(channel, target)))
    assert isinstance(plugin, NotifySlack)
    assert plugin.channels == channels


@pytest.mark.parametrize(("channel", "target", "sent"), [("slack", "hr", "#hr"), ("slack dm", "ana", "@ana")])
def test_slack_message_reaches_a_webhook_receiver(
        channel: str, target: str, sent: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    # Slack's endpoint is a constant of the plugin, not part of the URL: aim it at the local receiver
    monkeypatch.setattr(NotifySlack, "webhook_url", f"https://127.0.0.1:{receiver.port}/services")
    send(channel, target, None, "Laptop ready", {"slack": SLACK_HOOK + "/#general"}, "msg_1")
    [seen] = receiver.requests
    assert seen.path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    payload = json.loads(seen.body)
    assert payload["channel"] == sent
    assert "Laptop ready" in json.dumps(payload)


# --- a real local HTTPS receiver (Apprise's Workflows and Slack plugins only speak https) ---

@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    body: bytes


@dataclass
class Receiver:
    port: int
    status: int = 200
    reply: bytes = b"ok"   # what a Slack webhook answers
    requests: list[Seen] = field(default_factory=list)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            parts = urlsplit(self.path)
            receiver.requests.append(Seen(parts.path, parse_qs(parts.query), self.rfile.read(length)))
            self.send_response(receiver.status)
            self.send_header("Content-Length", str(len(receiver.reply)))
            self.end_headers()
            self.wfile.write(receiver.reply)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass
    return Handler


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    openssl = require_tool("openssl")   # to make the receiver's certificate
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    # requests (under Apprise) trusts this bundle: certificates stay verified, no insecure-request warnings
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    state = Receiver(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_teams_message_reaches_a_workflow_receiver(receiver: Receiver) -> None:
    url = f"workflow://127.0.0.1:{receiver.port}/wf123/{SECRET}"
    send("teams", "IT Support", "New laptop", "Laptop ready for Ana", {"teams": url}, "msg_1")
    [seen] = receiver.requests
    assert seen.path == "/workflows/wf123/triggers/manual/paths/invoke"
    assert seen.query["sig"] == [SECRET]
    card = json.loads(seen.body)["attachments"][0]["content"]
    blocks = {block.get("id"): block.get("text") for block in card["body"]}
    assert blocks["title"] == "New laptop"
    # Apprise escapes our plain text for the card's Markdown: `\[` shows as `[`
    assert blocks["body"].replace("\\", "") == "[IT Support]\n\nLaptop ready for Ana"


def test_teams_refused_is_retryable_without_the_signature(
        receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="apprise")
    receiver.status = 500
    url = f"workflow://127.0.0.1:{receiver.port}/wf123/{SECRET}"
    with pytest.raises(DeliveryError) as caught:
        send("teams dm", "ana", None, "Hello", {"teams": url}, "msg_1")
    assert caught.value.retryable is True
    assert SECRET not in str(caught.value)
    assert caplog.records and SECRET not in caplog.text
    assert len(receiver.requests) == 1

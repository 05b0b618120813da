"""Notifications leave the engine here and only here: email, Slack and Teams messages sent through Apprise."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, unquote

import apprise

from zentra_rules.domain.errors import DeliveryError
from zentra_rules.domain.messages import CHANNELS

# Apprise always writes its own Message-ID after the custom headers, and `email.message` appends rather
# than replaces, so `+Message-ID=` would give two Message-ID headers (RFC 5322 allows one); our ids are
# not `<left@right>` msg-ids either. Receivers (and dedup rules) find the id in this header instead.
MESSAGE_ID_HEADER = "X-Zentra-Message-ID"

_ADDRESS = re.compile(r"[^\s@,;:<>()\[\]\"'\\]+@[^\s@,;:<>()\[\]\"'\\]+\.[A-Za-z0-9-]+")
_SLACK_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")  # Apprise's Slack plugin skips (and fails on) other names
_MESSAGE_ID = re.compile(r"[\x21-\x7e]{1,200}")   # printable ASCII: nothing that could end a header line
_HOST = re.compile(r"(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+|localhost|\[[0-9A-Fa-f:.]+\]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def redact(url: str) -> str:
    """`url` fit for messages and logs: scheme and host:port only, no user, password, path or query."""
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return "<not a URL>"
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host, colon, port = netloc.rpartition("@")[2].partition(":")
    # Slack (and others) put a token where the host goes: show a host only when it looks like one
    shown = host + (colon + port if port.isdigit() else "") if _HOST.fullmatch(host) else "…"
    path = re.split(r"[?#]", rest[len(netloc):], maxsplit=1)[0]
    return f"{scheme}://{shown}" + ("/…" if path.strip("/") else "")


def send(channel: str, target: str, subject: str | None, body: str, urls: Mapping[str, str],
         message_id: str) -> None:
    """Send one message to `target` on `channel`; DeliveryError says whether a retry can help."""
    kind = CHANNELS.get(channel)
    if kind is None:
        raise DeliveryError(f"unknown notification channel {channel!r}: expected one of "
                            + ", ".join(CHANNELS), retryable=False)
    configured = urls.get(kind, "")
    if not configured:
        raise DeliveryError(f"cannot send {channel} to {target}: no {kind} integration is configured; set "
                            f"integrations.{kind}.url (env ZENTRA_INTEGRATIONS_{kind.upper()}_URL) to an "
                            "Apprise URL", retryable=False)
    title = " ".join((subject or "").splitlines())  # a subject is one line; a newline could forge headers
    if kind == "email":
        url = _email_url(configured, target, message_id)
    elif kind == "slack":
        url = _slack_url(configured, _slack_target(channel, target))
    else:
        # A Power Automate workflow posts where its flow says: Apprise's workflow:// plugin has no channel
        # or user argument, so the flow (or the reader) finds the target at the start of the text.
        url, body = configured, f"[{target}]\n\n{body}"
    # A fresh Apprise per send: the URL differs per recipient anyway, and a plugin object keeps state
    # (throttle clock, "already delivered to" memory for retries) that must not leak into the next message.
    # Plugin modules are loaded once per process by Apprise itself, so this costs next to nothing.
    notifier = apprise.Apprise(asset=apprise.AppriseAsset(secure_logging=True))  # Apprise masks secrets
    if not notifier.add(url):
        raise DeliveryError(f"integrations.{kind}.url is not an Apprise URL that can be used "
                            f"({redact(configured)}); see https://appriseit.com/services/", retryable=False)
    # TEXT: our body is plain text; Apprise escapes it for HTML email and Markdown chat instead of
    # letting ticket text inject markup.
    if not notifier.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT):
        raise DeliveryError(f"{channel} to {target} via {redact(configured)} failed (server down or "
                            "refused); the `apprise` logger has the reason", retryable=True)


def _email_url(url: str, target: str, message_id: str) -> str:
    if not _ADDRESS.fullmatch(target):
        raise DeliveryError(f"{target!r} is not one email address (like name@example.com)", retryable=False)
    if not _MESSAGE_ID.fullmatch(message_id):
        raise DeliveryError(f"message id {message_id!r} cannot go in an email header", retryable=False)
    scheme, sep, rest = url.partition("://")
    if scheme.lower() in ("mailto", "mailtos"):
        # Apprise also mails every address in the path: the statement's target must be the only one
        head, query_sep, query = rest.partition("?")
        url = scheme + sep + head.split("/", 1)[0] + query_sep + query
    return _with_args(url, {"to": target, "+" + MESSAGE_ID_HEADER: message_id})


def _slack_target(channel: str, target: str) -> str:
    """`#chan` / `@user` as Apprise's Slack plugin takes them; an email is looked up by Slack (dm only)."""
    if channel == "slack dm":
        if _ADDRESS.fullmatch(target):
            return target
        name, prefixed = target.removeprefix("@"), "@" + target.removeprefix("@")
    else:
        # `+ID` is a raw Slack channel id, `@user` a direct message; a bare name is a channel
        prefixed = target if target[:1] in ("#", "@", "+") else "#" + target
        name = prefixed[1:]
    if not _SLACK_NAME.fullmatch(name):
        raise DeliveryError(f"{target!r} is not a Slack {'user' if channel == 'slack dm' else 'channel'} "
                            "name (letters, digits, - and _, at most 32)", retryable=False)
    return prefixed


def _slack_url(url: str, target: str) -> str:
    scheme, sep, rest = url.partition("://")
    head, query_sep, query = rest.partition("?")
    parts = [part for part in head.split("/") if part]
    args = {unquote(pair.partition("=")[0]).strip().lower() for pair in re.split("[&;]", query)}
    if scheme.lower() == "slack" and parts and not args & {"mode", "token"}:
        # Channels written in the configured URL would get every message too: keep only the tokens
        # (one bot token `xox…`, or the three of a webhook); the statement names the one channel.
        keep = 1 if parts[0].rpartition("@")[2].startswith("xo") else 3
        url = scheme + sep + "/".join(parts[:keep]) + "/" + query_sep + query
    return _with_args(url, {"to": target})


def _with_args(url: str, args: Mapping[str, str]) -> str:
    """`url` with `args` set in its query, earlier values of those names dropped, the rest kept verbatim."""
    head, _, query = url.partition("?")
    # Re-encoding the whole query would turn a literal `+` (Apprise keeps those) into a space.
    names = {name.lower() for name in args}
    kept = [pair for pair in re.split("[&;]", query)
            if pair and unquote(pair.partition("=")[0]).strip().lower() not in names]
    added = [f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in args.items()]
    return head + "?" + "&".join(kept + added)

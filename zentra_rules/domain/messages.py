"""What a send statement sends, and to whom: written once, for the dry run and the outbox alike.

A recipient that is a user (`requester`, `requester.manager`, `agent`, `user "ID"`) is reached at
the user's own address for the channel: `email` for email, `slack` for a Slack DM, `teams` for a
Teams DM. A user without that field cannot be reached, and the run says so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from zentra_rules.domain.errors import RunError
from zentra_rules.domain.schema import RECORD_KINDS
from zentra_rules.domain.values import as_datetime, iso, text

Record = dict[str, Any]
# message channel -> the integration that carries it (configured as `integrations.<name>.url`)
CHANNELS = {"email": "email", "slack": "slack", "slack dm": "slack", "teams": "teams",
            "teams dm": "teams"}
INTEGRATIONS = tuple(dict.fromkeys(CHANNELS.values()))
# channel -> the user field that reaches a user on it
USER_ADDRESS = {"email": "email", "slack dm": "slack", "teams dm": "teams"}
# An approval request's `via` channel -> the message channel that reaches one approver on it
# (`console`: the request waits in the API and the playground, nothing is sent).
APPROVAL_VIA = {"console": None, "email": "email", "slack": "slack dm", "teams": "teams dm"}


def recipient(channel: str, value: Any, user: Record | None, is_user: bool) -> str:
    """The address a message on `channel` goes to; RunError when a user cannot be reached."""
    if not is_user:
        return text(value)
    if value is None or value == "":
        raise RunError(f"the {channel} recipient is a user, and this one is empty")
    field = USER_ADDRESS.get(channel, "email")
    if user is None:
        raise RunError(f"no user `{text(value)}` is known, so the {channel} message has no "
                       "recipient")
    address = user.get(field)
    if not isinstance(address, str) or not address.strip():
        raise RunError(f"user `{text(user.get('id', value))}` has no `{field}` field, so the "
                       f"{channel} message cannot reach them; set it with POST /api/users")
    return address


def summary(workflow: str, kind: str | None, subject: Any) -> str:
    """The text of a notification whose statement gave none: what it is about."""
    about = ""
    if isinstance(subject, dict) and kind in RECORD_KINDS:
        about = f" on {kind} {text(subject.get('id'))}"
        if subject.get("title") or subject.get("name"):
            about += f": {text(subject.get('title') or subject.get('name'))}"
    return f"{workflow}{about}"


def outbound(verb: str, obj: str, value: Any, params: dict[str, Any], to: str, *,
             workflow: str, kind: str | None, subject: Any, execution: Any = None,
             owner: Record | None = None) -> Record:
    """The message a send statement queues: {"channel", "to", "subject", "body", ...}."""
    if verb == "notify":
        # Only a text that was not given at all is replaced by the summary ("" is a text).
        given = params.get("body" if obj == "email" else "message")
        body = given if given is not None else summary(workflow, kind, subject)
        return {"channel": obj, "to": to, "subject": params.get("subject"), "body": body}
    if (verb, obj) == ("call", "webhook"):
        body = params.get("payload")
        if body is None:
            body = {"workflow": workflow, "execution": execution, "subject": subject}
        return {"channel": "webhook", "to": text(value), "subject": None, "body": body}
    if (verb, obj) == ("send", "survey"):
        return {"channel": "email", "to": to, "subject": f"Survey: {text(value)}",
                "body": f"Please tell us how it went: {text(value)}", "kind": "survey"}
    if (verb, obj) == ("schedule", "renewal alert"):
        when = as_datetime(value)
        if when is None:
            raise RunError(f"a renewal alert needs a date, not {value!r}")
        before = params.get("before") or 0
        name = text((subject or {}).get("name") or (subject or {}).get("id"))
        return {"channel": "email", "to": text((owner or {}).get("email")),
                "subject": f"Renewal due: {name}",
                "body": f"The contract of {name} renews on {text(value)}.",
                "kind": "renewal alert",
                "not_before": iso(when - timedelta(seconds=float(before)))}
    raise ValueError(f"`{verb} {obj}` sends nothing")


SENDS = frozenset({("notify", "email"), ("notify", "slack"), ("notify", "slack dm"),
                   ("notify", "teams"), ("notify", "teams dm"), ("call", "webhook"),
                   ("send", "survey"), ("schedule", "renewal alert")})

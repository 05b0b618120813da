"""Event names, qualifiers and the data roots a definition sees for an event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zentra_rules.domain.errors import InputError
from zentra_rules.domain.plan import Plan
from zentra_rules.domain.schema import TRIGGERS
from zentra_rules.domain.suggest import did_you_mean
from zentra_rules.domain.values import iso

SCENARIO_EVENT = "scenario"


def parse_event(event: str) -> tuple[str, str | None]:
    """`webhook.received:hr` -> ("webhook.received", "hr"); a known name is required."""
    if not isinstance(event, str) or not event.strip():
        raise InputError("an event name is required, e.g. ticket.created")
    name, _, qualifier = event.strip().partition(":")
    if name not in TRIGGERS and name != SCENARIO_EVENT:
        raise InputError(f"unknown event `{name}`"
                         + (did_you_mean(name, [*TRIGGERS, SCENARIO_EVENT]) or ".")
                         + " Events: " + ", ".join([*TRIGGERS, SCENARIO_EVENT]))
    return name, (qualifier or None)


def subject_root(name: str) -> str | None:
    return "ticket" if name == SCENARIO_EVENT else TRIGGERS[name].subject


def triggered_by(plan: Plan, name: str, qualifier: str | None, subject: Any = None) -> bool:
    """Does this event start this definition? (An event without a qualifier matches any.)

    A `schedule.cron` event names its time zone in its subject (`{"tz": "Europe/Berlin"}`, null
    for UTC): the same expression in another zone fires at another minute. A cron event that
    names no zone (a dry run's) matches the expression in any zone."""
    if name == SCENARIO_EVENT:
        return plan.kind == "scenario" and (qualifier is None or qualifier == plan.name)
    zoned = name == "schedule.cron" and isinstance(subject, dict) and "tz" in subject
    return plan.kind == "workflow" and any(
        t.event == name and (qualifier is None or t.qualifier == qualifier)
        and (not zoned or (t.tz or None) == (subject.get("tz") or None)) for t in plan.triggers)


def event_data(name: str, qualifier: str | None, subject: Any, previous: Any, now: datetime,
               actor: str | None = None, records: dict[str, Any] | None = None) -> dict[str, Any]:
    """The roots a run reads: the subject under its root, `event`, and referenced records."""
    data: dict[str, Any] = {"event": {"name": name, "qualifier": qualifier, "at": iso(now),
                                      "actor": actor, "previous": previous}}
    root = subject_root(name)
    if root is not None:
        data[root] = subject if subject is not None else {}
    if records:
        data["$records"] = records
    return data

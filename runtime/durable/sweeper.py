"""The sweeper: the guarantee behind every fast path (lost tasks, deadlines, reminders, timers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from croniter import croniter

from zentra_rules.domain.values import as_datetime, iso
from zentra_rules.store.world import ask_approvers

if TYPE_CHECKING:
    from runtime.durable.engine import Engine

CRON_CATCH_UP = timedelta(hours=1)   # minutes missed while everything was down, fired late


def sweep(engine: Engine) -> dict[str, int]:
    """One pass; every action is a compare-and-set, so any number of sweepers may run."""
    store, now = engine.store, engine.clock.now()
    counts = {"events": 0, "runs": 0, "woken": 0, "reminders": 0, "sends": 0, "sla": 0, "cron": 0}
    # Work younger than the grace period still has its own task in the queue.
    grace = engine.config.lease_seconds
    for unprocessed in store.events.unprocessed_events(now - timedelta(seconds=grace)):
        engine.queue.process(unprocessed)
        counts["events"] += 1
    with store.tx():
        woken = store.runs.wake_due(now)
    counts["woken"] = len(woken)
    for execution in [*woken, *store.runs.runnable_unleased(now, grace)]:
        engine.queue.advance(execution)
        counts["runs"] += 1
    for request in store.approvals.due_reminders(now):
        sends: list[int] = []
        with store.tx():
            if store.approvals.mark_reminded(request, now):
                ask_approvers(store, now, request, sends, reminder=True)
                counts["reminders"] += 1
        for send in sends:
            engine.queue.deliver(send)
    for send in store.outbox.due_sends(now):
        engine.queue.deliver(send)
        counts["sends"] += 1
    for ticket in store.records.tickets_breaching(now):
        event = None
        with store.tx():
            if store.records.mark_breached(ticket, now):
                record = store.records.get_ticket(ticket)
                event = store.events.emit("ticket.sla_breached", now, subject_kind="ticket",
                                   subject=record, actor="sla")
                counts["sla"] += 1
        if event is not None:
            engine.queue.process(event)
    counts["cron"] = _cron(engine, now)
    return counts


def _cron(engine: Engine, now: datetime) -> int:
    """Fire `schedule.cron` triggers for every minute since the last sweep (once each)."""
    store = engine.store
    minute = now.replace(second=0, microsecond=0)
    last = as_datetime(store.events.get_meta("cron.checked"))
    start = max(last + timedelta(minutes=1) if last else minute, minute - CRON_CATCH_UP)
    if start > minute:
        return 0
    fired = 0
    crons = sorted({(str(t.qualifier), t.tz or "") for version, _ in store.definitions.active_versions()
                    for t in engine.plan(version).triggers if t.event == "schedule.cron"})
    events = []
    with store.tx():
        at = start
        while at <= minute:
            for expression, tz in crons:
                local = at.astimezone(ZoneInfo(tz)) if tz else at
                if croniter.match(expression, local.replace(tzinfo=None)):
                    # One event per expression, zone and minute, whichever sweeper gets there.
                    event = store.events.emit("schedule.cron", at, qualifier=expression,
                                       subject={"tz": tz or None},
                                       dedupe_key=f"cron:{expression}:{tz}:{iso(at)}",
                                       actor="cron")
                    if event is not None:
                        events.append(event)
                        fired += 1
            at += timedelta(minutes=1)
        store.events.set_meta("cron.checked", iso(minute))
    for event in events:
        engine.queue.process(event)
    return fired

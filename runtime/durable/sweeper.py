"""The sweeper: the guarantee behind every fast path (lost tasks, deadlines, reminders, timers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from runtime.durable.approvals import ask_approvers
from runtime.durable.plans import Plans
from runtime.durable.ports import Queue, Store
from zentra_rules.domain.clock import Clock
from zentra_rules.domain.values import as_datetime, iso

CRON_CATCH_UP = timedelta(hours=1)   # minutes missed while everything was down, fired late


def sweep(*, store: Store, plans: Plans, queue: Queue, clock: Clock,
          grace: float) -> dict[str, int]:
    """One pass; every action is a compare-and-set, so any number of sweepers may run.
    Work younger than `grace` seconds still has its own task in the queue."""
    now = clock.now()
    counts = {"events": 0, "runs": 0, "woken": 0, "reminders": 0, "sends": 0, "sla": 0, "cron": 0}
    for unprocessed in store.events.unprocessed_events(now - timedelta(seconds=grace)):
        queue.process(unprocessed)
        counts["events"] += 1
    with store.tx():
        woken = store.runs.wake_due(now)
    counts["woken"] = len(woken)
    for execution in [*woken, *store.runs.runnable_unleased(now, grace)]:
        queue.advance(execution)
        counts["runs"] += 1
    for request in store.approvals.due_reminders(now):
        sends: list[int] = []
        with store.tx():
            if store.approvals.mark_reminded(request, now):
                ask_approvers(store.approvals, store.records, store.outbox, now, request, sends,
                              reminder=True)
                counts["reminders"] += 1
        for send in sends:
            queue.deliver(send)
    for send in store.outbox.due_sends(now):
        queue.deliver(send)
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
            queue.process(event)
    counts["cron"] = _cron(store, plans, queue, now)
    return counts


def _cron(store: Store, plans: Plans, queue: Queue, now: datetime) -> int:
    """Fire `schedule.cron` triggers for every minute since the last sweep (once each)."""
    minute = now.replace(second=0, microsecond=0)
    last = as_datetime(store.events.get_meta("cron.checked"))
    start = max(last + timedelta(minutes=1) if last else minute, minute - CRON_CATCH_UP)
    if start > minute:
        return 0
    fired = 0
    crons = sorted({(str(t.qualifier), t.tz or "") for plan in plans.active()
                    for t in plan.triggers if t.event == "schedule.cron"})
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
        queue.process(event)
    return fired

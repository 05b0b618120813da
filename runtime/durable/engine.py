"""The durable engine: events become executions, executions advance in slices, sends leave.

Every entry point reads the time from the one clock it was given and talks to the database only
through the store. The queue (Huey) only wakes workers: the database is the queue of record, so a
lost task costs a sweep interval, never a run.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from runtime.durable import delivery, reads, slices, sweeper
from runtime.durable.approvals import ask_approvers
from runtime.durable.leases import Leases
from runtime.durable.plans import Plans
from runtime.durable.ports import Queue, Sender, Store
from runtime.events import SCENARIO_EVENT, event_data
from zentra_rules.domain.clock import Clock
from zentra_rules.domain.config import Config
from zentra_rules.domain.errors import DeliveryError, InputError, NotFoundError
from zentra_rules.domain.evaluation import explain
from zentra_rules.domain.plan import Plan
from zentra_rules.domain.schema import RECORD_KINDS, TRIGGERS

# The events every write of a record emits (assets and changes: not triggers, only notices).
RECORD_UPDATES = ("ticket.updated", "asset.updated", "change.updated")


class NoQueue:
    """No workers to wake: the sweeper finds everything (tests that drive the engine by hand)."""

    def advance(self, execution_id: int, eta: datetime | None = None) -> None:
        pass

    def process(self, event_id: int) -> None:
        pass

    def deliver(self, send_id: int, eta: datetime | None = None) -> None:
        pass


class NoSender:
    """No integrations: every send fails for good (a process that only publishes or reads)."""

    def webhook(self, url: str, secret: str, message_id: str, body: bytes, timestamp: int) -> None:
        raise DeliveryError("this process sends nothing", retryable=False)

    def message(self, channel: str, target: str, subject: str | None, body: str,
                message_id: str) -> None:
        raise DeliveryError("this process sends nothing", retryable=False)


class Engine:
    """One per process; safe to share between worker threads."""

    def __init__(self, store: Store, clock: Clock, config: Config, queue: Queue | None = None,
                 sender: Sender | None = None):
        self.store, self.clock, self.config = store, clock, config
        self.queue: Queue = queue or NoQueue()
        self.sender: Sender = sender or NoSender()
        self.plans = Plans(store.definitions)
        self.leases = Leases(f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                             config.lease_seconds)

    @property
    def owner(self) -> str:
        """This process's name on the leases it holds."""
        return self.leases.owner

    # -- definitions ------------------------------------------------------------------------
    def publish(self, plans: list[Plan], author: str) -> list[dict[str, Any]]:
        """Store each compiled definition as its next version (the newest becomes active)."""
        now = self.clock.now()
        out = []
        for plan in plans:
            version = self.store.definitions.publish(plan.name, plan.kind, plan.source, plan.to_json(),
                                         plan.hash, author, now)
            out.append({"kind": plan.kind, "name": plan.name, "version": version})
        return out

    def directory(self, plans: list[Plan], event: str, subject: Any) -> dict[str, Any]:
        """The desk's records a dry run of `plans` on `subject` reads (see runtime.durable.reads)."""
        return reads.directory(self.store.records, plans, event, subject)

    def plan_of(self, run: dict[str, Any]) -> Plan:
        """The plan a stored execution runs (the version it started with)."""
        return self.plans.plan_of(run)

    # -- records (what the API and tests change; each change is an event) -----------------
    def create_ticket(self, fields: dict[str, Any], actor: str = "api") -> dict[str, Any]:
        with self.store.tx():
            record, event = self.store.records.create_ticket(fields, self.clock.now(), actor)
        self._process_soon([event])
        return record

    def update_ticket(self, ticket_id: Any, changes: dict[str, Any],
                      actor: str = "api") -> dict[str, Any]:
        with self.store.tx():
            record, events = self.store.records.update_ticket(ticket_id, changes, self.clock.now(), actor)
        self._process_soon(events)
        return record

    def put_asset(self, fields: dict[str, Any], create: bool, actor: str = "api") -> dict[str, Any]:
        with self.store.tx():
            record, events = self.store.records.put_asset(fields, self.clock.now(), actor, create)
        self._process_soon(events)
        return record

    def put_change(self, fields: dict[str, Any], create: bool, actor: str = "api") -> dict[str, Any]:
        with self.store.tx():
            record, events = self.store.records.put_change(fields, self.clock.now(), actor, create)
        self._process_soon(events)
        return record

    def receive_webhook(self, name: str, payload: Any, webhook_id: str | None = None,
                        actor: str | None = None) -> int:
        """An inbound webhook's event (a repeated webhook-id returns the first event's id)."""
        if not isinstance(payload, dict):
            raise InputError("a webhook payload must be a JSON object")
        now = self.clock.now()
        with self.store.tx():
            if webhook_id is not None:
                seen = self.store.webhooks.accept_inbound(name, webhook_id, now)
                if seen is not None:
                    return seen
            event = self.store.events.emit("webhook.received", now, qualifier=name,
                                    subject_kind="payload", subject=payload, actor=actor)
            if webhook_id is not None:
                self.store.webhooks.inbound_event(name, webhook_id, event)
        self._process_soon([event])
        assert event is not None
        return event

    def decide(self, request_id: int, user: str, decision: str,
               comment: str | None = None) -> dict[str, Any]:
        """An approver's decision; the execution waiting for it is woken."""
        now, sends = self.clock.now(), list[int]()
        with self.store.tx():
            before = self.store.approvals.approval(request_id)
            request = self.store.approvals.decide(request_id, user, decision, comment, now)
            if request["status"] == "pending" and request["stage"] != before["stage"]:
                ask_approvers(self.store.approvals, self.store.records, self.store.outbox, now,
                              request_id, sends, reminder=False)   # the next one
        for send in sends:
            self.queue.deliver(send)
        if request["status"] != "pending":
            self.queue.advance(request["execution"])
        return request

    def _process_soon(self, events: Sequence[int | None]) -> None:
        for event in events:
            if event is not None:
                self.queue.process(event)

    # -- events -> executions ---------------------------------------------------------------
    def process_event(self, event_id: int) -> list[int]:
        """Match an event against the active definitions; each match becomes an execution."""
        event = self.store.events.event(event_id)
        if event is None or event["processed"]:
            return []
        matcher, versions = self.plans.matcher()
        name, qualifier = event["name"], event["qualifier"]
        subject, now = event["subject"], self.clock.now()
        trigger = name + (f":{qualifier}" if qualifier else "")
        fired: list[tuple[Plan, dict[str, Any]]] = []
        data: dict[str, Any] = {}
        if name in TRIGGERS:   # `asset.updated` and `change.updated` start nothing
            records = (self.store.records.referenced(event["subject_kind"], subject)
                       if event["subject_kind"] in ("ticket", "asset", "change") and subject
                       else {})
            data = event_data(name, qualifier, subject, event["previous"], event["at"],
                              event["actor"], records)
            fired = matcher.decide(trigger, subject, data, now)
        runnable: list[int] = []
        with self.store.tx():
            if not self.store.events.mark_processed(event_id, now, data.get("$records")):
                return []
            for plan, tree in fired:
                status, reason = self._admit(plan, event, now)
                execution = self.store.runs.create_execution(
                    now, definition=plan.name, version=versions[id(plan)], kind=plan.kind,
                    trigger=trigger, event=event_id, subject_kind=event["subject_kind"],
                    subject_id=event["subject_id"], cascade=event["cascade"],
                    inputs={"data": data, "explain": tree}, state=None, status=status,
                    reason=reason, finished_at=None if status == "runnable" else now)
                self.store.links.add(_subject_link(execution, event["subject_kind"],
                                                   event["subject_id"], now))
                self.store.audit.write("execution." + ("started" if status == "runnable" else status),
                                 now, {"workflow": plan.name, "event": event_id,
                                       "reason": reason}, execution, _subject_key(event))
                if status == "runnable":
                    runnable.append(execution)
            # Any change to a record re-checks the `wait until` of every run that reads it.
            if name in RECORD_UPDATES and event["subject_id"]:
                for waiting in self.store.runs.watchers(event["subject_kind"], event["subject_id"]):
                    if self.store.runs.nudge(waiting, now):
                        runnable.append(waiting)
        for execution in runnable:
            self.queue.advance(execution)
        return runnable

    def _admit(self, plan: Plan, event: dict[str, Any], now: datetime) -> tuple[str, str | None]:
        """Loop protection: the cascade depth of the event and the per-subject rate limit."""
        limits = self.config.limits
        if event["cascade"] > limits.cascade_depth:
            return "stopped", (f"cascade limit reached: this event is {event['cascade']} changes "
                               f"deep in a chain of workflow effects (limit {limits.cascade_depth});"
                               f" the chain stops here (event {event['id']} from execution "
                               f"{event['execution']})")
        if event["subject_id"] is not None and self.store.runs.runs_since(
                plan.name, event["subject_kind"], event["subject_id"],
                now - timedelta(minutes=1)) >= limits.runs_per_minute:
            return "stopped", (f"rate limit reached: `{plan.name}` already ran "
                               f"{limits.runs_per_minute} times on {event['subject_kind']} "
                               f"{event['subject_id']} in the last minute")
        return "runnable", None

    def start_scenario(self, name: str, ticket_id: Any, actor: str = "api") -> int:
        """An agent runs a scenario on a ticket: a new execution of its active version."""
        version = self.store.definitions.active_version_of(name)
        if version is None or self.plans.plan(version).kind != "scenario":
            raise NotFoundError(f"no active scenario named `{name}`")
        ticket = self.store.records.get_ticket(ticket_id)
        if ticket is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        now = self.clock.now()
        plan = self.plans.plan(version)
        data = event_data(SCENARIO_EVENT, name, ticket, None, now, actor,
                          self.store.records.referenced("ticket", ticket))
        tree = (explain(plan.constants[plan.condition], {**data, "$now": now})
                if plan.condition >= 0 else {"text": "(no condition)", "value": True})
        with self.store.tx():
            execution = self.store.runs.create_execution(
                now, definition=name, version=version, kind="scenario",
                trigger=f"{SCENARIO_EVENT}:{name}", event=None, subject_kind="ticket",
                subject_id=ticket["id"], cascade=0, inputs={"data": data, "explain": tree},
                state=None, status="runnable" if tree["value"] else "skipped",
                reason=None if tree["value"] else "its condition does not hold for this ticket",
                finished_at=None if tree["value"] else now)
            self.store.links.add(_subject_link(execution, "ticket", ticket["id"], now))
            self.store.audit.write("execution." + ("started" if tree["value"] else "skipped"), now,
                             {"workflow": name, "actor": actor}, execution, f"ticket:{ticket['id']}")
        self.queue.advance(execution)
        return execution

    # -- slices, sends and the sweeper live in their own modules -----------------------------
    def advance(self, execution_id: int) -> None:
        slices.advance(execution_id, store=self.store, plans=self.plans, queue=self.queue,
                       clock=self.clock, leases=self.leases,
                       step_budget=self.config.limits.step_budget)

    def deliver(self, send_id: int) -> None:
        delivery.deliver(send_id, store=self.store, sender=self.sender, queue=self.queue,
                         clock=self.clock, timeout=self.config.webhook_timeout,
                         max_attempts=self.config.max_attempts)

    def renew_leases(self) -> int:
        """This process's heartbeat: the leases of the slices it is running stay its own."""
        with self.store.tx():
            return self.leases.renew(self.store.runs, self.clock.now())

    def sweep(self) -> dict[str, int]:
        return sweeper.sweep(store=self.store, plans=self.plans, queue=self.queue,
                             clock=self.clock, grace=self.config.lease_seconds)


def _subject_link(execution: int, kind: str | None, record_id: str | None,
                  now: datetime) -> list[dict[str, Any]]:
    """The link of a new execution to the record it runs on (none for a webhook or cron run)."""
    if kind not in RECORD_KINDS or record_id is None:
        return []
    return [{"execution": execution, "kind": kind, "record_id": record_id, "role": "subject",
             "at": now}]


def _subject_key(event: dict[str, Any]) -> str | None:
    return f"{event['subject_kind']}:{event['subject_id']}" if event["subject_id"] else None


__all__ = ["Engine", "NoQueue", "NoSender", "Queue"]

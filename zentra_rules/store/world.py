"""The durable world: a run slice's effects kept in the store, inside the slice's transaction.

The VM has already decided what each statement means (the records as they should be, every
message rendered and addressed); this module only writes it down. Local effects (created
tickets, notes, links, approval requests, field changes) go to their tables; external sends go
to the outbox. A record is written once per slice with the fields the run changed, so it emits
one `ticket.updated`, and none at all when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.durable.approvals import ask_approvers
from zentra_rules.domain.changes import FIELD_STATEMENTS
from zentra_rules.domain.errors import RunError
from zentra_rules.domain.values import as_datetime, text
from zentra_rules.store.approvals import Approvals
from zentra_rules.store.outbox import Outbox
from zentra_rules.store.records import Records

Record = dict[str, Any]


@dataclass
class StoreWorld:
    """Where one slice of one execution keeps its effects (runtime/drive.py calls it)."""

    records: Records
    approvals: Approvals
    outbox: Outbox
    execution: int
    workflow: str
    subject_kind: str | None
    subject_id: str | None
    cascade: int
    events: list[int] = field(default_factory=list)
    sends: list[int] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return f"workflow:{self.workflow}#{self.execution}"

    def create_ticket(self, fields: Record, now: datetime) -> Record:
        record, event = self.records.create_ticket(fields, now, self.actor, self.cascade + 1,
                                                 self.execution)
        self.events += [event] if event is not None else []
        return record

    def apply(self, effect: Record, now: datetime) -> None:
        verb, obj = effect["verb"], effect["object"]
        if "send" in effect:
            send = effect["send"]
            payload = {k: v for k, v in send.items() if k not in ("channel", "to", "not_before")}
            self.sends.append(self.outbox.queue_send(send["channel"], text(send["to"]), payload,
                                                    now, self.execution,
                                                    as_datetime(send.get("not_before"))))
        elif (verb, obj) == ("request", "approval"):
            self._request(effect, now)
        elif (verb, obj) in (("add", "internal note"), ("post", "reply")):
            self.records.add_note(self._subject(), "internal" if verb == "add" else "public",
                                text(effect.get("value")), self.actor, now, self.execution)
        elif (verb, obj) == ("link", "ticket"):
            self.records.add_link(self._subject(), text(effect.get("value")), now, self.execution)
        elif verb != "set" and (verb, obj) not in FIELD_STATEMENTS:
            raise RunError(f"no handler for `{verb} {obj}`")
        # `set` and the field statements changed the run's view of a record: `save` writes it.

    def save(self, kind: str, record_id: Any, changes: Record, now: datetime) -> Record:
        if kind == "ticket":
            record, events = self.records.update_ticket(record_id, changes, now, self.actor,
                                                      self.cascade + 1, self.execution)
        elif kind == "asset":
            record, events = self.records.put_asset({"id": record_id, **changes}, now, self.actor,
                                                  create=False, cascade=self.cascade + 1,
                                                  execution=self.execution)
        else:
            record, events = self.records.put_change({"id": record_id, **changes}, now, self.actor,
                                                   create=False, cascade=self.cascade + 1)
        self.events += events
        return record

    def _subject(self) -> str:
        if self.subject_kind != "ticket" or self.subject_id is None:
            raise RunError("this statement acts on a ticket, and this run's subject is "
                           f"{'a ' + self.subject_kind if self.subject_kind else 'none'}")
        return self.subject_id

    def _request(self, effect: Record, now: datetime) -> None:
        params = effect["params"]
        approvers = self.approvals.resolve_approvers(params["approvers"])
        request_id = self.approvals.create_request(
            self.execution, str(effect["name"]), approvers, params["order"],
            as_datetime(params.get("deadline")),
            list(params.get("via") or ["console"]), params.get("remind_every"),
            params.get("remind_before"), now)
        ask_approvers(self.approvals, self.records, self.outbox, now,
                      request_id, self.sends, reminder=False)

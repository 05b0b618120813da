"""The desk's records: users, tickets with their notes, links and history, assets, changes."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import peewee as pw

from zentra_rules.domain.changes import (
    check_fields,
    effective,
    emitted,
    new_ticket_fields,
    ticket_record,
    with_changes,
)
from zentra_rules.domain.errors import ConflictError, InputError, NotFoundError
from zentra_rules.domain.values import as_datetime, iso
from zentra_rules.store.events import Events
from zentra_rules.store.models import (
    Asset,
    Change,
    Ticket,
    TicketHistory,
    TicketLink,
    TicketNote,
    User,
)

Record = dict[str, Any]
REFERENCES = (("ticket", "requester", "user"), ("ticket", "agent", "user"),
              ("ticket", "linkedAsset", "asset"),
              ("user", "manager", "user"), ("asset", "owner", "user"),
              ("change", "requestedBy", "user"))
_REF_DEPTH = 4   # requester.manager.manager... is read this far


class Records:
    """The desk's records: users, tickets with their notes, links and history, assets, changes."""

    def __init__(self, db: pw.Database, events: Events):
        self.db = db
        self.events = events

    def create_user(self, fields: dict[str, Any]) -> Record:
        fields = check_fields("user", fields)
        user_id = str(fields.pop("id", "") or "")
        if not user_id:
            raise InputError("a user needs an `id`")
        if User.get_or_none(User.id == user_id) is not None:
            raise ConflictError(f"user `{user_id}` exists already")
        if fields.get("email") and User.get_or_none(User.email == fields["email"]) is not None:
            raise ConflictError(f"another user has the email {fields['email']}")
        User.create(id=user_id, email=fields.get("email"), data=fields)
        return {"id": user_id, **fields}

    def get_user(self, key: str) -> Record | None:
        """A user by id, or else by email address."""
        row = User.get_or_none(User.id == key) or User.get_or_none(User.email == key)
        return None if row is None else {"id": row.id, **row.data}

    def users_in(self, field: str, value: str) -> list[str]:
        """Ids of the users whose `roles` or `groups` list holds `value`."""
        return sorted(u.id for u in User.select() if value in (u.data.get(field) or []))

    @staticmethod
    def _key(ticket_id: Any) -> int | None:
        """A ticket id as the database's integer, or None for anything that cannot be one."""
        text = str(ticket_id)
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None

    @staticmethod
    def _ticket(row: Ticket) -> Record:
        return ticket_record(str(row.id), row.data, row.created_at, row.updated_at)

    def get_ticket(self, ticket_id: Any) -> Record | None:
        key = self._key(ticket_id)
        if key is None:
            return None
        row = Ticket.get_or_none(Ticket.id == key)
        return None if row is None else self._ticket(row)

    def create_ticket(self, fields: dict[str, Any], now: datetime, actor: str, cascade: int = 0,
                      execution: int | None = None) -> tuple[Record, int | None]:
        fields = new_ticket_fields(fields)
        row = Ticket.create(data=fields, status=fields["status"], created_at=now, updated_at=now,
                            due_at=as_datetime(fields.get("dueAt")))
        record = self._ticket(row)
        (event,) = self._emit("ticket", None, record, now, cascade, actor, execution)
        return record, event

    def update_ticket(self, ticket_id: Any, changes: dict[str, Any], now: datetime, actor: str,
                      cascade: int = 0, execution: int | None = None) -> tuple[Record, list[int]]:
        """Apply field changes; emits ticket.updated (+ ticket.status_changed) if any differ."""
        changes = check_fields("ticket", changes)
        if "id" in changes and str(changes.pop("id")) != str(ticket_id):
            raise InputError("a ticket's `id` cannot be changed")
        if "status" in changes and changes["status"] is None:
            raise InputError("a ticket's `status` cannot be empty")
        key = self._key(ticket_id)
        row = None if key is None else Ticket.select().where(Ticket.id == key).first()
        if row is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        previous = self._ticket(row)
        data = copy.deepcopy(row.data)
        diff = {k: [data.get(k), v] for k, v in effective(data, changes).items()}
        if not diff:
            return previous, []
        data.update(changes)
        fields: dict[Any, Any] = {Ticket.data: data, Ticket.status: data.get("status") or "new",
                                  Ticket.updated_at: now}
        if "dueAt" in diff:
            fields[Ticket.due_at] = as_datetime(data.get("dueAt"))
            fields[Ticket.sla_breached_at] = None
        Ticket.update(fields).where(Ticket.id == row.id).execute()
        TicketHistory.create(ticket=row.id, actor=actor, changes=diff, at=now)
        record = with_changes(previous, changes, now)
        events = self._emit("ticket", previous, record, now, cascade, actor, execution)
        return record, [e for e in events if e is not None]

    def add_note(self, ticket_id: Any, kind: str, body: str, author: str, now: datetime,
                 execution: int | None = None) -> None:
        TicketNote.create(ticket=int(ticket_id), kind=kind, body=body, author=author, at=now,
                          execution=execution)

    def add_link(self, ticket_id: Any, other: str, now: datetime, execution: int | None) -> None:
        TicketLink.create(ticket=int(ticket_id), other=str(other), at=now, execution=execution)

    def notes(self, ticket_id: Any) -> list[Record]:
        return [{"kind": n.kind, "body": n.body, "author": n.author, "at": iso(n.at),
                 "execution": n.execution}
                for n in TicketNote.select().where(TicketNote.ticket == int(ticket_id))
                .order_by(TicketNote.id)]

    def links(self, ticket_id: Any) -> list[str]:
        return [link.other for link in TicketLink.select().where(TicketLink.ticket == int(ticket_id))
                .order_by(TicketLink.id)]

    def tickets_breaching(self, now: datetime) -> list[int]:
        """Open tickets whose due date has passed and whose breach was not yet announced."""
        query = (Ticket.select(Ticket.id).where(
            Ticket.due_at <= now, Ticket.sla_breached_at.is_null(),
            Ticket.status.not_in(["resolved", "closed", "cancelled"])))
        return [t.id for t in query]

    def mark_breached(self, ticket_id: int, now: datetime) -> bool:
        """Compare-and-set: True for exactly one caller."""
        return bool(Ticket.update(sla_breached_at=now).where(
            Ticket.id == ticket_id, Ticket.sla_breached_at.is_null()).execute())

    def _put(self, model: type[pw.Model], kind: str, fields: dict[str, Any], now: datetime,
             create: bool) -> tuple[Record | None, Record]:
        fields = check_fields(kind, fields)
        record_id = str(fields.pop("id", "") or "")
        if not record_id:
            raise InputError(f"a{'n' if kind[0] in 'aeiou' else ''} {kind} needs an `id`")
        row = model.get_or_none(model.id == record_id)  # type: ignore[attr-defined]
        if create and row is not None:
            raise ConflictError(f"{kind} `{record_id}` exists already")
        if not create and row is None:
            raise NotFoundError(f"no {kind} `{record_id}`")
        previous = None if row is None else {"id": record_id, **row.data}
        data = {**(row.data if row else {}), **fields}
        if row is None:
            model.create(id=record_id, data=data, updated_at=now)
        else:
            model.update(data=data, updated_at=now).where(
                model.id == record_id).execute()  # type: ignore[attr-defined]
        return previous, {"id": record_id, **data}

    def _emit(self, kind: str, previous: Record | None, record: Record, now: datetime,
              cascade: int, actor: str, execution: int | None) -> list[int | None]:
        """Emit what the write means (`changes.emitted`): `KIND.updated` wakes the runs whose
        `wait until` reads the record, the transitions are triggers."""
        return [self.events.emit(name, now, subject_kind=kind, subject=record, previous=previous,
                                 cascade=cascade, actor=actor, execution=execution)
                for name in emitted(kind, previous, record)]

    def get_asset(self, asset_id: Any) -> Record | None:
        row = Asset.get_or_none(Asset.id == str(asset_id))
        return None if row is None else {"id": row.id, **row.data}

    def put_asset(self, fields: dict[str, Any], now: datetime, actor: str, create: bool,
                  cascade: int = 0, execution: int | None = None) -> tuple[Record, list[int]]:
        previous, record = self._put(Asset, "asset", fields, now, create)
        events = self._emit("asset", previous, record, now, cascade, actor, execution)
        return record, [e for e in events if e is not None]

    def get_change(self, change_id: Any) -> Record | None:
        row = Change.get_or_none(Change.id == str(change_id))
        return None if row is None else {"id": row.id, **row.data}

    def put_change(self, fields: dict[str, Any], now: datetime, actor: str, create: bool,
                   cascade: int = 0) -> tuple[Record, list[int]]:
        previous, record = self._put(Change, "change", fields, now, create)
        events = self._emit("change", previous, record, now, cascade, actor, None)
        return record, [e for e in events if e is not None]

    def get_record(self, kind: str, record_id: Any) -> Record | None:
        getter = {"ticket": self.get_ticket, "asset": self.get_asset, "user": self.get_user,
                  "change": self.get_change}.get(kind)
        return None if getter is None or record_id is None else getter(record_id)

    def referenced(self, kind: str, record: Record) -> dict[str, dict[str, Record]]:
        """`$records` for a run: every user/asset the subject refers to, a few levels deep."""
        found: dict[str, dict[str, Record]] = {"user": {}, "asset": {}}
        todo = [(kind, record, 0)]
        while todo:
            k, rec, depth = todo.pop()
            for owner, field, target in REFERENCES:
                ref = rec.get(field) if owner == k else None
                if isinstance(ref, dict):
                    ref = ref.get("id")
                if not isinstance(ref, str) or ref in found[target] or depth >= _REF_DEPTH:
                    continue
                other = self.get_record(target, ref)
                if other is not None:
                    found[target][ref] = other
                    todo.append((target, other, depth + 1))
        return found

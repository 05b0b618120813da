"""Events as they happened (the queue of record), the cron cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee as pw

from zentra_rules.store.models import (
    Event,
    Meta,
)

Record = dict[str, Any]


class Events:
    """Events as they happened (the queue of record), the cron cursor."""

    def __init__(self, db: pw.Database):
        self.db = db

    def emit(self, name: str, now: datetime, *, qualifier: str | None = None,
             subject_kind: str | None = None, subject: Record | None = None,
             previous: Record | None = None, cascade: int = 0, actor: str | None = None,
             dedupe_key: str | None = None, execution: int | None = None) -> int | None:
        """Record an event; None when `dedupe_key` was seen before (it happened already)."""
        row = dict(name=name, qualifier=qualifier, subject_kind=subject_kind,
                   subject_id=(str(subject["id"]) if subject_kind in ("ticket", "asset", "change")
                               and subject and subject.get("id") is not None else None),
                   subject=subject, previous=previous, cascade=cascade, actor=actor,
                   dedupe_key=dedupe_key, execution=execution, at=now)
        if dedupe_key is None:
            return int(Event.insert(**row).execute())
        try:
            with self.db.atomic():   # a savepoint: a duplicate key must not end the caller's work
                return int(Event.insert(**row).execute())
        except pw.IntegrityError:
            return None

    def event(self, event_id: int) -> Record | None:
        e = Event.get_or_none(Event.id == event_id)
        return None if e is None else _event(e)

    def listing(self, *, limit: int = 100, before: int | None = None, name: str | None = None,
                subject_kind: str | None = None, subject_id: str | None = None,
                execution: int | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[Record]:
        """Events newest first, paged by id like executions (`before`: keyset paging);
        `since`/`until` bound when they happened (inclusive, exclusive)."""
        query = Event.select().order_by(Event.id.desc()).limit(limit)
        for wanted, column in ((name, Event.name), (subject_kind, Event.subject_kind),
                               (subject_id, Event.subject_id), (execution, Event.execution)):
            if wanted is not None:
                query = query.where(column == wanted)
        if before is not None:
            query = query.where(Event.id < before)
        if since is not None:
            query = query.where(Event.at >= since)
        if until is not None:
            query = query.where(Event.at < until)
        return [_event(e) for e in query]

    def on_record(self, kind: str, record_id: str, *, after: int | None = None,
                  limit: int | None = None) -> list[Record]:
        """The events that happened to one record, oldest first (`after`: an event id)."""
        query = Event.select().where(Event.subject_kind == kind,
                                     Event.subject_id == str(record_id)).order_by(Event.id)
        if after is not None:
            query = query.where(Event.id > after)
        if limit is not None:
            query = query.limit(limit)
        return [_event(e) for e in query]

    def mark_processed(self, event_id: int, now: datetime,
                       records: dict[str, Any] | None = None) -> bool:
        """Compare-and-set: exactly one processor turns an event into executions; `records` are
        the records its subject referred to then (what the conditions read besides it)."""
        return bool(Event.update(processed_at=now, records=records or None).where(
            Event.id == event_id, Event.processed_at.is_null()).execute())

    def unprocessed_events(self, before: datetime) -> list[int]:
        """Events not yet matched that happened before `before` (newer ones have a task)."""
        return [e.id for e in Event.select(Event.id).where(
            Event.processed_at.is_null(), Event.at <= before).order_by(Event.id)]

    def get_meta(self, key: str) -> str | None:
        row = Meta.get_or_none(Meta.key == key)
        return None if row is None else str(row.value)

    def set_meta(self, key: str, value: str) -> None:
        Meta.insert(key=key, value=value).on_conflict(
            conflict_target=[Meta.key], update={Meta.value: value}).execute()


def _event(e: Event) -> Record:
    """An event as the engine reads it (times as datetimes)."""
    return {"id": e.id, "name": e.name, "qualifier": e.qualifier, "subject_kind": e.subject_kind,
            "subject_id": e.subject_id, "subject": e.subject, "previous": e.previous,
            "cascade": e.cascade, "actor": e.actor, "at": e.at, "execution": e.execution,
            "processed": e.processed_at is not None, "processed_at": e.processed_at,
            "records": e.records}

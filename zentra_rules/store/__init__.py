"""The one gateway to the database: peewee is used here and nowhere else.

`Store` is a facade over one part per thing stored (records, events, definitions, runs, record
links, approvals, outbox, webhooks, tokens, audit); every part shares the one database and its
transactions (`Store.tx`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import peewee as pw

from zentra_rules.domain.changes import check_fields
from zentra_rules.store.approvals import Approvals
from zentra_rules.store.audit import Audit
from zentra_rules.store.db import open_database
from zentra_rules.store.definitions import Definitions
from zentra_rules.store.events import Events
from zentra_rules.store.links import Links
from zentra_rules.store.outbox import Outbox
from zentra_rules.store.records import Records
from zentra_rules.store.runs import Runs
from zentra_rules.store.tokens import ROLES, Tokens
from zentra_rules.store.webhooks import Webhooks
from zentra_rules.store.world import StoreWorld

__all__ = ["ROLES", "Store", "check_fields", "open_store"]


class Store:
    """Every read and write the engine makes; times are passed in, never read from a clock."""

    def __init__(self, db: pw.Database):
        self.db = db
        self.events = Events(db)
        self.records = Records(db, self.events)
        self.definitions = Definitions(db)
        self.audit = Audit(db)
        self.runs = Runs(db)
        self.links = Links(db)
        self.approvals = Approvals(db, self.records, self.audit, self.runs)
        self.outbox = Outbox(db)
        self.webhooks = Webhooks(db)
        self.tokens = Tokens(db)

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One transaction (SQLite: IMMEDIATE, so writers queue instead of failing).

        The thread's connection stays open afterwards: reopening per transaction costs a WAL
        checkpoint each time on SQLite."""
        with self.db.atomic():
            yield

    def world(self, execution: int, workflow: str, subject_kind: str | None,
              subject_id: str | None, cascade: int) -> StoreWorld:
        """Where one slice of one execution keeps its effects, inside the slice's transaction."""
        return StoreWorld(self.records, self.approvals, self.outbox, execution, workflow,
                          subject_kind, subject_id, cascade)

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()


def open_store(url: str) -> Store:
    """The store on `database.url`, schema created and migrated."""
    return Store(open_database(url))

"""The one gateway to the database: peewee is used here and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import peewee as pw

from zentra_rules.store.approvals import Approvals
from zentra_rules.store.db import open_database
from zentra_rules.store.outbox import ROLES, Sends
from zentra_rules.store.records import Records, check_fields
from zentra_rules.store.runs import Runs

__all__ = ["ROLES", "Store", "check_fields", "open_store"]


class Store(Records, Runs, Approvals, Sends):
    """Every read and write the engine makes; times are passed in, never read from a clock."""

    def __init__(self, db: pw.Database):
        self.db = db

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One transaction (SQLite: IMMEDIATE, so writers queue instead of failing).

        The thread's connection stays open afterwards: reopening per transaction costs a WAL
        checkpoint each time on SQLite."""
        with self.db.atomic():
            yield

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()


def open_store(url: str) -> Store:
    """The store on `database.url`, schema created and migrated."""
    return Store(open_database(url))

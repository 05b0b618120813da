"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import peewee as pw

from zentra_rules.domain.values import iso
from zentra_rules.store.models import (
    AuditLog,
)

Record = dict[str, Any]
GENESIS = "0" * 64


def chain_hash(prev: str, content: dict[str, Any]) -> str:
    """The hash that links an append-only row to the one before it."""
    text = prev + json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Audit:
    """The append-only, hash-chained audit log."""

    def __init__(self, db: pw.Database):
        self.db = db

    def lock_chain(self, table: str) -> None:
        """Serialise appends to one hash chain (SQLite's IMMEDIATE transactions already do)."""
        if isinstance(self.db, pw.PostgresqlDatabase):
            self.db.execute_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))

    def write(self, kind: str, now: datetime, data: dict[str, Any], execution: int | None = None,
              subject: str | None = None) -> None:
        self.lock_chain("audit_log")
        last = AuditLog.select(AuditLog.hash).order_by(AuditLog.id.desc()).first()
        prev = last.hash if last else GENESIS
        content = {"at": iso(now), "kind": kind, "execution": execution, "subject": subject,
                   "data": data}
        AuditLog.create(at=now, kind=kind, execution=execution, subject=subject, data=data,
                        prev_hash=prev, hash=chain_hash(prev, content))

    def verify(self) -> int | None:
        """The id of the first audit row whose chain does not verify, or None."""
        prev = GENESIS
        for row in AuditLog.select().order_by(AuditLog.id):
            content = {"at": iso(row.at), "kind": row.kind, "execution": row.execution,
                       "subject": row.subject, "data": row.data}
            if row.prev_hash != prev or row.hash != chain_hash(prev, content):
                return int(row.id)
            prev = row.hash
        return None

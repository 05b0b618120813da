"""Which executions ran on, created or changed which records (append-only).

One row links an execution to its subject when it starts, one to each record a statement of it
created, and one to each field a statement changed, with the statement and the values before and
after. A record's history of runs is then a query by record, at any age."""

from __future__ import annotations

from typing import Any

import peewee as pw

from zentra_rules.domain.values import iso
from zentra_rules.store.models import RecordLink

Record = dict[str, Any]
ROLES = ("subject", "created", "changed")
_COLUMNS = ("execution", "kind", "record_id", "role", "pc", "line", "statement", "instruction",
            "field", "old", "new", "at")


class Links:
    """Executions linked to the records they ran on, created or changed."""

    def __init__(self, db: pw.Database):
        self.db = db

    def add(self, rows: list[Record]) -> None:
        """Link executions to records: each row `{"execution", "kind", "record_id", "role",
        "at"}`, with `pc`, `line`, `statement`, `instruction`, `field`, `old`, `new` where they
        apply (inside the caller's transaction)."""
        if not rows:
            return
        for row in rows:
            if row["role"] not in ROLES:
                raise ValueError(f"a record link's role is one of {ROLES}, not {row['role']!r}")
        RecordLink.insert_many([{c: (str(r[c]) if c == "record_id" else r.get(c))
                                 for c in _COLUMNS} for r in rows]).execute()

    def of_record(self, kind: str, record_id: str) -> list[Record]:
        """Every link to one record, in the order they were made."""
        return [_link(row) for row in RecordLink.select().where(
            RecordLink.kind == kind, RecordLink.record_id == str(record_id))
            .order_by(RecordLink.id)]


def _link(row: RecordLink) -> Record:
    return {"execution": row.execution, "kind": row.kind, "record_id": row.record_id,
            "role": row.role, "pc": row.pc, "line": row.line, "statement": row.statement,
            "instruction": row.instruction, "field": row.field, "old": row.old, "new": row.new,
            "at": iso(row.at)}

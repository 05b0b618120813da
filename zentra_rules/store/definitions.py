"""Definitions, their immutable versions and the active one; legacy automation rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee as pw

from zentra_rules.domain.errors import ConflictError, NotFoundError
from zentra_rules.domain.values import iso
from zentra_rules.store.models import (
    AutomationRule,
    Definition,
    DefinitionVersion,
)

Record = dict[str, Any]


class Definitions:
    """Definitions, their immutable versions and the active one; legacy automation rules."""

    def __init__(self, db: pw.Database):
        self.db = db

    def publish(self, name: str, kind: str, source: str, plan: dict[str, Any], plan_hash: str,
                author: str, now: datetime) -> int:
        """Store a new immutable version and make it the active one; returns its number."""
        with self.db.atomic():
            row = Definition.get_or_none(Definition.name == name)
            if row is None:
                Definition.create(name=name, kind=kind, active_version=None)
            elif row.kind != kind:
                raise ConflictError(f"`{name}` is a {row.kind}; a {kind} needs another name")
            last = (DefinitionVersion.select(pw.fn.MAX(DefinitionVersion.version))
                    .where(DefinitionVersion.definition == name).scalar()) or 0
            version = last + 1
            DefinitionVersion.create(definition=name, version=version, source=source, plan=plan,
                                     plan_hash=plan_hash, author=author, created_at=now)
            Definition.update(active_version=version).where(Definition.name == name).execute()
        return int(version)

    def activate(self, name: str, version: int | None) -> None:
        """Choose the active version (None: stop matching)."""
        if Definition.get_or_none(Definition.name == name) is None:
            raise NotFoundError(f"no workflow or scenario named `{name}`")
        if version is not None and DefinitionVersion.get_or_none(
                DefinitionVersion.definition == name, DefinitionVersion.version == version) is None:
            raise NotFoundError(f"`{name}` has no version {version}")
        Definition.update(active_version=version).where(Definition.name == name).execute()

    def active_versions(self) -> list[tuple[int, str]]:
        """(version row id, plan hash) of every active definition."""
        query = (DefinitionVersion.select(DefinitionVersion.id, DefinitionVersion.plan_hash)
                 .join(Definition, on=(Definition.name == DefinitionVersion.definition))
                 .where(Definition.active_version == DefinitionVersion.version)
                 .order_by(DefinitionVersion.definition))
        return [(v.id, v.plan_hash) for v in query]

    def version_plan(self, version_id: int) -> dict[str, Any]:
        return DefinitionVersion.get_by_id(version_id).plan  # type: ignore[no-any-return]

    def active_version_of(self, name: str) -> int | None:
        """The row id of a definition's active version."""
        row = (DefinitionVersion.select(DefinitionVersion.id)
               .join(Definition, on=(Definition.name == DefinitionVersion.definition))
               .where(Definition.name == name, Definition.active_version == DefinitionVersion.version)
               .first())
        return None if row is None else int(row.id)

    def listing(self) -> list[Record]:
        return [{"name": d.name, "kind": d.kind, "active_version": d.active_version}
                for d in Definition.select().order_by(Definition.name)]

    def definition(self, name: str) -> Record:
        row = Definition.get_or_none(Definition.name == name)
        if row is None:
            raise NotFoundError(f"no workflow or scenario named `{name}`")
        versions = [{"version": v.version, "source": v.source, "plan": v.plan, "hash": v.plan_hash,
                     "author": v.author, "created_at": iso(v.created_at)}
                    for v in DefinitionVersion.select().where(DefinitionVersion.definition == name)
                    .order_by(DefinitionVersion.version)]
        return {"name": row.name, "kind": row.kind, "active_version": row.active_version,
                "versions": versions}

    def put_rule(self, rule: dict[str, Any]) -> dict[str, Any] | None:
        """Store a legacy rule (a new id, or a new text for a known one); the old one, if any."""
        old = AutomationRule.get_or_none(AutomationRule.id == rule["id"])
        fields = {"data": rule, "position": int(rule.get("position") or 0),
                  "active": bool(rule.get("active", True))}
        if old is None:
            AutomationRule.create(id=rule["id"], **fields)
            return None
        AutomationRule.update(**fields).where(AutomationRule.id == rule["id"]).execute()
        return old.data  # type: ignore[no-any-return]

    def rule(self, rule_id: str) -> dict[str, Any]:
        row = AutomationRule.get_or_none(AutomationRule.id == rule_id)
        if row is None:
            raise NotFoundError(f"no automation rule `{rule_id}`")
        return row.data  # type: ignore[no-any-return]

    def rules_for(self, event: str) -> list[dict[str, Any]]:
        """Every stored rule of one event (active or not), in position order, then by id."""
        return [r.data for r in AutomationRule.select().order_by(AutomationRule.position,
                                                                 AutomationRule.id)
                if r.data.get("event") == event]

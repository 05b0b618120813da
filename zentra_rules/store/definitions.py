"""Definitions, their immutable versions, the active one and the history of activation; legacy
automation rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee as pw

from zentra_rules.domain.errors import ConflictError, NotFoundError
from zentra_rules.domain.values import iso
from zentra_rules.store.models import (
    Activation,
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
            row_id = DefinitionVersion.insert(
                definition=name, version=version, source=source, plan=plan, plan_hash=plan_hash,
                author=author, created_at=now).execute()
            Definition.update(active_version=version).where(Definition.name == name).execute()
            self._activated(name, kind, version, int(row_id), now, author)
        return int(version)

    def activate(self, name: str, version: int | None, now: datetime,
                 actor: str | None = None) -> None:
        """Choose the active version (None: stop matching), from `now` on."""
        with self.db.atomic():
            row = Definition.get_or_none(Definition.name == name)
            if row is None:
                raise NotFoundError(f"no workflow or scenario named `{name}`")
            chosen = None if version is None else DefinitionVersion.get_or_none(
                DefinitionVersion.definition == name, DefinitionVersion.version == version)
            if version is not None and chosen is None:
                raise NotFoundError(f"`{name}` has no version {version}")
            if row.active_version == version:
                return   # nothing changes, so the history does not either
            Definition.update(active_version=version).where(Definition.name == name).execute()
            self._activated(name, row.kind, version, None if chosen is None else int(chosen.id),
                            now, actor)

    @staticmethod
    def _activated(name: str, kind: str, version: int | None, row_id: int | None, now: datetime,
                   actor: str | None) -> None:
        """The history: the version active until now is no longer, `version` is from now on."""
        Activation.update(active_until=now).where(Activation.definition == name,
                                                  Activation.active_until.is_null()).execute()
        if version is not None and row_id is not None:
            Activation.create(definition=name, version=version, version_row=row_id, kind=kind,
                              active_from=now, active_until=None, actor=actor)

    def active_at(self, at: datetime) -> list[Record]:
        """The versions that were active at `at`, by definition name: `{"name", "version",
        "kind", "version_id"}`. A change at exactly `at` counts as made (the later state)."""
        query = (Activation.select().where(
            Activation.active_from <= at,
            Activation.active_until.is_null() | (Activation.active_until > at))
            .order_by(Activation.definition, Activation.id))
        found: dict[str, Record] = {}
        for a in query:   # the later row wins if two overlap (they never should)
            found[a.definition] = {"name": a.definition, "version": a.version, "kind": a.kind,
                                   "version_id": a.version_row}
        return list(found.values())

    def activations(self, name: str) -> list[Record]:
        """A definition's activation history, oldest first (`until` None: active now)."""
        return [{"version": a.version, "from": iso(a.active_from),
                 "until": iso(a.active_until) if a.active_until else None, "actor": a.actor}
                for a in Activation.select().where(Activation.definition == name)
                .order_by(Activation.id)]

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
                "versions": versions, "activations": self.activations(name)}

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

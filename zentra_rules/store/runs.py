"""Definitions and their versions, executions with leases, steps, waits and the audit chain."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from zentra_rules.domain.errors import ConflictError, NotFoundError
from zentra_rules.domain.values import as_datetime, iso
from zentra_rules.store.models import (
    AuditLog,
    AutomationRule,
    Definition,
    DefinitionVersion,
    Event,
    Execution,
    Meta,
    Step,
    Wait,
    Watch,
)

Record = dict[str, Any]
OPEN = ("runnable", "waiting")
log = logging.getLogger("zentra.store")
GENESIS = "0" * 64


def chain_hash(prev: str, content: dict[str, Any]) -> str:
    """The hash that links an append-only row to the one before it."""
    text = prev + json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def unreadable(execution_id: Any, exc: Exception) -> Record:
    """A listing's entry for an execution that cannot be read or shown (and a log line)."""
    log.warning("execution %s cannot be shown: %s", execution_id, exc)
    return {"id": execution_id, "error": f"unreadable: {type(exc).__name__}: {exc}"[:300]}


class Runs:
    """Mixin of `Store`: definitions, executions and their audit."""

    db: pw.Database

    def lock_chain(self, table: str) -> None:
        """Serialise appends to one hash chain (SQLite's IMMEDIATE transactions already do)."""
        if isinstance(self.db, pw.PostgresqlDatabase):
            self.db.execute_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))

    # -- definitions ------------------------------------------------------------------------
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

    def definitions(self) -> list[Record]:
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

    # -- legacy automation rules ------------------------------------------------------------
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

    # -- events -----------------------------------------------------------------------------
    def event(self, event_id: int) -> Record | None:
        e = Event.get_or_none(Event.id == event_id)
        if e is None:
            return None
        return {"id": e.id, "name": e.name, "qualifier": e.qualifier,
                "subject_kind": e.subject_kind, "subject_id": e.subject_id, "subject": e.subject,
                "previous": e.previous, "cascade": e.cascade, "actor": e.actor, "at": e.at,
                "execution": e.execution, "processed": e.processed_at is not None}

    def mark_processed(self, event_id: int, now: datetime) -> bool:
        """Compare-and-set: exactly one processor turns an event into executions."""
        return bool(Event.update(processed_at=now).where(
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

    # -- executions -------------------------------------------------------------------------
    def create_execution(self, now: datetime, **fields: Any) -> int:
        return int(Execution.insert(created_at=now, updated_at=now, **fields).execute())

    def runs_since(self, definition: str, subject_kind: str | None, subject_id: str | None,
                   since: datetime) -> int:
        """How many runs of a definition started on one subject since `since` (rate limit)."""
        return int(Execution.select().where(
            Execution.definition == definition, Execution.subject_kind == subject_kind,
            Execution.subject_id == subject_id, Execution.created_at >= since,
            Execution.status != "stopped").count())

    def claim(self, execution_id: int, owner: str, now: datetime, lease: float) -> Record | None:
        """Take a runnable execution with a lease; None if another worker holds it or it is done."""
        taken = Execution.update(lease_owner=owner, lease_until=now + timedelta(seconds=lease),
                                 attempt=Execution.attempt + 1).where(
            Execution.id == execution_id, Execution.status == "runnable",
            (Execution.lease_until.is_null()) | (Execution.lease_until < now)).execute()
        if not taken:
            return None
        row = Execution.get_by_id(execution_id)
        return {"id": row.id, "definition": row.definition, "version_id": row.version_id,
                "kind": row.kind, "trigger": row.trigger, "subject_kind": row.subject_kind,
                "subject_id": row.subject_id, "cascade": row.cascade, "state": row.state,
                "revision": row.revision, "slices": row.slices, "attempt": row.attempt,
                "inputs": row.inputs}

    def commit_execution(self, execution_id: int, owner: str, revision: int, now: datetime,
                         state: dict[str, Any], status: str, reason: str | None,
                         wake_at: datetime | None) -> bool:
        """Save a slice's outcome if this worker still holds the lease and nothing changed."""
        done = status not in OPEN
        return bool(Execution.update(
            state=state, status=status, reason=reason, wake_at=wake_at, lease_owner=None,
            lease_until=None, revision=revision + 1, slices=Execution.slices + 1, attempt=0,
            updated_at=now, finished_at=now if done else None).where(
            Execution.id == execution_id, Execution.revision == revision,
            Execution.lease_owner == owner).execute())

    def renew(self, owner: str, now: datetime, lease: float, executions: list[int]) -> int:
        """Extend the leases of the slices `owner` is running now (a worker's heartbeat); a lease
        whose slice has ended, however it ended, is left to expire."""
        if not executions:
            return 0
        return int(Execution.update(lease_until=now + timedelta(seconds=lease)).where(
            Execution.lease_owner == owner, Execution.status == "runnable",
            Execution.id.in_(executions)).execute())

    def retry_later(self, execution_id: int, owner: str, until: datetime, reason: str) -> bool:
        """A slice failed unexpectedly: nobody may take the run before `until` (the sweeper
        re-queues it then); `reason` says what went wrong, for whoever looks meanwhile."""
        return bool(Execution.update(lease_owner=None, lease_until=until, reason=reason).where(
            Execution.id == execution_id, Execution.status == "runnable",
            Execution.lease_owner == owner).execute())

    def give_up(self, execution_id: int, now: datetime, reason: str) -> bool:
        """End a run whose slices keep failing: `failed`, with the reason (compare-and-set)."""
        return bool(Execution.update(
            status="failed", reason=reason, lease_owner=None, lease_until=None, wake_at=None,
            revision=Execution.revision + 1, updated_at=now, finished_at=now).where(
            Execution.id == execution_id, Execution.status.in_(OPEN)).execute())

    def attempts(self, execution_id: int) -> int:
        row = Execution.get_or_none(Execution.id == execution_id)
        return 0 if row is None else int(row.attempt)

    def release(self, execution_id: int, owner: str) -> None:
        """Give a lease back early (the slice will be redone by whoever takes it next)."""
        Execution.update(lease_owner=None, lease_until=None).where(
            Execution.id == execution_id, Execution.lease_owner == owner).execute()

    def nudge(self, execution_id: int, now: datetime) -> bool:
        """Something a waiting execution may be waiting for happened: make it runnable.

        The revision bump also makes a slice in flight fail its commit and run again, so a
        decision that lands mid-slice is never lost."""
        return bool(Execution.update(
            status=pw.Case(None, [(Execution.status == "waiting", "runnable")], Execution.status),
            revision=Execution.revision + 1, updated_at=now).where(
            Execution.id == execution_id, Execution.status.in_(OPEN)).execute())

    def wake(self, execution_id: int, now: datetime) -> bool:
        """Make one waiting execution runnable if its earliest deadline has passed (CAS)."""
        return bool(Execution.update(
            status="runnable", revision=Execution.revision + 1, updated_at=now).where(
            Execution.id == execution_id, Execution.status == "waiting",
            Execution.wake_at <= now).execute())

    def wake_due(self, now: datetime) -> list[int]:
        """Waiting executions whose earliest deadline has passed, made runnable (CAS each)."""
        due = [e.id for e in Execution.select(Execution.id).where(
            Execution.status == "waiting", Execution.wake_at <= now)]
        return [i for i in due if Execution.update(
            status="runnable", revision=Execution.revision + 1, updated_at=now).where(
            Execution.id == i, Execution.status == "waiting").execute()]

    def runnable_unleased(self, now: datetime, grace: float) -> list[int]:
        """Runnable executions nobody is running: a lease that expired (a dead worker), or no
        lease for longer than `grace` seconds (a lost task). Fresh ones are left to their task."""
        quiet = now - timedelta(seconds=grace)
        return [e.id for e in Execution.select(Execution.id).where(
            Execution.status == "runnable",
            (Execution.lease_until < now)
            | (Execution.lease_until.is_null() & (Execution.updated_at <= quiet)))
            .order_by(Execution.id)]

    def watchers(self, kind: str, record_id: str) -> list[int]:
        """Executions a change of this record may concern: those waiting `until` a condition
        that reads it (their watch list), and those running a slice on it now as their subject
        (their view of it may be stale: they redo it)."""
        until = (Execution.select(Execution.id).join(Watch).where(
            Watch.kind == kind, Watch.record_id == str(record_id),
            Execution.status == "waiting"))
        running = Execution.select(Execution.id).where(
            Execution.subject_kind == kind, Execution.subject_id == str(record_id),
            Execution.status == "runnable", Execution.lease_owner.is_null(False))
        return sorted({e.id for e in until} | {e.id for e in running})

    def replace_watches(self, execution_id: int, records: set[tuple[str, str]]) -> None:
        """The records an execution's `wait until` reads now (none once it no longer waits)."""
        Watch.delete().where(Watch.execution == execution_id).execute()
        if records:
            Watch.insert_many([{"execution": execution_id, "kind": k, "record_id": str(i)[:200]}
                               for k, i in sorted(records)]).execute()

    def replace_waits(self, execution_id: int, waits: list[dict[str, Any]], now: datetime,
                      resolved_by: str) -> None:
        """Mirror the VM's waits as rows (deadlines queryable); resolve the ones that ended."""
        open_rows = list(Wait.select().where(Wait.execution == execution_id,
                                             Wait.resolved_at.is_null()))
        keep = {self._wait_key(w) for w in waits}
        seen = set()
        for row in open_rows:
            key = (row.kind, row.name, iso(row.deadline) if row.deadline else None)
            if key in keep and key not in seen:
                seen.add(key)
                continue
            Wait.update(resolved_at=now, resolved_by=resolved_by).where(
                Wait.id == row.id, Wait.resolved_at.is_null()).execute()
        for w in waits:
            key = self._wait_key(w)
            if key not in seen:
                seen.add(key)
                Wait.create(execution=execution_id, kind=w["kind"], name=key[1],
                            deadline=as_datetime(key[2]), created_at=now)

    @staticmethod
    def _wait_key(wait: dict[str, Any]) -> tuple[str, str | None, str | None]:
        name = wait.get("name", wait.get("cond"))
        deadline = as_datetime(wait.get("deadline"))
        return wait["kind"], None if name is None else str(name), iso(deadline) if deadline else None

    def add_steps(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            Step.insert_many(rows).execute()

    # -- reading runs -----------------------------------------------------------------------
    def executions(self, ticket: str | None = None, workflow: str | None = None,
                   status: str | None = None, limit: int = 100) -> list[Record]:
        query = Execution.select().order_by(Execution.id.desc()).limit(limit)
        if ticket is not None:
            query = query.where(Execution.subject_kind == "ticket", Execution.subject_id == ticket)
        if workflow is not None:
            query = query.where(Execution.definition == workflow)
        if status is not None:
            query = query.where(Execution.status == status)
        return [self._readable(e.id) for e in query.select(Execution.id)]

    def _readable(self, execution_id: int) -> Record:
        """One execution of a listing; a row that cannot be read is reported in its own entry
        (and logged), so that one poisoned row cannot take the whole audit trail down."""
        try:
            return self._execution(Execution.get_by_id(execution_id))
        except (ValueError, TypeError, KeyError, pw.DataError) as exc:
            return unreadable(execution_id, exc)

    def execution(self, execution_id: int) -> Record:
        row = Execution.get_or_none(Execution.id == execution_id)
        if row is None:
            raise NotFoundError(f"no execution {execution_id}")
        out = self._execution(row)
        out["steps"] = [{"slice": s.slice, "attempt": s.attempt, "pc": s.pc, "line": s.line,
                         "instruction": s.instruction, "output": s.output,
                         "started_at": iso(s.started_at), "duration_ms": s.duration_ms}
                        for s in Step.select().where(Step.execution == row.id).order_by(Step.id)]
        return out

    @staticmethod
    def _execution(e: Execution) -> Record:
        version = DefinitionVersion.get_by_id(e.version_id)
        return {"id": e.id, "workflow": e.definition, "kind": e.kind, "version": version.version,
                "version_id": e.version_id,
                "plan_hash": version.plan_hash, "trigger": e.trigger, "event": e.event_id,
                "subject": {"kind": e.subject_kind, "id": e.subject_id}, "cascade": e.cascade,
                "inputs": e.inputs, "status": e.status, "reason": e.reason,
                "state": e.state, "created_at": iso(e.created_at),
                "finished_at": iso(e.finished_at) if e.finished_at else None}

    # -- audit ------------------------------------------------------------------------------
    def audit(self, kind: str, now: datetime, data: dict[str, Any], execution: int | None = None,
              subject: str | None = None) -> None:
        self.lock_chain("audit_log")
        last = AuditLog.select(AuditLog.hash).order_by(AuditLog.id.desc()).first()
        prev = last.hash if last else GENESIS
        content = {"at": iso(now), "kind": kind, "execution": execution, "subject": subject,
                   "data": data}
        AuditLog.create(at=now, kind=kind, execution=execution, subject=subject, data=data,
                        prev_hash=prev, hash=chain_hash(prev, content))

    def verify_audit(self) -> int | None:
        """The id of the first audit row whose chain does not verify, or None."""
        prev = GENESIS
        for row in AuditLog.select().order_by(AuditLog.id):
            content = {"at": iso(row.at), "kind": row.kind, "execution": row.execution,
                       "subject": row.subject, "data": row.data}
            if row.prev_hash != prev or row.hash != chain_hash(prev, content):
                return int(row.id)
            prev = row.hash
        return None

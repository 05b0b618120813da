"""Executions with their leases, waits, watches and steps."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from zentra_rules.domain.errors import NotFoundError
from zentra_rules.domain.values import as_datetime, iso
from zentra_rules.store.models import (
    DefinitionVersion,
    Execution,
    RecordLink,
    Step,
    Wait,
    Watch,
)

Record = dict[str, Any]
OPEN = ("runnable", "waiting")
log = logging.getLogger("zentra.store")


def unreadable(execution_id: Any, exc: Exception) -> Record:
    """A listing's entry for an execution that cannot be read or shown (and a log line)."""
    log.warning("execution %s cannot be shown: %s", execution_id, exc)
    return {"id": execution_id, "error": f"unreadable: {type(exc).__name__}: {exc}"[:300]}


class Runs:
    """Executions with their leases, waits, watches and steps."""

    def __init__(self, db: pw.Database):
        self.db = db

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

    def executions(self, ticket: str | None = None, workflow: str | None = None,
                   status: str | None = None, limit: int = 100, *, before: int | None = None,
                   version: int | None = None, since: datetime | None = None,
                   until: datetime | None = None) -> list[Record]:
        """Newest first; `ticket`: those that ran on, created or changed it; `before` an
        execution id (keyset paging: rows added meanwhile have higher ids, so a page never repeats
        or skips one); `since`/`until` bound `created_at` (inclusive, exclusive)."""
        query = Execution.select(Execution.id).order_by(Execution.id.desc()).limit(limit)
        if before is not None:
            query = query.where(Execution.id < before)
        if ticket is not None:   # ran on it, created it or changed it (its record links)
            linked = RecordLink.select(RecordLink.execution).where(
                RecordLink.kind == "ticket", RecordLink.record_id == str(ticket))
            query = query.where(((Execution.subject_kind == "ticket")
                                 & (Execution.subject_id == ticket)) | Execution.id.in_(linked))
        if workflow is not None:
            query = query.where(Execution.definition == workflow)
        if version is not None:
            query = query.join(DefinitionVersion, on=(Execution.version == DefinitionVersion.id)
                               ).where(DefinitionVersion.version == version)
        if status is not None:
            query = query.where(Execution.status == status)
        if since is not None:
            query = query.where(Execution.created_at >= since)
        if until is not None:
            query = query.where(Execution.created_at < until)
        return [self._readable(e.id) for e in query]

    def on_subject(self, kind: str, record_id: str) -> list[int]:
        """The executions that ran with this record as their subject, oldest first."""
        return [e.id for e in Execution.select(Execution.id).where(
            Execution.subject_id == str(record_id), Execution.subject_kind == kind)
            .order_by(Execution.id)]

    def summaries(self, *, ids: list[int] | None = None,
                  events: list[int] | None = None) -> list[Record]:
        """Executions in brief, oldest first: by id, or those the given events started. Each
        with its definition and version, status, event, the path it took, and the data and
        explain tree it started with (what a timeline shows of a run)."""
        if not ids and not events:
            return []
        brief = (Execution.id, Execution.definition, Execution.version, Execution.kind,
                 Execution.trigger, Execution.event, Execution.status, Execution.reason,
                 Execution.subject_kind, Execution.subject_id, Execution.created_at,
                 Execution.finished_at, DefinitionVersion.version.alias("number"))
        query = (Execution.select(*brief)
                 .join(DefinitionVersion, on=(Execution.version == DefinitionVersion.id))
                 .order_by(Execution.id))
        query = query.where(Execution.id.in_(ids)) if ids else query.where(
            Execution.event.in_(events))
        out = []
        for e in query.objects():
            try:   # the JSON columns one row at a time: a poisoned row is shown as such
                row = Execution.select(Execution.inputs, Execution.state).where(
                    Execution.id == e.id).get()
                inputs, path = row.inputs, list((row.state or {}).get("path") or [])
            except (ValueError, TypeError, pw.DataError) as exc:
                out.append(unreadable(e.id, exc))
                continue
            out.append({"id": e.id, "workflow": e.definition, "version": e.number,
                        "version_id": e.version_id, "kind": e.kind, "trigger": e.trigger,
                        "event": e.event_id, "status": e.status, "reason": e.reason,
                        "subject": {"kind": e.subject_kind, "id": e.subject_id},
                        "inputs": inputs, "path": path, "created_at": iso(e.created_at),
                        "finished_at": iso(e.finished_at) if e.finished_at else None})
        return out

    def _readable(self, execution_id: int) -> Record:
        """One execution of a listing; a row that cannot be read is reported in its own entry
        (and logged), so that one poisoned row cannot take the whole audit trail down."""
        try:
            return self._execution(Execution.get_by_id(execution_id))
        except (ValueError, TypeError, KeyError, pw.DataError) as exc:
            return unreadable(execution_id, exc)

    def execution(self, execution_id: int) -> Record:
        """One execution with its steps; a row that cannot be read is `{"id", "error"}`."""
        if not Execution.select(Execution.id).where(Execution.id == execution_id).exists():
            raise NotFoundError(f"no execution {execution_id}")
        out = self._readable(execution_id)
        if "error" in out:
            return out
        out["steps"] = [{"slice": s.slice, "attempt": s.attempt, "pc": s.pc, "line": s.line,
                         "instruction": s.instruction, "output": s.output,
                         "started_at": iso(s.started_at), "duration_ms": s.duration_ms}
                        for s in Step.select().where(Step.execution == execution_id).order_by(Step.id)]
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

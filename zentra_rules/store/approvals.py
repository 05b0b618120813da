"""Approval requests, who is asked, and the hash-chained decisions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from zentra_rules.domain.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from zentra_rules.domain.values import iso
from zentra_rules.store.audit import GENESIS, Audit, chain_hash
from zentra_rules.store.models import (
    ApprovalDecision,
    ApprovalRequest,
)
from zentra_rules.store.records import Records
from zentra_rules.store.runs import Runs

Record = dict[str, Any]


class Approvals:
    """Approval requests, who is asked, and the hash-chained decisions."""

    def __init__(self, db: pw.Database, records: Records, audit: Audit, runs: Runs):
        self.db = db
        self.records = records
        self.audit = audit
        self.runs = runs

    def resolve_approvers(self, approvers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each approver entry (user, role, group or a path's value) with the user ids it means.

        An address with no user behind it is kept as it is: that person can decide once a user
        with that email exists."""
        out = []
        for entry in approvers:
            kind, value = entry["kind"], entry["value"]
            if kind in ("role", "group"):
                users = self.records.users_in(kind + "s", str(value))
            elif isinstance(value, str) and value:
                user = self.records.get_user(value)
                users = [user["id"]] if user else [value]
            else:
                users = []
            out.append({"kind": kind, "value": value, "users": users})
        return out

    def create_request(self, execution: int, name: str, approvers: list[dict[str, Any]],
                       order: str, deadline: datetime | None, via: list[str],
                       remind_every: float | None, remind_before: float | None,
                       now: datetime) -> int:
        first = None
        if remind_every:
            first = now + timedelta(seconds=remind_every)
        elif remind_before is not None and deadline is not None:
            first = deadline - timedelta(seconds=remind_before)
        if first is not None and deadline is not None and first >= deadline:
            first = None
        return int(ApprovalRequest.insert(
            execution=execution, name=name, approvers=approvers, order=order, status="pending",
            stage=0, deadline=deadline, via=via, remind_every=remind_every,
            remind_before=remind_before, next_reminder_at=first, created_at=now).execute())

    def approval(self, request_id: int) -> Record:
        row = ApprovalRequest.get_or_none(ApprovalRequest.id == request_id)
        if row is None:
            raise NotFoundError(f"no approval request {request_id}")
        return self._request(row)

    def approval_of(self, execution: int, name: str) -> Record | None:
        row = ApprovalRequest.get_or_none(ApprovalRequest.execution == execution,
                                          ApprovalRequest.name == name)
        return None if row is None else self._request(row)

    def listing(self, status: str | None = None, user: str | None = None) -> list[Record]:
        query = ApprovalRequest.select().order_by(ApprovalRequest.id)
        if status is not None:
            query = query.where(ApprovalRequest.status == status)
        rows = [self._request(r) for r in query]
        if user is not None:
            rows = [r for r in rows if user in self._asked(r)]
        return rows

    def decisions(self, request_id: int) -> list[Record]:
        return [{"user": d.user, "decision": d.decision, "comment": d.comment, "at": iso(d.at)}
                for d in ApprovalDecision.select().where(ApprovalDecision.request == request_id)
                .order_by(ApprovalDecision.id)]

    @staticmethod
    def _request(row: ApprovalRequest) -> Record:
        return {"id": row.id, "execution": row.execution_id, "name": row.name,
                "approvers": row.approvers, "order": row.order, "status": row.status,
                "stage": row.stage, "deadline": iso(row.deadline) if row.deadline else None,
                "via": row.via, "remind_every": row.remind_every,
                "remind_before": row.remind_before, "reminders_sent": row.reminders_sent,
                "created_at": iso(row.created_at),
                "decided_at": iso(row.decided_at) if row.decided_at else None}

    def _asked(self, request: Record, decided: list[Record] | None = None) -> list[str]:
        """The users whose decision the request is waiting for now."""
        entries = request["approvers"]
        if request["order"] == "sequential":
            entries = entries[request["stage"]:request["stage"] + 1]
        elif request["order"] == "parallel all":
            # A role or group is one approver: any one of its members decides for it.
            approved = {d["user"] for d in (decided or []) if d["decision"] == "approve"}
            entries = [e for e in entries if not approved & set(e["users"])]
        return sorted({u for e in entries for u in e["users"]})

    def asked(self, request_id: int) -> list[str]:
        return self._asked(self.approval(request_id), self.decisions(request_id))

    def decide(self, request_id: int, user: str, decision: str, comment: str | None,
               now: datetime) -> Record:
        """Record one approver's decision; exactly one outcome wins against the timeout."""
        if decision not in ("approve", "reject"):
            raise InputError(f"a decision is `approve` or `reject`, not {decision!r}")
        with self.db.atomic():
            query = ApprovalRequest.select().where(ApprovalRequest.id == request_id)
            if isinstance(self.db, pw.PostgresqlDatabase):
                query = query.for_update()   # SQLite's IMMEDIATE transaction already serialises
            row = query.first()
            if row is None:
                raise NotFoundError(f"no approval request {request_id}")
            request = self._request(row)
            if request["status"] != "pending":
                raise ConflictError(f"approval {request_id} is already {request['status']}")
            if row.deadline is not None and now >= row.deadline:
                raise ConflictError(f"approval {request_id} timed out at {request['deadline']}")
            decided = self.decisions(request_id)
            me = self.records.get_user(user)
            identities = {user} | ({me["id"], me.get("email")} if me else set())
            asked = set(self._asked(request, decided))
            if any(d["user"] in identities for d in decided):
                raise ConflictError(f"{user} has already decided approval {request_id}")
            if not identities & asked:
                raise ForbiddenError(f"{user} is not asked to decide approval {request_id}")
            user = me["id"] if me else user   # decisions name the user, however they signed in
            self.audit.lock_chain("approval_decision")
            last = ApprovalDecision.select(ApprovalDecision.hash).order_by(
                ApprovalDecision.id.desc()).first()
            prev = last.hash if last else GENESIS
            content = {"request": request_id, "user": user, "decision": decision,
                       "comment": comment, "at": iso(now)}
            ApprovalDecision.create(request=request_id, user=user, decision=decision,
                                    comment=comment, at=now, prev_hash=prev,
                                    hash=chain_hash(prev, content))
            decided.append({"user": user, "decision": decision})
            status, stage = self._outcome(request, decided, identities)
            ApprovalRequest.update(status=status, stage=stage,
                                   decided_at=now if status != "pending" else None).where(
                ApprovalRequest.id == request_id).execute()
            if status != "pending":
                self.runs.nudge(row.execution_id, now)
            return {**request, "status": status, "stage": stage,
                    "decided_at": iso(now) if status != "pending" else None,
                    "decisions": self.decisions(request_id)}

    def _outcome(self, request: Record, decided: list[Record], me: set[str]) -> tuple[str, int]:
        if decided[-1]["decision"] == "reject":
            return "rejected", request["stage"]
        if request["order"] == "parallel any":
            return "approved", request["stage"]
        if request["order"] == "sequential":
            stage = request["stage"] + 1
            return ("approved" if stage >= len(request["approvers"]) else "pending"), stage
        return ("approved" if not self._asked(request, decided) else "pending"), request["stage"]

    def time_out(self, request_id: int, now: datetime) -> bool:
        """Compare-and-set pending -> timed_out; False when a decision got there first."""
        done = bool(ApprovalRequest.update(status="timed_out", decided_at=now).where(
            ApprovalRequest.id == request_id, ApprovalRequest.status == "pending").execute())
        return done

    def due_reminders(self, now: datetime) -> list[int]:
        return [r.id for r in ApprovalRequest.select(ApprovalRequest.id).where(
            ApprovalRequest.status == "pending", ApprovalRequest.next_reminder_at <= now)]

    def mark_reminded(self, request_id: int, now: datetime) -> bool:
        """Move a due reminder on (CAS): True for exactly one caller per reminder."""
        row = ApprovalRequest.get_by_id(request_id)
        if row.next_reminder_at is None or row.next_reminder_at > now:
            return False
        if row.deadline is not None and now >= row.deadline:   # too late to remind anybody
            ApprovalRequest.update(next_reminder_at=None).where(
                ApprovalRequest.id == request_id).execute()
            return False
        nxt = None
        if row.remind_every:
            nxt = row.next_reminder_at + timedelta(seconds=row.remind_every)
            while nxt <= now:   # several missed while down: one reminder, then the next on time
                nxt += timedelta(seconds=row.remind_every)
            if row.deadline is not None and nxt >= row.deadline:
                nxt = None
        return bool(ApprovalRequest.update(
            next_reminder_at=nxt, reminders_sent=ApprovalRequest.reminders_sent + 1).where(
            ApprovalRequest.id == request_id,
            ApprovalRequest.next_reminder_at == row.next_reminder_at,
            ApprovalRequest.status == "pending").execute())

    def verify_decisions(self) -> int | None:
        """The id of the first decision whose hash chain does not verify, or None."""
        prev = GENESIS
        for d in ApprovalDecision.select().order_by(ApprovalDecision.id):
            content = {"request": d.request, "user": d.user, "decision": d.decision,
                       "comment": d.comment, "at": iso(d.at)}
            if d.prev_hash != prev or d.hash != chain_hash(prev, content):
                return int(d.id)
            prev = d.hash
        return None

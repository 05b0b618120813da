"""The store on SQLite and PostgreSQL: append-only decisions and audit, events, configuration."""

from __future__ import annotations

import peewee as pw
import pytest

from zentra_rules.domain.config import load
from zentra_rules.domain.errors import InputError
from zentra_rules.store import Store, open_store
from zentra_rules.store.models import ApprovalDecision, AuditLog

from .conftest import NOW
from .rig import Rig


def decided(rig: Rig) -> Store:
    rig.store.records.create_user({"id": "maria", "email": "maria@example.com"})
    rig.publish('workflow "ask" WHEN ticket.created THEN\n'
                '  request approval ok from user "maria"\n  wait for approval ok')
    rig.engine.create_ticket({"title": "x"})
    rig.settle()
    request = rig.store.approvals.listing()[0]
    rig.engine.decide(request["id"], "maria", "approve", "fine")
    rig.settle()
    return rig.store


def refused(store: Store, sql: str, params: tuple[object, ...] = ()) -> None:
    with pytest.raises((pw.IntegrityError, pw.InternalError, pw.OperationalError),
                       match="append-only"), store.db.atomic():
        store.db.execute_sql(sql, params)


def test_approval_decisions_are_append_only_in_the_database(rig: Rig) -> None:
    store = decided(rig)
    row = ApprovalDecision.select().first()
    p = "?" if isinstance(store.db, pw.SqliteDatabase) else "%s"
    refused(store, f"UPDATE approval_decision SET decision = {p}", ("reject",))
    refused(store, "DELETE FROM approval_decision")
    if isinstance(store.db, pw.SqliteDatabase):
        refused(store, "INSERT OR REPLACE INTO approval_decision (id, request, \"user\", decision, "
                       "at, prev_hash, hash) VALUES (?, ?, 'mallory', 'reject', ?, '', '')",
                (row.id, row.request, "2026-01-01 00:00:00"))
    else:
        refused(store, "INSERT INTO approval_decision (id, request, \"user\", decision, at, "
                       "prev_hash, hash) VALUES (%s, %s, 'mallory', 'reject', now(), '', '') "
                       "ON CONFLICT (id) DO UPDATE SET decision = 'reject'", (row.id, row.request))
        refused(store, "TRUNCATE approval_decision")
    assert [d["decision"] for d in store.approvals.decisions(row.request)] == ["approve"]
    assert ApprovalDecision.select().count() == 1


def test_the_audit_log_is_append_only_and_hash_chained(rig: Rig) -> None:
    store = decided(rig)
    assert AuditLog.select().count() >= 2
    assert store.audit.verify() is None
    p = "?" if isinstance(store.db, pw.SqliteDatabase) else "%s"
    refused(store, f"UPDATE audit_log SET kind = {p}", ("forged",))
    refused(store, "DELETE FROM audit_log")


def test_tampering_that_bypasses_the_database_is_detected(tmp_path: object) -> None:
    store = open_store(f"sqlite:///{tmp_path}/z.db")
    try:
        with store.tx():
            for n in range(3):
                store.audit.write("note", NOW, {"n": n})
        assert store.audit.verify() is None
        # Someone with the file drops the triggers and edits a row.
        store.db.execute_sql("DROP TRIGGER audit_log_no_update")
        store.db.execute_sql("UPDATE audit_log SET data = '{\"n\":9}' WHERE id = 2")
        assert store.audit.verify() == 2
    finally:
        store.close()


def test_an_event_with_a_seen_dedupe_key_is_recorded_once(rig: Rig) -> None:
    with rig.store.tx():
        first = rig.store.events.emit("schedule.cron", NOW, qualifier="* * * * *", dedupe_key="k")
        again = rig.store.events.emit("schedule.cron", NOW, qualifier="* * * * *", dedupe_key="k")
    assert first is not None and again is None


def test_bad_records_are_refused_with_the_field_named(rig: Rig) -> None:
    with pytest.raises(InputError, match="unknown ticket field `priorty`; did you mean `priority`"):
        rig.engine.create_ticket({"title": "x", "priorty": "high"})
    with pytest.raises(InputError, match="must be one of"):
        rig.engine.create_ticket({"title": "x", "priority": "asap"})
    assert rig.store.events.unprocessed_events(rig.clock.now()) == []


def test_configuration_from_file_and_environment(tmp_path: object) -> None:
    path = f"{tmp_path}/zentra.toml"
    with open(path, "w") as fh:
        fh.write('[database]\nurl = "sqlite:///x.db"\n[integrations.email]\n'
                 'url = "mailto://mail.example.com"\n[webhooks]\nallow_private = true\n')
    config = load(path, environ={"ZENTRA_QUEUE_URL": "redis://q:6379/0",
                                 "ZENTRA_WEBHOOKS_ALLOW_PRIVATE": "false"})
    assert config.database_url == "sqlite:///x.db"
    assert config.queue_url == "redis://q:6379/0"
    assert config.integrations == {"email": "mailto://mail.example.com"}
    assert config.allow_private is False
    with pytest.raises(InputError, match="expected true or false"):
        load(path, environ={"ZENTRA_WEBHOOKS_ALLOW_PRIVATE": "maybe"})
    with pytest.raises(InputError, match="not found"):
        load(f"{tmp_path}/missing.toml", environ={})


def test_configuration_mistakes_are_named(tmp_path: object) -> None:
    path = f"{tmp_path}/zentra.toml"
    for text, message in [("[databse]\nurl = 'x'\n", "unknown section \\[databse\\]; did you mean"),
                          ("[webhooks]\nallow_privat = true\n", "unknown key `allow_privat`"),
                          ("[integrations.mail]\nurl = 'x'\n", "unknown integration `mail`"),
                          ("[runtime]\nlease_seconds = 'soon'\n",
                           "runtime.lease_seconds: expected a number"),
                          ("[database\n", "cannot read configuration")]:
        with open(path, "w") as fh:
            fh.write(text)
        with pytest.raises(InputError, match=message):
            load(path, environ={})

"""Legacy rules, translated and published on a real engine (SQLite, PostgreSQL), do what the oracle says."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings

from compiler.legacy import translate

from .legacy_generators import cases
from .legacy_oracle import Outcome, Rule, Ticket, legacy_outcome
from .rig import Rig
from .services import database_url


def _store_fields(ticket: Ticket) -> Ticket:
    return {k: copy.deepcopy(v) for k, v in ticket.items() if k != "id"}


def durable_outcome(rig: Rig, rules_doc: list[Rule] | Rule, event_name: str, ticket: Ticket,
                    previous: Ticket | None) -> tuple[Outcome, Outcome, str] | None:
    """Publish the translation on a real engine, make the event happen to a stored ticket, let
    the engine run; (what it did, what the oracle says for that stored ticket, the zflow)."""
    rule_list = rules_doc if isinstance(rules_doc, list) else [rules_doc]
    mine = [r for r in rule_list if r["event"] == event_name]
    if not any(r.get("active", True) for r in mine):
        return None
    text = translate(copy.deepcopy(mine))
    published = rig.publish(text)
    if event_name == "ticket.created":
        record = rig.engine.create_ticket(_store_fields(ticket))
    else:
        record = rig.engine.create_ticket(_store_fields(previous if previous else ticket), actor="hr")
    before: Ticket | None = None
    if event_name == "ticket.sla_breached":
        with rig.store.tx():
            breach = rig.store.events.emit("ticket.sla_breached", rig.clock.now(), subject_kind="ticket",
                                           subject=record, actor="sla")
        assert breach is not None    # without a dedupe key every emit records an event
        rig.engine.queue.process(breach)
    elif event_name != "ticket.created":
        assert previous is not None  # the events of a change come with the ticket before it
        before = record
        changes = {k: copy.deepcopy(ticket.get(k)) for k in {*ticket, *previous} - {"id"}
                   if ticket.get(k) != previous.get(k)}
        if not changes or (event_name == "ticket.status_changed" and "status" not in changes) \
                or ("status" in changes and changes["status"] is None):   # the desk keeps one
            for d in published:
                rig.store.definitions.activate(d["name"], None, rig.clock.now())
            return None          # no such event happens to this ticket
        record = rig.engine.update_ticket(record["id"], changes)
        desk_fields = ("updatedAt",)
        same = {k: v for k, v in record.items() if k not in desk_fields} == {
            k: v for k, v in before.items() if k not in desk_fields}
        if same or (event_name == "ticket.status_changed"
                    and record.get("status") == before.get("status")):
            for d in published:   # as stored (a missing status is `new`), nothing changed
                rig.store.definitions.activate(d["name"], None, rig.clock.now())
            return None
    rig.settle()
    for d in published:
        rig.store.definitions.activate(d["name"], None, rig.clock.now())
    stored = rig.ticket(record["id"])
    expected, _ = legacy_outcome(rule_list, event_name, record, before)
    runs = [r for r in rig.store.runs.executions(ticket=record["id"])
            if r["workflow"] == f"legacy {event_name}"]
    assert all(r["status"] == "completed" for r in runs), runs
    outputs: list[tuple[Any, ...]] = []
    for note_row in rig.store.records.notes(record["id"]):
        outputs.append(("note" if note_row["kind"] == "internal" else "reply", note_row["body"]))
    for send in rig.store.outbox.sends():
        if send["execution"] not in {r["id"] for r in runs}:
            continue
        body = send["payload"].get("body")
        if send["channel"] == "email":
            outputs.append(("email", send["target"], send["payload"].get("subject"), body))
        elif send["channel"] == "webhook":
            outputs.append(("webhook", send["target"], body))
        else:
            outputs.append((send["channel"], send["target"], body))
    desk = ("createdAt", "updatedAt")
    got = {"ticket": {k: v for k, v in stored.items() if k not in desk}, "outputs": outputs,
           "acted": bool(outputs) or {k: v for k, v in record.items() if k not in desk}
           != {k: v for k, v in stored.items() if k not in desk}}
    want = {"ticket": {k: v for k, v in expected["ticket"].items() if k not in desk},
            "outputs": expected["outputs"]}
    return got, want, text


def _by_kind(outputs: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """Outputs per kind, in order (notes and sends are kept in different tables)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for item in outputs:
        out.setdefault("note" if item[0] in ("note", "reply") else "send", []).append(item)
    return out


def _durable(backend: str, tmp_path: Any, examples: int) -> None:
    with database_url(backend, tmp_path) as url:
        rig = Rig(url)
        ran = {"examples": 0, "durable": 0, "acted": 0}
        try:
            @settings(max_examples=examples, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
            @given(case=cases())
            def check(case: dict[str, Any]) -> None:
                ran["examples"] += 1
                found = durable_outcome(rig, case["rules"], case["event"], case["ticket"],
                                        case["previous"])
                if found is None:
                    event("no such event for this ticket, or no active rule")
                    return
                got, want, text = found
                ran["durable"] += 1
                ran["acted"] += got["acted"]
                note("translated zflow:\n" + text)
                assert got["ticket"] == want["ticket"]
                assert _by_kind(got["outputs"]) == _by_kind(want["outputs"])
            check()
            print(f"legacy rules on {backend}, durably: {ran}")
            # Most examples must reach the engine (not only the cases with no event to fire).
            assert ran["durable"] >= examples // 2, ran
        finally:
            rig.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_translated_rules_run_durably_as_legacy_rules_did(backend: str, tmp_path: Any) -> None:
    _durable(backend, tmp_path, 300)


@pytest.mark.long
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_translated_rules_run_durably_as_legacy_rules_did_long(backend: str, tmp_path: Any) -> None:
    _durable(backend, tmp_path, 3000)

"""What runs is what the dry run shows: each case runs through the real engine (SQLite and
PostgreSQL) and, where it applies, the dry run of the same script must say the same."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_source, compile_text
from runtime import Matcher, dry_run
from runtime.events import event_data
from runtime.trace import stored_trace

from .conftest import NOW
from .rig import Rig

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def only(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def history(rig: Rig, ticket_id: str) -> list[Any]:
    from zentra_rules.store.models import TicketHistory
    return [h.changes for h in TicketHistory.select().where(TicketHistory.ticket == int(ticket_id))]


def events_named(rig: Rig, name: str) -> list[Any]:
    from zentra_rules.store.models import Event
    return list(Event.select().where(Event.name == name))


# -- 1. a wait on a ticket the run created reads the ticket as it is now ------------------------
OFFBOARDING = """
workflow "offboarding"
WHEN webhook.received "hr"
THEN
  create ticket laptop, title = "Collect laptop from {{payload.name}}", team = "Field IT"
  wait until laptop.status = "resolved" or 48 hours
  if laptop.status = "resolved" then
    notify slack = "#field-it", message = "Laptop of {{payload.name}} collected"
  else
    set laptop.priority = "urgent"
    notify slack = "#field-it", message = "Laptop of {{payload.name}} still open"
  end
"""


def test_a_wait_on_a_created_ticket_wakes_when_that_ticket_changes(rig: Rig) -> None:
    rig.publish(OFFBOARDING)
    rig.engine.receive_webhook("hr", {"name": "Ana"})
    rig.settle()
    run = only(rig.store.runs.executions(workflow="offboarding"))
    assert run["status"] == "waiting"
    laptop = run["state"]["vars"]["laptop"]["id"]
    rig.jump(hours=1)
    rig.engine.update_ticket(laptop, {"status": "resolved"})
    rig.settle()
    run = rig.store.runs.execution(run["id"])
    assert run["status"] == "completed"            # after 1 hour, not 48
    assert rig.ticket(laptop).get("priority") is None   # the else branch never ran
    assert [s["payload"]["body"] for s in rig.store.outbox.sends()] == ["Laptop of Ana collected"]


# -- 2. a wait on a change record resumes when the change changes --------------------------------
def test_change_implementation_example_completes_when_its_change_is_implemented(rig: Rig) -> None:
    rig.store.records.create_user({"id": "u_ops", "name": "Olga", "email": "olga@example.com"})
    rig.publish((EXAMPLES / "change-implementation.zflow").read_text())
    rig.engine.put_change({"id": "CHG-1", "title": "Firewall", "status": "review", "risk": "high",
                           "requestedBy": "u_ops", "linkedAssets": []}, create=True)
    rig.engine.put_change({"id": "CHG-1", "status": "approved"}, create=False)
    rig.settle()
    run = only(rig.store.runs.executions(workflow="change-implementation"))
    assert run["status"] == "waiting"
    implement = run["state"]["vars"]["implement"]["id"]
    rig.jump(hours=3)
    rig.engine.put_change({"id": "CHG-1", "status": "implemented"}, create=False)
    rig.settle()
    assert rig.store.runs.execution(run["id"])["status"] == "completed"
    assert rig.ticket(implement)["status"] == "closed"
    mail = only([s for s in rig.store.outbox.sends() if s["channel"] == "email"])
    assert mail["target"] == "olga@example.com"
    assert mail["payload"]["subject"] == "Change CHG-1 implemented"


def test_a_wait_on_a_looked_up_asset_wakes_when_the_asset_changes(rig: Rig) -> None:
    rig.engine.put_asset({"id": "A-1", "name": "core-sw", "lifecycle": "deployed"}, create=True)
    rig.publish('workflow "repair" WHEN ticket.created WHERE category = "R" THEN '
                'wait until linkedAsset.lifecycle = "in_repair" or 3 days '
                'add internal note = "asset {{linkedAsset.name}} is {{linkedAsset.lifecycle}}"')
    ticket = rig.engine.create_ticket({"title": "x", "category": "R", "linkedAsset": "A-1"})
    rig.settle()
    assert only(rig.store.runs.executions(ticket=ticket["id"]))["status"] == "waiting"
    rig.jump(hours=2)
    rig.engine.put_asset({"id": "A-1", "name": "core-switch"}, create=False)   # not yet
    rig.settle()
    assert only(rig.store.runs.executions(ticket=ticket["id"]))["status"] == "waiting"
    rig.engine.put_asset({"id": "A-1", "lifecycle": "in_repair"}, create=False)
    rig.settle()
    assert only(rig.store.runs.executions(ticket=ticket["id"]))["status"] == "completed"
    assert [n["body"] for n in rig.store.records.notes(ticket["id"])] == ["asset core-switch is in_repair"]


def test_a_wait_until_without_a_timeout_is_a_warning() -> None:
    result = compile_text('WHEN ticket.created THEN wait until status = "resolved"', "w.zflow")
    (warning,) = result.warnings
    assert (warning.line, warning.col) == (1, 26) and "no timeout" in warning.message
    assert compile_text('WHEN ticket.created THEN wait until status = "resolved" or 2 days',
                        "w.zflow").warnings == []


# -- 3. a created ticket's id renders in the same slice ------------------------------------------
def test_the_id_of_a_ticket_created_in_the_same_slice_renders(rig: Rig) -> None:
    rig.publish("""
workflow "iam"
WHEN webhook.received "hr"
THEN
  create ticket accounts, title = "Accounts for {{payload.name}}", team = "IAM"
  notify slack = "#iam", message = "IAM ticket {{accounts.id}} for {{payload.name}}"
""")
    rig.engine.receive_webhook("hr", {"name": "Ana"})
    rig.settle()
    run = only(rig.store.runs.executions(workflow="iam"))
    ticket_id = run["state"]["vars"]["accounts"]["id"]
    slack = only(rig.store.outbox.sends())
    assert run["status"] == "completed" and ticket_id
    assert slack["payload"]["body"] == f"IAM ticket {ticket_id} for Ana"


# -- 4. a user as a recipient is reached at the user's address ----------------------------------
RECIPIENTS = """
workflow "tell"
WHEN ticket.created
WHERE category = "Access"
THEN
  notify email = requester.manager, subject = "Access for {{requester.name}}"
  notify slack dm = agent, message = "New access ticket {{id}}"
  notify teams dm = user "u_lead", message = "FYI {{id}}"
  send survey = "Access", to = requester
"""


def test_user_recipients_reach_their_address(rig: Rig) -> None:
    for user in ({"id": "u_bob", "name": "Bob", "email": "bob@example.com"},
                 {"id": "u_ana", "name": "Ana", "email": "ana@example.com", "manager": "u_bob"},
                 {"id": "u_agent7", "email": "kim@example.com", "slack": "U07KIM"},
                 {"id": "u_lead", "email": "lead@example.com", "teams": "lead@corp.example"}):
        rig.store.records.create_user(user)
    rig.publish(RECIPIENTS)
    ticket = rig.engine.create_ticket({"title": "VPN", "category": "Access", "requester": "u_ana",
                                       "agent": "u_agent7"})
    rig.settle()
    run = only(rig.store.runs.executions(ticket=ticket["id"]))
    assert run["status"] == "completed", run["reason"]
    sent = [(s["channel"], s["target"]) for s in rig.store.outbox.sends()]
    assert sent == [("email", "bob@example.com"), ("slack dm", "U07KIM"),
                    ("teams dm", "lead@corp.example"), ("email", "ana@example.com")]
    # The dry run of the same ticket, given the same directory, addresses the same people.
    records = rig.engine.directory(compile_source(RECIPIENTS), "ticket.created", ticket)
    trace = dry_run(compile_source(RECIPIENTS), "ticket.created", ticket, records=records, now=NOW)
    assert [(s["channel"], s["to"]) for s in only(trace["runs"])["sends"]] == sent


def test_a_user_without_the_address_fails_the_run_with_the_reason(rig: Rig) -> None:
    rig.store.records.create_user({"id": "u_bob", "email": "bob@example.com"})
    rig.store.records.create_user({"id": "u_ana", "manager": "u_bob"})
    rig.store.records.create_user({"id": "u_agent7", "email": "kim@example.com"})    # no `slack`
    rig.publish(RECIPIENTS)
    ticket = rig.engine.create_ticket({"title": "VPN", "category": "Access", "requester": "u_ana",
                                       "agent": "u_agent7"})
    rig.settle()
    run = only(rig.store.runs.executions(ticket=ticket["id"]))
    assert run["status"] == "failed"
    assert run["reason"] == ("line 7: user `u_agent7` has no `slack` field, so the slack dm "
                             "message cannot reach them; set it with POST /api/users")
    assert [s["target"] for s in rig.store.outbox.sends()] == ["bob@example.com"]   # what ran before
    records = rig.engine.directory(compile_source(RECIPIENTS), "ticket.created", ticket)
    entry = only(dry_run(compile_source(RECIPIENTS), "ticket.created", ticket, records=records,
                         now=NOW)["runs"])
    assert (entry["status"], entry["reason"]) == ("failed", run["reason"])
    assert entry["actions"] == stored_trace(rig.store.runs.execution(run["id"]),
                                            rig.engine.plan_of(run))["actions"]


# -- 5. one meaning of each statement on a record -----------------------------------------------
def test_adding_a_tag_that_is_there_changes_nothing(rig: Rig) -> None:
    rig.publish('WHEN ticket.created WHERE category = "T" THEN add tag = "a"')
    ticket = rig.engine.create_ticket({"title": "x", "category": "T", "tags": ["a", "b"]})
    rig.settle()
    assert rig.ticket(ticket["id"])["tags"] == ["a", "b"]
    assert history(rig, ticket["id"]) == [] and events_named(rig, "ticket.updated") == []
    entry = only(dry_run(compile_source('WHEN ticket.created WHERE category = "T" THEN add tag = "a"'),
                         "ticket.created", ticket, now=NOW)["runs"])
    assert entry["status"] == "completed"


def test_removing_a_tag_removes_every_copy_in_both_paths(rig: Rig) -> None:
    source = 'WHEN ticket.created WHERE category = "T" THEN remove tag = "a" add tag = "c"'
    rig.publish(source)
    ticket = rig.engine.create_ticket({"title": "x", "category": "T", "tags": ["a", "b", "a"]})
    rig.settle()
    assert rig.ticket(ticket["id"])["tags"] == ["b", "c"]
    assert history(rig, ticket["id"]) == [{"tags": [["a", "b", "a"], ["b", "c"]]}]
    from runtime.dryrun import simulate
    _, (world,) = simulate(compile_source(source), "ticket.created", ticket, now=NOW)
    assert world.records[("ticket", ticket["id"])]["tags"] == ["b", "c"]


# -- 6. one matcher --------------------------------------------------------------------------
ZONED = """
workflow "utc"
WHEN schedule.cron "0 9 * * *"
THEN notify slack = "#utc"
workflow "berlin"
WHEN schedule.cron "0 9 * * *" tz "Europe/Berlin"
THEN notify slack = "#berlin"
"""


def test_the_engine_and_the_matcher_agree_on_a_cron_time_zone(rig: Rig) -> None:
    rig.publish(ZONED)
    plans = compile_source(ZONED)
    for tz, expected in ((None, ["utc"]), ("Europe/Berlin", ["berlin"])):
        assert [p.name for p in Matcher(plans).match("schedule.cron:0 9 * * *", {"tz": tz},
                                                      now=NOW)] == expected
        event = rig.store.events.emit("schedule.cron", NOW, qualifier="0 9 * * *", subject={"tz": tz})
        assert event is not None     # without a dedupe key every emit records an event
        started = rig.engine.process_event(event)
        assert [rig.store.runs.execution(e)["workflow"] for e in started] == expected
    data = event_data("schedule.cron", "0 9 * * *", None, None, NOW)
    # A dry run names no zone: the expression matches in any zone.
    assert [p.name for p, _ in Matcher(plans).decide("schedule.cron:0 9 * * *", None, data, NOW)] \
        == ["utc", "berlin"]


# -- 7. warnings, one execution shape, per-statement steps, decisions with their time -------------
def test_steps_are_timed_per_statement_and_a_failed_step_is_recorded(rig: Rig) -> None:
    rig.publish('WHEN ticket.created WHERE category = "S" THEN set team = "A" add internal note = "n"'
                ' set custom.level = 2')
    ticket = rig.engine.create_ticket({"title": "x", "category": "S"})
    rig.settle()
    run = only(rig.store.runs.executions(ticket=ticket["id"]))
    steps = rig.store.runs.execution(run["id"])["steps"]
    assert [s["line"] for s in steps] == [1, 1, 1, 1]
    assert all(s["duration_ms"] >= 0 for s in steps)
    # Compared as times: a step that starts on a whole second prints without a fraction.
    starts = [datetime.fromisoformat(s["started_at"]) for s in steps]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    durations = [s["duration_ms"] for s in steps]
    assert sum(durations) < 60_000 and len(set(durations)) > 1   # measured each, not per slice


def test_a_slice_refused_by_the_store_records_the_failing_step(rig: Rig) -> None:
    rig.publish('workflow "linker" WHEN ticket.created WHERE category = "L" THEN link ticket = "1"'
                ' add internal note = "n"')
    ticket = rig.engine.create_ticket({"title": "x", "category": "L"})
    from zentra_rules.store.models import TicketNote

    # The store refuses the note: a stand-in for a refusal the desk makes (a record gone, a
    # value it cannot hold), raised where the real one would be.
    def refuse(*args: Any, **kwargs: Any) -> None:
        from zentra_rules.domain.errors import RunError
        raise RunError("the desk refused the note")
    rig.store.records.add_note = refuse  # type: ignore[method-assign]
    rig.settle()
    run = only(rig.store.runs.executions(ticket=ticket["id"]))
    assert run["status"] == "failed" and run["reason"] == "line 1: the desk refused the note"
    (step,) = rig.store.runs.execution(run["id"])["steps"]
    assert step["output"] == {"error": "the desk refused the note"} and step["pc"] == 1
    assert rig.store.records.links(ticket["id"]) == [] and list(TicketNote.select()) == []


def test_a_decision_is_answered_with_its_time(rig: Rig) -> None:
    rig.store.records.create_user({"id": "u1", "email": "u1@example.com"})
    rig.publish('WHEN ticket.created THEN request approval m from user "u1" timeout 1 day '
                'wait for approval m')
    rig.engine.create_ticket({"title": "x"})
    rig.settle()
    (request,) = rig.store.approvals.listing()
    rig.clock.advance(minutes=5)
    answer = rig.engine.decide(request["id"], "u1", "approve", "ok")
    assert answer["status"] == "approved" and answer["decided_at"] == "2026-11-25T09:05:00Z"
    assert answer["decisions"][-1]["at"] == "2026-11-25T09:05:00Z"
    rig.settle()
    run = only(rig.store.runs.executions())
    assert run["state"]["vars"]["m"]["decidedAt"] == "2026-11-25T09:05:00Z"


@pytest.mark.parametrize("timeout", ["1 hour"])
def test_a_timeout_happens_at_its_deadline_however_late_the_slice(rig: Rig, timeout: str) -> None:
    rig.store.records.create_user({"id": "u1", "email": "u1@example.com"})
    rig.publish(f'WHEN ticket.created THEN request approval m from user "u1" timeout {timeout} '
                'wait for approval m')
    rig.engine.create_ticket({"title": "x"})
    rig.settle()
    rig.clock.advance(hours=5)     # nothing ran for five hours
    rig.settle()
    run = only(rig.store.runs.executions())
    assert run["state"]["vars"]["m"]["outcome"] == "timed_out"
    assert run["state"]["vars"]["m"]["decidedAt"] == "2026-11-25T10:00:00Z"
    assert only(rig.store.approvals.listing())["decided_at"] == "2026-11-25T10:00:00Z"


def test_a_webhook_without_a_payload_names_its_execution(rig: Rig) -> None:
    rig.publish('workflow "hook" WHEN ticket.created WHERE category = "W" THEN call webhook = "crm"')
    ticket = rig.engine.create_ticket({"title": "x", "category": "W"})
    rig.settle()
    run = only(rig.store.runs.executions(ticket=ticket["id"]))
    body = only(rig.store.outbox.sends())["payload"]["body"]
    assert body["workflow"] == "hook" and body["execution"] == run["id"]
    assert body["subject"]["id"] == ticket["id"]
    # The dry run has no execution yet: it says null there, and the same otherwise.
    (entry,) = dry_run(compile_source('workflow "hook" WHEN ticket.created THEN call webhook = "crm"'),
                       "ticket.created", ticket, now=NOW)["runs"]
    assert entry["sends"][0]["body"]["execution"] is None

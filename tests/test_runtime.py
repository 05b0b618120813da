"""The durable engine on SQLite and PostgreSQL, with a hand-moved clock (no sleeping)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from zentra_rules.domain.errors import ConflictError, ForbiddenError

from .rig import Rig

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

NEW_JOINER = """
workflow "new-joiner"
WHEN webhook.received "hr"
WHERE payload.type = "new_joiner"
THEN
  create ticket laptop,   title = "Provision laptop for {{payload.name}}", team = "Field IT"
  create ticket accounts, title = "Create accounts for {{payload.name}}",  team = "IAM"
  create ticket desk,     title = "Assign desk for {{payload.name}}",      team = "Facilities"
  request approval manager from payload.manager remind every 12 hours via email timeout 48 hours
  wait for approval manager or 48 hours
  if manager.approved then
    set laptop.status = "ready"
    set accounts.status = "ready"
    set desk.status = "ready"
    notify slack = "#field-it", message = "New joiner {{payload.name}} approved"
  else
    notify email = "hr@example.com", subject = "New joiner {{payload.name}}: not approved",
           body = "Outcome: {{manager.outcome}}"
    set laptop.status = "cancelled"
    set accounts.status = "cancelled"
    set desk.status = "cancelled"
  end
  wait 30 days
  send survey = "30-day check-in", to = payload.email
"""
JOINER = {"type": "new_joiner", "name": "Ana", "email": "ana@example.com",
          "manager": "maria@example.com"}


def only(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def start_joiner(rig: Rig) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rig.store.records.create_user({"id": "maria", "email": "maria@example.com", "name": "Maria"})
    rig.publish(NEW_JOINER)
    rig.engine.receive_webhook("hr", JOINER, webhook_id="msg_1")
    rig.settle()
    execution = only(rig.store.runs.executions(workflow="new-joiner"))
    created = [rig.store.records.get_ticket(i) for i in range(1, 4)]
    return execution, [t for t in created if t]


def test_seed_workflow_routes_an_urgent_network_ticket(rig: Rig) -> None:
    rig.publish((EXAMPLES / "escalate-urgent.zflow").read_text())
    ticket = rig.engine.create_ticket({"title": "VPN down", "priority": "urgent",
                                       "category": "Network"})
    other = rig.engine.create_ticket({"title": "Printer", "priority": "low", "category": "Network"})
    rig.settle()
    assert rig.ticket(ticket["id"])["team"] == "Network"
    assert [n["body"] for n in rig.store.records.notes(ticket["id"])] == ["Auto-routed by urgency rule"]
    assert "team" not in rig.ticket(other["id"])
    execution = only(rig.store.runs.executions(ticket=ticket["id"]))
    assert execution["status"] == "completed" and execution["version"] == 1
    slack = only([s for s in rig.store.outbox.sends() if s["channel"] == "slack"])
    assert slack["target"] == "#incidents"


def test_new_joiner_approved(rig: Rig) -> None:
    execution, created = start_joiner(rig)
    assert [t["title"] for t in created] == ["Provision laptop for Ana", "Create accounts for Ana",
                                             "Assign desk for Ana"]
    assert [t["team"] for t in created] == ["Field IT", "IAM", "Facilities"]
    assert execution["status"] == "waiting"
    request = only(rig.store.approvals.listing(status="pending", user="maria"))
    asked = [s for s in rig.store.outbox.sends() if s["target"] == "maria@example.com"]
    assert len(asked) == 1 and "Approval needed" in asked[0]["payload"]["subject"]
    rig.jump(hours=12)
    reminders = [s for s in rig.store.outbox.sends() if "Reminder" in (s["payload"]["subject"] or "")]
    assert len(reminders) == 1
    with pytest.raises(ForbiddenError):
        rig.engine.decide(request["id"], "somebody-else", "approve")
    rig.engine.decide(request["id"], "maria", "approve", "welcome!")
    rig.settle()
    assert [rig.ticket(t["id"])["status"] for t in created] == ["ready"] * 3
    assert only([s for s in rig.store.outbox.sends() if s["channel"] == "slack"])["payload"]["body"] == \
        "New joiner Ana approved"
    with pytest.raises(ConflictError):
        rig.engine.decide(request["id"], "maria", "reject")
    rig.jump(days=30)
    survey = only([s for s in rig.store.outbox.sends() if s["payload"].get("kind") == "survey"])
    assert survey["target"] == "ana@example.com"
    done = rig.store.runs.execution(execution["id"])
    assert done["status"] == "completed"
    assert rig.store.approvals.decisions(request["id"])[0]["comment"] == "welcome!"


def test_new_joiner_rejected(rig: Rig) -> None:
    _, created = start_joiner(rig)
    request = only(rig.store.approvals.listing(status="pending"))
    rig.jump(hours=1)
    rig.engine.decide(request["id"], "maria@example.com", "reject", "no budget")
    rig.settle()
    assert [rig.ticket(t["id"])["status"] for t in created] == ["cancelled"] * 3
    mail = only([s for s in rig.store.outbox.sends() if s["target"] == "hr@example.com"])
    assert mail["payload"] == {"subject": "New joiner Ana: not approved", "body": "Outcome: rejected"}


def test_new_joiner_times_out_after_reminders(rig: Rig) -> None:
    execution, created = start_joiner(rig)
    for _ in range(4):
        rig.jump(hours=12)
    assert rig.store.approvals.listing()[0]["status"] == "timed_out"
    reminders = [s for s in rig.store.outbox.sends() if "Reminder" in (s["payload"]["subject"] or "")]
    assert len(reminders) == 3      # at 12, 24 and 36 hours; none at the deadline itself
    assert [rig.ticket(t["id"])["status"] for t in created] == ["cancelled"] * 3
    mail = only([s for s in rig.store.outbox.sends() if s["target"] == "hr@example.com"])
    assert mail["payload"]["body"] == "Outcome: timed_out"
    rig.jump(hours=1)
    assert len([s for s in rig.store.outbox.sends() if s["target"] == "hr@example.com"]) == 1
    assert rig.store.runs.execution(execution["id"])["status"] == "waiting"   # the 30-day wait


def test_a_decision_at_the_deadline_loses_to_the_timeout(rig: Rig) -> None:
    start_joiner(rig)
    request = only(rig.store.approvals.listing(status="pending"))
    rig.clock.advance(hours=48)
    with pytest.raises(ConflictError, match="timed out"):
        rig.engine.decide(request["id"], "maria", "approve")
    rig.settle()
    assert rig.store.approvals.approval(request["id"])["status"] == "timed_out"


def test_a_decision_racing_the_timeout_has_one_outcome(rig: Rig) -> None:
    rig.store.records.create_user({"id": "maria", "email": "maria@example.com"})
    rig.publish(NEW_JOINER.replace("wait for approval manager or 48 hours",
                                   "wait for approval manager or 1 hours"))
    for n in range(8):
        rig.engine.receive_webhook("hr", {**JOINER, "name": f"N{n}"})
    rig.settle()
    requests = rig.store.approvals.listing(status="pending")
    assert len(requests) == 8
    rig.clock.advance(hours=2)   # past the wait's own deadline, before the request's timeout
    outcomes = []
    for request in requests:
        barrier = threading.Barrier(2)
        results: dict[str, Any] = {}

        def approve(request_id: int = request["id"], barrier: threading.Barrier = barrier,
                    results: dict[str, Any] = results) -> None:
            barrier.wait()
            try:
                results["decide"] = rig.engine.decide(request_id, "maria", "approve")["status"]
            except ConflictError as exc:
                results["decide"] = exc

        def time_out(execution: int = request["execution"],
                     barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            rig.engine.advance(execution)

        threads = [threading.Thread(target=approve), threading.Thread(target=time_out)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes.append(rig.store.approvals.approval(request["id"])["status"])
        if isinstance(results["decide"], ConflictError):
            assert outcomes[-1] == "timed_out"
        else:
            assert outcomes[-1] == "approved"
    rig.settle()
    for request, outcome in zip(requests, outcomes, strict=True):
        run = rig.store.runs.execution(request["execution"])
        assert run["state"]["vars"]["manager"]["outcome"] == outcome
        notes = [s for s in rig.store.outbox.sends(request["execution"])
                 if s["channel"] in ("slack", "email") and s["target"] != "maria@example.com"]
        assert len(notes) == 1   # exactly one branch ran


def test_wait_until_is_rechecked_when_the_subject_changes(rig: Rig) -> None:
    rig.publish((EXAMPLES / "pending-follow-up.zflow").read_text())
    ticket = rig.engine.create_ticket({"title": "Need info", "status": "open"})
    rig.engine.update_ticket(ticket["id"], {"status": "pending"})
    rig.settle()
    run = only(rig.store.runs.executions(workflow="pending-follow-up"))
    assert run["status"] == "waiting"
    rig.jump(hours=5)
    rig.engine.update_ticket(ticket["id"], {"status": "open"}, actor="requester")
    rig.settle()
    assert rig.store.runs.execution(run["id"])["status"] == "completed"
    assert rig.store.records.notes(ticket["id"]) == []
    rig.jump(days=10)
    assert rig.ticket(ticket["id"])["status"] == "open"


def test_a_48_hour_wait_resolves_once(rig: Rig) -> None:
    rig.publish('workflow "hold" WHEN ticket.created THEN wait 48 hours\n'
                '  add internal note = "after the wait"')
    ticket = rig.engine.create_ticket({"title": "Hold"})
    rig.settle()
    rig.jump(hours=47, minutes=59)
    assert rig.store.records.notes(ticket["id"]) == []
    rig.jump(minutes=1)
    rig.jump(hours=1)
    assert [n["body"] for n in rig.store.records.notes(ticket["id"])] == ["after the wait"]
    assert only(rig.store.runs.executions())["status"] == "completed"


def test_an_execution_keeps_the_version_it_started_with(rig: Rig) -> None:
    rig.publish('workflow "v" WHEN ticket.created THEN wait 1 hours\n  add internal note = "one"')
    first = rig.engine.create_ticket({"title": "A"})
    rig.settle()
    assert rig.publish('workflow "v" WHEN ticket.created THEN add internal note = "two"') == [
        {"kind": "workflow", "name": "v", "version": 2}]
    second = rig.engine.create_ticket({"title": "B"})
    rig.jump(hours=1)
    assert [n["body"] for n in rig.store.records.notes(first["id"])] == ["one"]
    assert [n["body"] for n in rig.store.records.notes(second["id"])] == ["two"]
    assert sorted(e["version"] for e in rig.store.runs.executions()) == [1, 2]


def test_a_self_retriggering_workflow_stops_at_the_cascade_limit(rig: Rig) -> None:
    rig.publish('workflow "bump" WHEN ticket.updated THEN escalate')
    ticket = rig.engine.create_ticket({"title": "Loop"})
    rig.engine.update_ticket(ticket["id"], {"priority": "high"})
    rig.settle()
    runs = rig.store.runs.executions(workflow="bump")
    stopped = only([r for r in runs if r["status"] == "stopped"])
    assert "cascade limit reached" in stopped["reason"]
    assert len([r for r in runs if r["status"] == "completed"]) == rig.config.limits.cascade_depth + 1
    assert rig.ticket(ticket["id"])["escalationLevel"] == 9
    assert rig.store.audit.verify() is None


def test_the_rate_limit_stops_a_workflow_on_one_subject(rig: Rig) -> None:
    rig.publish('workflow "count" WHEN ticket.updated THEN add internal note = "seen"')
    ticket = rig.engine.create_ticket({"title": "Busy"})
    for n in range(25):
        rig.engine.update_ticket(ticket["id"], {"description": f"edit {n}"})
    rig.settle()
    runs = rig.store.runs.executions(workflow="count")
    assert len([r for r in runs if r["status"] == "completed"]) == 20
    assert all("rate limit" in r["reason"] for r in runs if r["status"] == "stopped")


def test_cron_fires_once_per_matching_minute(rig: Rig) -> None:
    rig.publish('workflow "digest" WHEN schedule.cron "0 9 * * *" tz "Europe/Berlin" THEN\n'
                '  notify email = "desk@example.com", subject = "Digest", body = "Daily"')
    rig.clock.advance(hours=-1, minutes=-2)   # 07:58 UTC = 08:58 in Berlin
    rig.settle()
    rig.jump(minutes=2)
    rig.settle()
    runs = rig.store.runs.executions(workflow="digest")
    assert len(runs) == 1 and runs[0]["status"] == "completed"
    rig.jump(hours=23, minutes=59)
    assert len(rig.store.runs.executions(workflow="digest")) == 1
    rig.jump(minutes=1)
    assert len(rig.store.runs.executions(workflow="digest")) == 2


def test_sla_breach_fires_once(rig: Rig) -> None:
    rig.publish((EXAMPLES / "sla-breach-escalation.zflow").read_text())
    ticket = rig.engine.create_ticket({"title": "Slow", "priority": "high",
                                       "dueAt": "2026-11-25T10:00:00Z"})
    rig.settle()
    rig.jump(hours=2)
    rig.jump(hours=2)
    runs = rig.store.runs.executions(ticket=ticket["id"])
    assert [r["trigger"] for r in runs] == ["ticket.sla_breached"]


def test_a_scenario_does_what_it_says_to_the_ticket(rig: Rig) -> None:
    rig.publish((EXAMPLES / "close-as-duplicate.zflow").read_text())
    ticket = rig.engine.create_ticket({"title": "Dup", "status": "open", "tags": ["needs-triage"],
                                       "custom": {"duplicateOf": "1042"}})
    execution = rig.engine.start_scenario("close-as-duplicate", ticket["id"], actor="agent:sam")
    rig.settle()
    run = rig.store.runs.execution(execution)
    assert run["kind"] == "scenario" and run["status"] == "completed", run
    after = rig.ticket(ticket["id"])
    assert after["status"] == "closed" and after["tags"] == ["duplicate"]
    assert rig.store.records.links(ticket["id"]) == ["1042"]
    assert [(n["kind"], n["body"]) for n in rig.store.records.notes(ticket["id"])] == [
        ("public", "This request duplicates 1042; we will keep you updated there."),
        ("internal", "Closed as duplicate of 1042 by scenario")]
    assert [e["trigger"] for e in rig.store.runs.executions()] == ["scenario:close-as-duplicate"]
    skipped = rig.engine.start_scenario("close-as-duplicate", ticket["id"])   # closed now
    assert rig.store.runs.execution(skipped)["status"] == "skipped"


def test_asset_effects_and_the_renewal_alert(rig: Rig) -> None:
    rig.publish((EXAMPLES / "asset-retirement.zflow").read_text())
    rig.store.records.create_user({"id": "u_ops", "email": "ops@example.com", "name": "Ops"})
    with rig.store.tx():
        rig.store.webhooks.register_endpoint("cmdb-mirror", "outbound",
                                             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                             rig.clock.now(), "http://127.0.0.1:9/")
    rig.engine.put_asset({"id": "A-7", "name": "db-7", "type": "server", "lifecycle": "deployed",
                          "criticality": 1, "owner": "u_ops",
                          "renewalDate": "2027-03-01T00:00:00Z"}, create=True)
    rig.engine.put_asset({"id": "A-7", "lifecycle": "retired"}, create=False)
    rig.settle()
    asset = rig.asset("A-7")
    assert asset["contracts"] == ["DISPOSAL-SERVER"]
    sends = {s["payload"].get("kind", s["channel"]): s for s in rig.store.outbox.sends()}
    assert sends["renewal alert"]["target"] == "ops@example.com"
    assert sends["renewal alert"]["status"] == "pending"   # not before 30 days ahead of renewal
    assert sends["email"]["payload"]["subject"] == "Critical asset db-7 retired"
    rig.jump(days=30)
    assert rig.asset("A-7")["lifecycle"] == "disposed"
    runs = rig.store.runs.executions(workflow="asset-retirement")
    assert [r["status"] for r in runs] == ["completed"]


def test_outbound_webhooks_are_signed_and_retried_with_one_id(rig: Rig) -> None:
    from .receivers import http_receiver, standard_signature
    rig.publish('workflow "hook" WHEN ticket.created THEN\n'
                '  call webhook = "crm", payload = "ticket {{id}}: {{title}}"')
    with http_receiver() as receiver:
        receiver.statuses = [500, 503]
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        with rig.store.tx():
            rig.store.webhooks.register_endpoint("crm", "outbound", secret, rig.clock.now(), receiver.url)
        ticket = rig.engine.create_ticket({"title": "Sync me"})
        rig.settle()
        rig.jump(seconds=5)
        rig.jump(seconds=10)
        assert len(receiver.hits) == 3
        assert len(set(receiver.ids())) == 1
        for hit in receiver.hits:
            assert standard_signature(secret, hit.headers, hit.body)
            assert json.loads(hit.body) == f"ticket {ticket['id']}: Sync me"
    send = only(rig.store.outbox.sends())
    assert send["status"] == "delivered" and send["attempts"] == 3


def test_an_unregistered_webhook_endpoint_fails_without_retrying(rig: Rig) -> None:
    rig.publish('workflow "hook" WHEN ticket.created THEN call webhook = "nowhere"')
    rig.engine.create_ticket({"title": "x"})
    rig.settle()
    send = only(rig.store.outbox.sends())
    assert send["status"] == "failed" and "no outbound webhook endpoint" in send["last_error"]


def test_the_audit_of_an_execution(rig: Rig) -> None:
    from runtime.trace import stored_trace
    rig.publish((EXAMPLES / "escalate-urgent.zflow").read_text())
    ticket = rig.engine.create_ticket({"title": "VPN", "priority": "urgent", "category": "Network"})
    rig.settle()
    run = rig.store.runs.execution(only(rig.store.runs.executions(ticket=ticket["id"]))["id"])
    assert run["inputs"]["data"]["ticket"]["id"] == ticket["id"]
    assert [s["instruction"].split()[0] for s in run["steps"]] == ["SET", "ACT", "ACT", "END"]
    assert run["steps"][0]["output"]["value"] == "Network"
    assert all(s["attempt"] == 1 and s["duration_ms"] >= 0 for s in run["steps"])
    trace = stored_trace(run, rig.engine.plan_of(run))
    assert trace["fired"] is True and trace["status"] == "completed"
    assert trace["explain"]["value"] is True
    assert [a["verb"] for a in trace["actions"]] == ["set", "add", "notify"]
    assert rig.store.audit.verify() is None


def test_sequential_approvers_are_asked_in_turn_and_parallel_all_needs_everyone(rig: Rig) -> None:
    for user in ("ann", "bob", "cy"):
        rig.store.records.create_user({"id": user, "email": f"{user}@example.com", "roles": ["cab"]})
    rig.publish('workflow "seq" WHEN ticket.created WHERE title = "seq" THEN\n'
                '  request approval two from user "ann", user "bob" order sequential via email\n'
                '  wait for approval two\n  add internal note = "{{two.outcome}}"\n'
                'workflow "all" WHEN ticket.created WHERE title = "all" THEN\n'
                '  request approval cab from role "cab", user "cy" order parallel all\n'
                '  wait for approval cab\n  add internal note = "{{cab.outcome}}"')
    seq = rig.engine.create_ticket({"title": "seq"})
    rig.settle()
    request = only(rig.store.approvals.listing(status="pending"))
    assert [s["target"] for s in rig.store.outbox.sends()] == ["ann@example.com"]
    with pytest.raises(ForbiddenError):
        rig.engine.decide(request["id"], "bob", "approve")
    rig.engine.decide(request["id"], "ann", "approve")
    rig.settle()
    assert [s["target"] for s in rig.store.outbox.sends()] == ["ann@example.com", "bob@example.com"]
    assert rig.store.records.notes(seq["id"]) == []
    rig.engine.decide(request["id"], "bob", "approve")
    rig.settle()
    assert [n["body"] for n in rig.store.records.notes(seq["id"])] == ["approved"]

    everyone = rig.engine.create_ticket({"title": "all"})
    rig.settle()
    cab = only(rig.store.approvals.listing(status="pending"))
    assert cab["approvers"][0]["users"] == ["ann", "bob", "cy"]   # a role is one approver
    rig.engine.decide(cab["id"], "ann@example.com", "approve")     # any member decides for it
    rig.settle()
    assert rig.store.records.notes(everyone["id"]) == []
    with pytest.raises(ConflictError):
        rig.engine.decide(cab["id"], "ann", "approve")
    with pytest.raises(ForbiddenError):
        rig.engine.decide(cab["id"], "bob", "approve")   # the role has spoken
    assert rig.store.approvals.decisions(cab["id"])[0]["user"] == "ann"
    rig.engine.decide(cab["id"], "cy", "approve")
    rig.settle()
    assert [n["body"] for n in rig.store.records.notes(everyone["id"])] == ["approved"]
    assert rig.store.approvals.verify_decisions() is None


def test_the_task_scheduled_at_a_deadline_resumes_the_run_without_the_sweeper(rig: Rig) -> None:
    from runtime.durable.queue import drain
    rig.publish('workflow "hold" WHEN ticket.created THEN wait 2 hours\n  add internal note = "on time"')
    ticket = rig.engine.create_ticket({"title": "t"})
    drain(rig.app.huey, rig.clock.now())
    assert only(rig.store.runs.executions())["status"] == "waiting"
    rig.clock.advance(hours=2)
    drain(rig.app.huey, rig.clock.now())   # no sweep: only the task Huey held for the deadline
    assert [n["body"] for n in rig.store.records.notes(ticket["id"])] == ["on time"]


def test_no_reminder_is_sent_once_the_deadline_has_passed(rig: Rig) -> None:
    start_joiner(rig)
    rig.clock.advance(hours=100)   # everything was down through every reminder and the timeout
    rig.settle()
    assert not [s for s in rig.store.outbox.sends() if "Reminder" in (s["payload"]["subject"] or "")]
    assert rig.store.approvals.listing()[0]["status"] == "timed_out"


def test_a_bad_decision_word_is_an_input_error(rig: Rig) -> None:
    from zentra_rules.domain.errors import InputError
    start_joiner(rig)
    request = only(rig.store.approvals.listing())
    with pytest.raises(InputError, match="approve` or `reject"):
        rig.engine.decide(request["id"], "maria", "yes")


def test_an_effect_the_store_refuses_fails_the_run_with_the_reason(rig: Rig) -> None:
    rig.publish('workflow "mk" WHEN webhook.received "x" THEN\n'
                '  create ticket t, title = "From {{payload.who}}", priority = payload.p\n'
                '  notify email = "x@example.com", subject = "never"')
    rig.engine.receive_webhook("x", {"who": "crm", "p": "asap"})
    rig.settle()
    run = only(rig.store.runs.executions())
    assert run["status"] == "failed" and "priority" in run["reason"] and "asap" in run["reason"]
    assert rig.store.records.get_ticket("1") is None and rig.store.outbox.sends() == []   # nothing stayed


def test_a_worker_keeps_its_lease_while_it_beats_and_loses_it_when_it_stops(rig: Rig) -> None:
    rig.publish('workflow "w" WHEN ticket.created THEN add internal note = "x"')
    rig.engine.create_ticket({"title": "t"})
    (event,) = rig.store.events.unprocessed_events(rig.clock.now())
    (execution,) = rig.engine.process_event(event)   # queued, not run: the slice is ours to take
    lease = rig.config.lease_seconds
    with rig.store.tx():
        assert rig.store.runs.claim(execution, "worker-a", rig.clock.now(), lease) is not None
    for _ in range(3):
        rig.clock.advance(seconds=lease * 0.8)
        with rig.store.tx():
            assert rig.store.runs.renew("worker-a", rig.clock.now(), lease, [execution]) == 1
            assert rig.store.runs.claim(execution, "worker-b", rig.clock.now(), lease) is None
        assert execution not in rig.store.runs.runnable_unleased(rig.clock.now(), lease)
    rig.clock.advance(seconds=lease + 1)   # worker-a died: nobody renews
    assert execution in rig.store.runs.runnable_unleased(rig.clock.now(), lease)
    with rig.store.tx():
        assert rig.store.runs.claim(execution, "worker-b", rig.clock.now(), lease) is not None


def test_escalate_raises_any_numeric_level_by_one(rig: Rig) -> None:
    rig.publish('workflow "esc" WHEN ticket.created THEN escalate')
    ticket = rig.engine.create_ticket({"title": "t", "escalationLevel": 2.0})
    rig.settle()
    assert rig.ticket(ticket["id"])["escalationLevel"] == 3

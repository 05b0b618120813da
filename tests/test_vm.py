"""The pure VM: suspension, resumption, parallel branches, terminate, budget, purity."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from runtime import vm
from runtime.events import event_data
from zentra_rules.domain.errors import RunError

from .conftest import NOW, plan_of


def run(text: str, subject: dict | None = None, event: str = "ticket.created"):  # type: ignore[no-untyped-def]
    plan = plan_of(text)
    state = vm.start(event_data(event, None, subject or {}, None, NOW))
    state, effects = vm.step(plan, state, None, NOW)
    return plan, state, effects


def verbs(effects: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [f"{e['verb']} {e['object']}" + (f"={e['value']}" if "value" in e else "") for e in effects]


def test_step_does_not_mutate_its_input_state() -> None:
    plan = plan_of('WHEN ticket.created THEN set team = "A" add tag = "x"')
    state = vm.start(event_data("ticket.created", None, {"team": "B", "tags": []}, None, NOW))
    before = copy.deepcopy(state)
    new, _ = vm.step(plan, state, None, NOW)
    assert state == before
    assert new["data"]["ticket"] == {"team": "A", "tags": ["x"]}


def test_same_inputs_same_outputs() -> None:
    text = 'WHEN ticket.created THEN request approval m from user "u1" timeout 1 hour wait for approval m'
    plan = plan_of(text)
    state = vm.start(event_data("ticket.created", None, {}, None, NOW))
    assert vm.step(plan, state, None, NOW) == vm.step(plan, state, None, NOW)


def test_later_statements_see_earlier_changes() -> None:
    _, state, effects = run('WHEN ticket.created THEN set priority = "high" '
                            'if priority = "high" then add tag = "seen-high" end', {"priority": "low"})
    assert verbs(effects) == ["set priority=high", "add tag=seen-high"]
    assert state["status"] == "completed"


def test_approval_wait_resumes_on_decision_and_ignores_a_second_one() -> None:
    plan, state, _ = run('WHEN ticket.created THEN request approval m from user "u1" '
                         'wait for approval m if m.approved then add tag = "ok" else add tag = "no" end')
    assert state["status"] == "waiting"
    assert vm.waits(state) == [{"kind": "approval", "name": "m", "deadline": None}]
    state, effects = vm.step(plan, state, {"type": "decision", "name": "m", "outcome": "approved",
                                           "by": "u1"}, NOW)
    assert verbs(effects) == ["add tag=ok"] and state["status"] == "completed"
    assert state["vars"]["m"]["decidedBy"] == "u1"
    again, effects = vm.step(plan, state, {"type": "decision", "name": "m", "outcome": "rejected"}, NOW)
    assert effects == [] and again["vars"]["m"]["outcome"] == "approved"


def test_approval_times_out_exactly_at_its_deadline() -> None:
    plan, state, _ = run('WHEN ticket.created THEN request approval m from user "u1" timeout 48 hours '
                         'wait for approval m add internal note = "{{m.outcome}}"')
    deadline = NOW + timedelta(hours=48)
    early, effects = vm.step(plan, state, None, deadline - timedelta(seconds=1))
    assert early["status"] == "waiting" and effects == []
    late, effects = vm.step(plan, state, None, deadline)
    assert late["status"] == "completed"
    assert effects == [{"verb": "add", "object": "internal note", "value": "timed_out", "params": {}}]


def test_a_decision_after_the_timeout_does_not_change_the_outcome() -> None:
    plan, state, _ = run('WHEN ticket.created THEN request approval m from user "u1" timeout 1 hour '
                         'wait for approval m add internal note = "{{m.outcome}}"')
    late = NOW + timedelta(hours=2)
    state, effects = vm.step(plan, state, {"type": "decision", "name": "m", "outcome": "approved"}, late)
    # The decision is delivered first, so it wins; the other order is the runtime's race, resolved
    # by compare-and-set before it ever reaches the VM. Either way: exactly one outcome.
    assert [e["value"] for e in effects] == ["approved"]
    state2, effects2 = vm.step(plan, state, {"type": "decision", "name": "m", "outcome": "rejected"}, late)
    assert effects2 == [] and state2["vars"]["m"]["outcome"] == "approved"


def test_wait_until_rechecks_when_the_subject_changes() -> None:
    plan, state, _ = run('WHEN ticket.created THEN wait until status = "resolved" or 3 days '
                         'post reply = "done"', {"status": "open"})
    assert state["status"] == "waiting"
    state, effects = vm.step(plan, state, {"type": "subject", "data": {"ticket": {"status": "open"}}}, NOW)
    assert state["status"] == "waiting" and effects == []
    state, effects = vm.step(plan, state, {"type": "subject",
                                           "data": {"ticket": {"status": "resolved"}}}, NOW)
    assert state["status"] == "completed" and verbs(effects) == ["post reply=done"]


def test_wait_until_gives_up_at_its_timeout() -> None:
    plan, state, _ = run('WHEN ticket.created THEN wait until status = "resolved" or 3 days '
                         'post reply = "still open"', {"status": "open"})
    state, effects = vm.step(plan, state, None, NOW + timedelta(days=3))
    assert verbs(effects) == ["post reply=still open"]


def test_timer_wait() -> None:
    plan, state, _ = run('WHEN ticket.created THEN wait 30 days send survey = "s", to = "a@b.c"')
    assert vm.waits(state)[0]["deadline"] == "2026-12-25T09:00:00Z"
    state, effects = vm.step(plan, state, None, NOW + timedelta(days=30))
    assert verbs(effects) == ["send survey=s"] and state["status"] == "completed"


def test_parallel_branches_all_run_and_the_block_ends_when_all_have_ended() -> None:
    plan, state, effects = run('WHEN ticket.created THEN parallel '
                               'branch add tag = "a" wait 1 hour add tag = "a2" '
                               'branch add tag = "b" end add tag = "after"')
    assert verbs(effects) == ["add tag=a", "add tag=b"]
    assert state["status"] == "waiting"
    state, effects = vm.step(plan, state, None, NOW + timedelta(hours=1))
    assert verbs(effects) == ["add tag=a2", "add tag=after"]
    assert state["status"] == "completed" and state["threads"] == []


def test_nested_parallel_blocks_join_in_order() -> None:
    _, state, effects = run('WHEN ticket.created THEN parallel branch parallel branch add tag = "x" '
                            'branch add tag = "y" end add tag = "inner-done" branch add tag = "z" end '
                            'add tag = "outer-done"')
    assert verbs(effects) == ["add tag=x", "add tag=y", "add tag=inner-done", "add tag=z",
                              "add tag=outer-done"]
    assert state["status"] == "completed"


def test_terminate_stops_every_branch() -> None:
    plan, state, effects = run('WHEN ticket.created THEN parallel branch wait 1 hour add tag = "late" '
                               'branch terminate with "enough" end add tag = "never"')
    assert state["status"] == "terminated" and state["reason"] == "enough"
    again, effects = vm.step(plan, state, None, NOW + timedelta(hours=2))
    assert effects == [] and again["status"] == "terminated"


def test_step_budget_fails_the_run_with_a_reason() -> None:
    plan = plan_of("WHEN ticket.created THEN " + 'add tag = "x" ' * 50)
    state = vm.start(event_data("ticket.created", None, {}, None, NOW))
    state, effects = vm.step(plan, state, None, NOW, budget=10)
    assert state["status"] == "failed" and "step budget of 10" in state["reason"]
    assert len(effects) == 10


def test_created_tickets_and_their_fields_are_bound() -> None:
    _, _, effects = run('WHEN webhook.received "hr" THEN create ticket t, title = "Hi {{payload.n}}" '
                        'set t.status = "ready" notify slack = "#a", message = "{{t.title}} {{t.status}}"',
                        {"n": "Jo"}, event="webhook.received")
    assert effects[0] == {"verb": "create", "object": "ticket", "name": "t", "params": {"title": "Hi Jo"}}
    assert effects[1] == {"verb": "set", "object": "t.status", "value": "ready", "params": {}}
    assert effects[2]["params"] == {"message": "Hi Jo ready"}


def test_bad_resume_events_are_run_errors() -> None:
    plan, state, _ = run('WHEN ticket.created THEN request approval m from user "u" wait for approval m')
    with pytest.raises(RunError):
        vm.step(plan, state, {"type": "decision", "name": "zz", "outcome": "approved"}, NOW)
    with pytest.raises(RunError):
        vm.step(plan, state, {"type": "decision", "name": "m", "outcome": "maybe"}, NOW)
    with pytest.raises(RunError):
        vm.step(plan, state, {"type": "bogus"}, NOW)
    with pytest.raises(RunError):
        vm.step(plan, state, None, NOW.replace(tzinfo=None))


def test_state_is_json() -> None:
    import json
    _, state, _ = run('WHEN ticket.created THEN request approval m from requester.manager '
                      'timeout 1 day wait for approval m', {"requester": {"manager": "u9"}})
    assert json.loads(json.dumps(state)) == state
    assert state["vars"]["m"]["approvers"] == [{"kind": "path", "value": "u9"}]


def test_a_number_before_a_set_statement_is_not_a_duration() -> None:
    _, _, effects = run('WHEN ticket.created THEN\n  set escalationLevel = 2\n  set team = "Network"\n'
                        '  escalate = 3\n  set priority = "high"')
    assert verbs(effects) == ["set escalationLevel=2", "set team=Network", "escalate ticket=3",
                              "set priority=high"]


def test_wait_until_wakes_when_another_branch_changes_the_subject() -> None:
    _, state, effects = run('WHEN ticket.created THEN parallel branch wait until status = "resolved" '
                            'or 1 day notify slack = "#done" branch transition status = "resolved" end',
                            {"status": "open"})
    assert verbs(effects) == ["transition status=resolved", "notify slack=#done"]
    assert state["status"] == "completed"


def test_escalate_raises_the_level_later_statements_read() -> None:
    _, _, effects = run('WHEN ticket.created THEN escalate escalate '
                        'if escalationLevel = 3 then add tag = "level-3" end', {"escalationLevel": 1})
    assert verbs(effects) == ["escalate ticket", "escalate ticket", "add tag=level-3"]


def test_waiting_for_an_approval_this_path_never_requested_fails_clearly() -> None:
    _, state, _ = run('WHEN ticket.created THEN if priority = "urgent" then request approval boss '
                      'from user "u" end wait for approval boss', {"priority": "low"})
    assert state["status"] == "failed"
    assert state["reason"] == "line 1: approval `boss` was not requested on the path this run took"


def test_setting_a_ticket_this_path_never_created_fails_clearly() -> None:
    _, state, effects = run('WHEN ticket.created THEN if priority = "urgent" then create ticket child, '
                            'title = "x" end set child.status = "closed"', {"priority": "low"})
    assert state["status"] == "failed" and "ticket `child` was not created" in state["reason"]
    assert effects == []


def test_asset_statements_change_what_later_statements_read() -> None:
    _, _, effects = run('WHEN asset.lifecycle_changed THEN update asset lifecycle = "disposed" '
                        'attach contract = "C-9" notify slack = "#cmdb", message = "{{lifecycle}} '
                        '{{contracts}}"', {"lifecycle": "retired"}, event="asset.lifecycle_changed")
    assert effects[-1]["params"] == {"message": "disposed C-9"}


def test_stored_times_are_times() -> None:
    _, _, effects = run('WHEN ticket.created THEN set dueAt = createdAt + 2 days '
                        'if dueAt > updatedAt then add tag = "later" end',
                        {"createdAt": "2026-03-01T09:00:00Z", "updatedAt": "2026-03-03T10:30:00+02:00"})
    assert effects[0]["value"] == "2026-03-03T09:00:00Z"
    assert verbs(effects)[1:] == ["add tag=later"]


def test_a_null_tag_list_gets_its_first_tag() -> None:
    _, state, _ = run('WHEN ticket.created THEN add tag = "vip"', {"tags": None})
    assert state["data"]["ticket"]["tags"] == ["vip"]

"""Saved VM states carry a format: a state saved before the format existed (format 1) resumes to the
same end as a fresh one, in the VM and in the durable engine; an unknown format is refused."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest

from runtime import vm
from runtime.events import event_data
from zentra_rules.domain.errors import RunError

from .conftest import NOW, plan_of
from .rig import Rig

TIMER = 'workflow "timer" WHEN ticket.created THEN add tag = "before" wait 1 hour add tag = "after"'
APPROVAL = ('workflow "approval" WHEN ticket.created THEN request approval m from user "u1" '
            'timeout 2 hours wait for approval m '
            'if m.approved then add tag = "ok" else add tag = "no" end')
SUBJECT = {"id": "7", "title": "x", "tags": []}

# What the VM saved for these two scripts before states had a format (written out as it was).
TIMER_V1 = json.loads("""
{"status": "waiting", "reason": null,
 "threads": [{"id": 0, "pc": 1, "parent": null,
              "wait": {"kind": "timer", "deadline": "2026-11-25T10:00:00Z"}, "joining": false}],
 "next_thread": 1,
 "data": {"event": {"name": "ticket.created", "qualifier": null, "at": "2026-11-25T09:00:00Z",
                    "actor": null, "previous": null},
          "ticket": {"id": "7", "title": "x", "tags": ["before"]}},
 "vars": {}, "path": [0, 1], "steps": 2}
""")
APPROVAL_V1 = json.loads("""
{"status": "waiting", "reason": null,
 "threads": [{"id": 0, "pc": 1, "parent": null,
              "wait": {"kind": "approval", "name": "m", "deadline": "2026-11-25T11:00:00Z"},
              "joining": false}],
 "next_thread": 1,
 "data": {"event": {"name": "ticket.created", "qualifier": null, "at": "2026-11-25T09:00:00Z",
                    "actor": null, "previous": null},
          "ticket": {"id": "7", "title": "x", "tags": []}},
 "vars": {"m": {"kind": "approval", "outcome": "pending", "approved": false,
                "requestedAt": "2026-11-25T09:00:00Z", "deadline": "2026-11-25T11:00:00Z",
                "decidedAt": null, "decidedBy": null, "comment": null,
                "approvers": [{"kind": "user", "value": "u1"}]}},
 "path": [0, 1], "steps": 2}
""")


def fresh_wait(text: str) -> dict[str, Any]:
    """The state a run of `text` saves today at its first wait."""
    state = vm.start(event_data("ticket.created", None, SUBJECT, None, NOW))
    return vm.step(plan_of(text), state, None, NOW)[0]


def test_a_fresh_state_names_the_current_format() -> None:
    assert vm.start({})["format"] == vm.STATE_FORMAT == 3
    assert vm.start({})["log"] == []
    assert fresh_wait(TIMER)["format"] == vm.STATE_FORMAT


@pytest.mark.parametrize("text, saved", [(TIMER, TIMER_V1), (APPROVAL, APPROVAL_V1)],
                         ids=["timer", "approval"])
def test_format_1_is_the_current_state_without_its_version(text: str, saved: dict[str, Any]) -> None:
    current = fresh_wait(text)
    assert {k: v for k, v in current.items() if k not in ("format", "log")} == saved
    # What was decided before the log existed is not known: an upgraded state starts one.
    assert vm.upgrade(saved) == current | {"log": []}
    assert vm.upgrade({**saved, "format": 2}) == current | {"log": []}


def test_upgrade_leaves_its_input_alone_and_keeps_a_current_state() -> None:
    saved = copy.deepcopy(TIMER_V1)
    vm.upgrade(saved)
    assert saved == TIMER_V1
    current = fresh_wait(TIMER)
    assert vm.upgrade(current) is current
    assert vm.upgrade({**TIMER_V1, "format": 1})["format"] == vm.STATE_FORMAT


def same_but_the_log(old: tuple[dict[str, Any], list[Any]],
                     new: tuple[dict[str, Any], list[Any]]) -> bool:
    """Equal runs, but for what the older state could not have logged before it was saved:
    the new state's log starts with those entries and then goes on exactly like the old one's."""
    (a, a_effects), (b, b_effects) = old, new
    before = len(b["log"]) - len(a["log"])
    return (a_effects == b_effects and {**a, "log": None} == {**b, "log": None}
            and before >= 0 and b["log"][before:] == a["log"])


@pytest.mark.parametrize("at", [timedelta(minutes=59), timedelta(hours=1), timedelta(days=3)])
def test_a_format_1_timer_wait_resumes_like_a_fresh_one(at: timedelta) -> None:
    plan = plan_of(TIMER)
    old = vm.step(plan, TIMER_V1, None, NOW + at)
    new = vm.step(plan, fresh_wait(TIMER), None, NOW + at)
    assert same_but_the_log(old, new)
    state, effects = old
    assert state["format"] == vm.STATE_FORMAT
    if at >= timedelta(hours=1):
        assert state["status"] == "completed" and state["data"]["ticket"]["tags"] == ["before", "after"]
        assert [e["value"] for e in effects] == ["after"]


@pytest.mark.parametrize("event, at, tag", [
    ({"type": "decision", "name": "m", "outcome": "approved", "by": "u1"}, timedelta(minutes=5), "ok"),
    ({"type": "decision", "name": "m", "outcome": "rejected", "by": "u1"}, timedelta(minutes=5), "no"),
    (None, timedelta(hours=2), "no"),            # timed out at its deadline
])
def test_a_format_1_approval_wait_resumes_like_a_fresh_one(event: dict[str, Any] | None,
                                                          at: timedelta, tag: str) -> None:
    plan = plan_of(APPROVAL)
    old = vm.step(plan, APPROVAL_V1, event, NOW + at)
    new = vm.step(plan, fresh_wait(APPROVAL), event, NOW + at)
    assert same_but_the_log(old, new)
    state, effects = old
    assert state["status"] == "completed" and state["format"] == vm.STATE_FORMAT
    assert [e["value"] for e in effects] == [tag]


@pytest.mark.parametrize("version, message", [
    (4, "format 4 is newer than this engine reads"),
    (99, "a newer version of the engine saved it"),
    (0, "format 0 is not one this engine reads"),
    ("2", "format '2' is not one this engine reads"),
    (True, "format True is not one this engine reads"),
    (None, "format None is not one this engine reads"),
])
def test_an_unknown_state_format_is_refused(version: Any, message: str) -> None:
    plan = plan_of(TIMER)
    with pytest.raises(RunError, match=message):
        vm.step(plan, {**TIMER_V1, "format": version}, None, NOW + timedelta(hours=1))


def test_a_state_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(RunError, match="a JSON object"):
        vm.upgrade([])  # type: ignore[arg-type]


# -- the durable engine: the state as the database holds it ---------------------------------------
def only(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def save_state(execution_id: int, state: dict[str, Any]) -> None:
    """Overwrite the saved state of an execution, as an older (or newer) engine left it."""
    from zentra_rules.store.models import Execution
    row = Execution.get_by_id(execution_id)
    row.state = state
    row.save()


def as_format_1(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "format"}


def tags(rig: Rig, ticket_id: str) -> Any:
    ticket = rig.store.records.get_ticket(ticket_id)
    assert ticket is not None
    return ticket.get("tags")


def test_the_engine_resumes_a_timer_wait_saved_in_format_1(rig: Rig) -> None:
    rig.publish(TIMER)
    old = rig.engine.create_ticket({"title": "old"})
    new = rig.engine.create_ticket({"title": "new"})
    rig.settle()
    runs = {t["id"]: only(rig.store.runs.executions(ticket=t["id"])) for t in (old, new)}
    assert all(r["status"] == "waiting" and r["state"]["format"] == 3 for r in runs.values())
    save_state(runs[old["id"]]["id"], as_format_1(runs[old["id"]]["state"]))
    assert "format" not in rig.store.runs.execution(runs[old["id"]]["id"])["state"]
    rig.jump(hours=1)
    ends = {k: rig.store.runs.execution(r["id"]) for k, r in runs.items()}
    for ticket in (old, new):
        assert ends[ticket["id"]]["status"] == "completed"
        assert ends[ticket["id"]]["state"]["format"] == vm.STATE_FORMAT
        assert tags(rig, ticket["id"]) == ["before", "after"]
    assert ends[old["id"]]["state"]["path"] == ends[new["id"]]["state"]["path"]


def test_the_engine_resumes_an_approval_wait_saved_in_format_1(rig: Rig) -> None:
    rig.publish(APPROVAL)
    ticket = rig.engine.create_ticket({"title": "x"})
    rig.settle()
    run = only(rig.store.runs.executions(ticket=ticket["id"]))
    assert run["status"] == "waiting"
    save_state(run["id"], as_format_1(run["state"]))
    request = only(rig.store.approvals.listing(status="pending"))
    rig.engine.decide(request["id"], "u1", "approve")
    rig.settle()
    done = rig.store.runs.execution(run["id"])
    assert done["status"] == "completed" and done["state"]["format"] == vm.STATE_FORMAT
    assert done["state"]["vars"]["m"]["outcome"] == "approved"
    assert tags(rig, ticket["id"]) == ["ok"]


def test_the_engine_fails_a_run_saved_in_an_unknown_format(rig: Rig) -> None:
    rig.publish(TIMER)
    ticket = rig.engine.create_ticket({"title": "x"})
    rig.settle()
    run = only(rig.store.runs.executions(ticket=ticket["id"]))
    save_state(run["id"], {**run["state"], "format": 4})
    rig.jump(hours=1)
    done = rig.store.runs.execution(run["id"])
    assert done["status"] == "failed"
    assert "execution state format 4 is newer than this engine reads" in done["reason"]
    assert tags(rig, ticket["id"]) == ["before"]

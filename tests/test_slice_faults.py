"""No run is stuck: an unexpected error in any phase of a slice is recorded on the execution,
retried with backoff a bounded number of times, and then the execution ends `failed`."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import vm
from runtime.durable import slices
from zentra_rules.store.world import StoreWorld

from .rig import Rig


class Boom(RuntimeError):
    pass


def _phase(monkeypatch: pytest.MonkeyPatch, rig: Rig, phase: str) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise Boom(f"injected into {phase}")
    if phase == "load":          # reading the run's records afresh
        monkeypatch.setattr(slices, "fresh", boom)
    elif phase == "step":        # the VM
        monkeypatch.setattr(vm.Machine, "proceed", boom)
    elif phase == "effects":     # the world keeping an effect
        monkeypatch.setattr(StoreWorld, "apply", boom)
    else:                        # saving the new state
        monkeypatch.setattr(rig.store.runs, "commit_execution", boom)


@pytest.mark.parametrize("phase", ["load", "step", "effects", "commit"])
def test_an_error_in_any_phase_ends_the_run_failed_after_its_retries(
        rig: Rig, monkeypatch: pytest.MonkeyPatch, phase: str) -> None:
    rig.publish('workflow "w" WHEN ticket.created THEN add internal note = "x"')
    _phase(monkeypatch, rig, phase)
    ticket = rig.engine.create_ticket({"title": "t"})
    rig.settle()
    (run,) = rig.store.runs.executions(ticket=ticket["id"])
    assert run["status"] == "runnable"
    assert run["reason"] == f"attempt 1 failed with Boom: injected into {phase}; retrying"
    assert rig.engine.renew_leases() == 0          # the heartbeat keeps no dead slice's lease
    seen = []
    for _ in range(slices.SLICE_RETRIES + 2):
        rig.jump(seconds=60)                        # past every backoff
        seen.append(rig.store.runs.execution(run["id"])["status"])
    run = rig.store.runs.execution(run["id"])
    assert run["status"] == "failed", seen
    assert run["reason"] == (f"gave up after {slices.SLICE_RETRIES} attempts at one run slice; "
                             f"the last failed with Boom: injected into {phase}")
    assert rig.store.records.notes(ticket["id"]) == []      # nothing half-done stayed
    assert rig.store.audit.verify() is None


def test_a_run_recovers_when_the_fault_goes_away(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    rig.publish('workflow "w" WHEN ticket.created THEN add internal note = "x"')
    _phase(monkeypatch, rig, "step")
    ticket = rig.engine.create_ticket({"title": "t"})
    rig.settle()
    monkeypatch.undo()
    rig.jump(seconds=4)                             # the backoff (5 s) has not passed
    assert rig.store.runs.executions(ticket=ticket["id"])[0]["status"] == "runnable"
    rig.jump(seconds=2)
    (run,) = rig.store.runs.executions(ticket=ticket["id"])
    assert run["status"] == "completed" and run["reason"] is None
    assert [n["body"] for n in rig.store.records.notes(ticket["id"])] == ["x"]


def test_the_heartbeat_renews_only_slices_in_progress(rig: Rig) -> None:
    rig.publish('workflow "w" WHEN ticket.created THEN add internal note = "x"')
    rig.engine.create_ticket({"title": "t"})
    (event,) = rig.store.events.unprocessed_events(rig.clock.now())
    (execution,) = rig.engine.process_event(event)
    with rig.store.tx():
        assert rig.store.runs.claim(execution, rig.engine.owner, rig.clock.now(), 30) is not None
    assert rig.engine.renew_leases() == 0           # claimed, but no slice of ours is running
    with rig.engine.leases.holding(execution):
        assert rig.engine.renew_leases() == 1
    assert rig.engine.renew_leases() == 0

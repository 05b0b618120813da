"""The public Python names keep working: `compiler.compile_source`, `runtime.Matcher`, `runtime.dry_run`."""

from __future__ import annotations

from datetime import UTC, datetime

import compiler
import runtime

SCRIPT = 'workflow "urgent" WHEN ticket.created WHERE priority = "urgent" THEN escalate'


def test_compile_match_and_dry_run_as_a_program_embedding_the_engine_calls_them() -> None:
    plans = compiler.compile_source(SCRIPT)
    matcher = runtime.Matcher(plans)
    assert [p.name for p in matcher.match("ticket.created", {"priority": "urgent"})] == ["urgent"]
    assert matcher.match("ticket.created", {"priority": "low"}) == []
    at = datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert [p.name for p in matcher.match("ticket.created", {"priority": "urgent"}, now=at)] == [
        "urgent"]
    (run,) = runtime.dry_run(plans, "ticket.created", {"id": "T-1", "priority": "urgent"})["runs"]
    assert run["fired"] and run["actions"][0]["verb"] == "escalate"
    (run,) = runtime.dry_run(plans, "ticket.created", {"id": "T-1", "priority": "urgent"},
                             None, None, at)["runs"]
    assert run["status"] == "completed"

"""Every limit is configurable, and each breach is a clear error."""

from __future__ import annotations

from compiler import compile_source
from runtime import dry_run
from zentra_rules.domain.errors import CompileError
from zentra_rules.domain.limits import DEFAULT_LIMITS, Limits

from .conftest import NOW


def errors(text: str, limits: Limits) -> list[str]:
    try:
        compile_source(text, "l.zflow", limits)
    except CompileError as exc:
        return [d.message for d in exc.diagnostics]
    return []


def test_defaults_are_the_language_page_limits() -> None:
    assert (DEFAULT_LIMITS.max_source_bytes, DEFAULT_LIMITS.max_depth, DEFAULT_LIMITS.max_regex_length,
            DEFAULT_LIMITS.step_budget, DEFAULT_LIMITS.cascade_depth,
            DEFAULT_LIMITS.runs_per_minute) == (1024 * 1024, 32, 256, 10_000, 8, 20)


def test_each_compile_limit_can_be_set() -> None:
    nested = "WHEN ticket.created WHERE " + "(" * 6 + "title is empty" + ")" * 6 + " THEN escalate"
    assert errors(nested, DEFAULT_LIMITS) == []
    assert errors(nested, Limits(max_depth=5))[0].startswith("nesting is deeper than 5 levels")
    regex = 'WHEN ticket.created WHERE title matches "abcd" THEN escalate'
    assert errors(regex, Limits(max_regex_length=3)) == [
        "regular expression is 4 characters long; the limit is 3"]
    wait = "WHEN ticket.created THEN wait 2 days"
    assert errors(wait, Limits(max_duration_days=1)) == ["duration `2 days` is longer than 1 days"]
    assert errors(wait, Limits(max_source_bytes=10)) == [
        "script is larger than 10 bytes; split it into several files"]


def test_step_budget_applies_to_dry_runs() -> None:
    plans = compile_source("WHEN ticket.created THEN " + 'add tag = "x" ' * 5)
    run, = dry_run(plans, "ticket.created", {}, now=NOW, limits=Limits(step_budget=3))["runs"]
    assert run["status"] == "failed" and run["reason"].startswith("step budget of 3")
    assert len(run["actions"]) == 3

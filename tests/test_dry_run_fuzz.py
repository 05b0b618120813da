"""Valid generated scripts compile, round-trip and dry-run on random subjects; long waits dry-run."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st

from compiler import compile_source
from zentra_rules.domain.plan import Plan
from zentra_rules.domain.schema import APPROVAL_OUTCOMES, RECORDS, Type

from .fuzz_contract import FUZZ, check_round_trip, events_of, run_dry, subject_root, time_bound
from .fuzz_scripts import valid_scripts
from .fuzz_values import ISO_TIMES, MAX_DURATION_DAYS, PAYLOAD_FIELDS, UNIT_SECONDS

# -- subjects for dry runs -------------------------------------------------------------------
# Drawn from one seed: a dry-run input is printed when it matters, and the shrinker spends its
# effort on the script instead of on subject fields.
DATES = (*ISO_TIMES, "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "garbage", "2026-02-30")


def random_junk(rnd: random.Random, depth: int = 0) -> Any:
    """Any JSON value, including ones of the wrong kind for the field it lands in."""
    kind = rnd.randrange(9 if depth < 2 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rnd.random() < 0.5
    if kind == 2:
        return rnd.choice((0, -1, 1, 7, 10**6, -(10**18), 2**63))
    if kind == 3:
        return rnd.choice((0.5, -0.0, 1e308, -2.5))
    if kind == 4:
        return rnd.choice(("", "x", "urgent", "Network", "é", " ", "{{id}}", "0"))
    if kind == 5:
        return rnd.choice(DATES)
    if kind == 6:
        return {}
    if kind == 7:
        return [random_junk(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {rnd.choice(("id", "name", "x", "email", "vip")): random_junk(rnd, depth + 1)
            for _ in range(rnd.randrange(4))}


def random_value(rnd: random.Random, typ: Type, depth: int = 0) -> Any:
    if rnd.random() < 0.2:
        return random_junk(rnd)
    if typ.enum:
        return rnd.choice(typ.enum)
    if typ.kind == "string":
        return rnd.choice(("", "x", "Network", "urgent", "u_1", "é"))
    if typ.kind == "number":
        return rnd.choice((0, 1, 4, -3, 2.5))
    if typ.kind == "bool":
        return rnd.random() < 0.5
    if typ.kind == "datetime":
        return rnd.choice(DATES)
    if typ.kind == "list":
        return [rnd.choice(("a", "vip", "Network", "")) for _ in range(rnd.randrange(4))]
    if typ.kind == "ref" and depth < 2 and rnd.random() < 0.6:
        return random_record(rnd, typ.ref, depth + 1)
    if typ.kind == "ref":
        return rnd.choice(("u_1", "a_1", ""))
    return random_junk(rnd)


def random_record(rnd: random.Random, kind: str, depth: int = 0) -> dict[str, Any]:
    return {name: random_value(rnd, typ, depth) for name, typ in RECORDS[kind].items()
            if rnd.random() < 0.6}


def random_subject(rnd: random.Random, root: str | None) -> Any:
    if root in RECORDS:
        return random_record(rnd, root)
    if root == "payload":
        return {name: random_junk(rnd) for name in (*PAYLOAD_FIELDS, "approvers", "name")
                if rnd.random() < 0.6}
    return rnd.choice((None, {}))


def dry_run_all(seed: int, plans: list[Plan], approvals: list[str]) -> None:
    rnd = random.Random(seed)
    for event in events_of(plans):
        root = subject_root(event)
        subject = random_subject(rnd, root)
        previous = random_subject(rnd, root) if rnd.random() < 0.5 else None
        decisions = {name: rnd.choice(APPROVAL_OUTCOMES[1:]) for name in approvals
                     if rnd.random() < 0.5}
        note(f"dry run {event}: subject={subject!r} previous={previous!r} decisions={decisions!r}")
        run_dry(plans, event, subject, previous=previous if isinstance(previous, dict) else None,
                decisions=decisions)


# One failure at a time: shrinking a whole script is the slowest part of the fuzz tests.
@settings(FUZZ, max_examples=300, report_multiple_bugs=False)
@given(script=valid_scripts(), seed=st.integers(0, 2**32))
def test_valid_scripts_compile_round_trip_and_dry_run(script: tuple[str, list[str]], seed: int) -> None:
    text, approvals = script
    note(text)
    with time_bound("compile of a valid script"):
        plans = compile_source(text, "generated.zflow")   # any exception here is a bug
    assert plans, "a valid script compiled to no plans"
    check_round_trip(plans)
    dry_run_all(seed, plans, approvals)


@settings(FUZZ, max_examples=10)
@given(n=st.integers(0, 300), unit=st.sampled_from(("days", "weeks", "hours")))
def test_many_long_waits_dry_run(n: int, unit: str) -> None:
    """Each wait is within the duration limit; a dry run moves its clock through all of them
    (about 800 ten-year waits reach the year 9999)."""
    amount = MAX_DURATION_DAYS * 86400 // UNIT_SECONDS[unit.rstrip("s")]
    text = "WHEN ticket.created\nTHEN\n" + f"  wait {amount} {unit}\n" * (700 + n)
    with time_bound("compile of many waits"):
        plans = compile_source(text, "waits.zflow")
    run_dry(plans, "ticket.created", {})

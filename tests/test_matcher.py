"""The Matcher: an index narrowed by equality tests that matches exactly what a plain scan does."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_source
from runtime import Matcher
from runtime.conditions import where_fn
from runtime.events import event_data

from .conftest import NOW

CATEGORIES = ["Network", "Identity", "Hardware", "Software"]
TEAMS = ["Network", "IAM", "Field IT"]
PRIORITIES = ["low", "normal", "high", "urgent"]
FIELDS = {"category": CATEGORIES, "team": TEAMS, "priority": PRIORITIES}


def quoted(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


@st.composite
def leaf_tests(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(sorted(FIELDS)))
    values = FIELDS[field]
    op = draw(st.sampled_from(["=", "!=", "in", "not in", "is empty"]))
    if op in ("in", "not in"):
        return f"{field} {op} {quoted(draw(st.lists(st.sampled_from(values), min_size=1, max_size=3)))}"
    if op == "is empty":
        return f"{field} is empty"
    return f'{field} {op} "{draw(st.sampled_from(values))}"'


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        return draw(leaf_tests())
    kind = draw(st.sampled_from(["AND", "OR", "NOT"]))
    if kind == "NOT":
        return f"NOT ({draw(conditions(depth + 1))})"
    parts = draw(st.lists(conditions(depth + 1), min_size=2, max_size=3))
    return "(" + f" {kind} ".join(parts) + ")"


@st.composite
def scripts(draw: st.DrawFn) -> str:
    out = []
    for index in range(draw(st.integers(1, 8))):
        trigger = draw(st.sampled_from(["ticket.created", "ticket.updated"]))
        where = draw(st.one_of(st.none(), conditions()))
        out.append(f'workflow "w{index}" WHEN {trigger}' + (f" WHERE {where}" if where else "")
                   + ' THEN add tag = "x"')
    return "\n".join(out)


subjects = st.fixed_dictionaries({}, optional={
    field: st.one_of(st.none(), st.sampled_from(values), st.just(["Network"]), st.just(3))
    for field, values in FIELDS.items()})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts(), st.lists(subjects, min_size=1, max_size=4),
       st.sampled_from(["ticket.created", "ticket.updated"]))
def test_matcher_equals_a_plain_scan(text: str, batch: list[dict], event: str) -> None:  # type: ignore[type-arg]
    plans = compile_source(text)
    matcher = Matcher(plans)
    for subject in batch:
        env = event_data(event, None, subject, None, NOW)
        env["$now"] = NOW
        scan = [p for p in plans if any(t.event == event for t in p.triggers) and where_fn(p)(env)]
        assert matcher.match(event, subject, now=NOW) == scan


def test_an_event_tests_only_its_candidates() -> None:
    lines = []
    for index in range(10_000):
        category = CATEGORIES[index % 4] + str(index // 4)
        lines.append(f'workflow "w{index}" WHEN ticket.created WHERE priority = "urgent" '
                     f'AND category = "{category}" THEN add tag = "x"')
    lines.append('workflow "catch-all" WHEN ticket.created WHERE priority = "urgent" THEN add tag = "y"')
    lines.append('workflow "other" WHEN ticket.updated WHERE category = "Network7" THEN add tag = "z"')
    # Several files: one script may not exceed 1 MiB.
    plans = [p for start in range(0, len(lines), 2000)
             for p in compile_source("\n".join(lines[start:start + 2000]))]
    matcher = Matcher(plans)
    subject = {"priority": "urgent", "category": "Network7"}
    candidates = matcher.candidates("ticket.created", subject)
    assert [p.name for p in candidates] == ["w28", "catch-all"]
    assert [p.name for p in matcher.match("ticket.created", subject, now=NOW)] == ["w28", "catch-all"]


def test_qualifiers_narrow_webhooks_and_a_bare_event_matches_any() -> None:
    plans = compile_source('workflow "hr" WHEN webhook.received "hr" THEN notify slack = "#a"\n'
                           'workflow "crm" WHEN webhook.received "crm" THEN notify slack = "#b"')
    matcher = Matcher(plans)
    assert [p.name for p in matcher.match("webhook.received:hr", {}, now=NOW)] == ["hr"]
    assert [p.name for p in matcher.match("webhook.received", {}, now=NOW)] == ["hr", "crm"]
    assert matcher.match("webhook.received:none", {}, now=NOW) == []


def test_scenarios_are_never_matched_by_events() -> None:
    plans = compile_source('scenario "dup" THEN transition status = "closed"')
    assert Matcher(plans).match("ticket.created", {}, now=NOW) == []


def test_a_test_on_the_whole_subject_is_matched_without_the_index() -> None:
    plans = compile_source('workflow "raw" WHEN webhook.received "hr" WHERE payload = "x" THEN '
                           'notify email = "it@example.com"')
    matcher = Matcher(plans)
    assert [p.name for p in matcher.match("webhook.received:hr", "x", now=NOW)] == ["raw"]
    assert matcher.match("webhook.received:hr", {"a": 1}, now=NOW) == []

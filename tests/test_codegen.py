"""Generated condition code agrees with the reference closures on random conditions and subjects."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_source
from runtime.conditions import generate_condition
from zentra_rules.domain.evaluation import compile_condition

from .conftest import NOW

STRINGS = ["urgent", "Network", "", "VPN down", "a"]
scalars = st.one_of(st.none(), st.sampled_from(STRINGS), st.integers(-2, 5), st.booleans(),
                    st.just(["Network", "vip"]), st.just({"x": 1}), st.just("2026-11-25T08:00:00Z"))

LEAVES = [
    'priority = "urgent"', 'category != "Network"', 'category in ["Network", "a"]',
    'category not in ["Network"]', 'title contains "VPN"', 'tags contains "vip"',
    'title starts with "VPN"', 'title ends with "down"', 'title matches "^V.N"', "title is empty",
    "category is not empty", "escalationLevel > 1", "escalationLevel <= 2", "custom.n >= 0",
    "dueAt < now", "dueAt > now - 4 hours", "len(title) > 2", 'lower(category) = "network"',
    "requester.vip", "NOT requester.vip", 'status changed to "open"', 'status changed from "new"',
    "status changed", 'title + "x" = "ax"', "escalationLevel + 1 = 3", 'requester.email = "a"',
    "custom.flag", 'custom.region in ["EU", "US"]',
]


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        return draw(st.sampled_from(LEAVES))
    kind = draw(st.sampled_from(["AND", "OR", "NOT"]))
    if kind == "NOT":
        return f"NOT ({draw(conditions(depth + 1))})"
    return "(" + f" {kind} ".join(draw(st.lists(conditions(depth + 1), min_size=2, max_size=3))) + ")"


fields = ["priority", "category", "title", "tags", "escalationLevel", "dueAt", "status"]
tickets = st.fixed_dictionaries({}, optional={
    **{f: scalars for f in fields},
    "custom": st.fixed_dictionaries({}, optional={"n": scalars, "flag": scalars, "region": scalars}),
    "requester": st.one_of(st.none(), st.just("u1"),
                           st.fixed_dictionaries({}, optional={"vip": scalars, "email": scalars}))})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions(), tickets, st.one_of(st.none(), tickets))
def test_generated_code_equals_closures(condition: str, ticket: dict, previous: dict | None) -> None:  # type: ignore[type-arg]
    plan = compile_source(f"WHEN ticket.updated WHERE {condition} THEN escalate")[0]
    tree = plan.constants[plan.condition]
    env = {"ticket": ticket, "event": {"previous": previous}, "$now": NOW}
    assert generate_condition(tree)(env) is compile_condition(tree)(env)

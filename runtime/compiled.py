"""Closures for a plan's constants, built once per plan object and cached on it."""

from __future__ import annotations

from typing import Any

from zentra_rules.codegen import generate_condition
from zentra_rules.expr import Fn, Pred, compile_value
from zentra_rules.plan import Plan


def value_fn(plan: Plan, index: int) -> Fn:
    cache: dict[Any, Any] = plan._cache
    key = ("v", index)
    if key not in cache:
        cache[key] = compile_value(plan.constants[index])
    return cache[key]  # type: ignore[no-any-return]


def condition_fn(plan: Plan, index: int) -> Pred:
    cache: dict[Any, Any] = plan._cache
    key = ("c", index)
    if key not in cache:
        cache[key] = generate_condition(plan.constants[index])
    return cache[key]  # type: ignore[no-any-return]


def where_fn(plan: Plan) -> Pred:
    """The plan's WHERE condition (always true when it has none)."""
    if plan.condition < 0:
        return lambda env: True
    return condition_fn(plan, plan.condition)

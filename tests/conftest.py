"""Shared fixtures: a fixed clock and a compile helper."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from compiler import compile_source
from zentra_rules.plan import Plan

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def plan_of(text: str) -> Plan:
    plans = compile_source(text, "test.zflow")
    assert len(plans) == 1
    return plans[0]


@pytest.fixture
def now() -> datetime:
    return NOW

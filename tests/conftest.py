"""Shared fixtures: a fixed clock and a compile helper."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_source
from zentra_rules.domain.plan import Plan

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def plan_of(text: str) -> Plan:
    plans = compile_source(text, "test.zflow")
    assert len(plans) == 1
    return plans[0]


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (PostgreSQL: a schema of its own, dropped after)."""
    from .services import database_url
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def rig(db_url: str) -> Iterator[Any]:
    """A clock-controlled engine on a real database."""
    from .rig import Rig
    r = Rig(db_url)
    try:
        yield r
    finally:
        r.close()

"""A clock-controlled engine for tests: a hand-moved clock and an in-memory Huey driven by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from compiler import compile_source
from runtime.durable.queue import drain, make_huey
from zentra_rules.domain.clock import ManualClock
from zentra_rules.domain.config import Config
from zentra_rules.interfaces.process import App, open_app

from .conftest import NOW

T = TypeVar("T")


def stored(record: T | None, what: str = "record") -> T:
    """A record the test expects to exist: a missing one fails here, by name, not at a later index."""
    assert record is not None, f"no such {what} in the store"
    return record


class Rig:
    """The engine on a real database; time moves only when a test says so."""

    def __init__(self, database_url: str, start: datetime = NOW, **config: Any):
        self.clock = ManualClock(start)
        self.config = Config(database_url=database_url, queue_url="memory://",
                             allow_private=True, **config)
        self.app: App = open_app(self.config, self.clock, make_huey("memory://"))
        self.engine, self.store = self.app.engine, self.app.store

    def publish(self, source: str) -> list[dict[str, Any]]:
        return self.engine.publish(compile_source(source, "test.zflow"), "tests")

    def settle(self, rounds: int = 50) -> int:
        """Run every due task and sweep until nothing is left to do now."""
        total = 0
        for _ in range(rounds):
            done = drain(self.app.huey, self.clock.now())
            swept = self.engine.sweep()
            done += drain(self.app.huey, self.clock.now())
            total += done
            if not done and not swept["woken"] and not swept["events"]:
                return total
        raise AssertionError("the engine did not settle")

    def ticket(self, ticket_id: Any) -> dict[str, Any]:
        return stored(self.store.records.get_ticket(ticket_id), f"ticket {ticket_id}")

    def asset(self, asset_id: Any) -> dict[str, Any]:
        return stored(self.store.records.get_asset(asset_id), f"asset {asset_id}")

    def jump(self, **delta: float) -> None:
        """Move the clock on and let everything due by then happen."""
        self.clock.advance(**delta)
        self.settle()

    def close(self) -> None:
        self.store.close()

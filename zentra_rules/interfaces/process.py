"""Wiring for a process: the store, the engine and the queue from one configuration."""

from __future__ import annotations

from dataclasses import dataclass

from huey import Huey

from runtime.durable.engine import Engine
from runtime.durable.queue import HueyQueue, make_huey
from zentra_rules.domain.clock import Clock, SystemClock
from zentra_rules.domain.config import Config
from zentra_rules.integrations.outbound import Outbound
from zentra_rules.store import Store, open_store


@dataclass
class App:
    store: Store
    engine: Engine
    huey: Huey


def open_app(config: Config, clock: Clock | None = None, huey: Huey | None = None) -> App:
    """Everything a server or worker process needs, on the configured database and queue."""
    store = open_store(config.database_url)
    engine = Engine(store, clock or SystemClock(), config, sender=Outbound(config))
    huey = huey if huey is not None else make_huey(config.queue_url)
    HueyQueue(huey, engine)
    return App(store, engine, huey)

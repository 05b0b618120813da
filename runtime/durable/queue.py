"""Huey glue: thin tasks that pass only ids to the engine, and the worker loop with its sweeper."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper

from runtime.durable.engine import Engine
from zentra_rules.domain.errors import InputError

log = logging.getLogger("zentra.worker")


def make_huey(url: str, name: str = "zentra") -> Huey:
    """Huey on `queue.url`: sqlite:///FILE (embedded), redis://HOST:PORT/DB, or memory://."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise InputError(f"queue.url {url!r}: a SQLite URL names a file")
        return SqliteHuey(name, filename=path, utc=True, results=False)
    if parts.scheme in ("redis", "rediss"):
        return RedisHuey(name, url=url, utc=True, results=False)
    if parts.scheme == "memory":
        return MemoryHuey(name, utc=True, results=False)
    raise InputError(f"queue.url {url!r}: expected sqlite:///FILE, redis://HOST:PORT/DB or memory://")


class HueyQueue:
    """The engine's `Queue` on Huey. Tasks carry ids only (Huey pickles arguments)."""

    def __init__(self, huey: Huey, engine: Engine):
        self.huey = huey
        self._advance: TaskWrapper = huey.task(name="zentra.advance")(engine.advance)
        self._process: TaskWrapper = huey.task(name="zentra.process")(engine.process_event)
        self._deliver: TaskWrapper = huey.task(name="zentra.deliver")(engine.deliver)
        engine.queue = self

    def advance(self, execution_id: int, eta: datetime | None = None) -> None:
        self._enqueue(self._advance, execution_id, eta)

    def process(self, event_id: int) -> None:
        self._enqueue(self._process, event_id, None)

    def deliver(self, send_id: int, eta: datetime | None = None) -> None:
        self._enqueue(self._deliver, send_id, eta)

    @staticmethod
    def _enqueue(task: TaskWrapper, ident: int, eta: datetime | None) -> None:
        # An aware UTC eta: Huey reads a naive one as local time.
        if eta is None:
            task(ident)
        else:
            task.schedule(args=(ident,), eta=eta)


def every(action: Callable[[], object], stop: threading.Event, interval: float, what: str) -> None:
    """Run `action` every `interval` seconds until `stop` is set; a failing pass is logged."""
    while not stop.is_set():
        try:
            action()
        except Exception:   # the sweeper and the heartbeat are the safety net: they must go on
            log.exception("%s failed; trying again in %.1f s", what, interval)
        stop.wait(interval)


# Poll quickly after work, slowly when idle (Huey's SQLite storage has no blocking read).
CONSUMER_OPTIONS: dict[str, Any] = {"worker_type": "thread", "periodic": False,
                                    "initial_delay": 0.05, "backoff": 1.15, "max_delay": 0.5}


def start_upkeep(engine: Engine, stop: threading.Event, sweep_seconds: float) -> None:
    """The sweeper and this process's lease heartbeat, as daemon threads until `stop` is set."""
    for action, interval, what in ((engine.sweep, sweep_seconds, "sweep"),
                                   (engine.renew_leases, engine.config.lease_seconds / 3,
                                    "lease renewal")):
        threading.Thread(target=every, args=(action, stop, interval, what),
                         name=f"zentra-{what}", daemon=True).start()


def run_worker(engine: Engine, huey: Huey, workers: int, sweep_seconds: float,
               **consumer_options: Any) -> None:
    """`zentra worker`: a Huey consumer, a sweeper and a lease heartbeat, until SIGINT/SIGTERM."""
    stop = threading.Event()
    start_upkeep(engine, stop, sweep_seconds)
    consumer = huey.create_consumer(**{**CONSUMER_OPTIONS, "workers": workers, **consumer_options})
    try:
        consumer.run()
    finally:
        stop.set()


def drain(huey: Huey, now: datetime, limit: int = 100_000) -> int:
    """Run, in this thread, every task due at `now` (tests drive time by hand with this)."""
    stamp = now.astimezone(UTC).replace(tzinfo=None)   # Huey's utc=True timestamps are naive UTC
    done = 0
    while done < limit:
        for task in huey.read_schedule(stamp):
            huey.enqueue(task)
        task = huey.dequeue()
        if task is None:
            return done
        huey.execute(task, stamp)
        done += 1
    return done

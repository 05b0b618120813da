"""This process's leases: who it is, how long a lease lasts, and which slices it is running."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from runtime.durable.ports import RunPort


@dataclass
class Leases:
    """A slice holds a lease on its execution; the heartbeat renews only the running ones."""

    owner: str
    seconds: float
    _running: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def holding(self, execution_id: int) -> Iterator[None]:
        """Mark a slice as in progress in this process while it runs."""
        with self._lock:
            self._running.add(execution_id)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(execution_id)

    def renew(self, runs: RunPort, now: datetime) -> int:
        """The heartbeat: the leases of the slices this process is running stay its own."""
        with self._lock:
            running = sorted(self._running)
        return runs.renew(self.owner, now, self.seconds, running)

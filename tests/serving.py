"""The service for a test: in this process (Starlette's test client, SQLite, an in-memory queue), or
`zentra serve` as a real process started on a free port and stopped with SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from runtime.durable.queue import drain
from server import create_app
from zentra_rules.domain.config import Config

ROOT = Path(__file__).resolve().parent.parent
ADMIN = {"Authorization": "Bearer zt_admin"}


@contextmanager
def in_process(tmp_path: Path) -> Iterator[TestClient]:
    """The app on a fresh SQLite database and an in-memory queue, admin token `zt_admin`."""
    app = create_app(Config(database_url=f"sqlite:///{tmp_path}/z.db", queue_url="memory://",
                            admin_token="zt_admin"))
    with TestClient(app) as c:
        yield c


def settle(client: TestClient, rounds: int = 5) -> None:
    """Run the queued tasks of an in-process app and sweep, a few times over."""
    state = client.app.state  # type: ignore[attr-defined]
    for _ in range(rounds):
        drain(state.huey, state.engine.clock.now())
        state.engine.sweep()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def zentra_serve(tmp_path: Path, database_url: str, queue_url: str) -> Iterator[str]:
    """The base URL of a running `zentra serve` (admin token `zt_admin`); the log is in
    `tmp_path/serve.log`. Stops it with SIGTERM and expects a graceful exit."""
    port = free_port()
    config = tmp_path / "zentra.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n[queue]\nurl = "{queue_url}"\n'
                      '[server]\nadmin_token = "zt_admin"\n[runtime]\nsweep_seconds = 0.5\n')
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", str(port),
                             "--config", str(config)], cwd=ROOT, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        yield base
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught: exit status -15.
        assert proc.wait(timeout=10) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()

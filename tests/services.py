"""Real services for the tests: SQLite always; PostgreSQL and Redis when they run (CI: must)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_URL = os.environ.get("ZENTRA_TEST_PG", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ZENTRA_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def require(service: str) -> None:
    """Skip with the reason on a machine without the service; under CI=true, fail instead."""
    port = {"postgresql": 5432, "redis": 6379}[service]
    if _listening(port):
        return
    message = f"{service} is not running on 127.0.0.1:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI must provide it: .ci/run starts it)")
    pytest.skip(message)


def require_tool(command: str) -> str:
    """The path of a command the tests run (openssl, chromium); under CI=true its absence fails."""
    import shutil
    found = shutil.which(command)
    if found:
        return found
    message = f"the `{command}` command is not installed"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI must provide it: .ci/run installs it)")
    pytest.skip(message)


@contextmanager
def database_url(kind: str, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/zentra.db"
        return
    require("postgresql")
    schema = f"zt_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_URL}?schema={schema}"
    finally:
        import psycopg2
        conn = psycopg2.connect(PG_URL.replace("postgresql://", "postgresql://", 1))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


@contextmanager
def queue_url(kind: str, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """Huey's SQLite storage in a file, or Redis (its keys removed afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/zentra-queue.db"
        return
    require("redis")
    yield REDIS_URL


def flush_redis(name: str) -> None:
    import redis
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"huey.*{name}*"):
        client.delete(key)
    client.close()

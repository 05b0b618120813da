"""Zentra rules runtime benchmarks: every ratio is against a baseline measured in this run.

    .venv/bin/python bench/engine.py [--quick]

1. in-process engine throughput on SQLite: escalate-urgent.zflow published, N urgent Network
   tickets created through Engine.create_ticket on an in-memory Huey, drained in this thread.
   Baseline: the same durable writes straight through the store, on a second fresh SQLite file.
2. end-to-end routing latency through a real `zentra worker` process (SQLite + Huey's SQLite
   queue): create a ticket, poll the database every 2 ms until its team is "Network".
   Baseline: a trivial Huey task on the same queue file, run by a second consumer process that
   only does one UPDATE of a one-row SQLite table; the bench polls for the row to change.
3. the same latency on PostgreSQL + Redis, when both answer on 127.0.0.1 (skipped otherwise).

The machine is noisy: section 1 is the best of 3 rounds with the engine and its baseline
alternating; section 2 and 3 interleave engine and baseline samples one by one, so drift hits both
alike. Nothing about speed is asserted, only correctness (every ticket routed, one note, one send,
every run completed).
"""

from __future__ import annotations

import argparse
import gc
import io
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compiler import compile_source
from runtime.durable.queue import drain, make_huey
from zentra_rules.domain.config import Config, load
from zentra_rules.domain.plan import Plan
from zentra_rules.interfaces.process import App, open_app
from zentra_rules.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "escalate-urgent.zflow"
FIELDS = {"priority": "urgent", "category": "Network"}
NOTE = "Auto-routed by urgency rule"
PG_URL = "postgresql://127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/14"
TOUCH_HUEY = "zentrabench"      # the baseline's Huey queue name (the engine's is "zentra")
CONSUMER_OPTIONS = {"workers": 1, "worker_type": "thread", "periodic": False,
                    "initial_delay": 0.05, "backoff": 1.15, "max_delay": 0.5}   # = run_worker's
POLL = 0.002
SAMPLE_TIMEOUT = 20.0
START_TIMEOUT = 60.0

ROWS: list[tuple[str, str, str, str]] = []


def row(name: str, ours: str, base: str, ratio: float | str) -> None:
    ROWS.append((name, ours, base, ratio if isinstance(ratio, str) else f"{ratio:5.2f}x"))


def plans() -> list[Plan]:
    return compile_source(EXAMPLE.read_text(encoding="utf-8"), "escalate-urgent.zflow")


# -- 1. in-process throughput ----------------------------------------------------------------------
class KeepSends:
    """The engine's queue minus delivery: sends stay pending in the outbox, as in the baseline.

    (No Slack integration is configured, so a delivery would only record a failure.)"""

    def __init__(self, inner: Any):
        self.inner = inner

    def advance(self, execution_id: int, eta: datetime | None = None) -> None:
        self.inner.advance(execution_id, eta)

    def process(self, event_id: int) -> None:
        self.inner.process(event_id)

    def deliver(self, send_id: int, eta: datetime | None = None) -> None:
        pass


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out
    finally:
        gc.enable()


def engine_round(tmp: Path, tag: str, n: int, compiled: list[Plan]) -> tuple[float, int]:
    """Seconds for n tickets created and routed through the engine; and the tasks drained."""
    config = Config(database_url=f"sqlite:///{tmp}/engine-{tag}.db", queue_url="memory://")
    app = open_app(config, huey=make_huey("memory://"))   # binds the store's models to this file
    try:
        app.engine.publish(compiled, "bench")
        app.engine.queue = KeepSends(app.engine.queue)
        engine = app.engine

        def work() -> tuple[list[str], int]:
            ids = [engine.create_ticket({"title": f"VPN down {i}", **FIELDS})["id"]
                   for i in range(n)]
            return ids, drain(app.huey, engine.clock.now())

        seconds, (ids, tasks) = timed(work)
        check_routed(app.store, ids)
        runs = app.store.runs.executions(limit=10 * n)
        assert len(runs) == n and all(r["status"] == "completed" for r in runs), \
            [r["status"] for r in runs][:10]
        sends = app.store.outbox.sends()
        assert len(sends) == n and all(s["status"] == "pending" for s in sends)
        assert drain(app.huey, engine.clock.now()) == 0
        return seconds, tasks
    finally:
        app.store.close()


def baseline_round(tmp: Path, tag: str, n: int, hold: bool = True) -> float:
    """Seconds for the same durable writes done straight through the store.

    `hold`: keep one connection open for the round, as the engine does (its first read outside a
    transaction opens the thread's connection, which every later `store.tx()` reuses). Without it,
    each `store.tx()` opens a connection and closes it again."""
    store = open_store(f"sqlite:///{tmp}/bare-{tag}{'' if hold else '-reopen'}.db")   # binds models
    try:
        def work() -> list[str]:
            ids = []
            for i in range(n):
                with store.tx():
                    record, _ = store.records.create_ticket({"title": f"VPN down {i}", **FIELDS},
                                                    datetime.now(UTC), "api")
                with store.tx():
                    now = datetime.now(UTC)
                    store.records.update_ticket(record["id"], {"team": "Network"}, now, "bench")
                    store.records.add_note(record["id"], "internal", NOTE, "bench", now)
                    store.outbox.queue_send("slack", "#incidents", {"subject": None, "body": "VPN down"},
                                     now)
                ids.append(record["id"])
            return ids

        def held() -> list[str]:
            with store.db.connection_context():
                return work()

        seconds, ids = timed(held if hold else work)
        check_routed(store, ids)
        return seconds
    finally:
        store.close()


def check_routed(store: Store, ids: list[str]) -> None:
    for ticket_id in ids:
        ticket = store.records.get_ticket(ticket_id)
        assert ticket is not None and ticket.get("team") == "Network", ticket
        assert [x["body"] for x in store.records.notes(ticket_id)] == [NOTE], ticket_id


def bench_throughput(n: int, rounds: int) -> None:
    compiled = plans()
    tmp = Path(tempfile.mkdtemp(prefix="zentra-bench-"))
    contenders: list[Callable[[str], float]] = [
        lambda tag: engine_round(tmp, tag, n, compiled)[0],
        lambda tag: baseline_round(tmp, tag, n),
        lambda tag: baseline_round(tmp, tag, n, hold=False)]
    try:
        _, tasks = engine_round(tmp, "warm", min(n, 20), compiled)   # imports, caches, first use
        tasks = tasks * n // min(n, 20)
        baseline_round(tmp, "warm", min(n, 20))
        baseline_round(tmp, "warm", min(n, 20), hold=False)
        best = [math.inf] * len(contenders)
        for r in range(rounds):   # fresh databases every round; the order rotates
            for i in [(r + k) % len(contenders) for k in range(len(contenders))]:
                best[i] = min(best[i], contenders[i](str(r)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t_engine, t_bare, t_reopen = best
    ms_e, ms_b, ms_r = (t / n * 1e3 for t in best)
    print(f"[1] in-process, SQLite file: {n} urgent Network tickets a round, best of {rounds} "
          f"rounds; engine {t_engine:.2f} s ({tasks / n:.0f} tasks/ticket drained), bare store "
          f"writes {t_bare:.2f} s ({t_reopen:.2f} s without a held connection); "
          "every ticket routed, noted, one send pending")
    row("engine: create + route (ms/ticket)", f"{ms_e:10.2f}", f"{ms_b:10.2f}", ms_e / ms_b)
    row("  tickets/s", f"{n / t_engine:10,.0f}", f"{n / t_bare:10,.0f}", ms_e / ms_b)
    row("  engine overhead over bare writes (ms)", f"{ms_e - ms_b:10.2f}", "", "")
    row("  bare writes, connection per tx (ms/ticket)", f"{ms_r:10.2f}", f"{ms_b:10.2f}",
        ms_r / ms_b)


# -- 2/3. latency through real worker processes ----------------------------------------------------
TOUCH_CONSUMER = '''\
"""The baseline's worker: one Huey task that UPDATEs a one-row table, and nothing else."""
import sqlite3
import sys
import threading

from huey import RedisHuey, SqliteHuey

queue_url, name, kind, dsn, schema = sys.argv[1:6]
if queue_url.startswith("sqlite:"):
    huey = SqliteHuey(name, filename=queue_url[len("sqlite:///"):], utc=True, results=False)
else:
    huey = RedisHuey(name, url=queue_url, utc=True, results=False)
local = threading.local()


def connect():
    if kind == "postgresql":
        import psycopg2
        conn = psycopg2.connect(dsn, options=f"-c search_path={schema}")
        conn.autocommit = True
        return conn, "UPDATE bench_touch SET n = %s WHERE id = 1"
    conn = sqlite3.connect(dsn, isolation_level=None, timeout=30)
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn, "UPDATE bench_touch SET n = ? WHERE id = 1"


def touch(n):
    if not hasattr(local, "conn"):
        local.conn, local.sql = connect()
    cur = local.conn.cursor()
    cur.execute(local.sql, (n,))
    cur.close()


touch.__module__ = "zentra_bench"   # the task's identity is module + name, the same in both processes
huey.task(name="bench.touch")(touch)
huey.create_consumer(**OPTIONS).run()
'''


def _touch(n: int) -> None:
    """Only enqueued from the bench; the consumer script runs its own copy."""


_touch.__module__ = "zentra_bench"


class Touch:
    """The baseline's one-row table: create it, read it."""

    def __init__(self, kind: str, dsn: str, schema: str = ""):
        self.kind, self.dsn, self.schema = kind, dsn, schema
        self.conn: Any
        if kind == "postgresql":
            import psycopg2
            self.conn = psycopg2.connect(dsn, options=f"-c search_path={schema}")
            self.conn.autocommit = True
        else:
            self.conn = sqlite3.connect(dsn, isolation_level=None, timeout=30)
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
        cur = self.conn.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS bench_touch (id INTEGER PRIMARY KEY, n INTEGER)")
        cur.execute("DELETE FROM bench_touch")
        cur.execute("INSERT INTO bench_touch (id, n) VALUES (1, 0)")
        cur.close()

    def read(self) -> int:
        cur = self.conn.cursor()
        cur.execute("SELECT n FROM bench_touch WHERE id = 1")
        value = cur.fetchone()[0]
        cur.close()
        return int(value)

    def close(self) -> None:
        self.conn.close()


class Workers:
    """Worker processes with their logs; stopped with SIGTERM (then SIGKILL after 10 s)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ZENTRA_")}

    def start(self, label: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.tmp / f"{label}.log", "wb") as log:
            proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=log, env=self.env)
        self.procs.append((label, proc))
        return proc

    def check(self) -> None:
        for label, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{label} exited with {proc.returncode}\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-2000:]
                         for p in sorted(self.tmp.glob("*.log")))

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def until(check: Callable[[], bool], timeout: float, what: str, workers: Workers) -> float:
    """perf_counter() when `check` first holds, polling every 2 ms."""
    deadline = time.perf_counter() + timeout
    while True:
        if check():
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}\n{workers.logs()}")
        workers.check()
        time.sleep(POLL)


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile (with 8 samples: the largest)."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def measure_latency(tmp: Path, db_url: str, queue_url: str, touch: tuple[str, str, str],
                    n: int, warm: int = 3) -> tuple[list[float], list[float], float]:
    """(engine seconds, baseline seconds, worker start seconds) with both workers running."""
    config_path = tmp / "zentra.toml"
    config_path.write_text(f"""
[database]
url = "{db_url}"
[queue]
url = "{queue_url}"
[runtime]
lease_seconds = 5
sweep_seconds = 0.5
workers = 1
""")
    app: App = open_app(load(config_path, environ={}))
    workers = Workers(tmp)
    table: Touch | None = None
    try:
        app.engine.publish(plans(), "bench")
        table = Touch(*touch)
        script = tmp / "touch_consumer.py"
        script.write_text(TOUCH_CONSUMER.replace("**OPTIONS", "**" + repr(CONSUMER_OPTIONS)))
        touch_huey = make_huey(queue_url, name=TOUCH_HUEY)   # same storage, its own queue
        enqueue_touch = touch_huey.task(name="bench.touch")(_touch)
        started = time.perf_counter()
        workers.start("zentra-worker", [sys.executable, "-m", "zentra_rules.interfaces.cli", "worker",
                                        "--config", str(config_path)])
        workers.start("touch-consumer", [sys.executable, str(script), queue_url, TOUCH_HUEY,
                                         *touch])
        counter = 0

        def ticket(k: int, timeout: float = SAMPLE_TIMEOUT) -> float:
            t0 = time.perf_counter()
            ticket_id = app.engine.create_ticket({"title": f"VPN down {k}", **FIELDS})["id"]
            return until(lambda: (app.store.records.get_ticket(ticket_id) or {}).get("team") == "Network",
                         timeout, f"ticket {ticket_id} to be routed", workers) - t0

        def bare(timeout: float = SAMPLE_TIMEOUT) -> float:
            nonlocal counter
            counter += 1
            want = counter
            t0 = time.perf_counter()
            enqueue_touch(want)
            assert table is not None
            return until(lambda: table.read() == want, timeout, f"touch {want}", workers) - t0

        ticket(-1, START_TIMEOUT)
        bare(START_TIMEOUT)
        start_seconds = time.perf_counter() - started
        for k in range(warm - 1):
            ticket(-2 - k)
            bare()
        rng = random.Random(5)
        engine_s: list[float] = []
        bare_s: list[float] = []
        for k in range(n):
            # A random 50-250 ms pause before each sample, so the pollers are met at random phases.
            order = ((engine_s, lambda k=k: ticket(k)), (bare_s, bare))
            for out, sample in (order if k % 2 == 0 else order[::-1]):
                time.sleep(rng.uniform(0.05, 0.25))
                out.append(sample())
        runs = app.store.runs.executions(limit=10 * (n + warm))
        assert len(runs) == n + warm and all(r["status"] == "completed" for r in runs), \
            [r["status"] for r in runs][:10]
        return engine_s, bare_s, start_seconds
    finally:
        workers.stop()
        if table is not None:
            table.close()
        app.store.close()


def report_latency(section: int, label: str, engine_s: list[float], bare_s: list[float],
                   start: float) -> None:
    e_med, b_med = statistics.median(engine_s) * 1e3, statistics.median(bare_s) * 1e3
    e_p90, b_p90 = p90(engine_s) * 1e3, p90(bare_s) * 1e3
    print(f"[{section}] {label}: {len(engine_s)} tickets one at a time, interleaved with "
          f"{len(bare_s)} baseline round-trips; workers up and first round-trips done in "
          f"{start:.1f} s; engine min/max {min(engine_s) * 1e3:.0f}/{max(engine_s) * 1e3:.0f} ms, "
          f"baseline min/max {min(bare_s) * 1e3:.0f}/{max(bare_s) * 1e3:.0f} ms")
    row(f"latency {label}: median (ms)", f"{e_med:10.1f}", f"{b_med:10.1f}", e_med / b_med)
    row("  p90 (ms)", f"{e_p90:10.1f}", f"{b_p90:10.1f}", e_p90 / b_p90)
    row("  routed in under a second (engine p90)", f"{'yes' if e_p90 < 1000 else 'no':>10}", "", "")


def bench_latency_sqlite(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="zentra-bench-"))
    try:
        engine_s, bare_s, start = measure_latency(
            tmp, f"sqlite:///{tmp}/zentra.db", f"sqlite:///{tmp}/zentra-queue.db",
            ("sqlite", str(tmp / "touch.db"), ""), n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report_latency(2, "SQLite + Huey SQLite", engine_s, bare_s, start)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _why_not_pg_redis() -> str | None:
    for name, port in (("PostgreSQL", 5432), ("Redis", 6379)):
        if not _answers(port):
            return f"{name} does not answer on 127.0.0.1:{port}"
    try:
        import psycopg2
        psycopg2.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:
        return f"cannot connect to {PG_URL}: {str(exc).strip()}"
    try:
        import redis
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        return f"cannot use {REDIS_URL}: {exc}"
    return None


def _clear_redis() -> None:
    import redis
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for name in ("zentra", TOUCH_HUEY):
            for pattern in (f"huey.*.{name}", f"huey.notify.{name}.*"):
                for key in client.scan_iter(pattern):
                    client.delete(key)
    finally:
        client.close()


@contextmanager
def pg_schema() -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        import psycopg2
        conn = psycopg2.connect(PG_URL)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def bench_latency_pg_redis(n: int) -> None:
    why = _why_not_pg_redis()
    if why is not None:
        print(f"[3] PostgreSQL + Redis: skipped ({why})")
        row("latency PostgreSQL + Redis", "skipped", "", "")
        return
    tmp = Path(tempfile.mkdtemp(prefix="zentra-bench-"))
    try:
        with pg_schema() as schema:
            _clear_redis()   # nothing left over from an interrupted run may be consumed
            try:
                engine_s, bare_s, start = measure_latency(
                    tmp, f"{PG_URL}?schema={schema}", REDIS_URL, ("postgresql", PG_URL, schema), n)
            finally:
                with suppress(Exception):
                    _clear_redis()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report_latency(3, "PostgreSQL + Redis", engine_s, bare_s, start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer tickets (smoke test)")
    args = ap.parse_args()
    if isinstance(sys.stdout, io.TextIOWrapper):   # not when a test or a tool has replaced it
        sys.stdout.reconfigure(line_buffering=True)  # progress as it happens
    started = time.perf_counter()
    print(f"python {sys.version.split()[0]} ({sys.implementation.name})")
    bench_throughput(60 if args.quick else 300, rounds=3)
    samples = 8 if args.quick else 20
    bench_latency_sqlite(samples)
    bench_latency_pg_redis(samples)
    w = max(len(r[0]) for r in ROWS)
    print()
    print(f"{'measure':<{w}}  {'ours':>10}  {'baseline':>10}  {'ratio':>6}")
    print(f"{'-' * w}  {'-' * 10}  {'-' * 10}  {'-' * 6}")
    for name, ours, base, ratio in ROWS:
        print(f"{name:<{w}}  {ours:>10}  {base:>10}  {ratio:>6}")
    print("baselines: [1] the same writes straight through the store (create; update+note+send)  "
          "[2][3] a one-UPDATE Huey task on the same queue, run by a second consumer process")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

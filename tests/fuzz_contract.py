"""The contract every fuzz test checks: only ZentraErrors, real diagnostics, JSON round trips, no hangs."""

# For ANY text:
#   * `compile_source(text, filename)` raises nothing but `ZentraError` (subclasses included) and
#     never hangs;
#   * every `Diagnostic` of a `CompileError` has line >= 1, col >= 1 and a non-empty message;
#   * a plan it returns round-trips through JSON (`Plan.loads(plan.dumps())` has equal `.dumps()`
#     and `.hash`);
#   * `dry_run(plans, event, subject)` on compiled plans raises nothing but `ZentraError`.
# Every compile and dry run is timed; a hang is turned into a failure by an alarm.
# A failure is a bug in the compiler or the runtime: do not weaken these checks to make it pass.

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from compiler import compile_source
from runtime import dry_run
from zentra_rules.domain.errors import CompileError, Diagnostic, ZentraError
from zentra_rules.domain.plan import Plan
from zentra_rules.domain.schema import TRIGGERS

ROOT = Path(__file__).resolve().parent.parent
SUBJECT_FILES = {p.stem: json.loads(p.read_text(encoding="utf-8"))
                 for p in sorted((ROOT / "examples" / "subjects").glob("*.json"))}

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HANG_SECONDS = 60.0          # only a hang detector, never a speed test (a compile takes ~5 ms)

FUZZ = settings(
    deadline=None,
    database=None,           # write nothing into the repository
    # No explain phase: it re-runs failing cases under a tracer, which costs minutes here.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
)


class Hang(AssertionError):
    """A compile or dry run did not finish within HANG_SECONDS."""


@contextmanager
def time_bound(what: str) -> Iterator[None]:
    """Fail (instead of hanging forever) when the body runs longer than HANG_SECONDS."""
    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    old = None
    if use_alarm:
        def on_alarm(signum: int, frame: Any) -> None:
            raise Hang(f"{what} still running after {HANG_SECONDS + 5:.0f} s (hang)")
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS + 5)
    start = time.monotonic()
    try:
        yield
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    elapsed = time.monotonic() - start
    assert elapsed < HANG_SECONDS, f"{what} took {elapsed:.1f} s (limit {HANG_SECONDS} s)"


def check_diagnostics(exc: CompileError) -> None:
    assert isinstance(exc.diagnostics, list) and exc.diagnostics, "CompileError without diagnostics"
    for d in exc.diagnostics:
        assert isinstance(d, Diagnostic)
        assert isinstance(d.line, int) and d.line >= 1, f"diagnostic line {d.line!r}: {d}"
        assert isinstance(d.col, int) and d.col >= 1, f"diagnostic col {d.col!r}: {d}"
        assert isinstance(d.message, str) and d.message.strip(), f"empty diagnostic message: {d}"


def compile_checked(text: str, filename: str = "fuzz.zflow") -> list[Plan] | None:
    """Compile; None when refused with a ZentraError. Any other exception propagates (= bug)."""
    with time_bound(f"compile of {len(text)} characters"):
        try:
            plans = compile_source(text, filename)
        except CompileError as exc:
            check_diagnostics(exc)
            return None
        except ZentraError:
            return None
    assert isinstance(plans, list) and all(isinstance(p, Plan) for p in plans)
    return plans


def check_round_trip(plans: list[Plan]) -> None:
    for plan in plans:
        text = plan.dumps()
        again = Plan.loads(text)
        assert again.dumps() == text, "JSON round trip changed the plan"
        assert again.hash == plan.hash, "JSON round trip changed the hash"


def run_dry(plans: list[Plan], event: str, subject: Any, **kwargs: Any) -> None:
    with time_bound(f"dry run of {event}"), suppress(ZentraError):
        dry_run(plans, event, subject, now=NOW, **kwargs)


def subject_root(event: str) -> str | None:
    name = event.partition(":")[0]
    return "ticket" if name == "scenario" else TRIGGERS[name].subject


def events_of(plans: list[Plan]) -> list[str]:
    out: list[str] = []
    for plan in plans:
        if plan.kind == "scenario":
            out.append("scenario")
            continue
        for t in plan.triggers:
            out.append(t.event)
            if t.qualifier is not None and t.event == "webhook.received":
                out.append(f"{t.event}:{t.qualifier}")
    return list(dict.fromkeys(out))


# Subjects every compiled mutant is dry-run on: none, empty, the examples' own and a few full ones.
SAMPLE_SUBJECTS = [{}, None, *SUBJECT_FILES.values(),
                   {"priority": "urgent", "category": "Network", "status": "open", "tags": ["x"],
                    "createdAt": "2026-01-31T09:00:00Z", "escalationLevel": 1, "custom": {"risk": "high"},
                    "requester": {"id": "u", "vip": True, "manager": "m"}},
                   {"lifecycle": "retired", "criticality": 1, "renewalDate": "2027-01-01T00:00:00Z",
                    "owner": {"email": "o@example.com"}, "type": "laptop"},
                   {"type": "new_joiner", "amount": 12000, "manager": "u_mgr", "items": [1, 2]}]


def check_mutant(text: str) -> None:
    """Compiled or refused cleanly; what compiles round-trips and dry-runs on every sample subject."""
    plans = compile_checked(text, "mutant.zflow")
    if plans:
        check_round_trip(plans)
        for event in events_of(plans):
            for subject in SAMPLE_SUBJECTS:
                run_dry(plans, event, subject)

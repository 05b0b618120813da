"""The engine's limits in one place: every one configurable, each breach a clear error."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_source_bytes: int = 1024 * 1024   # one script
    max_depth: int = 32                   # brackets, `not` chains, if/parallel blocks
    max_regex_length: int = 256           # a `matches` pattern (RE2: no backtracking blow-up)
    max_duration_days: int = 3660         # any duration literal
    step_budget: int = 10_000             # instructions executed per run slice
    cascade_depth: int = 8                # events re-triggering workflows (durable runtime)
    runs_per_minute: int = 20             # one workflow on one subject (durable runtime)


DEFAULT_LIMITS = Limits()

"""The runtime: the matcher, the pure VM and dry runs (the durable engine, `runtime.durable`,
builds on these).

The modules of the pure core are handed the time (`now`); this package's `dry_run` and
`Matcher.match` are the conveniences that read the system clock when they are given no time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime import dryrun, matcher
from runtime.vm import start, step
from zentra_rules.domain.clock import SystemClock
from zentra_rules.domain.limits import DEFAULT_LIMITS, Limits
from zentra_rules.domain.plan import Plan

__all__ = ["Matcher", "dry_run", "start", "step"]


class Matcher(matcher.Matcher):
    """`runtime.matcher.Matcher`, whose `match` takes the current time when given none."""

    def match(self, event: str, subject: Any, previous: Any = None, *,
              now: datetime | None = None) -> list[Plan]:
        return super().match(event, subject, previous,
                             now=now if now is not None else SystemClock().now())


def dry_run(plans: list[Plan], event: str, subject: Any, previous: Any = None,
            decisions: dict[str, str] | None = None, now: datetime | None = None,
            actor: str | None = None, limits: Limits = DEFAULT_LIMITS,
            **options: Any) -> dict[str, Any]:
    """The trace of every definition whose trigger matches `event`, at `now` (by default the
    current time); `options` are `runtime.dryrun.dry_run`'s records, timeline, until and ids."""
    return dryrun.dry_run(plans, event, subject, previous, decisions,
                          now=now if now is not None else SystemClock().now(), actor=actor,
                          limits=limits, **options)

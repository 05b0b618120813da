"""The runtime: the matcher, the pure VM and dry runs (durable execution builds on these)."""

from runtime.dryrun import dry_run
from runtime.matcher import Matcher
from runtime.vm import start, step

__all__ = ["Matcher", "dry_run", "start", "step"]

"""The runtime: the matcher, the pure VM and dry runs (durable execution builds on these)."""

from .dryrun import dry_run
from .matcher import Matcher
from .vm import start, step

__all__ = ["Matcher", "dry_run", "start", "step"]

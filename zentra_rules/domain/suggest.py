"""'Did you mean' hints shared by every stage."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to `word` (case-insensitive), or None when nothing is close."""
    pool = {c.lower(): c for c in candidates}
    found = difflib.get_close_matches(word.lower(), list(pool), n=1, cutoff=0.6)
    return pool[found[0]] if found else None


def did_you_mean(word: str, candidates: Iterable[str], quote: str = "`") -> str:
    """'; did you mean `x`?' or an empty string (callers add a new sentence after it)."""
    best = closest(word, candidates)
    return f"; did you mean {quote}{best}{quote}?" if best else ""

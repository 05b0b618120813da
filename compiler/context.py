"""Shared state of one compilation: the source, positions, and the diagnostics collected."""

from __future__ import annotations

import bisect
import re
from typing import Any

from zentra_rules.domain.errors import Diagnostic
from zentra_rules.domain.limits import DEFAULT_LIMITS, Limits


class Context:
    """Collects diagnostics for one source text; turns textX positions into line:col."""

    def __init__(self, text: str, filename: str, limits: Limits = DEFAULT_LIMITS):
        self.text = text
        self.filename = filename
        self.limits = limits
        # Lines end at "\n" only, as the parser counts them (not at "\r" or U+2028).
        self.lines = text.split("\n")
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.diagnostics: list[Diagnostic] = []

    def line_col(self, pos: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, pos)
        return line, pos - self._starts[line - 1] + 1

    def line_of(self, obj: Any) -> int:
        return self.line_col(obj._tx_position)[0]

    def snippet(self, obj: Any) -> str:
        """The source text of a model object, whitespace folded (for explain trees)."""
        return " ".join(self.text[obj._tx_position:obj._tx_position_end].split())

    def pos(self, line: int, col: int) -> int:
        """The offset of a 1-based line:col (clamped to the text)."""
        line = min(max(line, 1), len(self._starts))
        return min(self._starts[line - 1] + max(col, 1) - 1, len(self.text))

    def at(self, line: int, col: int, message: str, severity: str = "error") -> Diagnostic:
        source_line = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return Diagnostic(message, line, col, severity, self.filename, source_line)

    def report(self, where: Any, message: str, severity: str = "error", offset: int = 0) -> None:
        pos = where if isinstance(where, int) else where._tx_position
        self.diagnostics.append(self.at(*self.line_col(pos + offset), message, severity))

    def warn(self, where: Any, message: str) -> None:
        self.report(where, message, "warning")

    @property
    def failed(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

"""One error tree for every stage; diagnostics carry a location and print with a caret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Diagnostic:
    """One finding of the compiler: where, how bad, what to do."""

    message: str
    line: int = 0
    col: int = 0
    severity: str = "error"  # "error" | "warning"
    filename: str = "<string>"
    source_line: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "col": self.col, "message": self.message, "severity": self.severity}

    def render(self) -> str:
        """`FILE:LINE:COL: error: MESSAGE`, the source line, and a caret under the column."""
        head = f"{self.filename}:{self.line}:{self.col}: {self.severity}: {self.message}"
        if not self.source_line:
            return head
        text = self.source_line.rstrip("\n").expandtabs(1)
        caret = " " * max(self.col - 1, 0) + "^"
        return f"{head}\n    {text}\n    {caret}"


class ZentraError(Exception):
    """Root of every error the project raises on purpose."""


class CompileError(ZentraError):
    """A script did not compile; `.diagnostics` holds every finding (errors and warnings)."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        first = errors[0] if errors else diagnostics[0]
        super().__init__(f"{first.filename}:{first.line}:{first.col}: {first.message}"
                         + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


class ZflowSyntaxError(CompileError):
    """The text is not zflow: parsing stopped at the first place it could not read."""


class SemanticError(CompileError):
    """The text parsed but means something impossible (unknown field, type mismatch, ...)."""


class PlanError(ZentraError):
    """A plan document is malformed or of an unknown format version."""


class RunError(ZentraError):
    """An execution could not go on (step budget, bad resume event, ...); `retryable` is data."""

    def __init__(self, message: str, line: int = 0, retryable: bool = False):
        super().__init__(message if not line else f"line {line}: {message}")
        self.line = line
        self.retryable = retryable


class InputError(ZentraError):
    """Bad input to a command or an API call (missing file, invalid JSON, unknown event)."""


class DeliveryError(RunError):
    """An external send (email, chat, outbound webhook) failed; `retryable` says whether to retry."""


class WebhookVerificationError(ZentraError):
    """An inbound webhook's headers or signature do not verify (always answered 401)."""


class NotFoundError(InputError):
    """The record asked for does not exist (HTTP 404)."""


class ForbiddenError(InputError):
    """The caller may not do this (HTTP 403), e.g. decide an approval they were not asked for."""


class ConflictError(InputError):
    """The request clashes with the current state (HTTP 409), e.g. an approval already decided."""

"""The zflow compiler: text -> textX model -> checked tree -> Plans.

`compile_source(text, filename)` is the stable entry point; it raises only ZentraError.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.check import check_script
from compiler.context import Context
from compiler.lower import lower
from compiler.parse import parse
from zentra_rules.domain.errors import CompileError, Diagnostic, SemanticError, ZentraError
from zentra_rules.domain.limits import DEFAULT_LIMITS, Limits
from zentra_rules.domain.plan import Plan

__all__ = ["Compilation", "CompileError", "compile_source", "compile_text"]


@dataclass
class Compilation:
    plans: list[Plan]
    diagnostics: list[Diagnostic]   # warnings only when compilation succeeded

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


def compile_text(text: str, filename: str = "<string>",
                 limits: Limits = DEFAULT_LIMITS) -> Compilation:
    """Compile, keeping warnings; raise CompileError carrying every diagnostic on errors."""
    if not isinstance(text, str):
        raise ZentraError("source must be text")
    model = parse(text, filename, limits)
    ctx = Context(text, filename, limits)
    definitions = check_script(model, ctx)
    if ctx.failed:
        raise SemanticError(sorted(ctx.diagnostics, key=lambda d: (d.line, d.col)))
    plans = [lower(d, filename) for d in definitions]
    return Compilation(plans, sorted(ctx.diagnostics, key=lambda d: (d.line, d.col)))


def compile_source(text: str, filename: str = "<string>",
                   limits: Limits = DEFAULT_LIMITS) -> list[Plan]:
    """Compile zflow text into one Plan per definition (raises CompileError on errors)."""
    return compile_text(text, filename, limits).plans


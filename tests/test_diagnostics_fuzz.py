"""The diagnostics of refused scripts, examples mutated, point at real lines with real messages."""

from __future__ import annotations

from hypothesis import given, note, settings
from hypothesis import strategies as st

from compiler import compile_source
from zentra_rules.domain.errors import CompileError, ZentraError

from .fuzz_contract import FUZZ, check_diagnostics, time_bound
from .fuzz_text import EXAMPLES, mutate, mutation_ops


@settings(FUZZ, max_examples=150)
@given(name=st.sampled_from(sorted(EXAMPLES) or ["none"]), ops=mutation_ops(),
       prefix=st.sampled_from(("", "\n\n", "\r\n", "\u2028", "\ufeff", "# c\n", "  ")))
def test_diagnostics_have_positions_and_messages(name: str, ops: list[tuple[str, int, int, str]],
                                                 prefix: str) -> None:
    text = prefix + mutate(EXAMPLES.get(name, ""), ops)
    note(text)
    with time_bound("compile"):
        try:
            compile_source(text, "diag.zflow")
        except CompileError as exc:
            check_diagnostics(exc)
            for d in exc.diagnostics:
                assert d.line <= text.count("\n") + 1, f"line {d.line} beyond the text: {d}"
        except ZentraError:
            pass

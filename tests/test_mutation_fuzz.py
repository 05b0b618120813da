"""Mutated generated scripts and mutated examples raise only ZentraErrors, and dry-run cleanly."""

from __future__ import annotations

from hypothesis import given, note, settings
from hypothesis import strategies as st

from .fuzz_contract import FUZZ, check_mutant
from .fuzz_scripts import seeded_script
from .fuzz_text import EXAMPLES, mutate, mutation_ops


@settings(FUZZ, max_examples=300)
@given(seed=st.integers(0, 2**32), ops=mutation_ops())
def test_mutated_generated_scripts_raise_only_zentra_errors(seed: int,
                                                            ops: list[tuple[str, int, int, str]]) -> None:
    text = mutate(seeded_script(seed), ops)
    note(text)
    check_mutant(text)


@settings(FUZZ, max_examples=400)
@given(name=st.sampled_from(sorted(EXAMPLES) or ["none"]), ops=mutation_ops())
def test_mutated_examples_raise_only_zentra_errors(name: str, ops: list[tuple[str, int, int, str]]) -> None:
    text = mutate(EXAMPLES.get(name, ""), ops)
    note(text)
    check_mutant(text)

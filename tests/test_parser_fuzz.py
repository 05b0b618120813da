"""Random characters and token soup compile or are refused with ZentraErrors, never anything else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from .fuzz_contract import FUZZ, check_round_trip, compile_checked, events_of, run_dry
from .fuzz_text import FILENAMES, ZFLOW_CHARS, token_text


@settings(FUZZ, max_examples=500)
@given(text=st.text(st.one_of(st.sampled_from(ZFLOW_CHARS), st.characters()), max_size=400),
       filename=FILENAMES)
def test_random_characters_raise_only_zentra_errors(text: str, filename: str) -> None:
    plans = compile_checked(text, filename)
    if plans:
        check_round_trip(plans)


@settings(FUZZ, max_examples=400)
@given(text=token_text(), filename=FILENAMES)
def test_random_token_soup_raises_only_zentra_errors(text: str, filename: str) -> None:
    plans = compile_checked(text, filename)
    if plans:
        check_round_trip(plans)
        for event in events_of(plans):
            run_dry(plans, event, {})

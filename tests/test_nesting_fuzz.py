"""Deep nesting (up to 100 levels) is refused cleanly or compiles; long flat scripts compile."""

from __future__ import annotations

import re

from hypothesis import given, note, settings
from hypothesis import strategies as st

from compiler import compile_source

from .fuzz_contract import FUZZ, check_round_trip, compile_checked, run_dry, time_bound

COND = 'priority = "urgent"'
NEST_KINDS = ("paren", "not", "not-paren", "if", "parallel", "list", "call", "mixed-blocks",
              "blocks-then-parens", "wait-until-parens")


def nested(kind: str, n: int, levels: list[int]) -> tuple[str, str, int]:
    """(WHERE text or "", body text, nesting depth as the language counts it)."""
    if kind == "paren":
        return "(" * n + COND + ")" * n, "escalate", n
    if kind == "not":
        return "not " * n + COND, "escalate", n
    if kind == "not-paren":
        return "not (" * n + COND + ")" * n, "escalate", 2 * n
    if kind == "list":
        return "len(" + "[" * n + "]" * n + ") >= 0", "escalate", n + 1
    if kind == "call":
        return "lower(" * n + "title" + ")" * n + ' = "x"', "escalate", n
    if kind == "if":
        return "", f"if {COND} then " * n + "escalate " + "end " * n, n
    if kind == "parallel":
        return "", "parallel branch " * n + "escalate " + "end " * n, 2 * n
    if kind == "wait-until-parens":
        return "", "wait until " + "(" * n + COND + ")" * n + " or 2 hours", n
    openers, closers, depth = [], [], 0
    for level in levels[:n]:
        if level % 3 == 0:
            openers.append(f"if {COND} then")
            closers.append("end")
            depth += 1
        elif level % 3 == 1:
            openers.append("parallel branch")
            closers.append("end")
            depth += 2
        else:
            openers.append(f"if {COND} then add tag = \"x\" elif not ({COND}) then")
            closers.append("else escalate end")
            depth += 1
    inner = "escalate"
    if kind == "blocks-then-parens":
        inner = "if " + "(" * n + COND + ")" * n + " then escalate end"
        depth += n + 1
    return "", " ".join(openers) + f" {inner} " + " ".join(reversed(closers)), depth


@settings(FUZZ, max_examples=250)
@given(kind=st.sampled_from(NEST_KINDS), n=st.integers(1, 100),
       levels=st.lists(st.integers(0, 2), min_size=100, max_size=100),
       damage=st.one_of(st.none(), st.tuples(st.sampled_from(("drop-closers", "extra-closers",
                                                              "truncate")), st.integers(0, 10**6))))
def test_deep_nesting_is_refused_cleanly_or_compiles(kind: str, n: int, levels: list[int],
                                                     damage: tuple[str, int] | None) -> None:
    where, body, depth = nested(kind, n, levels)
    text = "WHEN ticket.created\n" + (f"WHERE {where}\n" if where else "") + f"THEN {body}\n"
    if damage is not None:
        how, at = damage
        if how == "drop-closers":
            text = re.sub(r"\)|\bend\b|\]", "", text, count=1 + at % max(n, 1))
        elif how == "extra-closers":
            text = text.rstrip() + " " + self_closers(kind) * (1 + at % 5) + "\n"
        else:
            text = text[: at % (len(text) + 1)]
    note(text)
    plans = compile_checked(text, "nested.zflow")
    if damage is None and depth <= 12:
        assert plans, f"a valid script nested {depth} levels (limit 32) was refused"
    if plans:
        check_round_trip(plans)
        run_dry(plans, "ticket.created", {"priority": "urgent", "title": "x"})


def self_closers(kind: str) -> str:
    return {"paren": ")", "not-paren": ")", "list": "]", "call": ")",
            "wait-until-parens": ")"}.get(kind, "end ")


@settings(FUZZ, max_examples=100)
@given(n=st.integers(1, 60), kind=st.sampled_from(("approval-order", "if", "parallel", "elif", "not-pairs")),
       order=st.sampled_from(("parallel any", "parallel all", "sequential")))
def test_long_flat_valid_scripts_compile(n: int, kind: str, order: str) -> None:
    """Length is not nesting: many sibling statements of one kind must compile."""
    if kind == "approval-order":
        body = "\n".join(f'request approval a{i} from user "u{i}" order {order}\n'
                         f"wait for approval a{i}" for i in range(n))
    elif kind == "if":
        body = "\n".join(f'if priority = "urgent" then add tag = "t{i}" end' for i in range(n))
    elif kind == "parallel":
        body = "\n".join(f'parallel branch add tag = "a{i}" branch add tag = "b{i}" end'
                         for i in range(n))
    elif kind == "elif":
        body = ('if escalationLevel = 0 then escalate\n'
                + "\n".join(f"elif escalationLevel = {i} then escalate" for i in range(1, n + 1))
                + "\nelse add tag = \"x\" end")
    else:
        body = "wait until " + " and ".join(f'not not title = "t{i}"' for i in range(n))
    text = f'workflow "flat"\nWHEN ticket.created\nTHEN\n{body}\n'
    note(text)
    with time_bound("compile of a long flat script"):
        plans = compile_source(text, "flat.zflow")
    check_round_trip(plans)
    run_dry(plans, "ticket.created", {"priority": "urgent", "escalationLevel": 3},
            decisions={f"a{i}": "approved" for i in range(n)} if kind == "approval-order" else None)

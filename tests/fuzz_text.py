"""Zflow text for the fuzz tests: tokens, token soup, file names, the examples and mutations of them."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import strategies as st

from zentra_rules.domain.schema import RECORDS, TRIGGERS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.zflow"))}


# ------------------------------------------------------------------------------------------
# Vocabulary
# ------------------------------------------------------------------------------------------
KEYWORDS = ("workflow", "scenario", "when", "where", "then", "or", "and", "not", "set", "if",
            "elif", "else", "end", "parallel", "branch", "wait", "for", "approval", "until",
            "request", "from", "order", "sequential", "any", "all", "remind", "every", "at",
            "before", "timeout", "via", "terminate", "with", "true", "false", "null", "now",
            "is", "empty", "in", "contains", "starts", "ends", "matches", "changed", "to",
            "user", "role", "group", "tz", "assign", "transition", "add", "post", "remove",
            "link", "escalate", "create", "notify", "call", "update", "attach", "schedule",
            "send", "team", "agent", "status", "internal", "note", "reply", "tag", "ticket",
            "email", "slack", "dm", "teams", "webhook", "asset", "lifecycle", "contract",
            "renewal", "alert", "survey", "lower", "upper", "len", "seconds", "minute", "hours",
            "day", "weeks", "payload", "event", "previous", "custom", "title", "priority")
TRIGGER_NAMES = tuple(TRIGGERS)
PUNCT = ("(", ")", "[", "]", ",", "=", "!=", "<", "<=", ">", ">=", "+", "-", ".", "#", "{{", "}}",
         '"', "'", "\\", ":", ";", "*", "/", "{", "}")
FIELDS = tuple(sorted({f for rec in RECORDS.values() for f in rec}))
ODD_TOKENS = (
    '""', "''", '"x"', "'y'", '"{{payload.name}}"', '"{{ id }}"', '"{{"', '"}}"', '"{{}}"',
    '"{{a..b}}"', '"{{ticket}}"', '"{{nope.nope}}"', '"\\"', '"\\\\"', '"a\\qb"', '"\\n"',
    '"("', '"a{1000}{1000}"', '"(?P<x>a)"', '"[z-a]"', '"' + "a" * 300 + '"',
    '"0 9 * * 1"', '"*/0 * * * *"', '"99999999999999999999 * * * *"', '"0 0 31 2 *"',
    '"1-0 * * * *"', '"* * * * * *"', '"Europe/Paris"', '"zone.tab"', '"Europe"', '"../etc"',
    '"/etc/passwd"', '"UTC"', '"a\x00b"', '"2026-01-31T09:00:00Z"', '"9999-12-31T23:59:59Z"',
    "0", "1", "-1", "0.5", "-0.0", "1.", "007", "9" * 20, "9" * 4300, "9" * 4301, "1" + "0" * 4400,
    "3 days", "2 weeks", "0 seconds", "999999999 weeks", "1 fortnight", "now - 4 hours",
    "is not empty", "is empty", "not in", "starts with", "ends with", "changed to",
    "changed from", "parallel any", "parallel all", "order parallel any", "remind at",
    "é", "ß", "İ", "\u2028", "\u0085", "\r", "\t", "\x0b", "\x0c", "\x00", "\ufeff", "🙂",
    "ticket", "ticket.created", "webhook.received", "schedule.cron", "event.previous",
    "requester.manager.email", "linkedAsset.owner", "custom.a.b", "payload.x", "manager.approved",
)
TOKENS = KEYWORDS + TRIGGER_NAMES + PUNCT + FIELDS + ODD_TOKENS
SEPARATORS = (" ", " ", " ", "\n", "  ", "\t", "\n    ", " # comment ( [ \" {{\n", "\r\n", "")
ZFLOW_CHARS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ .,=!<>+-()[]{}#"
               "\"'\\\n\t\r:*/?|^$é")


def token_text() -> st.SearchStrategy[str]:
    token = st.one_of(st.sampled_from(TOKENS), st.text(st.sampled_from(ZFLOW_CHARS), max_size=8))
    return st.lists(st.tuples(token, st.sampled_from(SEPARATORS)), max_size=80).map(
        lambda pairs: "".join(t + s for t, s in pairs))


FILENAMES = st.sampled_from(["fuzz.zflow", "<string>", "", "dir/my rule.zflow", "/", ".", "x"])


# ------------------------------------------------------------------------------------------
# Mutations: token and character edits of a script
# ------------------------------------------------------------------------------------------
_LEX = re.compile(r"""#[^\n]*|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?|\w+|\s+|.""", re.S)
# Word-level replacements come up most: they keep the script readable and reach the checker.
MUTATIONS = ("delete", "insert", "duplicate", "swap", "swap-near", "truncate", "char-insert",
             "char-delete", "char-replace", "dup-range", "delete-range", "replace", "replace",
             "replace-word", "replace-word", "replace-word", "replace-word", "replace-word")


def mutation_ops() -> st.SearchStrategy[list[tuple[str, int, int, str]]]:
    payload = st.one_of(st.sampled_from(TOKENS), st.sampled_from(ZFLOW_CHARS), st.characters())
    return st.lists(st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 10**6), st.integers(0, 10**6),
                              payload), min_size=1, max_size=5)


def mutate(text: str, ops: list[tuple[str, int, int, str]]) -> str:
    for op, a, b, payload in ops:
        if op.startswith("char-"):
            i = a % (len(text) + 1)
            if op == "char-insert":
                text = text[:i] + payload + text[i:]
            elif op == "char-delete":
                text = text[:i] + text[i + 1 + b % 3:]
            else:
                text = text[:i] + payload[:1] + text[i + 1:]
            continue
        toks = _LEX.findall(text)
        if not toks:
            text = payload
            continue
        i, j = a % len(toks), b % len(toks)
        if op == "delete":
            del toks[i]
        elif op == "insert":
            toks.insert(i, (" " if b % 2 else "") + payload + " ")
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "swap":
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "swap-near":
            k = min(i + 1 + b % 3, len(toks) - 1)
            toks[i], toks[k] = toks[k], toks[i]
        elif op == "truncate":
            toks = toks[:i]
        elif op == "replace":
            toks[i] = payload
        elif op == "replace-word":     # a word or string of this script in another word's place
            words = [t for t in toks if t[:1].isalnum() or t[:1] in "_\"'"]
            spots = [k for k, t in enumerate(toks) if t[:1].isalnum() or t[:1] in "_\"'"]
            if words:
                toks[spots[i % len(spots)]] = words[j % len(words)]
        elif op == "dup-range":
            lo, hi = sorted((i, j))
            toks[hi:hi] = toks[lo:hi + 1] * (1 + b % 3)
        else:
            lo, hi = sorted((i, j))
            del toks[lo:hi + 1]
        text = "".join(toks)
    return text

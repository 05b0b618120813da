"""Where each legacy rule sits in its translation: written by the translator, read by traces.

A translated rule set is one workflow per event (`legacy ticket.created`, ...) whose body holds
one block per rule, each under a comment that names the rule:

    # rule ar_2001: Close auto-replies (position 0)
    if title starts with "Automatic reply" then
      ...
    end

A rule translated on its own is a workflow named after the rule, headed by
`# TITLE (legacy rule ID, position N)`. The body comments are in the plan's source and the header
is kept with the plan as its `heading`, so the trace of any run of a translation, dry or stored,
can name each rule, whatever the translation's shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

SIMPLE_ID = re.compile(r"[\w.:-]+\Z")
_BODY = re.compile(r'\s*# rule (?P<id>"(?:[^"\\]|\\.)*"|[\w.:-]+?)(?:: (?P<title>.*?))?'
                   r" \(position (?P<position>-?\d+)\)\s*\Z")
_HEAD = re.compile(r"\s*# (?P<title>.*) \(legacy rule (?P<id>.+?), position (?P<position>-?\d+)"
                   r"(?:, inactive)?\)\s*\Z")


@dataclass(frozen=True)
class RuleMark:
    id: str
    title: str
    position: int
    line: int        # the comment's line in the source
    end: int         # the last line of the rule's block (the whole definition for a header)
    whole: bool      # the rule is the whole definition (its condition is the WHERE)


def one_line(text: object) -> str:
    """Text for a comment: on one line, whatever breaks or odd spaces it holds."""
    return " ".join(str(text).split())


def body_comment(rule_id: str, title: str, position: int) -> str:
    """The comment above a rule's block (without indentation)."""
    shown = rule_id if SIMPLE_ID.match(rule_id) else json.dumps(rule_id, ensure_ascii=False)
    title = one_line(title)
    return f"# rule {shown}{': ' + title if title else ''} (position {position})"


def head_comment(rule_id: str, title: str, position: int, active: bool) -> str:
    """The comment above a rule translated as a workflow of its own."""
    state = "" if active else ", inactive"
    return (f"# {one_line(title) or '(untitled)'} (legacy rule {one_line(rule_id)}, "
            f"position {position}{state})")


def marks(source: str, first: int, heading: str = "") -> list[RuleMark]:
    """The rules of a definition, in order, with lines of its file: `source` is the
    definition's own text, which starts on line `first`; `heading` is the comment line above it
    (a rule translated on its own is named there)."""
    lines = source.splitlines()
    last = first + max(len(lines), 1) - 1
    if (m := _HEAD.match(heading)) is not None:
        return [RuleMark(m["id"], "" if m["title"] == "(untitled)" else m["title"],
                         int(m["position"]), first - 1, last, True)]
    found: list[RuleMark] = []
    for offset, text in enumerate(lines):
        m = _BODY.match(text)
        if m is None:
            continue
        rule_id = m["id"]
        if rule_id.startswith('"'):
            try:
                rule_id = json.loads(rule_id)
            except json.JSONDecodeError:
                continue
        number = first + offset
        if found:
            found[-1] = _ending(found[-1], number - 1)
        found.append(RuleMark(rule_id, m["title"] or "", int(m["position"]), number, last, False))
    return found


def _ending(mark: RuleMark, end: int) -> RuleMark:
    return RuleMark(mark.id, mark.title, mark.position, mark.line, end, mark.whole)

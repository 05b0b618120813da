"""Text -> textX model: size and nesting limits first, then the grammar; every failure a diagnostic."""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textx import TextXError, TextXSyntaxError, metamodel_from_file
from textx.metamodel import TextXMetaModel

from compiler.context import Context
from zentra_rules.domain.errors import ZflowSyntaxError
from zentra_rules.domain.limits import DEFAULT_LIMITS, Limits

GRAMMAR = Path(__file__).resolve().parent.parent / "grammar" / "zflow.tx"


@lru_cache(maxsize=1)
def metamodel() -> TextXMetaModel:
    """The zflow metamodel, built once per process (building it costs ~50 ms)."""
    return metamodel_from_file(str(GRAMMAR), ignore_case=True, autokwd=True, skipws=True)


def _refuse(ctx: Context, line: int, col: int, message: str) -> ZflowSyntaxError:
    return ZflowSyntaxError([ctx.at(line, col, message)])


_TOKEN = re.compile(r"""#[^\n]*|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?|[A-Za-z_]\w*|[()\[\]]""")


def check_depth(text: str, filename: str, max_depth: int) -> None:
    """Refuse nesting deeper than `max_depth` before the parser recurses into it.

    Counts brackets, `not` chains and if/parallel blocks; a `branch` opens a level that the next
    `branch` or the block's `end` closes.
    """
    depth = 0
    stack: list[str] = []
    nots = 0
    previous = ""
    for match in _TOKEN.finditer(text):
        tok = match.group()
        low = tok.lower()
        if tok[0] in "#\"'":
            continue
        after_order, previous = previous == "order", low
        if after_order:
            continue  # `order parallel any|all` names an approval order, not a block
        if low == "not":
            nots += 1
        elif low not in ("in",):
            nots = 0
        if tok in "([":
            stack.append(tok)
        elif tok in ")]":
            if stack and stack[-1] in "([":
                stack.pop()
        elif low in ("if", "parallel"):
            stack.append(low)
        elif low == "branch":
            if stack and stack[-1] == "branch":
                stack.pop()
            stack.append("branch")
        elif low == "end":
            if stack and stack[-1] == "branch":
                stack.pop()
            if stack and stack[-1] in ("if", "parallel"):
                stack.pop()
        depth = len(stack) + nots
        if depth > max_depth:
            ctx = Context(text, filename)
            raise _refuse(ctx, *ctx.line_col(match.start()),
                          f"nesting is deeper than {max_depth} levels (brackets, `not`, if/parallel "
                          "blocks); split the condition or move part of it into its own workflow")


_FRIENDLY = {
    "Ident": "a field name", "Word": "a name", "StringTok": "a string", "StringLit": "a string",
    "VerbWord": "a statement", "ObjectWord": "an action word", "EventName": "a trigger",
    "CompareOp": "an operator", "Dotted": "`.field`", "UnitWord": "a duration unit",
    "OrderWord": "`sequential`, `parallel any` or `parallel all`", "EOF": "end of file",
}


# Inline patterns of the grammar, by what they stand for.
_PATTERNS = (("or\\b", "`OR`"), ("\\d", "a number"), ("[+-]", "`+` or `-`"), ("true|false", "a value"),
             ("sequential", "an approval order"))


def _name_of(rule: Any) -> str:
    rule_name = getattr(rule, "rule_name", "") or ""
    text = getattr(rule, "to_match", None)
    if rule_name in _FRIENDLY:
        return _FRIENDLY[rule_name]
    if type(rule).__name__ == "StrMatch" and isinstance(text, str) and not text.isalpha():
        return f"`{text}`"
    if isinstance(text, str) and text.isalpha():
        return f"`{text.upper()}`" if text in ("when", "where", "then", "or", "and") else f"`{text}`"
    if isinstance(text, str):
        for needle, name in _PATTERNS:
            if needle in text:
                return name
        if not any(c in text for c in "\\()[]?*+|"):
            return f"`{text}`"
    return "a value"


def _expected(exc: TextXSyntaxError) -> list[str]:
    names: list[str] = []
    for rule in exc.expected_rules or []:
        name = _name_of(rule)
        if name not in names:
            names.append(name)
    return names


def _join(names: list[str]) -> str:
    if len(names) > 8:
        names = [*names[:8], "…"]
    return ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]


def _found(text: str, pos: int) -> str:
    rest = text[pos:]
    if not rest.strip():
        return "end of file"
    match = re.match(r"\s*(\"[^\"\n]*\"?|'[^'\n]*'?|\w+|\S)", rest)
    return f"`{match.group(1)}`" if match else "this"


def parse(text: str, filename: str = "<string>", limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse zflow text into a textX model, or raise ZflowSyntaxError with one diagnostic."""
    if len(text.encode("utf-8", "surrogatepass")) > limits.max_source_bytes:
        size = limits.max_source_bytes
        shown = f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} bytes"
        raise _refuse(Context(text, filename), 1, 1,
                      f"script is larger than {shown}; split it into several files")
    check_depth(text, filename, limits.max_depth)
    old_limit = sys.getrecursionlimit()
    # Arpeggio recurses ~14 frames per nesting level; allow for that at the configured depth.
    sys.setrecursionlimit(max(old_limit, 2000 + 40 * limits.max_depth))
    try:
        # No file_name: textX would read that file instead when the text is empty.
        model = metamodel().model_from_str(text)
        # A script of nothing but comments and blanks parses to a bare string.
        return model if hasattr(model, "definitions") else SimpleNamespace(definitions=[])
    except TextXSyntaxError as exc:
        ctx = Context(text, filename)
        line, col = exc.line or 1, exc.col or 1
        pos = ctx.pos(line, col)
        expected = _expected(exc)
        message = f"unexpected {_found(text, pos)}"
        odd = _invisible(text, pos)
        if odd:
            message += f" after an invisible character ({odd}); retype the space before it"
        elif "`end`" in expected:
            # The usual cause: an `if` or `parallel` block that was never closed.
            message += "; expected `end` to close the open `if`/`parallel` block, or a statement"
        elif expected:
            message += f"; expected {_join(expected)}"
        raise _refuse(ctx, line, col, message) from None
    except RecursionError:
        raise _refuse(Context(text, filename), 1, 1,
                      "script is nested too deeply to read; split it up") from None
    except TextXError as exc:
        raise _refuse(Context(text, filename), getattr(exc, "line", 1) or 1,
                      getattr(exc, "col", 1) or 1, str(exc)) from None
    finally:
        sys.setrecursionlimit(old_limit)


def _invisible(text: str, pos: int) -> str:
    """A non-ASCII space just before `pos` (pasted from a document), as U+XXXX, or ''."""
    for char in text[max(pos - 2, 0):pos + 1]:
        if not char.isascii() and (char.isspace() or unicodedata.category(char) in ("Cf", "Zs")):
            return f"U+{ord(char):04X}"
    return ""

"""Legacy AutomationRules (docs/legacy.md) checked and translated into zflow an admin can read and run."""

from __future__ import annotations

import bisect
import copy
import json
import math
import re
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any

from compiler import compile_text
from zentra_rules.domain.errors import CompileError, InputError, ZflowSyntaxError
from zentra_rules.domain.legacymarks import body_comment, head_comment, one_line
from zentra_rules.domain.limits import DEFAULT_LIMITS
from zentra_rules.domain.schema import READ_ONLY, RECORDS, TRIGGERS
from zentra_rules.domain.suggest import did_you_mean

Rule = dict[str, Any]
# A line of zflow kept as pieces, each with the JSON path it was written from ("" for glue), so a
# compiler diagnostic at line:col can be reported against the rule's own JSON.
Chunk = tuple[str, str]
Line = list[Chunk]

EVENTS = tuple(name for name, spec in TRIGGERS.items() if spec.subject == "ticket")
OPERATORS = {"is": "=", "is_not": "!=", "less_than": "<", "less_than_or_equal": "<=",
             "greater_than": ">", "greater_than_or_equal": ">=", "includes": "in",
             "not_includes": "not in", "contains": "contains", "not_contains": "contains",
             "starts_with": "starts with", "ends_with": "ends with", "present": "is not empty",
             "blank": "is empty", "changed": "changed", "changed_to": "changed to",
             "changed_from": "changed from"}
NO_VALUE = ("present", "blank", "changed")
LIST_VALUE = ("includes", "not_includes")
# action type -> (required keys, optional keys), besides `type`
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "set_field": (("field", "value"), ()), "assign_team": (("value",), ()),
    "assign_agent": (("value",), ()), "set_status": (("value",), ()),
    "add_internal_note": (("value",), ()), "post_reply": (("value",), ()),
    "add_tags": (("value",), ()), "remove_tags": (("value",), ()), "escalate": ((), ("value",)),
    "notify_email": (("to", "subject", "body"), ()), "notify_slack": (("channel", "message"), ()),
    "notify_teams": (("channel", "message"), ()), "call_webhook": (("endpoint",), ("payload",)),
}
RULE_KEYS = ("id", "title", "active", "position", "event", "conditions", "actions")
ALIASES = {"subject": "title"}   # legacy field names that zflow spells differently
TICKET = RECORDS["ticket"]
SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")   # one part of a zflow path (ASCII only)
LEGACY_TEMPLATE = re.compile(
    r"\{\{\s*ticket\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
ITEM = re.compile(r"conditions\.(all|any)\[\d+\]|actions\[\d+\]")
ZFLOW_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")         # how compiler/expressions.py finds them
CHECK_BATCH_BYTES = 200_000                          # rules compiled together, for speed


class LegacyError(InputError):
    """Rules that cannot be translated; `.problems` names each rule, its index, the place and value."""

    def __init__(self, problems: list[str], failed: int, total: int):
        self.problems = problems
        self.failed = failed
        self.total = total
        super().__init__(f"{failed} of {total} rule{'s' * (total != 1)} cannot be translated "
                         "(nothing was translated):\n" + "\n".join(problems))


def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- checking ---------------------------------------------------------------------------------------
class _Problems:
    """The problems of one rule, each prefixed with the rule's id and index."""

    def __init__(self, rule: Any, index: int):
        rid = rule.get("id") if isinstance(rule, dict) else None
        if isinstance(rid, str) and rid.strip():
            name = rid if re.fullmatch(r"[\w.:-]+", rid) else _show(rid, 60)
            self.who = f"rule {name} (index {index})"
        else:
            self.who = f"rule #{index} (index {index})"
        self.items: list[str] = []
        self.bad: set[str] = set()   # conditions and actions that cannot be written in zflow

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{self.who}: {path}: {message}" if path else f"{self.who}: {message}")
        item = ITEM.match(path)
        if item:
            self.bad.add(item.group())


def _unknown_keys(found: dict[str, Any], allowed: tuple[str, ...], path: str, what: str,
                  out: _Problems) -> None:
    for key in found:
        if key not in allowed:
            out.add(f"{path}{key}", f"unknown key {_show(key)} in {what}"
                    + (did_you_mean(str(key), allowed, quote='"')
                       or "; it takes " + ", ".join(allowed)))


def _field(name: Any, path: str, out: _Problems, settable: bool = False) -> None:
    """A ticket field: a known name, `subject` (the title), `custom.X` or a path through a link."""
    if not isinstance(name, str) or not name:
        out.add(path, f"a ticket field name is required, got {_show(name)}")
        return
    parts = name.split(".")
    head = ALIASES.get(parts[0], parts[0])
    if not all(SEGMENT.match(p) for p in parts):
        out.add(path, f"{_show(name)} is not a field name (letters, digits and `_`, parts joined "
                "by `.`)")
    elif head not in TICKET:
        out.add(path, f"unknown ticket field {_show(name)}"
                + (did_you_mean(head, [*TICKET, *ALIASES], quote='"')
                   or "; fields: " + ", ".join(TICKET)))
    elif head == "custom" and len(parts) == 1:
        out.add(path, '`custom` holds the custom fields: name one, e.g. "custom.region"')
    elif settable and head in READ_ONLY["ticket"] and len(parts) == 1:
        out.add(path, f"{_show(name)} is read-only and cannot be set")


def _number(value: Any, path: str, out: _Problems) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if isinstance(value, float) and not math.isfinite(value):
        out.add(path, f"a number must be finite, got {value}")
    elif abs(value) >= 10 ** 18:
        out.add(path, f"{value} is too large; numbers have at most 18 digits before the point")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _compared(value: Any, path: str, out: _Problems) -> None:
    """A value a condition compares with: numbers zflow can write, text without `{{`."""
    _number(value, path, out)
    if isinstance(value, str) and "{{" in value:
        out.add(path, f"a compared value cannot contain `{{{{` (zflow would read a template "
                f"there), got {_show(value)}")


def _convert(text: str) -> tuple[str, list[str]]:
    """Legacy `{{ticket.FIELD}}` templates as zflow `{{FIELD}}`, and what stops that being exact."""
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    problems: list[str] = []
    size = last = 0
    for match in LEGACY_TEMPLATE.finditer(text):
        parts = match.group(1).split(".")
        head = ALIASES.get(parts[0], parts[0])
        if head not in TICKET:
            problems.append(f"unknown ticket field {_show(parts[0])} in {_show(match.group(0))}"
                            + did_you_mean(parts[0], [*TICKET, *ALIASES], quote='"'))
        literal = text[last:match.start()]
        template = "{{" + ".".join([head, *parts[1:]]) + "}}"
        pieces += [literal, template]
        size += len(literal)
        spans.append((size, size + len(template)))
        size += len(template)
        last = match.end()
    pieces.append(text[last:])
    converted = "".join(pieces)
    found = [m.span() for m in ZFLOW_TEMPLATE.finditer(converted)]
    tail = converted[spans[-1][1]:] if spans else converted
    if found != spans or "{{" in tail:
        problems.append("`{{` may appear only in a `{{ticket.FIELD}}` template (zflow cannot write "
                        f"a literal `{{{{`, nor a `{{` just before a template), got {_show(text)}")
    return converted, problems


def _text(value: Any, path: str, out: _Problems, null: bool = False) -> None:
    """An action's text: a string (or null where allowed) whose templates translate exactly."""
    if value is None and null:
        return
    if not isinstance(value, str):
        out.add(path, f"must be text{' or null' if null else ''}, got {_show(value)}")
        return
    for problem in _convert(value)[1]:
        out.add(path, problem)


def _check_condition(cond: Any, path: str, out: _Problems) -> None:
    if not isinstance(cond, dict):
        out.add(path, f"a condition is an object {{field, operator, value}}, got {_show(cond)}")
        return
    _unknown_keys(cond, ("field", "operator", "value"), path + ".", "a condition", out)
    _field(cond.get("field"), f"{path}.field", out)
    op = cond.get("operator")
    if not isinstance(op, str) or op not in OPERATORS:
        out.add(f"{path}.operator", f"unknown operator {_show(op)}"
                + (did_you_mean(str(op), OPERATORS, quote='"')
                   or "; operators: " + ", ".join(OPERATORS)))
        return
    value = cond.get("value")
    if op in NO_VALUE:
        return   # any value given is ignored: these tests take none
    if "value" not in cond:
        out.add(f"{path}.value", f'missing: "{op}" compares with a value')
    elif op in LIST_VALUE:
        if not isinstance(value, list) or not all(_scalar(v) for v in value):
            out.add(f"{path}.value", f'"{op}" needs a list of values, got {_show(value)}')
        else:
            for i, item in enumerate(value):
                _compared(item, f"{path}.value[{i}]", out)
    elif not _scalar(value):
        out.add(f"{path}.value", f'"{op}" compares with one value (text, a number, true/false or '
                f"null), got {_show(value)}")
    else:
        _compared(value, f"{path}.value", out)


def _check_action(action: Any, path: str, out: _Problems) -> None:
    if not isinstance(action, dict):
        out.add(path, f"an action is an object with a `type`, got {_show(action)}")
        return
    kind = action.get("type")
    if not isinstance(kind, str) or kind not in ACTIONS:
        out.add(f"{path}.type", f"unknown action type {_show(kind)}"
                + (did_you_mean(str(kind), ACTIONS, quote='"')
                   or "; action types: " + ", ".join(ACTIONS)))
        return
    required, optional = ACTIONS[kind]
    _unknown_keys(action, ("type", *required, *optional), path + ".", f'a "{kind}" action', out)
    for key in required:
        if key not in action:
            out.add(f"{path}.{key}", f'missing: a "{kind}" action needs ' + ", ".join(required))
    value = action.get("value")
    if kind == "set_field":
        _field(action.get("field"), f"{path}.field", out, settable=True)
        if "value" in action:
            items = value if isinstance(value, list) else [value]
            if not all(_scalar(v) for v in items):
                out.add(f"{path}.value", "a field's value is text, a number, true/false, null or a "
                        f"list of those, got {_show(value)}")
            for i, item in enumerate(items):
                where = f"{path}.value" + (f"[{i}]" if isinstance(value, list) else "")
                _number(item, where, out)
                if isinstance(item, str):
                    _text(item, where, out)
    elif kind in ("add_tags", "remove_tags") and "value" in action:
        tags = value if isinstance(value, list) else [value]
        if not tags or not all(isinstance(t, str) and t for t in tags):
            out.add(f"{path}.value", f"tags are a non-empty text or a list of them, got {_show(value)}")
        else:
            for i, tag in enumerate(tags):
                _text(tag, f"{path}.value" + (f"[{i}]" if isinstance(value, list) else ""), out)
    elif kind == "escalate":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            out.add(f"{path}.value", f"an escalation level is a number, got {_show(value)}")
        _number(value, f"{path}.value", out)
    else:
        for key in (*required, *optional):
            if key in action:
                _text(action[key], f"{path}.{key}", out,
                      null=kind in ("assign_team", "assign_agent") or key in optional)


def _check_rule(rule: Any, index: int, seen: dict[str, int]) -> tuple[_Problems, Rule | None]:
    """The rule's problems, and the rule with its defaults filled in (None: not an object)."""
    out = _Problems(rule, index)
    if not isinstance(rule, dict):
        out.add("", f"a rule is a JSON object, got {_show(rule)}")
        return out, None
    _unknown_keys(rule, RULE_KEYS, "", "a rule", out)
    rid = rule.get("id")
    if not isinstance(rid, str) or not rid.strip():
        out.add("id", f"a non-empty text is required, got {_show(rid)}")
    elif rid in seen:
        out.add("id", f"duplicate id {_show(rid)}: rule index {seen[rid]} has it too")
    else:
        seen[rid] = index
    for key, ok, want in (("title", lambda v: isinstance(v, str), "text"),
                          ("active", lambda v: isinstance(v, bool), "true or false"),
                          ("position", lambda v: isinstance(v, int) and not isinstance(v, bool),
                           "a whole number")):
        if rule.get(key) is not None and not ok(rule[key]):
            out.add(key, f"must be {want}, got {_show(rule[key])}")
    event = rule.get("event")
    if event not in EVENTS:
        hint = did_you_mean(str(event), EVENTS, quote='"')
        out.add("event", f"unknown event {_show(event)}" + hint
                + (" Legacy rules run on " if hint else "; legacy rules run on ") + ", ".join(EVENTS))
    conditions = rule.get("conditions")
    groups: dict[str, list[Any]] = {"all": [], "any": []}
    if conditions is not None and not isinstance(conditions, dict):
        out.add("conditions", f'must be an object {{"all": [...], "any": [...]}}, got '
                f"{_show(conditions)}")
    elif conditions is not None:
        _unknown_keys(conditions, ("all", "any"), "conditions.", "conditions", out)
        for group in groups:
            items = conditions.get(group)
            if items is not None and not isinstance(items, list):
                out.add(f"conditions.{group}", f"must be a list of conditions, got {_show(items)}")
            elif items is not None:
                groups[group] = items
                for i, cond in enumerate(items):
                    _check_condition(cond, f"conditions.{group}[{i}]", out)
    actions = rule.get("actions")
    if not isinstance(actions, list):
        out.add("actions", f"a list of actions is required, got {_show(actions)}")
        actions = []
    for i, action in enumerate(actions):
        _check_action(action, f"actions[{i}]", out)
    # Defaults for what is missing (null counts as missing); a bad value gets a stand-in, so that
    # the rest of the rule can still be compiled and its problems reported too.
    title, active, position = rule.get("title"), rule.get("active"), rule.get("position")
    normal = {"id": rid, "title": title if isinstance(title, str) else "",
              "active": active is not False,
              "position": position if isinstance(position, int) and not isinstance(position, bool)
              else 0,
              "event": event if event in EVENTS else EVENTS[1],
              "conditions": copy.deepcopy(groups), "actions": copy.deepcopy(actions)}
    return out, normal


def load_rules(doc: Any) -> list[Rule]:
    """One rule or a list, every rule checked (down to compiling it); one LegacyError lists all."""
    items = doc if isinstance(doc, list) else [doc]
    problems: dict[int, list[str]] = {}
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    checkable: list[tuple[int, Rule, set[str]]] = []
    for index, item in enumerate(items):
        found, normal = _check_rule(item, index, seen)
        if found.items:
            problems[index] = found.items
        if normal is not None:
            rules.append(normal)
            checkable.append((index, normal, found.bad))
    for index, more in _compile_problems(items, checkable).items():
        problems.setdefault(index, []).extend(more)
    if problems:
        raise LegacyError([p for i in sorted(problems) for p in problems[i]], len(problems),
                          len(items))
    return rules


# -- compiling each rule, to report what only the compiler knows (field kinds, enum values) -------
def _compile_problems(items: list[Any], rules: list[tuple[int, Rule, set[str]]]
                      ) -> dict[int, list[str]]:
    """Compile each rule as its own workflow (all but its conditions and actions already found
    bad), a batch of rules per script; map each error back to the rule's JSON."""
    problems: dict[int, list[str]] = {}
    batch: list[tuple[int, Rule, list[Line]]] = []
    size = 0
    for index, rule, bad in rules:
        lines = _rule_lines(rule, name=f"#{index}", skip=bad)
        length = len(_join(lines).encode("utf-8", "surrogatepass"))
        if length > DEFAULT_LIMITS.max_source_bytes:
            problems[index] = [f"{_Problems(items[index], index).who}: its translation is "
                               f"{length // 1024} KiB long; a zflow script may not pass "
                               f"{DEFAULT_LIMITS.max_source_bytes // 1024} KiB"]
            continue
        if batch and size + length > CHECK_BATCH_BYTES:
            _compile_batch(items, batch, problems)
            batch, size = [], 0
        batch.append((index, rule, lines))
        size += length
    if batch:
        _compile_batch(items, batch, problems)
    return problems


def _compile_batch(items: list[Any], batch: list[tuple[int, Rule, list[Line]]],
                   problems: dict[int, list[str]]) -> None:
    while batch:
        starts: list[int] = []
        text_lines: list[str] = []
        for _, _, lines in batch:
            starts.append(len(text_lines) + 1)
            text_lines += ["".join(t for t, _ in line) for line in lines]
        try:
            compile_text("\n".join(text_lines) + "\n", "<legacy rules>")
            return
        except ZflowSyntaxError as exc:
            # The parser stops at the first one (a translator bug, not the rule's): report it,
            # then check the other rules of the batch again.
            errors, again = exc.diagnostics, True
        except CompileError as exc:
            errors, again = [d for d in exc.diagnostics if d.severity == "error"], False
        culprits: set[int] = set()
        for d in errors:
            at = max(bisect.bisect_right(starts, d.line) - 1, 0)
            index, rule, lines = batch[at]
            culprits.add(at)
            out = _Problems(items[index], index)
            path = _path_at(lines[min(d.line - starts[at], len(lines) - 1)], d.col)
            got = f" (got {_show(_value_at(rule, path))})" if path else ""
            out.add(path, d.message + got)
            found = problems.setdefault(index, [])
            found += [p for p in out.items if p not in found]
        if not again or not culprits:
            return
        batch = [b for i, b in enumerate(batch) if i not in culprits]


def _path_at(line: Line, col: int) -> str:
    """The JSON path of the piece at column `col`, or of the nearest piece before it."""
    offset, path = 0, ""
    for text, where in line:
        path = where or path
        if offset <= col - 1 < offset + len(text):
            return where or path
        offset += len(text)
    return path


def _value_at(rule: Rule, path: str) -> Any:
    value: Any = rule
    for key, index in re.findall(r"([A-Za-z_]+)|\[(\d+)\]", path):
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return value


# -- writing zflow ----------------------------------------------------------------------------------
def _quote(text: str) -> str:
    """A zflow string literal holding exactly `text` (docs/language.md, lexical rules)."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def _number_text(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    # zflow numbers have no exponent: 1e-07 is written 0.0000001, and a float keeps its point.
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def _literal(value: Any, template: bool = True) -> str:
    """A JSON value as a zflow literal; in action texts legacy templates become zflow ones."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, template) for v in value) + "]"
    return _quote(_convert(value)[0] if template else value)


def _zfield(name: str) -> str:
    head, dot, rest = name.partition(".")
    return ALIASES.get(head, head) + dot + rest


def _test(cond: dict[str, Any], path: str) -> Line:
    field: Chunk = (_zfield(cond["field"]), f"{path}.field")
    op = cond["operator"]
    if op in NO_VALUE:
        return [field, (f" {OPERATORS[op]}", f"{path}.operator")]
    value: Chunk = (_literal(cond["value"], template=False), f"{path}.value")
    if op == "not_contains":
        return [("NOT ", f"{path}.operator"), field, (" contains ", f"{path}.operator"), value]
    return [field, (f" {OPERATORS[op]} ", f"{path}.operator"), value]


def _tests(rule: Rule, group: str, skip: AbstractSet[str]) -> list[Line]:
    paths = (f"conditions.{group}[{i}]" for i in range(len(rule["conditions"][group])))
    return [_test(c, p) for c, p in zip(rule["conditions"][group], paths, strict=True)
            if p not in skip]


def _conditions(rule: Rule, skip: AbstractSet[str] = frozenset()
                ) -> tuple[list[Line], Line | None]:
    """Each `all` test, and the `any` tests joined by OR (one line), each with its JSON path."""
    every, tests = _tests(rule, "all", skip), _tests(rule, "any", skip)
    if not tests:
        return every, None
    some: Line = []
    for i, test in enumerate(tests):
        some += ([(" OR ", "")] if i else []) + test
    if every and len(tests) > 1:
        some = [("(", ""), *some, (")", "")]
    return every, some


def _condition(rule: Rule) -> Line | None:
    """The rule's whole condition on one line: every `all` AND (at least one `any`)."""
    every, some = _conditions(rule)
    parts = every + ([some] if some else [])
    line: Line = []
    for i, part in enumerate(parts):
        line += ([(" AND ", "")] if i else []) + part
    return line or None


def _actions(rule: Rule, skip: AbstractSet[str] = frozenset()) -> list[Line]:
    out: list[Line] = []
    for i, a in enumerate(rule["actions"]):
        p = f"actions[{i}]"
        if p in skip:
            continue
        kind, value = a["type"], a.get("value")

        def arg(key: str, prefix: str = "", a: dict[str, Any] = a, p: str = p) -> list[Chunk]:
            return [(prefix, p), (_literal(a[key]), f"{p}.{key}")]

        if kind == "set_field":
            out.append([("set ", p), (_zfield(a["field"]), f"{p}.field"), (" = ", p),
                        (_literal(value), f"{p}.value")])
        elif kind in ("assign_team", "assign_agent", "set_status", "add_internal_note", "post_reply"):
            verb = {"assign_team": "assign team", "assign_agent": "assign agent",
                    "set_status": "transition status", "add_internal_note": "add internal note",
                    "post_reply": "post reply"}[kind]
            out.append(arg("value", f"{verb} = "))
        elif kind in ("add_tags", "remove_tags"):
            verb = "add tag = " if kind == "add_tags" else "remove tag = "
            if isinstance(value, list):
                out += [[(verb, p), (_literal(t), f"{p}.value[{j}]")] for j, t in enumerate(value)]
            else:
                out.append(arg("value", verb))
        elif kind == "escalate":
            out.append([("escalate", p)] if value is None else arg("value", "escalate = "))
        elif kind == "notify_email":
            out.append(arg("to", "notify email = ") + arg("subject", ", subject = ")
                       + arg("body", ", body = "))
        elif kind in ("notify_slack", "notify_teams"):
            out.append(arg("channel", f"notify {kind[7:]} = ") + arg("message", ", message = "))
        else:
            out.append(arg("endpoint", "call webhook = ")
                       + (arg("payload", ", payload = ") if a.get("payload") is not None else []))
    return out


def _label(rule: Rule) -> str:
    title = one_line(rule["title"])
    return one_line(rule["id"]) + (f": {title}" if title else "")


def _rule_lines(rule: Rule, name: str | None = None, skip: AbstractSet[str] = frozenset()
                ) -> list[Line]:
    lines: list[Line] = [
        [(head_comment(rule["id"], rule["title"], rule["position"], rule["active"]), "")],
        [(f"workflow {_quote(rule['id'] if name is None else name)}", "")],
        [(f"WHEN {rule['event']}", "")]]
    every, some = _conditions(rule, skip)
    for i, part in enumerate(every + ([some] if some else [])):
        lines.append([("WHERE " if i == 0 else "  AND ", ""), *part])
    lines.append([("THEN", "")])
    body = _actions(rule, skip)
    lines += [[("  ", ""), *line] for line in body] or [[("  # this rule has no actions", "")]]
    return lines


def _join(lines: list[Line]) -> str:
    return "".join("".join(t for t, _ in line) + "\n" for line in lines)


def translate_rule(rule: dict[str, Any]) -> str:
    """One rule as its own workflow, named after the rule: what an admin would write by hand."""
    if not isinstance(rule, dict):
        raise LegacyError([f"rule #0 (index 0): one rule (a JSON object) is expected, got "
                           f"{_show(rule)}"], 1, 1)
    (checked,) = load_rules(rule)
    return _join(_rule_lines(checked))


LEGACY_ACTOR = "workflow:legacy "   # how the desk names a change a translated rule made


def translate(doc: Any) -> str:
    """The runnable translation: one workflow per event, each active rule a block, in position order.

    Separate workflows would each see the ticket as the event left it; legacy rules run one after
    another and a later rule sees what an earlier one changed, which blocks of one workflow do
    (the VM updates the subject as `set`, `assign`, `transition`, tags and `escalate` run)."""
    rules = load_rules(doc)
    order = sorted(range(len(rules)), key=lambda i: (rules[i]["position"], i))
    lines = ["# Translated from legacy AutomationRules (interfaces.md) by `zentra translate`.",
             "# One workflow per event, each active rule a block in position order (equal positions:",
             "# file order): legacy rules run one after another and a later rule sees what an earlier",
             "# one changed, which separate workflows (each seeing the ticket as the event left it)",
             "# would not."]
    for i in order:
        r = rules[i]
        why = "inactive" if not r["active"] else "no actions" if not r["actions"] else ""
        if why:
            lines.append(f"# left out ({why}): {_label(r)} (position {r['position']})")
    for event in EVENTS:
        group = [rules[i] for i in order
                 if rules[i]["event"] == event and rules[i]["active"] and rules[i]["actions"]]
        if not group:
            continue
        lines += ["", f'workflow "legacy {event}"', f"WHEN {event}"]
        if event in ("ticket.updated", "ticket.status_changed"):
            # Legacy rules run once for a change: the changes they make themselves are part of
            # it, not a new change that runs the rules again.
            lines.append(f'WHERE NOT event.actor starts with "{LEGACY_ACTOR}"')
        lines.append("THEN")
        for r in group:
            lines.append("  " + body_comment(r["id"], r["title"], r["position"]))
            cond = _condition(r)
            body = ["".join(t for t, _ in line) for line in _actions(r)]
            if cond:
                lines.append(f"  if {''.join(t for t, _ in cond)} then")
                lines += [f"    {a}" for a in body]
                lines.append("  end")
            else:
                lines += [f"  {a}" for a in body]
    return "\n".join(lines) + "\n"

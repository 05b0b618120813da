"""Legacy AutomationRules (interfaces.md) translated into zflow source an admin can read and edit."""

from __future__ import annotations

import json
import re
from typing import Any

from zentra_rules.errors import InputError
from zentra_rules.schema import RECORDS
from zentra_rules.suggest import did_you_mean

EVENTS = ("ticket.created", "ticket.updated", "ticket.status_changed", "ticket.sla_breached")
OPERATORS = {"is": "=", "is_not": "!=", "less_than": "<", "less_than_or_equal": "<=",
             "greater_than": ">", "greater_than_or_equal": ">=", "includes": "in",
             "not_includes": "not in", "contains": "contains", "not_contains": "contains",
             "starts_with": "starts with", "ends_with": "ends with", "present": "is not empty",
             "blank": "is empty", "changed": "changed", "changed_to": "changed to",
             "changed_from": "changed from"}
NO_VALUE = ("present", "blank", "changed")
LIST_VALUE = ("includes", "not_includes")
# action type -> (required keys, optional keys)
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "set_field": (("field", "value"), ()), "assign_team": (("value",), ()),
    "assign_agent": (("value",), ()), "set_status": (("value",), ()),
    "add_internal_note": (("value",), ()), "post_reply": (("value",), ()),
    "add_tags": (("value",), ()), "remove_tags": (("value",), ()), "escalate": ((), ("value",)),
    "notify_email": (("to", "subject", "body"), ()), "notify_slack": (("channel", "message"), ()),
    "notify_teams": (("channel", "message"), ()), "call_webhook": (("endpoint",), ("payload",)),
}
ALIASES = {"subject": "title"}   # legacy field names
TEMPLATE = re.compile(r"{{\s*(?:ticket\.)?([A-Za-z_][A-Za-z0-9_.]*)\s*}}")
READ_ONLY = ("id", "createdAt", "updatedAt")


class LegacyError(InputError):
    """Rules that cannot be translated; `.problems` names each rule, index, place and value."""

    def __init__(self, problems: list[str], failed: int):
        self.problems = problems
        super().__init__(f"{failed} rule{'s' * (failed != 1)} cannot be translated "
                         "(nothing was translated):\n" + "\n".join(problems))


# -- validation --------------------------------------------------------------------------------
def _field(name: Any, where: str, problems: list[str], settable: bool = False) -> str | None:
    if not isinstance(name, str) or not name:
        problems.append(f"{where}: a field name is required, got {json.dumps(name)}")
        return None
    name = ALIASES.get(name, name)
    head = name.split(".")[0]
    fields = RECORDS["ticket"]
    if head not in fields or ("." in name and head != "custom"):
        problems.append(f"{where}: unknown ticket field {json.dumps(name)}"
                        + (did_you_mean(head, [*fields, "subject"], quote='"') or ""))
        return None
    if settable and head in READ_ONLY:
        problems.append(f"{where}: field {json.dumps(name)} cannot be set")
        return None
    return name


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _text_problem(value: Any, compared: bool) -> str | None:
    """What zflow cannot write down: `{{` in a value compared with (it reads as a template)."""
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if compared and isinstance(text, str) and "{{" in text:
            return "a compared value cannot contain `{{` (zflow reads it as a template)"
    return None


def _check_rule(rule: Any, index: int, seen: set[str]) -> list[str]:
    if not isinstance(rule, dict):
        return [f"rule #{index} (index {index}): a rule is a JSON object, got {json.dumps(rule)[:60]}"]
    rid = rule.get("id")
    who = f"rule {rid} (index {index})" if isinstance(rid, str) and rid else f"rule #{index} (index {index})"
    problems: list[str] = []
    if not isinstance(rid, str) or not rid:
        problems.append(f"{who}: id: a non-empty string is required")
    elif rid in seen:
        problems.append(f"{who}: id: {json.dumps(rid)} is used by an earlier rule")
    else:
        seen.add(rid)
    for key, kind, name in (("title", str, "a string"), ("active", bool, "true or false"),
                            ("position", int, "an integer")):
        value = rule.get(key)
        if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            problems.append(f"{who}: {key}: must be {name}, got {json.dumps(value)}")
    if rule.get("event") not in EVENTS:
        problems.append(f"{who}: event: unknown event {json.dumps(rule.get('event'))}"
                        + (did_you_mean(str(rule.get("event")), EVENTS, quote='"') or "")
                        + f"; events: {', '.join(EVENTS)}")
    conditions = rule.get("conditions") or {}
    if not isinstance(conditions, dict) or set(conditions) - {"all", "any"}:
        problems.append(f"{who}: conditions: an object with `all` and/or `any` lists")
        conditions = {}
    for group in ("all", "any"):
        items = conditions.get(group) or []
        if not isinstance(items, list):
            problems.append(f"{who}: conditions.{group}: must be a list")
            continue
        for i, cond in enumerate(items):
            problems += _check_condition(cond, f"{who}: conditions.{group}[{i}]")
    actions = rule.get("actions")
    if not isinstance(actions, list):
        problems.append(f"{who}: actions: a list is required")
        actions = []
    for i, action in enumerate(actions):
        problems += _check_action(action, f"{who}: actions[{i}]")
    return problems


def _check_condition(cond: Any, where: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(cond, dict):
        return [f"{where}: a condition is an object with field, operator, value"]
    _field(cond.get("field"), f"{where}.field", problems)
    op = cond.get("operator")
    if op not in OPERATORS:
        problems.append(f"{where}.operator: unknown operator {json.dumps(op)}"
                        + (did_you_mean(str(op), OPERATORS, quote='"') or ""))
        return problems
    value = cond.get("value")
    if op in LIST_VALUE:
        if not isinstance(value, list) or not all(_scalar(v) for v in value):
            problems.append(f"{where}.value: `{op}` needs a list of values, got {json.dumps(value)}")
    elif op not in NO_VALUE and not _scalar(value):
        problems.append(f"{where}.value: `{op}` needs one value, got {json.dumps(value)}")
    elif (why := _text_problem(value, compared=True)) is not None:
        problems.append(f"{where}.value: {why}: {json.dumps(value)[:60]}")
    return problems


def _check_action(action: Any, where: str) -> list[str]:
    if not isinstance(action, dict):
        return [f"{where}: an action is an object with a type"]
    kind = action.get("type")
    if kind not in ACTIONS:
        return [f"{where}.type: unknown action type {json.dumps(kind)}"
                + (did_you_mean(str(kind), ACTIONS, quote='"') or "")]
    required, optional = ACTIONS[kind]
    problems = [f"{where}: `{kind}` needs `{key}`" for key in required if key not in action]
    for key in (*required, *optional):
        value = action.get(key)
        if key not in action or key == "field":
            continue
        if kind in ("add_tags", "remove_tags"):
            tags = value if isinstance(value, list) else [value]
            if not tags or not all(isinstance(t, str) and t for t in tags):
                problems.append(f"{where}.value: tags are strings, got {json.dumps(value)}")
        elif kind == "escalate":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                problems.append(f"{where}.value: an escalation level is a number, got {json.dumps(value)}")
        elif kind == "set_field":
            if not _scalar(value) and not (isinstance(value, list) and all(_scalar(v) for v in value)):
                problems.append(f"{where}.value: a value is text, a number, true/false, null or a "
                                f"list, got {json.dumps(value)[:60]}")
        elif not isinstance(value, str):
            problems.append(f"{where}.{key}: must be text, got {json.dumps(value)[:60]}")
        if (why := _text_problem(value, compared=False)) is not None:
            problems.append(f"{where}.{key}: {why}")
    if kind == "set_field":
        _field(action.get("field"), f"{where}.field", problems, settable=True)
    return problems


def load_rules(doc: Any) -> list[dict[str, Any]]:
    """One rule or a list, every rule checked; a LegacyError lists every problem of every rule."""
    rules = doc if isinstance(doc, list) else [doc]
    problems: list[str] = []
    failed = 0
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        found = _check_rule(rule, index, seen)
        failed += bool(found)
        problems += found
    if problems:
        raise LegacyError(problems, failed)
    return [dict(r) for r in rules]


# -- writing zflow -----------------------------------------------------------------------------
def _string(text: str) -> str:
    """A zflow string literal; legacy `{{ticket.subject}}` templates become `{{title}}`."""
    text = TEMPLATE.sub(lambda m: "{{" + ALIASES.get(m.group(1), m.group(1)) + "}}", text)
    return _quote(text)


def _quote(text: str) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return _string(str(value))


def _plain(value: Any) -> str:
    """A literal compared with, where templates mean nothing: braces kept as they are."""
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return _literal(value)


def _test(cond: dict[str, Any]) -> str:
    field = ALIASES.get(cond["field"], cond["field"])
    op, value = cond["operator"], cond.get("value")
    if op in NO_VALUE:
        return f"{field} {OPERATORS[op]}"
    if op == "not_contains":
        return f"NOT {field} contains {_plain(value)}"
    return f"{field} {OPERATORS[op]} {_plain(value)}"


def condition(rule: dict[str, Any]) -> str | None:
    """The rule's condition in zflow: every `all` AND (at least one `any`)."""
    conditions = rule.get("conditions") or {}
    parts = [_test(c) for c in conditions.get("all") or []]
    anys = [_test(c) for c in conditions.get("any") or []]
    if anys:
        parts.append(anys[0] if len(anys) == 1 and not parts else "(" + " OR ".join(anys) + ")")
    return " AND ".join(parts) or None


def actions(rule: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for a in rule.get("actions") or []:
        kind, value = a["type"], a.get("value")
        if kind == "set_field":
            out.append(f"set {ALIASES.get(a['field'], a['field'])} = {_literal(value)}")
        elif kind in ("assign_team", "assign_agent"):
            out.append(f"assign {kind[7:]} = {_literal(value)}")
        elif kind == "set_status":
            out.append(f"transition status = {_literal(value)}")
        elif kind == "add_internal_note":
            out.append(f"add internal note = {_literal(value)}")
        elif kind == "post_reply":
            out.append(f"post reply = {_literal(value)}")
        elif kind in ("add_tags", "remove_tags"):
            verb = "add" if kind == "add_tags" else "remove"
            out += [f"{verb} tag = {_literal(t)}" for t in (value if isinstance(value, list) else [value])]
        elif kind == "escalate":
            out.append("escalate" if value is None else f"escalate = {_literal(value)}")
        elif kind == "notify_email":
            out.append(f"notify email = {_literal(a['to'])}, subject = {_literal(a['subject'])}, "
                       f"body = {_literal(a['body'])}")
        elif kind in ("notify_slack", "notify_teams"):
            out.append(f"notify {kind[7:]} = {_literal(a['channel'])}, "
                       f"message = {_literal(a['message'])}")
        else:
            payload = f", payload = {_literal(a['payload'])}" if a.get("payload") is not None else ""
            out.append(f"call webhook = {_literal(a['endpoint'])}{payload}")
    return out


def _comment(text: Any) -> str:
    return " ".join(str(text).split())


def translate_rule(rule: dict[str, Any]) -> str:
    """One rule as its own workflow, named after the rule (for reading and editing)."""
    (rule,) = load_rules(rule)
    state = "" if rule.get("active", True) else ", inactive"
    lines = [f"# {_comment(rule.get('title') or rule['id'])} — legacy rule {_comment(rule['id'])}, "
             f"position {rule.get('position', 0)}{state}",
             f"workflow {_plain(rule['id'])}", f"WHEN {rule['event']}"]
    cond = condition(rule)
    if cond:
        lines.append(f"WHERE {cond}")
    lines.append("THEN")
    # zflow has no empty THEN; a rule without actions ends at once, having done nothing.
    lines += [f"  {a}" for a in actions(rule)] or ['  terminate with "this rule has no actions"']
    return "\n".join(lines) + "\n"


def translate(doc: Any) -> str:
    """The runnable translation: one workflow per event, each active rule a block, in position order.

    Separate workflows would each see the event's ticket; legacy rules run in order and a later
    rule sees what an earlier one changed, which only blocks of one workflow reproduce."""
    rules = load_rules(doc)
    order = sorted(range(len(rules)), key=lambda i: (rules[i].get("position", 0), i))
    lines = ["# Translated from legacy AutomationRules: one workflow per event, each rule a block,",
             "# in position order (a later rule sees the changes of an earlier one)."]
    for event in dict.fromkeys(rules[i]["event"] for i in order):
        group = [rules[i] for i in order if rules[i]["event"] == event]
        active = [r for r in group if r.get("active", True) and r.get("actions")]
        for r in group:
            if r not in active:
                why = "inactive" if not r.get("active", True) else "without actions"
                lines.append(f"# {_comment(r['id'])} ({_comment(r.get('title', ''))}) is {why}: "
                             "left out")
        if not active:
            continue
        lines += ["", f'workflow "legacy {event}"', f"WHEN {event}", "THEN"]
        for r in active:
            lines.append(f"  # {_comment(r['id'])}: {_comment(r.get('title', ''))} "
                         f"(position {r.get('position', 0)})")
            cond, body = condition(r), actions(r)
            if cond:
                lines.append(f"  if {cond} then")
                lines += [f"    {a}" for a in body]
                lines.append("  end")
            else:
                lines += [f"  {a}" for a in body]
    return "\n".join(lines) + "\n"

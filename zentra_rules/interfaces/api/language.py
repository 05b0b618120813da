"""The language's vocabulary for the playground, computed from the grammar and the domain tables."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from compiler.parse import GRAMMAR
from compiler.typecheck import UNITS
from runtime.events import SCENARIO_EVENT
from zentra_rules.domain.actions import ACTIONS
from zentra_rules.domain.schema import APPROVAL_OUTCOMES, READ_ONLY, RECORDS, ROOTS, Type
from zentra_rules.domain.values import FUNCTIONS
from zentra_rules.interfaces.api import handlers
from zentra_rules.interfaces.api.http import ANY, EDIT, Call

# The event a scenario run is: not a trigger a workflow can name, but a dry run takes it as
# `scenario[:NAME]` (runtime/events.py), so the playground offers it beside the triggers.
SCENARIO = {"name": SCENARIO_EVENT, "subject": "ticket",
            "qualifier": "a scenario name (empty: every scenario)",
            "fires_when": "an agent starts a scenario on a ticket"}

# A qualifier to show as the example of its event; a test holds every qualified event to one.
QUALIFIER_EXAMPLES = {"schedule.cron": "0 8 * * 1-5", "webhook.received": "hr",
                      SCENARIO_EVENT: "close-as-duplicate"}

# The two statements outside the action table: the grammar's own `set`, and `create ticket`, whose
# keys are ticket fields (compiler/check.py).
OTHER_STATEMENTS = [{"verb": "set", "object": "", "form": "set PATH = VALUE"},
                    {"verb": "create", "object": "ticket", "form": "create ticket NAME, KEY = VALUE, …"}]

# Grammar rules whose words are values rather than keywords, and the rule whose alternatives name
# approvers (`user "ana"`; a bare `user` is a field path, so these are keywords only before a string).
CONSTANT_RULES = ("BoolLit", "NullLit")
APPROVER_RULE = "Approver"

_TEXT: dict[str, Any] = {"type": "string"}
_MAYBE: dict[str, Any] = {"type": "string", "nullable": True}
_TEXTS: dict[str, Any] = {"type": "array", "items": _TEXT}
_EVENT: dict[str, Any] = {
    "type": "object", "required": ["name", "subject", "qualifier", "fires_when", "fields", "example"],
    "properties": {"name": _TEXT, "subject": _MAYBE, "qualifier": _MAYBE, "fires_when": _TEXT,
                   "fields": {"type": "object", "additionalProperties": _TEXT}, "example": _MAYBE}}
_LISTS = ("keywords", "constants", "approver_kinds", "operators", "functions", "duration_units",
          "roots", "approval_outcomes", "decisions", "roles", "editor_roles")
# The answer of `GET /api/triggers`, for the OpenAPI document.
SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["triggers", "scenario", "language"], "properties": {
        "triggers": {"type": "array", "items": _EVENT}, "scenario": _EVENT,
        "language": {"type": "object", "required": [*_LISTS, "statements", "records", "enums"],
                     "properties": {
                         **{name: _TEXTS for name in _LISTS},
                         "statements": {"type": "array", "items": {
                             "type": "object", "required": ["verb", "object", "form"],
                             "properties": {"verb": _TEXT, "object": _TEXT, "form": _TEXT}}},
                         "records": {"type": "object", "additionalProperties": {
                             "type": "object", "additionalProperties": {
                                 "type": "object", "required": ["type", "description", "read_only"],
                                 "properties": {"type": _TEXT, "description": _TEXT,
                                                "read_only": {"type": "boolean"}, "ref": _TEXT,
                                                "item": _TEXT, "enum": {"type": "array"}}}}},
                         "enums": {"type": "object", "additionalProperties": {"type": "array"}}}}}}


def triggers(call: Call) -> dict[str, Any]:
    """The trigger catalog and the rest of the language's vocabulary (keywords, statements, records)."""
    catalog = handlers.triggers(call)["triggers"]
    for trigger in catalog:
        trigger["example"] = QUALIFIER_EXAMPLES.get(trigger["name"])
    return {"triggers": catalog, **vocabulary()}


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, Any]:
    """Everything but the trigger catalog, built once: the definitions it reads do not change."""
    rules = grammar_words(GRAMMAR.read_text(encoding="utf-8"))
    constants = {w for rule in CONSTANT_RULES for w in rules[rule]["words"]}
    approvers = {w for rule in rules[APPROVER_RULE]["refs"] for w in rules[rule]["words"]}
    words = {w for rule in rules.values() for w in rule["words"]}
    statements = [{"verb": a.verb, "object": a.object, "form": a.form} for a in ACTIONS.values()]
    subject = RECORDS[SCENARIO["subject"]]
    return {
        "scenario": {**SCENARIO, "example": QUALIFIER_EXAMPLES[SCENARIO_EVENT],
                     "fields": {name: spec.describe() for name, spec in subject.items()}},
        "language": {
            "keywords": sorted(words - constants - approvers),
            "constants": sorted(constants),
            "approver_kinds": sorted(approvers),
            "operators": rules["CompareOp"]["literals"],
            "statements": statements + OTHER_STATEMENTS,
            "functions": list(FUNCTIONS),
            "duration_units": list(UNITS),
            "roots": list(ROOTS),
            "records": {kind: {name: _field(spec, name in READ_ONLY.get(kind, ()))
                               for name, spec in fields.items()} for kind, fields in RECORDS.items()},
            "enums": {f"{kind}.{name}": list(spec.enum) for kind, fields in RECORDS.items()
                      for name, spec in fields.items() if spec.enum},
            "approval_outcomes": list(APPROVAL_OUTCOMES),
            # A dry run assumes a decided outcome for an approval; `pending` is the undecided one.
            "decisions": list(APPROVAL_OUTCOMES[1:]),
            "roles": list(ANY),
            "editor_roles": list(EDIT),
        },
    }


def _field(spec: Type, read_only: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": spec.kind, "description": spec.describe(), "read_only": read_only}
    if spec.enum:
        out["enum"] = list(spec.enum)
    if spec.ref:
        out["ref"] = spec.ref
    if spec.item:
        out["item"] = spec.item
    return out


# -- the textX grammar's words ------------------------------------------------------------------
_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_RULE = re.compile(r"^([A-Za-z_]\w*)\s*:(.*?);[ \t]*$", re.S | re.M)
# In a rule's body: a regex match, a quoted literal, an attribute (`name=`), or a rule it names.
_PART = re.compile(r"/((?:\\.|[^/\\\n])+)/|'((?:\\.|[^'\\])*)'|([A-Za-z_]\w*)\s*[+*?]?=|([A-Za-z_]\w*)")
_LOOKAHEAD = re.compile(r"\(\?[!=](?:[^()]|\([^()]*\))*\)")
_ALTERNATIVES = re.compile(r"\(?([a-z]+(?:\\s\+[a-z]+)*(?:\|[a-z]+(?:\\s\+[a-z]+)*)*)\)?")


def grammar_words(text: str) -> dict[str, dict[str, list[str]]]:
    """Per rule of a textX grammar: the keywords it matches (`words`, lower case), each literal it
    matches as written (`literals`: `is not empty`, `!=`), and the rules it names (`refs`).

    Keywords are the quoted literals and the words of regexes that are nothing but alternatives
    of words (`/(?i)(is\\s+empty|in)\\b/`); a regex's lookaheads say what it does not match."""
    out: dict[str, dict[str, list[str]]] = {}
    for match in _RULE.finditer(_COMMENTS.sub("", text)):
        rule: dict[str, list[str]] = {"words": [], "literals": [], "refs": []}
        for regex, literal, _attribute, name in _PART.findall(match.group(2)):
            if name:
                rule["refs"].append(name)
            elif literal:
                _add(rule, [literal.lower()] if literal.isalpha() else [], literal)
            elif regex:
                plain = _LOOKAHEAD.sub("", regex.replace("(?i)", "")).replace("\\b", "")
                found = _ALTERNATIVES.fullmatch(plain)
                for phrase in found.group(1).split("|") if found else []:
                    _add(rule, phrase.split("\\s+"), " ".join(phrase.split("\\s+")))
        out[match.group(1)] = rule
    return out


def _add(rule: dict[str, list[str]], words: list[str], literal: str) -> None:
    for word in words:
        if word not in rule["words"]:
            rule["words"].append(word)
    if literal not in rule["literals"]:
        rule["literals"].append(literal)

"""A record's timeline rendered for an admin (`zentra why`): each event, each workflow its trigger
named — fired, with the execution and how it went, or not, with the parts of the condition that
were false — and the executions that created or changed the record, statement by statement."""

from __future__ import annotations

import json
from typing import Any

Record = dict[str, Any]


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _saw(node: Record) -> str:
    """What a test read: the value, what it was compared with or what it was before."""
    if "left" not in node:
        return ""
    parts = [f"saw {_value(node['left'])}"]
    if "previous" in node:
        parts.append(f"before {_value(node['previous'])}")
    if "right" in node:
        parts.append(f"compared with {_value(node['right'])}")
    return "   (" + ", ".join(parts) + ")"


def _mark(value: Any) -> str:
    return "[true ]" if value else "[false]"


def why_not(node: Record, indent: str = "") -> list[str]:
    """The lines of a false condition down to the parts that made it false: under AND the false
    parts, under OR every part (all were false), under NOT the part that held."""
    lines = [f"{indent}{_mark(node.get('value'))} {node.get('text', '?')}{_saw(node)}"]
    children = node.get("children") or []
    if node.get("value") or not children:
        return lines
    if len(children) == 1 and children[0].get("value"):   # a NOT: what it negated held
        return [*lines, f"{indent}  {_mark(True)} {children[0].get('text', '?')}"
                        f"{_saw(children[0])}"]
    for child in children:
        if not child.get("value"):
            lines += why_not(child, indent + "  ")
    return lines


def _change(change: Record) -> str:
    return (f"line {change['line']}: {change['statement']}   "
            f"{change['field']}: {_value(change['old'])} → {_value(change['new'])}")


def _definition(d: Record) -> list[str]:
    name = f"{d['workflow']} v{d['version']}"
    if not d["fired"]:
        return [f"    {name}: not fired", *why_not(d.get("explain") or {}, "      ")]
    if d.get("execution") is None:
        return [f"    {name}: its condition holds; no execution "
                + ("yet (the event is not matched yet)" if d.get("status") == "pending"
                   else "was recorded")]
    head = f"    {name}: fired → execution {d['execution']} ({d['status']}"
    head += f": {d['reason']})" if d.get("reason") else ")"
    return [head, *(f"      {_change(c)}" for c in d.get("changes") or [])]


def _event(event: Record) -> str:
    fields = event.get("fields") or {}
    changed = "  " + ", ".join(f"{k} {_value(old)} → {_value(new)}"
                               for k, (old, new) in fields.items()) if fields else ""
    qualifier = f' "{event["qualifier"]}"' if event.get("qualifier") else ""
    by = f", by {event['actor']}" if event.get("actor") else ""
    return f"  {event['at']}  {event['name']}{qualifier}{changed}   (event {event['id']}{by})"


def render_why(found: Record) -> str:
    """The timeline (`zentra_rules.interfaces.timeline`) as text."""
    record = found["record"]
    lines = [f"{record['kind']} {record['id']}"]
    entries = found.get("entries") or []
    lines.append(f"events ({len(entries)}):" if entries else "events: none recorded")
    for entry in entries:
        lines.append(_event(entry["event"]))
        if entry["event"].get("records") == "as they are now":
            lines.append("    (the records it refers to are read as they are now)")
        if not entry["definitions"]:
            lines.append(f"    {found['workflow']}: not triggered by this event (or not active then)"
                         if found.get("workflow") else "    no workflow active then has this trigger")
        for d in entry["definitions"]:
            lines += _definition(d)
    runs = found.get("executions") or []
    lines.append(f"executions that ran on, created or changed it ({len(runs)}):" if runs
                 else "executions that ran on, created or changed it: none")
    for run in runs:
        if "error" in run:
            lines.append(f"  execution {run['execution']}: {run['error']}")
            continue
        lines.append(f"  execution {run['execution']}  {run['workflow']} v{run['version']}  "
                     f"{run['status']}  ({', '.join(run['roles'])})")
        if run.get("reason"):
            lines.append(f"    reason: {run['reason']}")
        if run.get("created"):
            lines.append(f"    created it at line {run['created']['line']}: "
                         f"{run['created']['statement']}")
        lines += [f"    {_change(c)}" for c in run.get("changes") or []]
    return "\n".join(lines)

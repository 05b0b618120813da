"""A trace for people: why each definition fired or not, and then, in time order, every decision
and action of its run, indented by block — readable without the JSON (docs/trace.md)."""

from __future__ import annotations

import json
from typing import Any

_BRANCH = {"then": "its block runs", "else": "the else block runs",
           "elif": "the next elif is tested", "none": "nothing runs (no else)",
           "unknown": "its block is skipped"}


def render_trace(trace: dict[str, Any]) -> str:
    """The trace for people: why each definition fired or not, and what it did."""
    if not trace["runs"]:
        return "no definition in this file is started by that event"
    return "\n\n".join(render_run(run) for run in trace["runs"])


def render_run(run: dict[str, Any]) -> str:
    """One definition's part of a trace."""
    lines = [f"{run['kind']} \"{run['workflow']}\" on {run['trigger']}: "
             + ("fired" if run["fired"] else "did not fire")]
    if run.get("explain"):
        lines += explain_lines(run["explain"], 1)
    if run.get("rules"):
        lines.append("  rules:")
        for rule in run["rules"]:
            mark = "fired    " if rule["fired"] else "not fired"
            lines.append(f"    [{mark}] rule {rule['id']}: {rule['title']} "
                         f"(position {rule['position']})")
            if rule.get("explain"):
                lines += explain_lines(rule["explain"], 4)
    timeline = run.get("timeline")
    if timeline:
        lines.append("  timeline:")
        lines += [line for entry in timeline for line in _entry_lines(entry, run)]
    else:   # a trace without a timeline (an older stored run): its actions, in order
        lines += [f"  -> {action_text(a)}" for a in run["actions"]]
    for send in run.get("sends", []):
        lines.append(f"  sends {send['channel']} to {send['to']}")
    status = run["status"]
    if run.get("waiting_for"):
        status += f" for {json.dumps(run['waiting_for'], ensure_ascii=False)}"
    if run.get("reason"):
        status += f": {run['reason']}"
    lines.append(f"  status: {status}")
    return "\n".join(lines)


def action_text(action: dict[str, Any]) -> str:
    text = f"{action['verb']} {action['object']}"
    if "name" in action:
        text += f" {action['name']}"
    if "value" in action:
        text += f" = {_j(action['value'])}"
    for key, value in action["params"].items():
        text += f", {key} = {_j(value)}"
    return text


def _entry_lines(entry: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """An entry as `  AT  line N  TEXT`, its text indented by the block it is in, and under it
    the explain tree of a test or of a condition a wait ended on."""
    line = f"line {entry['line']}" if entry.get("line") is not None else ""
    head = f"    {_time(entry.get('at'))}  {line:<8}  {'  ' * int(entry.get('depth') or 0)}"
    out = [head + _entry_text(entry, run)]
    tree = entry.get("explain")
    if tree and entry["kind"] in ("test", "resumed"):
        out += explain_lines(tree, (len(head) + 2) // 2 + 1)
    return out


def _entry_text(entry: dict[str, Any], run: dict[str, Any]) -> str:
    kind = entry["kind"]
    if kind == "test":
        cond = (entry.get("explain") or {}).get("text", "?")
        value = "true" if entry["value"] else "false"
        return f"{entry.get('arm', 'if')} {cond}: {value} — {_BRANCH.get(entry['branch'], '')}"
    if kind == "action":
        actions = run.get("actions") or []
        index = entry.get("action")
        if isinstance(index, int) and index < len(actions):
            return action_text(actions[index])
        return str(entry.get("instruction"))
    if kind == "wait":
        return _wait_text(entry.get("wait") or {})
    if kind == "resumed":
        return _resumed_text(entry)
    if kind == "fork":
        return f"parallel: {entry.get('branches')} branches start"
    if kind == "branch":
        return f"branch {entry.get('index')}:"
    if kind == "join":
        return "parallel: every branch has finished"
    if kind == "terminate":
        return f"terminate: {entry.get('reason')}"
    if kind == "failed":
        return f"failed: {entry.get('reason')}"
    if kind == "stopped":
        return f"not started: {entry.get('reason')}"
    if kind == "end":
        return "end"
    return kind


def _wait_text(wait: dict[str, Any]) -> str:
    kind = wait.get("kind")
    deadline = wait.get("deadline")
    if kind == "approval":
        return f"wait for approval {wait.get('name')}" + (
            f" (times out at {deadline})" if deadline else "")
    if kind == "until":
        return f"wait until {wait.get('condition')}" + (
            f" (gives up at {deadline})" if deadline else "")
    return f"wait until {deadline}"


def _resumed_text(entry: dict[str, Any]) -> str:
    waited = f" (waited {_duration(entry['waited'])})" if "waited" in entry else ""
    if entry.get("wait") == "approval":
        if entry.get("outcome") == "timed_out":
            return f"approval {entry.get('name')} timed out at {entry.get('decided_at')}{waited}"
        text = f"approval {entry.get('name')} {entry.get('outcome')}"
        text += f" by {entry['by']}" if entry.get("by") else " (by no one named)"
        text += f" at {entry.get('decided_at')}"
        if entry.get("comment"):
            text += f", comment {_j(entry['comment'])}"
        return text + waited
    if entry.get("wait") == "until":
        if entry.get("outcome") == "condition":
            return f"the condition became true{waited}"
        return f"timed out at {entry.get('deadline')}, the condition still false{waited}"
    return f"the timer elapsed{waited}"


def explain_lines(node: dict[str, Any], depth: int) -> list[str]:
    """An explain tree, one line per node, `[true ]` / `[false]` with what was compared."""
    mark = "true " if node["value"] else "false"
    detail = ""
    if "left" in node:
        detail = f"   (saw {_j(node['left'])}"
        if "right" in node:
            detail += f", compared with {_j(node['right'])}"
        if "previous" in node:
            detail += f", before {_j(node['previous'])}"
        detail += ")"
    lines = [f"{'  ' * depth}[{mark}] {node['text']}{detail}"]
    for child in node.get("children", []):
        lines += explain_lines(child, depth + 1)
    return lines


def _time(at: Any) -> str:
    """`2026-11-25 09:00:00` from the ISO form the trace stores (UTC)."""
    text = str(at or "")
    return text.replace("T", " ").removesuffix("Z") if text else " " * 19


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} seconds"


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)

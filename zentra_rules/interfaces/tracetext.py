"""A dry-run trace for people: why each definition fired or not, and what it did."""

from __future__ import annotations

import json
from typing import Any


def render_trace(trace: dict[str, Any]) -> str:
    """The trace for people: why each definition fired or not, and what it did."""
    if not trace["runs"]:
        return "no definition in this file is started by that event"
    blocks = []
    for run in trace["runs"]:
        lines = [f"{run['kind']} \"{run['workflow']}\" on {run['trigger']}: "
                 + ("fired" if run["fired"] else "did not fire")]
        lines += _explain_lines(run["explain"], 1)
        for action in run["actions"]:
            text = f"{action['verb']} {action['object']}"
            if "name" in action:
                text += f" {action['name']}"
            if "value" in action:
                text += f" = {json.dumps(action['value'], ensure_ascii=False)}"
            for key, value in action["params"].items():
                text += f", {key} = {json.dumps(value, ensure_ascii=False)}"
            lines.append(f"  -> {text}")
        for send in run.get("sends", []):
            lines.append(f"  sends {send['channel']} to {send['to']}")
        status = run["status"]
        if run.get("waiting_for"):
            status += f" for {json.dumps(run['waiting_for'], ensure_ascii=False)}"
        if run.get("reason"):
            status += f": {run['reason']}"
        lines.append(f"  status: {status}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _explain_lines(node: dict[str, Any], depth: int) -> list[str]:
    mark = "true " if node["value"] else "false"
    detail = ""
    if "left" in node:
        detail = f"   (saw {json.dumps(node['left'], ensure_ascii=False)}"
        if "right" in node:
            detail += f", compared with {json.dumps(node['right'], ensure_ascii=False)}"
        if "previous" in node:
            detail += f", before {json.dumps(node['previous'], ensure_ascii=False)}"
        detail += ")"
    lines = [f"{'  ' * depth}[{mark}] {node['text']}{detail}"]
    for child in node.get("children", []):
        lines += _explain_lines(child, depth + 1)
    return lines

"""The trace of a stored execution, in the same format as a dry run (docs/trace.md)."""

from __future__ import annotations

from typing import Any

from zentra_rules.plan import Plan, describe_constant


def stored_trace(run: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """One trace entry for an execution read from the store (with its steps)."""
    steps = run.get("steps") or []
    state = run.get("state") or {}
    entry: dict[str, Any] = {
        "workflow": run["workflow"], "kind": run["kind"], "trigger": run["trigger"],
        "fired": True, "explain": run["inputs"].get("explain"), "status": run["status"],
        "actions": [s["output"] for s in steps
                    if isinstance(s["output"], dict) and "verb" in s["output"]],
        "path": [s["pc"] for s in steps], "waiting_for": None,
        "execution": run["id"], "version": run["version"],
    }
    if run["status"] == "waiting":
        waits = [t["wait"] for t in state.get("threads", []) if t.get("wait")]
        if waits:
            wait = dict(waits[0])
            if wait["kind"] == "until":
                wait["condition"] = describe_constant(plan.constants[wait.pop("cond")])
            entry["waiting_for"] = wait
    if run["status"] in ("terminated", "failed", "stopped", "skipped"):
        entry["reason"] = run.get("reason")
    return entry

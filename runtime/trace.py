"""The trace of a stored execution, in the same format as a dry run (docs/trace.md)."""

from __future__ import annotations

from typing import Any

from zentra_rules.domain.plan import Plan, describe_constant


def actions_and_sends(effects: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                              list[dict[str, Any]]]:
    """A run's effects as the trace shows them: the actions (verb, object, value, params) in
    order, and apart from them what each send statement sent, to whom (`sends`)."""
    actions, sends = [], []
    for effect in effects:
        actions.append({k: v for k, v in effect.items() if k != "send"})
        if "send" in effect:
            sends.append(effect["send"])
    return actions, sends


def stored_trace(run: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """One trace entry for an execution read from the store (with its steps)."""
    steps = run.get("steps") or []
    state = run.get("state") or {}
    actions, sends = actions_and_sends([s["output"] for s in steps
                                        if isinstance(s["output"], dict) and "verb" in s["output"]])
    entry: dict[str, Any] = {
        "workflow": run["workflow"], "kind": run["kind"], "trigger": run["trigger"],
        "fired": True, "explain": run["inputs"].get("explain"), "status": run["status"],
        "actions": actions, "sends": sends,
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

"""What a trace shows, built once for dry runs and stored executions alike (docs/trace.md):
the actions and sends, the timeline of every decision, and the rules of a legacy translation."""

from __future__ import annotations

from typing import Any

from zentra_rules.domain.legacymarks import marks
from zentra_rules.domain.plan import Plan, describe_constant
from zentra_rules.domain.values import as_datetime

NO_CONDITION = "(no condition)"


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


def timeline(plan: Plan, log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's log as the trace shows it: each entry with its instruction, source line and
    block depth; a test with the branch it led to, a resumed wait with how long it waited."""
    out: list[dict[str, Any]] = []
    waiting: dict[Any, str] = {}    # thread -> when its current wait began
    actions = 0
    for item in log:
        entry = dict(item)
        pc = item.get("pc")
        if isinstance(pc, int) and 0 <= pc < len(plan.code):
            entry.update(line=plan.code[pc].line, instruction=plan.describe(pc),
                         depth=plan.depth(pc))
        else:
            entry.update(line=None, instruction=None, depth=0)
        kind = item["kind"]
        if kind == "test":
            arm = plan.arm(pc)   # type: ignore[arg-type]
            entry["arm"] = arm["arm"]
            entry["branch"] = "then" if item["value"] else arm["otherwise"]
        elif kind == "branch":
            entry["depth"] = max(0, entry["depth"] - 1)   # the heading sits above its statements
        elif kind == "action":
            entry["action"] = actions
            actions += 1
        elif kind == "wait":
            waiting[item.get("thread")] = item["at"]
        elif kind == "resumed":
            began = as_datetime(waiting.pop(item.get("thread"), None))
            ended = as_datetime(item["at"])
            if began is not None and ended is not None:
                entry["waited"] = (ended - began).total_seconds()
        out.append(entry)
    return out


def stopped_entry(at: Any, reason: str | None) -> dict[str, Any]:
    """A run the engine did not start (cascade or rate limit): the one entry of its timeline."""
    return {"kind": "stopped", "pc": None, "thread": None, "at": at, "line": None,
            "instruction": None, "depth": 0, "reason": reason}


def rules(plan: Plan, fired: bool, explain: dict[str, Any] | None,
          entries: list[dict[str, Any]], path: list[int]) -> list[dict[str, Any]] | None:
    """For a translation of legacy rules, each rule with fired / not fired and why (None for a
    definition that is not one). A rule with conditions fired when its `if` held; one without
    fired when the run reached it; none fired when the workflow's own condition did not hold."""
    found = marks(plan.source, plan.line, plan.heading) if plan.source else []
    if not found:
        return None
    tests = {e["line"]: e for e in entries if e["kind"] == "test" and e.get("depth") == 0}
    lines = {plan.code[pc].line for pc in path}
    out = []
    for mark in found:
        item: dict[str, Any] = {"id": mark.id, "title": mark.title, "position": mark.position,
                                "line": mark.line}
        test = tests.get(mark.line + 1)
        if mark.whole or not fired:
            item.update(fired=fired, reached=fired, explain=explain)
        elif test is not None:
            item.update(fired=bool(test["value"]), reached=True, explain=test["explain"])
        else:
            reached = any(mark.line < line <= mark.end for line in lines)
            guarded = any(plan.code[pc].line == mark.line + 1 for pc in range(len(plan.code))
                          if plan.code[pc].op.value == "JUMP_IF_NOT")
            item.update(fired=False if guarded else reached, reached=reached,
                        explain=None if guarded else {"text": NO_CONDITION, "value": reached})
        out.append(item)
    return out


def decisions(plan: Plan, entry: dict[str, Any], log: list[dict[str, Any]]) -> dict[str, Any]:
    """The trace entry's timeline (and, for legacy rules, its rules) from the run's log."""
    entry["timeline"] = timeline(plan, log)
    found = rules(plan, entry["fired"], entry.get("explain"), entry["timeline"], entry["path"])
    if found is not None:
        entry["rules"] = found
    return entry


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
    decisions(plan, entry, state.get("log") or [])
    if run["status"] == "stopped":
        entry["timeline"].append(stopped_entry(run.get("created_at"),
                                               run.get("reason")))
    if run["status"] in ("stopped", "skipped"):
        entry["fired"] = run["status"] != "skipped"
    return entry

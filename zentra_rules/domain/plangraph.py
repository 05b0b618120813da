"""A plan as a graph to draw: statements, branches and waits as nodes, the flow between them as
edges; and the same graph marked with the path one run took (the playground lays it out).

Built from the flat code alone, so it serves every stored version. Consecutive statements that
nothing else leads into are one node (a run that reaches the first runs them all, unless one
fails). A jump or the end of a parallel branch is not a node but part of the one edge it carries;
where two edges meet in one (the end of an `if` nested at the end of an arm), it is a `merge`
node, and a jump that no path reaches (after a `terminate`) belongs to the node before it. So
every instruction of the plan is in exactly one node's or one edge's `pcs`.

Plans have no loops: each instruction runs at most once in a run, so a run's `path` (and the
branch each test took, from its `timeline`) tells exactly which nodes and edges it went through.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from zentra_rules.domain.plan import Op, Plan, describe_constant

Graph = dict[str, list[dict[str, Any]]]

START = "start"
_STATEMENTS = (Op.ACT, Op.SET, Op.CREATE, Op.REQUEST)
_KINDS = {Op.JUMP_IF_NOT: "branch", Op.WAIT_APPROVAL: "wait", Op.WAIT_UNTIL: "wait",
          Op.WAIT: "wait", Op.FORK: "fork", Op.JOIN: "join", Op.TERMINATE: "terminate",
          Op.END: "end"}
_PASSING = (Op.JUMP, Op.END_BRANCH)   # instructions that only lead somewhere else
_QUOTED = re.compile(r'("(?:[^"\\]|\\.)*")')
_OPENER = re.compile(r"^(?:then|else|branch)\s+", re.I)


@dataclass
class _Node:
    id: str
    kind: str
    line: int
    pcs: list[int]
    exit: int | None                  # the instruction its outgoing edges leave from
    statements: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "pcs": self.pcs, "line": self.line,
                "label": "\n".join(s["text"] for s in self.statements),
                "statements": self.statements}


def graph(plan: Plan) -> Graph:
    """`{"nodes": [{"id", "kind", "pcs", "line", "label", "statements": [{"pc", "line",
    "text"}]}], "edges": [{"from", "to", "label", "pcs", "branch"?}]}`.

    The first node is the start (the trigger and the WHERE condition, no instruction). Kinds:
    start, statement, branch, wait, fork, join, merge, terminate, end. A branch has a `then` and
    an `else` edge; the else edge's `branch` says what a false test leads to, as the trace's test
    entries do ("elif", "else", "none"), the then edge's is "then". A fork has one edge per
    parallel branch ("branch 1", ...)."""
    code = plan.code
    reached = _reachable(plan)
    into = Counter(target for pc in reached for target, _, _ in _successors(plan, pc))
    merges = {pc for pc in reached if code[pc].op in _PASSING and into[pc] > 1}

    start = _Node(START, START, plan.line, [], None, [{"pc": None, "line": plan.line,
                                                        "text": _start_text(plan)}])
    nodes: list[_Node] = [start]
    node_of: dict[int, _Node] = {}
    for pc, ins in enumerate(code):
        if ins.op in _PASSING and pc not in merges:
            if pc not in reached:   # never runs: kept with the instruction before it
                owner = next((node_of[p] for p in range(pc - 1, -1, -1) if p in node_of), start)
                owner.pcs.append(pc)
                node_of[pc] = owner
            continue
        last = nodes[-1]
        if (ins.op in _STATEMENTS and last.kind == "statement" and last.exit == pc - 1
                and into[pc] == 1):
            last.pcs.append(pc)
            last.exit = pc
        else:
            kind = "merge" if pc in merges else "statement" if ins.op in _STATEMENTS \
                else _KINDS[ins.op]
            last = _Node(f"n{pc}", kind, ins.line, [pc], pc)
            nodes.append(last)
        if last.kind != "merge":
            last.statements.append({"pc": pc, "line": ins.line, "text": _text(plan, pc)})
        node_of[pc] = last

    edges: list[dict[str, Any]] = []

    def follow(pc: int) -> tuple[list[int], _Node]:
        """The jumps passed through from `pc`, and the node they lead to."""
        via: list[int] = []
        while code[pc].op in _PASSING and pc not in merges and pc not in via:
            via.append(pc)
            pc = int(code[pc].args[0])  # type: ignore[arg-type]
        return via, node_of[pc]

    via, first = follow(0)
    edges.append({"from": START, "to": first.id, "label": "", "pcs": via})
    for node in nodes[1:]:
        for target, label, branch in _successors(plan, node.exit):
            via, to = follow(target)
            edge: dict[str, Any] = {"from": node.id, "to": to.id, "label": label, "pcs": via}
            if branch:
                edge["branch"] = branch
            edges.append(edge)
    return {"nodes": [n.to_json() for n in nodes], "edges": edges}


def mark(drawn: Graph, run: dict[str, Any]) -> Graph:
    """A copy of `drawn` with `taken` on every node and edge, for one run's trace entry (its
    `path`, `fired` and `timeline`; docs/trace.md). A node is taken when an instruction of it ran
    (the start when the run fired); an edge when both its ends ran, its jumps ran, and, out of a
    branch, when the test took that branch."""
    path = {pc for pc in run.get("path") or [] if isinstance(pc, int)}
    tests = {e.get("pc"): e.get("branch") for e in run.get("timeline") or []
             if isinstance(e, dict) and e.get("kind") == "test"}
    out = copy.deepcopy(drawn)
    taken: dict[str, bool] = {}
    first: dict[str, int | None] = {}
    for node in out["nodes"]:
        node["taken"] = (bool(run.get("fired")) and bool(path) if node["kind"] == START
                         else any(pc in path for pc in node["pcs"]))
        for statement in node["statements"]:
            statement["taken"] = node["taken"] if node["kind"] == START else statement["pc"] in path
        taken[node["id"]], first[node["id"]] = node["taken"], (node["pcs"] or [None])[0]
    for edge in out["edges"]:
        ok = taken[edge["from"]] and first[edge["to"]] in path and path.issuperset(edge["pcs"])
        if ok and "branch" in edge:
            test = first[edge["from"]]
            if test in tests:
                ok = (tests[test] == "then") == (edge["branch"] == "then")
            else:   # no timeline (a run stored before it was kept): the then arm is test + 1
                ok = (test is not None and test + 1 in path) == (edge["branch"] == "then")
        edge["taken"] = ok
    return out


def _successors(plan: Plan, pc: int | None) -> list[tuple[int, str, str]]:
    """Where instruction `pc` can lead: (instruction, edge label, branch of a test or "")."""
    if pc is None:
        return []
    ins = plan.code[pc]
    if ins.op is Op.JUMP_IF_NOT:
        return [(pc + 1, "then", "then"),
                (int(ins.args[1]), "else", plan.arm(pc)["otherwise"])]  # type: ignore[arg-type]
    if ins.op is Op.FORK:
        return [(int(t), f"branch {n}", "")  # type: ignore[arg-type]
                for n, t in enumerate(ins.args[1:], start=1)]
    if ins.op in _PASSING:
        return [(int(ins.args[0]), "", "")]  # type: ignore[arg-type]
    if ins.op in (Op.TERMINATE, Op.END):
        return []
    return [(pc + 1, "", "")]


def _reachable(plan: Plan) -> set[int]:
    seen: set[int] = set()
    todo = [0]
    while todo:
        pc = todo.pop()
        if pc not in seen and 0 <= pc < len(plan.code):
            seen.add(pc)
            todo.extend(target for target, _, _ in _successors(plan, pc))
    return seen


def _start_text(plan: Plan) -> str:
    trigger = " OR ".join(t.event + (f' "{t.qualifier}"' if t.qualifier else "")
                          for t in plan.triggers) or "started by an agent"
    text = f"{plan.kind} {plan.name}: {trigger}"
    if plan.condition >= 0:
        text += f"\nWHERE {describe_constant(plan.constants[plan.condition])}"
    return text


def _text(plan: Plan, pc: int) -> str:
    """The statement as written (a statement continued over lines on one line), or as the plan
    reads it. A test is its arm's word and condition, without the `then` its line may hold."""
    ins = plan.code[pc]
    if ins.op is Op.JUMP_IF_NOT:
        return f"{plan.arm(pc)['arm']} {describe_constant(plan.constants[int(ins.args[0])])}"  # type: ignore[arg-type]
    if ins.op is Op.JOIN:
        return "all branches done"
    if ins.op is Op.END:
        return "end"
    lines = plan.source.splitlines()
    at = ins.line - plan.line
    if plan.source and 0 <= at < len(lines):
        text = lines[at].strip()
        # A statement may share its line with the word that opens its block (`THEN set ...`).
        text = _OPENER.sub("", text)
        # A statement goes on after a trailing comma (`notify email = ..., subject = ...,`).
        while text.endswith(",") and at + 1 < len(lines):
            at += 1
            text += " " + lines[at].strip()
        if text:
            return _tidy(text)
    return plan.describe(pc)


def _tidy(text: str) -> str:
    """Runs of spaces (a script's alignment) as one, outside quoted text."""
    parts = _QUOTED.split(text)
    return "".join(part if i % 2 else re.sub(r"\s{2,}", " ", part) for i, part in enumerate(parts))

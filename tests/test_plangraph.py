"""The plan as a graph (zentra_rules/domain/plangraph.py): its shape for every kind of statement,
for every shipped example, and marked with the path of real dry runs."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_source
from runtime import dry_run
from zentra_rules.domain.plan import Op, Plan
from zentra_rules.domain.plangraph import Graph, graph, mark

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.zflow"))
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)

# Every shape the lowering makes: an elif chain, an `if` nested at the end of an arm (its jump is
# shared by two edges), parallel branches with a wait and with an `if` at their end, a terminate
# followed by a jump that never runs, and an empty `then` arm (both edges to one node).
SHAPES = '''workflow "shapes"
WHEN ticket.created
WHERE category = "Network"
THEN
  if priority = "urgent" then
    if tags contains "vip" then
      set team = "VIP"
    end
  elif priority = "high" then
    set team = "Ops"
  else
    set team = "Desk"
  end
  parallel
    branch
      if tags contains "noisy" then
        add tag = "muted"
      end
    branch
      wait 1 hour
      wait until status = "resolved" or 2 days
  end
  if tags contains "spam" then
    terminate with "spam"
  else
    add internal note = "kept"
  end
  if tags contains "quiet" then
  end
  request approval boss from requester.manager
  wait for approval boss or 1 day
  post reply = "done"
'''


def shapes() -> Plan:
    (plan,) = compile_source(SHAPES, "shapes.zflow")
    return plan


def plans_of(path: Path) -> list[Plan]:
    return compile_source(path.read_text(encoding="utf-8"), path.name)


def check_shape(plan: Plan, drawn: Graph) -> None:
    """What holds of every plan's graph."""
    nodes = {n["id"]: n for n in drawn["nodes"]}
    assert len(nodes) == len(drawn["nodes"]), "node ids are unique"
    owners = Counter(pc for part in drawn["nodes"] + drawn["edges"] for pc in part["pcs"])
    assert owners == Counter(range(len(plan.code))), \
        "every instruction is in exactly one node or one edge"
    assert drawn["nodes"][0]["kind"] == "start" and drawn["nodes"][0]["pcs"] == []
    for edge in drawn["edges"]:
        assert edge["from"] in nodes and edge["to"] in nodes, edge
        assert all(plan.code[pc].op in (Op.JUMP, Op.END_BRANCH) for pc in edge["pcs"]), edge
    out: dict[str, list[dict[str, Any]]] = {n: [] for n in nodes}
    into = Counter(e["to"] for e in drawn["edges"])
    for edge in drawn["edges"]:
        out[edge["from"]].append(edge)
    for node in drawn["nodes"]:
        ops = [plan.code[pc].op for pc in node["pcs"]]
        edges = out[node["id"]]
        if node["id"] != "start":
            assert into[node["id"]] >= 1, f"{node['id']} is reached by an edge"
            assert node["pcs"][0] == min(node["pcs"])
        if node["kind"] == "branch":
            assert ops == [Op.JUMP_IF_NOT]
            assert sorted(e["label"] for e in edges) == ["else", "then"]
            otherwise = plan.arm(node["pcs"][0])["otherwise"]
            assert {e["branch"] for e in edges} == {"then", otherwise}
            assert node["label"].split()[0] in ("if", "elif")
        elif node["kind"] == "fork":
            assert ops == [Op.FORK]
            assert [e["label"] for e in edges] == \
                [f"branch {n}" for n in range(1, len(plan.code[node["pcs"][0]].args))]
        elif node["kind"] in ("terminate", "end"):
            assert edges == [] and ops[0] in (Op.TERMINATE, Op.END)
        else:
            assert len(edges) == 1, node
        if node["kind"] == "statement":
            assert set(ops) <= {Op.ACT, Op.SET, Op.CREATE, Op.REQUEST}
            assert len(node["statements"]) == len(node["pcs"])
        if node["kind"] == "merge":
            assert ops in ([Op.JUMP], [Op.END_BRANCH]) and node["label"] == ""
        if node["kind"] not in ("start", "merge"):
            assert node["label"] and "\n" not in node["statements"][0]["text"]


def test_every_kind_of_node_and_edge() -> None:
    plan = shapes()
    drawn = graph(plan)
    check_shape(plan, drawn)
    kinds = Counter(n["kind"] for n in drawn["nodes"])
    assert kinds == {"start": 1, "branch": 6, "statement": 7, "merge": 2, "fork": 1, "join": 1,
                     "wait": 3, "terminate": 1, "end": 1}, kinds
    labels = {n["label"]: n for n in drawn["nodes"]}
    assert labels["workflow shapes: ticket.created\nWHERE category = \"Network\""]["kind"] == "start"
    assert labels['elif priority = "high"']["kind"] == "branch"
    assert labels["wait for approval boss or 1 day"]["kind"] == "wait"
    assert labels['terminate with "spam"']["kind"] == "terminate"
    # The jump after the terminate never runs: it is kept with the terminate.
    terminate = labels['terminate with "spam"']
    assert [plan.code[pc].op for pc in terminate["pcs"]] == [Op.TERMINATE, Op.JUMP]
    # The empty then arm: both edges of its test go to the next statement.
    quiet = labels['if tags contains "quiet"']["id"]
    assert len({e["to"] for e in drawn["edges"] if e["from"] == quiet}) == 1
    assert labels["request approval boss from requester.manager"]["kind"] == "statement"
    # Consecutive statements are one node, unless something else leads into the later one.
    (joiner,) = plans_of(EXAMPLES / "new-joiner-provisioning.zflow")
    first = graph(joiner)["nodes"][1]
    assert first["kind"] == "statement" and first["pcs"] == [0, 1, 2, 3]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_the_graph_of_every_example(path: Path) -> None:
    for plan in plans_of(path):
        drawn = graph(plan)
        check_shape(plan, drawn)
        # A plan read back from its JSON (a stored version) draws the same graph.
        assert graph(Plan.loads(plan.dumps())) == drawn
        json.dumps(drawn)


def test_statement_text_is_as_written_on_one_line() -> None:
    (plan,) = plans_of(EXAMPLES / "new-joiner-provisioning.zflow")
    drawn = graph(plan)
    texts = [s["text"] for n in drawn["nodes"] for s in n["statements"]]
    assert 'create ticket laptop, title = "Provision laptop for {{payload.name}}", team = "Field IT"' in texts
    assert ('notify email = "hr@example.com", subject = "New joiner {{payload.name}}: not approved", '
            'body = "Outcome: {{manager.outcome}}"') in texts
    assert "if manager.approved" in texts
    (seed,) = plans_of(EXAMPLES / "escalate-urgent.zflow")
    assert graph(seed)["nodes"][1]["statements"][0]["text"] == 'set team = "Network"'


def joiner_run(decision: str) -> tuple[Graph, dict[str, Any]]:
    plans = plans_of(EXAMPLES / "new-joiner-provisioning.zflow")
    subject = json.loads((EXAMPLES / "subjects" / "hr-new-joiner.json").read_text())
    trace = dry_run(plans, "webhook.received:hr", subject, None, {"manager": decision}, now=NOW)
    (run,) = trace["runs"]
    return mark(graph(plans[0]), run), run


def by_label(drawn: Graph, start: str) -> dict[str, Any]:
    (node,) = [n for n in drawn["nodes"] if n["label"].startswith(start)]
    return node


def edge(drawn: Graph, source: dict[str, Any], label: str) -> dict[str, Any]:
    (found,) = [e for e in drawn["edges"] if e["from"] == source["id"] and e["label"] == label]
    return found


@pytest.mark.parametrize("decision, taken, untaken", [
    ("rejected", 'notify email = "hr@example.com"', 'set laptop.status = "ready"'),
    ("approved", 'set laptop.status = "ready"', 'notify email = "hr@example.com"'),
])
def test_a_run_marks_the_arm_it_took(decision: str, taken: str, untaken: str) -> None:
    drawn, run = joiner_run(decision)
    test = by_label(drawn, "if manager.approved")
    assert test["taken"]
    assert by_label(drawn, taken)["taken"] and not by_label(drawn, untaken)["taken"]
    then, orelse = edge(drawn, test, "then"), edge(drawn, test, "else")
    assert then["taken"] is (decision == "approved")
    assert orelse["taken"] is (decision == "rejected")
    assert by_label(drawn, "send survey")["taken"] and by_label(drawn, "end")["taken"]
    check_marks(drawn, run)


def test_a_waiting_run_marks_up_to_its_wait() -> None:
    plans = plans_of(EXAMPLES / "new-joiner-provisioning.zflow")
    subject = json.loads((EXAMPLES / "subjects" / "hr-new-joiner.json").read_text())
    (run,) = dry_run(plans, "webhook.received:hr", subject, None, {}, now=NOW)["runs"]
    drawn = mark(graph(plans[0]), run)
    wait = by_label(drawn, "wait for approval manager")
    assert wait["taken"] and not by_label(drawn, "if manager.approved")["taken"]
    assert not any(e["taken"] for e in drawn["edges"] if e["from"] == wait["id"])
    check_marks(drawn, run)


def test_a_skipped_run_marks_nothing() -> None:
    plans = plans_of(EXAMPLES / "new-joiner-provisioning.zflow")
    (run,) = dry_run(plans, "webhook.received:hr", {"type": "leaver"}, None, {}, now=NOW)["runs"]
    assert run["status"] == "skipped"
    drawn = mark(graph(plans[0]), run)
    assert not any(part["taken"] for part in drawn["nodes"] + drawn["edges"])


def test_without_a_timeline_the_path_decides() -> None:
    for decision in ("approved", "rejected"):
        drawn, run = joiner_run(decision)
        again = mark({"nodes": drawn["nodes"], "edges": drawn["edges"]},
                     {k: v for k, v in run.items() if k != "timeline"})
        assert again == drawn


def check_marks(drawn: Graph, run: dict[str, Any]) -> None:
    """The marks agree with the path: what ran is in a taken node or edge and nothing else is;
    every taken node but the start is entered by a taken edge."""
    path = set(run["path"])
    covered = {pc for part in drawn["nodes"] + drawn["edges"] if part["taken"] for pc in part["pcs"]}
    assert path <= covered
    assert all(part["taken"] == any(pc in path for pc in part["pcs"])
               for part in drawn["nodes"] if part["kind"] != "start")
    entered = {e["to"] for e in drawn["edges"] if e["taken"]}
    for node in drawn["nodes"]:
        if node["taken"] and node["kind"] != "start":
            assert node["id"] in entered, node
    for e in drawn["edges"]:
        if e["taken"]:
            assert path.issuperset(e["pcs"])


def example_runs() -> list[tuple[str, Plan, dict[str, Any]]]:
    out = []
    for path in SCRIPTS:
        cases = json.loads(path.with_name(path.stem + ".cases.json").read_text())
        plans = plans_of(path)
        by_name = {p.name: p for p in plans}
        for case in cases["cases"]:
            subject = case["subject"]
            if isinstance(subject, str):
                subject = json.loads((EXAMPLES / subject).read_text())
            now = datetime.fromisoformat(cases["now"].replace("Z", "+00:00"))
            trace = dry_run(plans, case["event"], subject or {}, case["previous"],
                            case["decisions"] or {}, now=now)
            out += [(f"{path.stem}: {case['name']}", by_name[r["workflow"]], r)
                    for r in trace["runs"]]
    return out


def test_the_marks_of_every_example_case() -> None:
    runs = example_runs()
    assert len(runs) > 20
    for name, plan, run in runs:
        drawn = mark(graph(plan), run)
        try:
            check_marks(drawn, run)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
        tests = [e for e in run.get("timeline", []) if e["kind"] == "test"]
        for test in tests:   # each test's branch is the one edge out of it that is taken
            (node,) = [n for n in drawn["nodes"] if n["pcs"] == [test["pc"]]]
            out = [e for e in drawn["edges"] if e["from"] == node["id"] and e["taken"]]
            assert [e["branch"] == "then" for e in out] == [test["branch"] == "then"], name


def test_the_shapes_marked_through_a_parallel_block() -> None:
    plan = shapes()
    subject = {"id": "T-1", "category": "Network", "priority": "urgent", "tags": ["vip", "noisy"],
               "status": "resolved", "requester": {"id": "u1", "manager": {"id": "u2"}}}
    (run,) = dry_run([plan], "ticket.created", subject, None, {"boss": "approved"}, now=NOW)["runs"]
    drawn = mark(graph(plan), run)
    check_marks(drawn, run)
    assert by_label(drawn, 'set team = "VIP"')["taken"]
    assert not by_label(drawn, 'set team = "Ops"')["taken"]
    assert by_label(drawn, "all branches done")["taken"]
    assert all(n["taken"] for n in drawn["nodes"] if n["kind"] == "merge")
    assert not by_label(drawn, 'terminate with "spam"')["taken"]

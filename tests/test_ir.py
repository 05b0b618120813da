"""The typed IR of plan constants: an exact JSON round trip, clear refusals, one walk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import compile_source
from zentra_rules.domain import ir
from zentra_rules.domain.errors import PlanError
from zentra_rules.domain.plan import Plan

from .conftest import plan_of

ROOT = Path(__file__).parent.parent
SCRIPTS = sorted([*ROOT.glob("examples/**/*.zflow"), *ROOT.glob("tests/golden/disasm/*.zflow")])


def canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_every_constant_of_the_examples_round_trips_exactly(path: Path) -> None:
    for plan in compile_source(path.read_text(), str(path)):
        for doc in plan.to_json()["constants"]:
            node = ir.from_json(doc)
            again = ir.to_json(node)
            assert again == doc and canonical(again) == canonical(doc)
            assert ir.from_json(again) == node


# Random trees of every kind: what the decoder reads back is what was written.
names = st.sampled_from(["status", "team", "tags", "custom", "x"])
json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3), max_leaves=5)
leaves = st.one_of(
    st.builds(ir.Const, json_values), st.builds(ir.Dur, st.integers(0, 10**6)), st.just(ir.Now()),
    st.builds(lambda r, segs: ir.Path(r, tuple(segs), tuple("" for _ in segs)),
              st.sampled_from(["ticket", "event", "payload"]), st.lists(names, max_size=3)))
expressions = st.recursive(leaves, lambda inner: st.one_of(
    st.builds(ir.Time, inner), st.builds(ir.Add, inner, inner), st.builds(ir.Sub, inner, inner),
    st.builds(ir.Call, st.sampled_from(["lower", "upper", "len"]), inner),
    st.builds(lambda items: ir.List(tuple(items)), st.lists(inner, max_size=3)),
    st.builds(lambda parts: ir.Template(tuple(parts)), st.lists(st.text(max_size=3) | inner,
                                                                 max_size=3)),
    st.builds(lambda d: ir.Map(tuple(d.items())), st.dictionaries(names, inner, max_size=3)),
    st.builds(ir.User, inner)), max_leaves=8)
texts = st.text(max_size=5)
conditions = st.recursive(
    st.builds(ir.Test, st.sampled_from(sorted(ir.TEST_OPS)), expressions,
              st.none() | expressions, texts) | st.builds(ir.Truth, expressions, texts),
    lambda inner: st.one_of(
        st.builds(lambda cs, t: ir.And(tuple(cs), t), st.lists(inner, max_size=3), texts),
        st.builds(lambda cs, t: ir.Or(tuple(cs), t), st.lists(inner, max_size=3), texts),
        st.builds(ir.Not, inner, texts)), max_leaves=6)
approvals = st.builds(
    lambda approvers, order, every, before, via, timeout: ir.Approval(
        tuple(approvers), order, every, before, tuple(via), timeout),
    st.lists(st.builds(ir.Approver, st.sampled_from(["user", "role", "group", "path"]),
                       expressions), max_size=2),
    st.sampled_from(["sequential", "parallel any", "parallel all"]),
    st.none() | st.integers(0, 10**5), st.none() | st.integers(0, 10**5),
    st.lists(st.sampled_from(["email", "slack", "teams", "console"]), max_size=2),
    st.none() | st.integers(0, 10**5))


@settings(max_examples=300, deadline=None)
@given(expressions | conditions | approvals)
def test_random_trees_round_trip_through_their_json(node: ir.Node) -> None:
    doc = ir.to_json(node)
    assert ir.from_json(json.loads(json.dumps(doc))) == node
    assert ir.to_json(ir.from_json(doc)) == doc


@pytest.mark.parametrize("doc, message", [
    (["nope", 1], "unknown plan constant tag 'nope'"),
    ("const", "a plan constant is a list that starts with its tag"),
    ([], "a plan constant is a list that starts with its tag"),
    ([["const", 1]], "a plan constant is a list that starts with its tag"),
    (["const"], "a 'const' constant has 1 operand"),
    (["now", 1], "a 'now' constant has 0 operand"),
    (["add", ["const", 1], ["and", [], "x"]], "a 'and' constant is a condition, where an expression"),
    (["and", [["const", 1]], "x"], "a 'const' constant is an expression, where a condition"),
    (["time", ["approval", {}]], "a 'approval' constant is an approval spec, where an expression"),
    (["path", "ticket", ["a", "b"], [""]], "one reference kind per segment"),
    (["path", "ticket", "a", [""]], "a path's segments must be a list"),
    (["path", 1, [], []], "a path's root must be text"),
    (["test", "≈", ["const", 1], ["const", 1], "x"], "unknown test operator '≈'"),
    (["dur", "1h"], "a duration must be a number of seconds"),
    (["dur", True], "a duration must be a number of seconds"),
    (["map", [1]], "a map holds an object of named values"),
    (["tmpl", ["a", 3]], "a plan constant is a list that starts with its tag, not 3"),
    (["approval", {"approvers": []}], "an approval spec is an object with exactly"),
    (["approval", {"approvers": [{"kind": "user"}], "order": "sequential", "remind_every": None,
                   "remind_before": None, "via": [], "timeout": None}],
     "an approver is an object with exactly kind and value"),
    (["approval", {"approvers": [], "order": "sequential", "remind_every": "soon",
                   "remind_before": None, "via": [], "timeout": None}],
     "remind_every must be a number of seconds"),
])
def test_malformed_constants_are_plan_errors_that_say_what_is_wrong(doc: Any, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        ir.from_json(doc)


def test_a_saved_plan_with_an_unknown_constant_is_refused_when_loaded() -> None:
    doc = json.loads(plan_of('workflow "x" WHEN ticket.created THEN add tag = "a"').dumps())
    doc["constants"][0] = ["regex", "a+"]
    with pytest.raises(PlanError, match="unknown plan constant tag 'regex'"):
        Plan.from_json(doc)


@pytest.mark.parametrize("text, mutate, message", [
    ('WHEN ticket.created WHERE team = "a" THEN add tag = "b"',
     lambda d: d.update(condition=d["code"][0][1][2]), "the WHERE condition: constant 1 is an "
     "expression \\('const'\\), where a condition was expected"),
    ('WHEN ticket.created THEN if team = "a" then add tag = "b" end',
     lambda d: d["code"][0][1].__setitem__(0, d["code"][1][1][2]),
     "instruction 0: constant 1 is an expression \\('const'\\), where a condition was expected"),
    ('WHEN ticket.created THEN create ticket t, title = "x"',
     lambda d: d["constants"].__setitem__(0, ["const", {"title": "x"}]),
     "instruction 0: constant 0 is an expression \\('const'\\), where a map of named values"),
    ('WHEN ticket.created THEN request approval m from user "u" wait for approval m',
     lambda d: d["constants"].__setitem__(0, ["map", {}]),
     "instruction 0: constant 0 is an expression \\('map'\\), where an approval spec"),
])
def test_a_constant_of_the_wrong_kind_for_its_operand_is_refused(text: str, mutate: Any,
                                                                  message: str) -> None:
    doc = json.loads(plan_of(text).dumps())
    mutate(doc)
    with pytest.raises(PlanError, match=message):
        Plan.from_json(doc)


def test_walk_visits_every_node_parents_first() -> None:
    user = ir.User(ir.Const("u1"))
    path = ir.Path("ticket", ("team",), ("",))
    tree = ir.And((ir.Test("=", ir.Time(path), ir.Add(ir.Now(), ir.Dur(60)), "a"),
                   ir.Not(ir.Truth(ir.List((user, ir.Template(("x", path)))), "b"), "c"),
                   ir.Test("is empty", ir.Call("len", ir.Map((("k", path),))), None, "d")), "e")
    seen = list(ir.walk(tree))
    assert seen[0] is tree
    assert [ir.tag(n) for n in seen] == [
        "and", "test", "time", "path", "add", "now", "dur", "not", "truth", "list", "user",
        "const", "tmpl", "path", "test", "call", "map", "path"]
    spec = ir.Approval((ir.Approver("path", path), ir.Approver("user", ir.Const("u"))),
                       "sequential", None, None, ("console",), None)
    assert list(ir.children(spec)) == [path, ir.Const("u")]


def test_the_compiler_builds_typed_nodes() -> None:
    plan = plan_of('WHEN ticket.created WHERE priority = "urgent" AND NOT requester.vip '
                   'THEN notify email = requester, subject = "hi {{title}}"')
    where = plan.constants[plan.condition]
    assert isinstance(where, ir.And)
    first, second = where.conditions
    assert first == ir.Test("=", ir.Path("ticket", ("priority",), ("",)), ir.Const("urgent"),
                            'priority = "urgent"')
    assert second == ir.Not(ir.Truth(ir.Path("ticket", ("requester", "vip"), ("user", "")),
                                     "requester.vip"), "NOT requester.vip")
    assert ir.User(ir.Path("ticket", ("requester",), ("user",))) in plan.constants
    params = next(c for c in plan.constants if isinstance(c, ir.Map))
    assert params.get("subject") == ir.Template(("hi ", ir.Path("ticket", ("title",), ("",))))
    assert params.get("nope") is None

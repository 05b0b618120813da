"""Plans: JSON round trip, content hash, verification, golden disassembly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler import compile_source
from zentra_rules.domain import ir
from zentra_rules.domain.errors import PlanError
from zentra_rules.domain.plan import FORMAT_VERSION, Op, Plan

from .conftest import plan_of

DISASM = Path(__file__).parent / "golden" / "disasm"


@pytest.mark.parametrize("path", sorted(DISASM.glob("*.zflow")), ids=lambda p: p.stem)
def test_golden_disassembly(path: Path) -> None:
    plans = compile_source(path.read_text(), str(path))
    text = "\n\n".join(p.disassemble() for p in plans)
    assert text + "\n" == path.with_suffix(".disasm").read_text()


def test_a_plan_read_back_disassembles_as_compiled() -> None:
    # The store keeps an object's keys sorted; a stored run's trace must describe each
    # instruction exactly as the dry run of the same plan does.
    for path in sorted(DISASM.glob("*.zflow")):
        for plan in compile_source(path.read_text(), str(path)):
            again = Plan.loads(plan.dumps())
            assert [again.describe(pc) for pc in range(len(again.code))] == \
                [plan.describe(pc) for pc in range(len(plan.code))]
            assert again.disassemble() == plan.disassemble()


def test_json_round_trip_keeps_every_instruction_and_the_hash() -> None:
    for path in sorted(DISASM.glob("*.zflow")):
        for plan in compile_source(path.read_text(), str(path)):
            again = Plan.loads(plan.dumps())
            assert again.dumps() == plan.dumps()
            assert again.hash == plan.hash
            assert again.code == plan.code
            assert all(isinstance(i.op, Op) for i in again.code)


def test_plan_is_plain_json_with_version_and_source_lines() -> None:
    plan = plan_of('WHEN ticket.created\nWHERE priority = "urgent"\nTHEN\n  escalate\n  add tag = "x"\n')
    doc = json.loads(plan.dumps())
    assert doc["format_version"] == FORMAT_VERSION
    assert [ins[0] for ins in doc["code"]] == ["ACT", "ACT", "END"]
    assert [ins[2] for ins in doc["code"]] == [4, 5, 5]
    assert doc["constants"][doc["condition"]][0] == "test"
    assert isinstance(plan.constants[plan.condition], ir.Test)   # typed in memory, JSON when saved


def test_hash_changes_with_content_and_not_with_layout_of_other_definitions() -> None:
    a = plan_of('workflow "x" WHEN ticket.created THEN add tag = "a"')
    b = plan_of('workflow "x" WHEN ticket.created THEN add tag = "b"')
    c = plan_of('workflow "x" WHEN ticket.created THEN add tag = "a"')
    assert a.hash != b.hash
    assert a.hash == c.hash


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format_version=99), "format version 99 is not supported"),
    (lambda d: d["code"].__setitem__(0, ["JUMP", [42], 1]), "jump target 42 out of range"),
    (lambda d: d["code"].pop(), "must end with END"),
    (lambda d: d["code"].__setitem__(0, ["NOPE", [], 1]), "malformed plan"),
    (lambda d: d.pop("triggers"), "malformed plan"),
    (lambda d: d["constants"].__setitem__(0, ["nope", 1]), "unknown plan constant tag 'nope'"),
])
def test_malformed_plans_are_refused(mutate, message) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(plan_of('workflow "x" WHEN ticket.created THEN add tag = "a"').dumps())
    mutate(doc)
    with pytest.raises(PlanError, match=message):
        Plan.from_json(doc)


def test_non_json_plan_is_a_plan_error() -> None:
    with pytest.raises(PlanError):
        Plan.loads("{nope")
    with pytest.raises(PlanError):
        Plan.from_json([1, 2])


def test_hash_ignores_file_name_and_comments() -> None:
    text = 'workflow "x" WHEN ticket.created THEN add tag = "a"'
    a = compile_source(text, "one.zflow")[0]
    b = compile_source(text + "  # a comment", "two.zflow")[0]
    assert a.hash == b.hash

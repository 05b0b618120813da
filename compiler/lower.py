"""Checked tree -> Plan: flatten blocks into instructions with jump targets."""

from __future__ import annotations

import json
from typing import Any

from compiler import tree as T
from zentra_rules.domain import ir
from zentra_rules.domain.plan import Instruction, Op, Plan


class _Emitter:
    def __init__(self) -> None:
        self.code: list[list[Any]] = []   # [op, args, line], patched in place for jumps
        self.constants: list[ir.Node] = []
        self._index: dict[str, int] = {}
        # How the flat code nests, for traces that show a run block by block (Plan.blocks).
        self.depth = 0
        self.depths: list[int] = []
        self.arms: dict[str, dict[str, str]] = {}

    def const(self, node: ir.Node) -> int:
        """Intern a constant (trees with the same JSON form, keys in any order, share one slot)."""
        key = json.dumps(ir.to_json(node), sort_keys=True, ensure_ascii=False)
        if key not in self._index:
            self._index[key] = len(self.constants)
            self.constants.append(node)
        return self._index[key]

    def emit(self, op: Op, args: list[Any], line: int) -> int:
        self.code.append([op, args, line])
        self.depths.append(self.depth)
        return len(self.code) - 1

    def nested(self, body: list[T.Stmt], levels: int = 1) -> None:
        self.depth += levels
        self.block(body)
        self.depth -= levels

    @property
    def here(self) -> int:
        return len(self.code)

    def block(self, body: list[T.Stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, s: T.Stmt) -> None:
        if isinstance(s, T.Act):
            value = self.const(s.value) if s.value is not None else -1
            params = self.const(ir.Map(tuple(s.params.items()))) if s.params else -1
            self.emit(Op.ACT, [s.verb, s.object, value, params], s.line)
        elif isinstance(s, T.SetField):
            self.emit(Op.SET, [s.root, s.field, self.const(s.value)], s.line)
        elif isinstance(s, T.CreateTicket):
            self.emit(Op.CREATE, [s.name, self.const(ir.Map(tuple(s.params.items())))], s.line)
        elif isinstance(s, T.RequestApproval):
            self.emit(Op.REQUEST, [s.name, self.const(s.spec)], s.line)
        elif isinstance(s, T.WaitApproval):
            self.emit(Op.WAIT_APPROVAL, [s.name, -1 if s.timeout is None else s.timeout], s.line)
        elif isinstance(s, T.WaitUntil):
            self.emit(Op.WAIT_UNTIL, [self.const(s.condition),
                                      -1 if s.timeout is None else s.timeout], s.line)
        elif isinstance(s, T.WaitTimer):
            self.emit(Op.WAIT, [s.seconds], s.line)
        elif isinstance(s, T.Terminate):
            self.emit(Op.TERMINATE, [s.reason], s.line)
        elif isinstance(s, T.If):
            self._if(s)
        elif isinstance(s, T.Parallel):
            self._parallel(s)

    def _if(self, s: T.If) -> None:
        exits: list[int] = []
        for index, (cond, body, line) in enumerate(s.arms):
            test = self.emit(Op.JUMP_IF_NOT, [self.const(cond), None], line)
            last = index == len(s.arms) - 1
            # What a false test leads to: the next arm, the else block, or nothing.
            self.arms[str(test)] = {"arm": "elif" if index else "if",
                                    "otherwise": "elif" if not last else
                                    "else" if s.orelse is not None else "none"}
            self.nested(body)
            if not last or s.orelse is not None:
                exits.append(self.emit(Op.JUMP, [None], line))
            self.code[test][1][1] = self.here
        if s.orelse is not None:
            self.nested(s.orelse)
        for jump in exits:
            self.code[jump][1][0] = self.here

    def _parallel(self, s: T.Parallel) -> None:
        fork = self.emit(Op.FORK, [None], s.line)
        ends: list[int] = []
        for branch in s.branches:
            self.code[fork][1].append(self.here)
            self.nested(branch, 2)   # the branch's own heading sits one level in
            ends.append(self.emit(Op.END_BRANCH, [None], s.line))
        join = self.emit(Op.JOIN, [], s.line)
        self.code[fork][1][0] = join
        for end in ends:
            self.code[end][1][0] = join


def lower(definition: T.Definition, filename: str) -> Plan:
    em = _Emitter()
    condition = em.const(definition.condition) if definition.condition is not None else -1
    em.block(definition.body)
    em.emit(Op.END, [], definition.end_line)
    code = tuple(Instruction(op, tuple(args), line) for op, args, line in em.code)
    plan = Plan(kind=definition.kind, name=definition.name, subject=definition.subject,
                triggers=definition.triggers, condition=condition, code=code,
                constants=tuple(em.constants), source_hash=definition.extra["source_hash"],
                source=definition.source, filename=filename, line=definition.line,
                blocks={"depth": em.depths, "arms": em.arms}
                | ({"heading": definition.extra["heading"]} if definition.extra.get("heading")
                   else {}))
    plan.verify()
    return plan

"""The plan: a flat, typed, versioned instruction list with jumps — what the runtime executes.

Expressions and conditions live in `constants` as typed nodes (`zentra_rules.domain.ir`, which
also owns their JSON form); instructions refer to them by index. A plan is saved as plain JSON, so
it can be stored, hashed and diffed; `zentra_rules.domain.evaluation` turns its constants into
closures when it runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from zentra_rules.domain import ir
from zentra_rules.domain.errors import PlanError

FORMAT_VERSION = 1


class Op(Enum):
    """Opcodes. Operands (`args`) by opcode:

    ACT        verb, object, value constant or -1, params constant or -1
    SET        root, dotted field path, value constant
    CREATE     bound name, params constant
    REQUEST    bound name, approval spec constant
    WAIT_APPROVAL  bound name, timeout seconds or -1
    WAIT_UNTIL condition constant, timeout seconds or -1
    WAIT       seconds
    JUMP_IF_NOT  condition constant, target
    JUMP       target
    FORK       join target, branch targets...
    END_BRANCH join target
    JOIN       (none): continues once every branch of its FORK has ended
    TERMINATE  reason or ""
    END        (none)
    """

    ACT = "ACT"
    SET = "SET"
    CREATE = "CREATE"
    REQUEST = "REQUEST"
    WAIT_APPROVAL = "WAIT_APPROVAL"
    WAIT_UNTIL = "WAIT_UNTIL"
    WAIT = "WAIT"
    JUMP_IF_NOT = "JUMP_IF_NOT"
    JUMP = "JUMP"
    FORK = "FORK"
    END_BRANCH = "END_BRANCH"
    JOIN = "JOIN"
    TERMINATE = "TERMINATE"
    END = "END"


# Which operand positions are jump targets, for the disassembler and the verifier.
JUMP_OPERANDS: dict[Op, slice] = {
    Op.JUMP_IF_NOT: slice(1, 2), Op.JUMP: slice(0, 1), Op.FORK: slice(0, None),
    Op.END_BRANCH: slice(0, 1),
}
CONSTANT_OPERANDS: dict[Op, tuple[int, ...]] = {
    Op.ACT: (2, 3), Op.SET: (2,), Op.CREATE: (1,), Op.REQUEST: (1,), Op.WAIT_UNTIL: (0,),
    Op.JUMP_IF_NOT: (0,),
}

# What the constant of each of those operands must be (the WHERE condition is a condition).
CONSTANT_KINDS: dict[tuple[Op, int], tuple[type, ...]] = {
    (Op.ACT, 2): ir.EXPRESSIONS, (Op.ACT, 3): (ir.Map,), (Op.SET, 2): ir.EXPRESSIONS,
    (Op.CREATE, 1): (ir.Map,), (Op.REQUEST, 1): (ir.Approval,), (Op.WAIT_UNTIL, 0): ir.CONDITIONS,
    (Op.JUMP_IF_NOT, 0): ir.CONDITIONS,
}
_KIND_NAMES = {ir.EXPRESSIONS: "an expression", (ir.Map,): "a map of named values",
               (ir.Approval,): "an approval spec", ir.CONDITIONS: "a condition"}

Operand = str | int | float | None


@dataclass(frozen=True)
class Instruction:
    op: Op
    args: tuple[Operand, ...]
    line: int

    def to_json(self) -> list[Any]:
        return [self.op.value, list(self.args), self.line]


@dataclass(frozen=True)
class Trigger:
    event: str
    qualifier: str | None = None
    tz: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "qualifier": self.qualifier, "tz": self.tz}


@dataclass(eq=False)
class Plan:
    """One compiled definition (workflow or scenario)."""

    kind: str                       # "workflow" | "scenario"
    name: str
    subject: str | None             # the root bare paths read from (ticket, asset, payload, ...)
    triggers: tuple[Trigger, ...]
    condition: int                  # constant index of the WHERE condition, or -1
    code: tuple[Instruction, ...]
    constants: tuple[ir.Node, ...]
    source_hash: str
    source: str = ""
    filename: str = "<string>"
    line: int = 1
    format_version: int = FORMAT_VERSION
    # How the code nests (not what runs, so not hashed; plans saved before it have none):
    # {"depth": [block depth of each instruction], "arms": {"pc": {"arm": "if"|"elif",
    #  "otherwise": "elif"|"else"|"none"}} for each if/elif test}.
    blocks: dict[str, Any] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- JSON -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version, "kind": self.kind, "name": self.name,
            "subject": self.subject, "triggers": [t.to_json() for t in self.triggers],
            "condition": self.condition, "code": [i.to_json() for i in self.code],
            "constants": [ir.to_json(c) for c in self.constants],
            "source_hash": self.source_hash,
            "source": self.source, "filename": self.filename, "line": self.line,
        } | ({"blocks": self.blocks} if self.blocks is not None else {})

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, doc: Any) -> Plan:
        if not isinstance(doc, dict):
            raise PlanError("a plan must be a JSON object")
        version = doc.get("format_version")
        if version != FORMAT_VERSION:
            raise PlanError(f"plan format version {version!r} is not supported "
                            f"(this engine reads version {FORMAT_VERSION})")
        try:
            code = tuple(Instruction(Op(op), tuple(args), int(line)) for op, args, line in doc["code"])
            plan = cls(
                kind=doc["kind"], name=doc["name"], subject=doc.get("subject"),
                triggers=tuple(Trigger(t["event"], t.get("qualifier"), t.get("tz"))
                               for t in doc["triggers"]),
                condition=int(doc["condition"]), code=code,
                constants=tuple(ir.from_json(c) for c in doc["constants"]),
                source_hash=doc["source_hash"], source=doc.get("source", ""),
                filename=doc.get("filename", "<string>"), line=int(doc.get("line", 1)),
                blocks=doc.get("blocks"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"malformed plan: {exc}") from None
        plan.verify()
        return plan

    @classmethod
    def loads(cls, text: str) -> Plan:
        try:
            return cls.from_json(json.loads(text))
        except json.JSONDecodeError as exc:
            raise PlanError(f"plan is not JSON: {exc}") from None

    @property
    def hash(self) -> str:
        """Content hash: sha256 of the canonical JSON of what runs (not file name or comments)."""
        if "hash" not in self._cache:
            doc = self.to_json()
            for key in ("source", "source_hash", "filename", "line", "blocks"):
                doc.pop(key, None)
            canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            self._cache["hash"] = hashlib.sha256(canonical.encode()).hexdigest()
        return self._cache["hash"]

    def verify(self) -> None:
        """Jump targets and constant indexes are in range, each constant of the kind its operand
        reads; the plan ends with END."""
        n, k = len(self.code), len(self.constants)
        if not self.code or self.code[-1].op is not Op.END:
            raise PlanError("a plan must end with END")
        for pc, ins in enumerate(self.code):
            for target in ins.args[JUMP_OPERANDS[ins.op]] if ins.op in JUMP_OPERANDS else ():
                if not isinstance(target, int) or not 0 <= target < n:
                    raise PlanError(f"instruction {pc}: jump target {target!r} out of range")
            for pos in CONSTANT_OPERANDS.get(ins.op, ()):
                idx = ins.args[pos]
                if not isinstance(idx, int) or not -1 <= idx < k:
                    raise PlanError(f"instruction {pc}: constant {idx!r} out of range")
                if idx >= 0:
                    self._check_kind(f"instruction {pc}", idx, CONSTANT_KINDS[(ins.op, pos)])
        self._verify_blocks()
        if not -1 <= self.condition < k:
            raise PlanError("condition constant out of range")
        if self.condition >= 0:
            self._check_kind("the WHERE condition", self.condition, ir.CONDITIONS)

    def _verify_blocks(self) -> None:
        if self.blocks is None:
            return
        if not isinstance(self.blocks, dict):
            raise PlanError("blocks must be an object")
        depth, arms = self.blocks.get("depth"), self.blocks.get("arms")
        if (not isinstance(depth, list) or len(depth) != len(self.code)
                or not all(type(d) is int and d >= 0 for d in depth)):
            raise PlanError("blocks: `depth` must give a whole number for each instruction")
        if not isinstance(arms, dict):
            raise PlanError("blocks: `arms` must be an object")
        for pc, arm in arms.items():
            if (not isinstance(pc, str) or not pc.isdigit() or int(pc) >= len(self.code)
                    or self.code[int(pc)].op is not Op.JUMP_IF_NOT or not isinstance(arm, dict)
                    or arm.get("arm") not in ("if", "elif")
                    or arm.get("otherwise") not in ("elif", "else", "none")):
                raise PlanError(f"blocks: arm {pc!r} is not an if/elif test of this plan")
        if not isinstance(self.blocks.get("heading", ""), str):
            raise PlanError("blocks: `heading` must be text")

    @property
    def heading(self) -> str:
        """The comment line right above the definition in its file ("" if none): not part of
        its source, yet what names a legacy rule translated as a workflow of its own."""
        return str((self.blocks or {}).get("heading", ""))

    def depth(self, pc: int) -> int:
        """How deep in blocks instruction `pc` sits (0 for a plan saved without blocks)."""
        return int(self.blocks["depth"][pc]) if self.blocks else 0

    def arm(self, pc: int) -> dict[str, str]:
        """What kind of arm the test at `pc` is and what a false test leads to."""
        found = (self.blocks or {}).get("arms", {}).get(str(pc))
        return dict(found) if found else {"arm": "if", "otherwise": "unknown"}

    def _check_kind(self, where: str, index: int, kinds: tuple[type, ...]) -> None:
        node = self.constants[index]
        if not isinstance(node, kinds):
            wanted = _KIND_NAMES[kinds]
            raise PlanError(f"{where}: constant {index} is {ir.category(node)} "
                            f"({ir.tag(node)!r}), where {wanted} was expected")

    # -- disassembler -----------------------------------------------------------------------
    def disassemble(self, mark: set[int] | None = None) -> str:
        """One instruction a line: index, opcode, operands, source line; jump targets marked `>>`."""
        targets = {t for ins in self.code if ins.op in JUMP_OPERANDS
                   for t in ins.args[JUMP_OPERANDS[ins.op]]}
        trig = " OR ".join(t.event + (f' "{t.qualifier}"' if t.qualifier else "") +
                           (f' tz "{t.tz}"' if t.tz else "") for t in self.triggers)
        lines = [(f"; {self.kind} {json.dumps(self.name)}  format {self.format_version}  "
                  f"hash {self.hash[:12]}"),
                 f"; trigger: {trig or '(started by an agent)'}  subject: {self.subject}"]
        if self.condition >= 0:
            lines.append(f"; where: {describe_constant(self.constants[self.condition])}")
        for pc, ins in enumerate(self.code):
            marker = ">>" if pc in targets else "  "
            ran = "*" if mark and pc in mark else " "
            lines.append(f"{ran}{marker} {pc:4d}  {ins.op.value:<13} {self._operands(ins):<48} "
                         f"; line {ins.line}")
        return "\n".join(lines)

    def describe(self, pc: int) -> str:
        """One instruction as the disassembler prints it, without the index (audit steps)."""
        ins = self.code[pc]
        return f"{ins.op.value} {self._operands(ins)}".rstrip()

    def _operands(self, ins: Instruction) -> str:
        consts = CONSTANT_OPERANDS.get(ins.op, ())
        jumps = range(len(ins.args))[JUMP_OPERANDS[ins.op]] if ins.op in JUMP_OPERANDS else ()
        out = []
        for pos, arg in enumerate(ins.args):
            if pos in consts and isinstance(arg, int):
                out.append("-" if arg == -1 else f"#{arg}({describe_constant(self.constants[arg])})")
            elif pos in jumps:
                out.append(f"->{arg}")
            else:
                out.append(json.dumps(arg, ensure_ascii=False))
        return " ".join(out)


def describe_constant(node: ir.Node) -> str:
    """Short text of a constant: a condition's source text, or an expression's shape."""
    match node:
        case ir.Or(text=text) | ir.And(text=text) | ir.Not(text=text) | ir.Test(text=text) \
                | ir.Truth(text=text):
            return text
        case ir.Const(value):
            return json.dumps(value, ensure_ascii=False)
        case ir.Path(root, segs, _):
            return root + "".join("." + s for s in segs)
        case ir.Time(inner):
            return describe_constant(inner)
        case ir.Template(parts):
            return json.dumps("".join(p if isinstance(p, str) else
                                      "{{" + describe_constant(p) + "}}" for p in parts),
                              ensure_ascii=False)
        case ir.Map(fields):
            # In name order: a plan read back from the store keeps a map's keys sorted, and a
            # stored run must describe its instructions as its dry run did.
            return "{" + ", ".join(f"{k}: {describe_constant(v)}" for k, v in sorted(fields)) + "}"
        case ir.User(inner):
            return (f"user {describe_constant(inner)}" if isinstance(inner, ir.Const)
                    else describe_constant(inner))
        case ir.Approval(approvers=approvers):
            return f"approval from {len(approvers)} approver(s)"
        case ir.Dur(seconds):
            return f"{seconds}s"
    return ir.tag(node)

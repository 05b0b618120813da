"""The checked, typed tree between the textX model and the plan. Expressions and conditions are
already plan IR (`zentra_rules.domain.ir`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from zentra_rules.domain import ir
from zentra_rules.domain.plan import Trigger


@dataclass
class Act:
    verb: str
    object: str
    value: ir.Expr | None
    params: dict[str, ir.Expr]
    line: int


@dataclass
class SetField:
    root: str
    field: str
    value: ir.Expr
    line: int


@dataclass
class CreateTicket:
    name: str
    params: dict[str, ir.Expr]
    line: int


@dataclass
class RequestApproval:
    name: str
    spec: ir.Approval
    line: int


@dataclass
class WaitApproval:
    name: str
    timeout: int | None
    line: int


@dataclass
class WaitUntil:
    condition: ir.Cond
    timeout: int | None
    line: int


@dataclass
class WaitTimer:
    seconds: int
    line: int


@dataclass
class If:
    arms: list[tuple[ir.Cond, list[Stmt], int]]   # (condition, body, line of its if/elif)
    orelse: list[Stmt] | None
    line: int


@dataclass
class Parallel:
    branches: list[list[Stmt]]
    line: int


@dataclass
class Terminate:
    reason: str
    line: int


Stmt = Union[Act, SetField, CreateTicket, RequestApproval, WaitApproval,  # noqa: UP007
             WaitUntil, WaitTimer, If, Parallel, Terminate]   # (forward references: If, Parallel)


@dataclass
class Definition:
    kind: str
    name: str
    subject: str | None
    triggers: tuple[Trigger, ...]
    condition: ir.Cond | None
    body: list[Stmt]
    line: int
    end_line: int
    source: str
    extra: dict[str, Any] = field(default_factory=dict)

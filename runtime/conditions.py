"""Condition code: a plan's constants as Python functions, built once per plan and cached on it.

WHERE conditions are compiled to Python functions through the `ast` module, for speed. The tree
is the checked, typed condition of a plan (`zentra_rules.domain.ir` nodes); every user value
enters the generated code as an `ast.Constant` (or as a prebuilt closure from
`zentra_rules.domain.evaluation`), never as source text, and no user text is ever passed to
`eval`/`exec`. The closures of
`evaluation.compile_condition` remain the reference semantics; tests check that both agree on
random conditions and subjects.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from typing import Any

from zentra_rules.domain import ir
from zentra_rules.domain import values as V
from zentra_rules.domain.evaluation import Fn, Pred, compile_condition, compile_value
from zentra_rules.domain.plan import Plan

_SCALARS = (str, int, float, bool, type(None))
_EMPTY: dict[str, Any] = {}   # stands in for a missing root; only ever read
# Each binary test's function, by the name the generated code calls it.
_BINARY = {op: f"test_{i}" for i, op in enumerate(V.BINARY_TESTS)}
_ORDER = {"<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE}


class _Gen:
    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {
            "type": type, "str": str, "dict": dict, "eq": V.eq, "is_in": V.is_in,
            "is_empty": V.is_empty, "truthy": V.truthy, "compare": V.compare,
            "EMPTY": _EMPTY, **{_BINARY[op]: fn for op, fn in V.BINARY_TESTS.items()}}
        self._ids = itertools.count()
        self.roots: dict[str, str] = {}

    def root(self, root: str) -> ast.expr:
        if root not in self.roots:
            self.roots[root] = self.name("root")
        return ast.Name(self.roots[root], ast.Load())

    def prologue(self) -> list[ast.stmt]:
        """`_rootN = env.get(ROOT)`, replaced by an empty dict when it is not a record."""
        out: list[ast.stmt] = []
        for root, var in self.roots.items():
            out.append(ast.Assign([ast.Name(var, ast.Store())], self.call(
                ast.Attribute(ast.Name("env", ast.Load()), "get", ast.Load()), ast.Constant(root))))
            out.append(ast.If(
                ast.Compare(self.call("type", ast.Name(var, ast.Load())), [ast.IsNot()],
                            [ast.Name("dict", ast.Load())]),
                [ast.Assign([ast.Name(var, ast.Store())], ast.Name("EMPTY", ast.Load()))], []))
        return out

    def name(self, prefix: str) -> str:
        return f"_{prefix}{next(self._ids)}"

    def bind(self, value: Any, prefix: str = "k") -> ast.expr:
        """A prebuilt object (closure, list constant) reachable by name from the code."""
        key = self.name(prefix)
        self.namespace[key] = value
        return ast.Name(key, ast.Load())

    def call(self, fn: str | ast.expr, *args: ast.expr) -> ast.expr:
        func = ast.Name(fn, ast.Load()) if isinstance(fn, str) else fn
        return ast.Call(func, list(args), [])

    # -- values ----------------------------------------------------------------------------------
    def value(self, node: ir.Expr) -> ast.expr:
        match node:
            case ir.Const(value) if isinstance(value, _SCALARS):
                return ast.Constant(value)
            case ir.Path(root, (seg,), ("",)):
                # root.get(seg), the root read once at the top of the function (see `prologue`)
                return self.call(ast.Attribute(self.root(root), "get", ast.Load()),
                                 ast.Constant(seg))
            case ir.Const(value):
                return self.bind(value)
        return self.call(self.bind(compile_value(node), "f"), ast.Name("env", ast.Load()))

    # -- conditions ------------------------------------------------------------------------------
    def condition(self, node: ir.Cond) -> ast.expr:
        match node:
            case ir.And(conditions, _) | ir.Or(conditions, _):
                return ast.BoolOp(ast.And() if isinstance(node, ir.And) else ast.Or(),
                                  [self.condition(c) for c in conditions])
            case ir.Not(condition, _):
                return ast.UnaryOp(ast.Not(), self.condition(condition))
            case ir.Truth(expr, _):
                return self.call("truthy", self.value(expr))
            case ir.Test():
                return self.test(node)
        raise ValueError(f"not a condition: {type(node).__name__}")

    def test(self, node: ir.Test) -> ast.expr:
        op, left, right = node.op, node.left, node.right
        if op in ("is empty", "is not empty"):
            test = self.call("is_empty", self.value(left))
            return test if op == "is empty" else ast.UnaryOp(ast.Not(), test)
        const = right.value if isinstance(right, ir.Const) else None
        if op in ("=", "!=") and isinstance(const, str):
            # String equality, the commonest test, inline: v == C if type(v) is str else eq(v, C)
            tmp = self.name("v")
            constant = ast.Constant(const)
            test = ast.IfExp(
                ast.Compare(self.call("type", ast.NamedExpr(ast.Name(tmp, ast.Store()),
                                                             self.value(left))),
                            [ast.Is()], [ast.Name("str", ast.Load())]),
                ast.Compare(ast.Name(tmp, ast.Load()), [ast.Eq()], [constant]),
                self.call("eq", ast.Name(tmp, ast.Load()), constant))
            return test if op == "=" else ast.UnaryOp(ast.Not(), test)
        if op in ("in", "not in") and isinstance(const, list) and all(type(x) is str for x in const):
            # Membership in a list of strings: a set lookup, the general test for other values.
            tmp = self.name("v")
            test = ast.IfExp(
                ast.Compare(self.call("type", ast.NamedExpr(ast.Name(tmp, ast.Store()),
                                                             self.value(left))),
                            [ast.Is()], [ast.Name("str", ast.Load())]),
                ast.Compare(ast.Name(tmp, ast.Load()), [ast.In()], [self.bind(frozenset(const))]),
                self.call("is_in", ast.Name(tmp, ast.Load()), self.bind(const)))
            return test if op == "in" else ast.UnaryOp(ast.Not(), test)
        if right is not None and (op in _BINARY or op in V.NEGATIONS):
            test = self.call(_BINARY[V.NEGATIONS.get(op, op)], self.value(left), self.value(right))
            return ast.UnaryOp(ast.Not(), test) if op in V.NEGATIONS else test
        if right is not None and op in _ORDER:
            return self.call("compare", ast.Constant(op), self.value(left), self.value(right))
        # `matches` and the `changed` family keep their closures (precompiled RE2, previous value).
        return self.call(self.bind(compile_condition(node), "t"), ast.Name("env", ast.Load()))


def generate_condition(node: ir.Node) -> Pred:
    """A Python function env -> bool equivalent to `evaluation.compile_condition(node)`."""
    if not isinstance(node, ir.Cond):
        raise ValueError(f"not a condition: {type(node).__name__}")
    gen = _Gen()
    body = gen.condition(node)
    extra: dict[str, Any] = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
    func = ast.FunctionDef(
        name="zflow_condition",
        args=ast.arguments(posonlyargs=[], args=[ast.arg("env")], vararg=None, kwonlyargs=[],
                           kw_defaults=[], kwarg=None, defaults=[]),
        body=[*gen.prologue(), ast.Return(body)],   # every test yields a bool already
        decorator_list=[], returns=None, **extra)
    module = ast.fix_missing_locations(ast.Module([func], type_ignores=[]))
    code = compile(module, "<zflow condition>", "exec")
    exec(code, gen.namespace)
    return gen.namespace["zflow_condition"]  # type: ignore[no-any-return]


def _cached(plan: Plan, index: int, build: Callable[[Any], Any]) -> Any:
    """The function `build` makes of constant `index`, made once per plan object."""
    cache: dict[Any, Any] = plan._cache
    key = (build, index)
    if key not in cache:
        cache[key] = build(plan.constants[index])
    return cache[key]


def value_fn(plan: Plan, index: int) -> Fn:
    return _cached(plan, index, compile_value)  # type: ignore[no-any-return]


def condition_fn(plan: Plan, index: int) -> Pred:
    return _cached(plan, index, generate_condition)  # type: ignore[no-any-return]


def where_fn(plan: Plan) -> Pred:
    """The plan's WHERE condition (always true when it has none)."""
    if plan.condition < 0:
        return lambda env: True
    return condition_fn(plan, plan.condition)

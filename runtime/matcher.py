"""Which plans does an event start? An index from trigger to candidates, narrowed by equality.

For each trigger, a plan whose WHERE has a top-level `field = CONST` or `field in [CONSTS]` test
is filed under that field and value; a new event looks up the subject's value of each indexed
field and tests only those plans plus the ones with no such test. The full condition is always
evaluated on the candidates, so the result equals a plain scan's.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from runtime.conditions import where_fn
from runtime.events import event_data, parse_event, subject_root, triggered_by
from zentra_rules.domain import ir
from zentra_rules.domain.evaluation import Fn, explain, make_getter
from zentra_rules.domain.plan import Plan

# Fields that split a desk's rules best come first; any other equality test is used after them.
_PREFERENCE = ("category", "organizationId", "team", "type", "lifecycle", "channel", "status",
               "priority")


def _index_key(plan: Plan) -> tuple[tuple[str, ...], list[Any]] | None:
    """(path segments, constant values) of the plan's best discriminating test, if any."""
    if plan.condition < 0:
        return None
    cond = plan.constants[plan.condition]
    conjuncts = cond.conditions if isinstance(cond, ir.And) else (cond,)
    options: list[tuple[int, tuple[str, ...], list[Any]]] = []
    for c in conjuncts:
        if not isinstance(c, ir.Test) or c.op not in ("=", "in"):
            continue
        left, right = c.left, c.right
        if not isinstance(left, ir.Path) or left.root != plan.subject \
                or not isinstance(right, ir.Const):
            continue
        values = right.value if c.op == "in" else [right.value]
        if not isinstance(values, list) or not all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            continue
        segs = left.segs
        if not segs:   # the whole subject (`payload = "x"`): not a field to index on
            continue
        rank = _PREFERENCE.index(segs[-1]) if segs[-1] in _PREFERENCE else len(_PREFERENCE)
        options.append((rank, segs, values))
    if not options:
        return None
    _, segs, values = min(options, key=lambda o: o[0])
    return segs, values


class _Bucket:
    """The plans of one trigger."""

    def __init__(self) -> None:
        self.always: list[int] = []
        self.by_field: dict[tuple[str, ...], dict[Any, list[int]]] = defaultdict(dict)
        self.getters: dict[tuple[str, ...], Fn] = {}

    def candidates(self, root: str | None, subject: Any) -> list[int]:
        found = list(self.always)
        record = {root: subject} if root else {}
        for segs, table in self.by_field.items():
            value = self.getters[segs](record)
            try:
                found.extend(table.get(value, ()))
            except TypeError:   # an unhashable value equals no constant
                continue
        return sorted(set(found))


class Matcher:
    """Index of plans by trigger; `match` returns the plans an event starts, in plan order."""

    def __init__(self, plans: list[Plan]):
        self.plans = list(plans)
        self._buckets: dict[str, _Bucket] = defaultdict(_Bucket)
        for index, plan in enumerate(self.plans):
            if plan.kind != "workflow":
                continue
            key = _index_key(plan)
            for name in {t.event for t in plan.triggers}:
                bucket = self._buckets[name]
                if key is None:
                    bucket.always.append(index)
                    continue
                segs, values = key
                bucket.getters.setdefault(segs, make_getter(plan.subject or "", list(segs),
                                                            [""] * len(segs)))
                for value in dict.fromkeys(values):
                    bucket.by_field[segs].setdefault(value, []).append(index)

    def candidates(self, event: str, subject: Any) -> list[Plan]:
        """The plans worth testing for this event (a superset of the matches)."""
        name, qualifier = parse_event(event)
        bucket = self._buckets.get(name)
        if bucket is None:
            return []
        return [p for i in bucket.candidates(subject_root(name), subject)
                if triggered_by(p := self.plans[i], name, qualifier, subject)]

    def triggered(self, event: str, subject: Any) -> list[Plan]:
        """Every definition this event's trigger names, whatever its condition (dry runs
        explain the ones that did not fire too)."""
        name, qualifier = parse_event(event)
        return [p for p in self.plans if triggered_by(p, name, qualifier, subject)]

    def decide(self, event: str, subject: Any, data: dict[str, Any], now: datetime,
               every: bool = False) -> list[tuple[Plan, dict[str, Any]]]:
        """(plan, explain tree) of the plans this event starts (`every`: of all it triggers);
        `data` holds the roots the runs read (runtime.events.event_data). The one place that
        decides which plans an event starts, for the engine and dry runs alike."""
        env = {**data, "$now": now}
        out = []
        for plan in (self.triggered(event, subject) if every else self.candidates(event, subject)):
            fired = bool(where_fn(plan)(env))
            if fired or every:
                tree = (explain(plan.constants[plan.condition], env) if plan.condition >= 0
                        else {"text": "(no condition)", "value": True})
                out.append((plan, tree))
        return out

    def match(self, event: str, subject: Any, previous: Any = None, *,
              now: datetime) -> list[Plan]:
        """The plans whose trigger and condition hold for this event at `now`."""
        name, qualifier = parse_event(event)
        data = event_data(name, qualifier, subject, previous, now)
        return [plan for plan, _ in self.decide(event, subject, data, now)]


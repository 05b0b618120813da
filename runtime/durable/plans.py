"""The plans of published versions, loaded once each, and the matcher over the active ones."""

from __future__ import annotations

from typing import Any

from runtime.durable.ports import DefinitionPort
from runtime.matcher import Matcher
from zentra_rules.domain.plan import Plan


class Plans:
    """One per process: versions never change, so a loaded plan is kept for good."""

    def __init__(self, definitions: DefinitionPort):
        self.definitions = definitions
        self._plans: dict[int, Plan] = {}
        self._matcher: tuple[tuple[int, ...], Matcher, dict[int, int]] | None = None

    def plan(self, version_id: int) -> Plan:
        """A version's plan."""
        if version_id not in self._plans:
            self._plans[version_id] = Plan.from_json(self.definitions.version_plan(version_id))
        return self._plans[version_id]

    def plan_of(self, run: dict[str, Any]) -> Plan:
        """The plan a stored execution runs (the version it started with)."""
        return self.plan(int(run["version_id"]))

    def active(self) -> list[Plan]:
        """The plans of the active versions."""
        return [self.plan(v) for v, _ in self.definitions.active_versions()]

    def matcher(self) -> tuple[Matcher, dict[int, int]]:
        """The matcher over the active versions (rebuilt when the active set changes), and the
        version of each of its plans (by the plan object's id)."""
        active = tuple(v for v, _ in self.definitions.active_versions())
        if self._matcher is None or self._matcher[0] != active:
            plans = [self.plan(v) for v in active]
            self._matcher = (active, Matcher(plans),
                             {id(p): v for p, v in zip(plans, active, strict=True)})
        return self._matcher[1], self._matcher[2]

"""The action table: every `VERB OBJECT [= VALUE] [, KEY = VALUE]...` statement of the language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from zentra_rules.domain.schema import (
    ANY,
    DATETIME,
    DURATION,
    LIFECYCLES,
    NUMBER,
    STRING,
    TICKET_STATUS,
    Type,
    enum,
)


@dataclass(frozen=True)
class ActionSpec:
    verb: str
    object: str                    # the object words joined by one space ("internal note")
    value: str = "required"        # required | optional | none
    value_type: Type = STRING
    params: dict[str, Type] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    subject: str | None = None     # the record the statement acts on, if any
    changes: frozenset[str] = frozenset()  # subject fields it changes (for the re-trigger check)

    @property
    def form(self) -> str:
        text = f"{self.verb} {self.object}".strip()
        if self.value == "required":
            text += " = VALUE"
        elif self.value == "optional":
            text += " [= VALUE]"
        for key in self.params:
            text += f", {key} = …" if key in self.required else f" [, {key} = …]"
        return text


_MSG = {"message": STRING}

ACTIONS: Final[dict[tuple[str, str], ActionSpec]] = {(a.verb, a.object): a for a in (
    ActionSpec("assign", "team", subject="ticket", changes=frozenset({"team"})),
    ActionSpec("assign", "agent", subject="ticket", changes=frozenset({"agent"})),
    ActionSpec("transition", "status", value_type=enum(*TICKET_STATUS), subject="ticket",
               changes=frozenset({"status"})),
    ActionSpec("add", "internal note", subject="ticket"),
    ActionSpec("post", "reply", subject="ticket"),
    ActionSpec("add", "tag", subject="ticket", changes=frozenset({"tags"})),
    ActionSpec("remove", "tag", subject="ticket", changes=frozenset({"tags"})),
    ActionSpec("link", "ticket", subject="ticket"),
    ActionSpec("escalate", "", value="optional", value_type=NUMBER, subject="ticket",
               changes=frozenset({"escalationLevel"})),
    ActionSpec("notify", "email", params={"subject": STRING, "body": STRING}),
    ActionSpec("notify", "slack", params=_MSG),
    ActionSpec("notify", "slack dm", params=_MSG),
    ActionSpec("notify", "teams", params=_MSG),
    ActionSpec("notify", "teams dm", params=_MSG),
    ActionSpec("call", "webhook", params={"payload": ANY}),
    ActionSpec("update", "asset lifecycle", value_type=enum(*LIFECYCLES), subject="asset",
               changes=frozenset({"lifecycle"})),
    ActionSpec("attach", "contract", subject="asset"),
    ActionSpec("schedule", "renewal alert", value_type=DATETIME, params={"before": DURATION},
               subject="asset"),
    ActionSpec("send", "survey", params={"to": STRING}, required=frozenset({"to"})),
)}

# `create ticket NAME, KEY = VALUE, ...`: the keys are ticket fields.
CREATE_TICKET_REQUIRED: Final = frozenset({"title"})

VERBS: Final = sorted({verb for verb, _ in ACTIONS} | {
    "set", "create", "request", "wait", "if", "parallel", "terminate"})


def objects_of(verb: str) -> list[str]:
    """The objects a verb takes, for 'did you mean'."""
    return [obj for v, obj in ACTIONS if v == verb]

"""`GET /api/triggers`: the trigger catalog and the vocabulary are the language's own definitions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from compiler.parse import GRAMMAR
from compiler.typecheck import UNITS
from runtime.events import SCENARIO_EVENT, parse_event
from server import API
from zentra_rules.domain import schema
from zentra_rules.domain.actions import ACTIONS, VERBS
from zentra_rules.domain.values import FUNCTIONS
from zentra_rules.interfaces.api.http import ANY
from zentra_rules.interfaces.api.language import grammar_words
from zentra_rules.interfaces.api.openapi import openapi_document

from .serving import ADMIN, in_process


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with in_process(tmp_path) as c:
        yield c


def vocabulary(client: TestClient, headers: dict[str, str] = ADMIN) -> Any:
    response = client.get("/api/triggers", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_trigger_of_the_catalog_with_its_subject_and_fields(client: TestClient) -> None:
    body = vocabulary(client)
    assert [t["name"] for t in body["triggers"]] == list(schema.TRIGGERS)
    for trigger in body["triggers"]:
        spec = schema.TRIGGERS[trigger["name"]]
        assert (trigger["subject"], trigger["qualifier"], trigger["fires_when"]) == \
            (spec.subject, spec.qualifier, spec.fires_when)
        assert trigger["fields"] == {name: t.describe()
                                     for name, t in schema.RECORDS.get(spec.subject or "", {}).items()}
        # A qualified trigger shows an example qualifier, and only a qualified one.
        assert (trigger["example"] is not None) == (spec.qualifier is not None), trigger["name"]


def test_the_scenario_event_is_one_a_dry_run_takes(client: TestClient) -> None:
    scenario = vocabulary(client)["scenario"]
    assert scenario["name"] == SCENARIO_EVENT and scenario["name"] not in schema.TRIGGERS
    assert parse_event(f"{scenario['name']}:{scenario['example']}") == (SCENARIO_EVENT, scenario["example"])
    assert set(scenario["fields"]) == set(schema.RECORDS[scenario["subject"]])


def test_a_trigger_added_to_the_catalog_is_served(client: TestClient,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(schema.TRIGGERS, "ticket.reopened",
                        schema.TriggerSpec("ticket.reopened", "ticket", None, "a closed ticket opens again"))
    names = [t["name"] for t in vocabulary(client)["triggers"]]
    assert names[-1] == "ticket.reopened"


def test_statements_are_the_action_table_with_set_and_create(client: TestClient) -> None:
    language = vocabulary(client)["language"]
    served = {(s["verb"], s["object"]): s["form"] for s in language["statements"]}
    assert set(served) == set(ACTIONS) | {("set", ""), ("create", "ticket")}
    for key, spec in ACTIONS.items():
        assert served[key] == spec.form
    # Every word that starts a statement is served as a statement verb or a grammar keyword.
    assert set(VERBS) <= {verb for verb, _ in served} | set(language["keywords"])


def test_keywords_are_the_grammars(client: TestClient) -> None:
    language = vocabulary(client)["language"]
    keywords, constants = set(language["keywords"]), set(language["constants"])
    assert constants == {"true", "false", "null"}
    assert set(language["approver_kinds"]) == {"user", "role", "group"}
    assert {"workflow", "scenario", "when", "where", "then", "and", "or", "not", "if", "elif", "else",
            "end", "parallel", "branch", "wait", "until", "request", "approval", "from", "timeout",
            "terminate", "tz", "is", "empty", "contains", "matches", "changed", "starts", "ends",
            "sequential", "now"} <= keywords
    assert not keywords & constants and not keywords & set(language["approver_kinds"])
    # The words no field may be named: each is a keyword, a constant or a statement verb.
    text = GRAMMAR.read_text(encoding="utf-8")
    reserved = re.search(r"^Ident:\s*/\(\?i\)\(\?!\(\?:([a-z|]+)\)", text, re.M)
    assert reserved is not None
    verbs = {s["verb"] for s in language["statements"]}
    assert set(reserved.group(1).split("|")) <= keywords | constants | verbs
    assert {"is not empty", "starts with", "in", "!=", ">="} <= set(language["operators"])


def test_records_enums_units_functions_and_roles(client: TestClient) -> None:
    language = vocabulary(client)["language"]
    assert set(language["records"]) == set(schema.RECORDS)
    for kind, fields in schema.RECORDS.items():
        assert list(language["records"][kind]) == list(fields)
        for name, spec in fields.items():
            served = language["records"][kind][name]
            assert (served["type"], served["description"], served.get("enum", [])) == \
                (spec.kind, spec.describe(), list(spec.enum))
            assert served["read_only"] == (name in schema.READ_ONLY.get(kind, ()))
    assert language["enums"]["ticket.status"] == list(schema.TICKET_STATUS)
    assert language["enums"]["ticket.priority"] == list(schema.PRIORITIES)
    assert language["enums"]["asset.lifecycle"] == list(schema.LIFECYCLES)
    assert language["duration_units"] == list(UNITS)
    assert language["functions"] == list(FUNCTIONS)
    assert language["roots"] == list(schema.ROOTS)
    assert language["approval_outcomes"] == list(schema.APPROVAL_OUTCOMES)
    assert language["decisions"] == ["approved", "rejected", "timed_out"]
    assert language["roles"] == list(ANY)
    # The roles the playground's messages name are those the route table lets use it.
    table = {(method, path): roles for method, path, roles, *_ in API}
    for route in (("POST", "/api/playground/check"), ("POST", "/api/workflows")):
        assert tuple(language["editor_roles"]) == table[route]


def test_any_role_may_read_it_and_nobody_without_a_token(client: TestClient) -> None:
    made = client.post("/api/tokens", headers=ADMIN, json={"role": "viewer"})
    assert made.status_code == 201, made.text
    viewer = {"Authorization": f"Bearer {made.json()['token']}"}
    assert vocabulary(client, viewer) == vocabulary(client)
    assert client.get("/api/triggers").status_code == 401


def test_the_openapi_document_describes_the_answer() -> None:
    operation = openapi_document(API)["paths"]["/api/triggers"]["get"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["required"] == ["triggers", "scenario", "language"]
    assert "statements" in answer["properties"]["language"]["required"]
    assert operation["description"] == "Roles: " + ", ".join(ANY)


def test_grammar_words_reads_literals_and_word_alternatives() -> None:
    rules = grammar_words("/* a comment: 'nope' */\n"
                          "Loop: 'repeat' body=Block 'until' cond=Test;   // trailing 'nope'\n"
                          "Op: /(?i)(is\\s+not|in)\\b/ | '!=';\n"
                          "Name: /(?i)(?!(?:repeat|until)\\b)[A-Za-z_]\\w*/;\n")
    assert rules["Loop"] == {"words": ["repeat", "until"], "literals": ["repeat", "until"],
                             "refs": ["Block", "Test"]}
    assert rules["Op"]["words"] == ["is", "not", "in"]
    assert rules["Op"]["literals"] == ["is not", "in", "!="]
    assert rules["Name"]["words"] == []

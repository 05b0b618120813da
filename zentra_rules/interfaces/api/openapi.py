"""The OpenAPI document, written from the server's route table so it describes the real API."""

from __future__ import annotations

import re
from typing import Any

from zentra_rules.interfaces.api import language

OBJ: dict[str, Any] = {"type": "object"}
STR: dict[str, Any] = {"type": "string"}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": STR}}
SOURCE = {"type": "string", "description": "zflow source text"}
TICKET = {"type": "object", "description": "ticket fields (docs/language.md: subjects and their fields)",
          "properties": {"title": STR, "description": STR,
                         "status": {"enum": ["new", "open", "in_progress", "pending", "ready",
                                             "resolved", "closed", "cancelled"]},
                         "priority": {"enum": ["low", "normal", "high", "urgent"]},
                         "category": STR, "team": STR, "agent": STR, "requester": STR,
                         "tags": {"type": "array", "items": STR}}}
ASSET = {"type": "object", "properties": {
    "id": STR, "name": STR, "type": STR,
    "lifecycle": {"enum": ["ordered", "deployed", "in_repair", "retired", "disposed"]},
    "criticality": {"type": "integer", "minimum": 1, "maximum": 4}, "owner": STR}}

CHANGE = {"type": "object", "properties": {
    "id": STR, "title": STR, "status": STR, "risk": STR, "requestedBy": STR,
    "linkedAssets": {"type": "array", "items": STR}}}

# Request bodies by handler name.
BODIES: dict[str, dict[str, Any]] = {
    "publish": {"type": "object", "required": ["source"],
                "properties": {"source": SOURCE, "name": {**STR, "description":
                                                          "name of a headerless definition"}}},
    "activate": {"type": "object", "required": ["version"],
                 "properties": {"version": {"type": "integer", "minimum": 1}}},
    "check": {"type": "object", "required": ["source"], "properties": {"source": SOURCE}},
    "dry_run": {"type": "object", "required": ["source", "event"], "properties": {
        "source": SOURCE, "event": {**STR, "example": "ticket.created"}, "subject": OBJ,
        "previous": OBJ, "name": STR,
        "decisions": {"type": "object", "additionalProperties": {
            "enum": ["approved", "rejected", "timed_out"]}}}},
    "create_ticket": TICKET, "patch_ticket": TICKET,
    "create_asset": {**ASSET, "required": ["id"]}, "patch_asset": ASSET,
    "create_change": {**CHANGE, "required": ["id"]}, "patch_change": CHANGE,
    "create_user": {"type": "object", "required": ["id"], "properties": {
        "id": STR, "name": STR, "email": STR, "manager": STR, "vip": {"type": "boolean"},
        "slack": STR, "teams": STR,
        "roles": {"type": "array", "items": STR}, "groups": {"type": "array", "items": STR}}},
    "run_scenario": {"type": "object", "required": ["ticket"], "properties": {"ticket": STR}},
    "decide": {"type": "object", "required": ["decision"], "properties": {
        "decision": {"enum": ["approve", "reject"]}, "comment": STR}},
    "inbound_endpoint": {"type": "object", "required": ["name"], "properties": {"name": STR}},
    "outbound_endpoint": {"type": "object", "required": ["name", "url"], "properties": {
        "name": STR, "url": {**STR, "format": "uri"}, "secret": STR}},
    "create_rule": {"type": "object", "required": ["id", "event"],
                    "description": "a legacy AutomationRule (docs/legacy.md)", "properties": {
                        "id": STR, "title": STR, "active": {"type": "boolean"},
                        "position": {"type": "integer"}, "event": {**STR, "example": "ticket.created"},
                        "conditions": OBJ, "actions": {"type": "array", "items": OBJ}}},
    "create_token": {"type": "object", "required": ["role"], "properties": {
        "role": {"enum": ["admin", "editor", "agent", "viewer"]}, "user": STR}},
}
# Answers by handler name, where the document says more than "an object".
RESPONSES: dict[str, dict[str, Any]] = {"triggers": language.SCHEMA}
QUERIES: dict[str, list[str]] = {"executions": ["ticket", "workflow", "version", "status", "since",
                                                "until", "limit", "cursor"],
                                 "events": ["name", "kind", "id", "execution", "since", "until", "limit",
                                            "cursor"],
                                 "approvals": ["status"], "definitions": ["at"],
                                 "rule": ["limit"],
                                 **{f"{kind}_timeline": ["workflow", "limit", "cursor"]
                                    for kind in ("ticket", "asset", "change")}}
ERRORS = {"400": "malformed request (not JSON, bad header)", "401": "no or bad token",
          "403": "the token's role may not do this", "404": "no such record",
          "409": "conflicts with the current state", "413": "body over 1 MiB",
          "422": "invalid: a field is missing or wrong, or the script does not compile"}


def _operation(method: str, path: str, roles: tuple[str, ...], handler: Any, body: bool,
               status: int) -> dict[str, Any]:
    name = handler.__name__
    op: dict[str, Any] = {
        "operationId": name, "summary": (handler.__doc__ or name).strip().splitlines()[0],
        "description": "Roles: " + ", ".join(roles), "security": [{"bearer": []}],
        "parameters": [{"name": p, "in": "path", "required": True, "schema": STR}
                       for p in re.findall(r"{(\w+)}", path)]
        + [{"name": q, "in": "query", "required": False, "schema": STR}
           for q in QUERIES.get(name, [])],
        "responses": {str(status): {"description": "success"} if status == 204 else {
            "description": "success", "content": {"application/json": {
                "schema": RESPONSES.get(name, OBJ)}}}},
    }
    for code, text in ERRORS.items():
        op["responses"][code] = {"description": text,
                                 "content": {"application/json": {"schema": ERROR}}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": BODIES.get(name, OBJ)}}}
    return op


def openapi_document(api: list[tuple[str, str, tuple[str, ...], Any, bool, int]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, roles, handler, body, status in api:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, roles, handler,
                                                                body, status)
    paths["/hooks/{name}"] = {"post": {
        "operationId": "inbound_hook", "summary": "Inbound webhook (Standard Webhooks signature)",
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": STR}] + [
            {"name": n, "in": "header", "required": True, "schema": STR}
            for n in ("webhook-id", "webhook-timestamp", "webhook-signature")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": OBJ}}},
        "responses": {"202": {"description": "accepted", "content": {"application/json": {
            "schema": {"type": "object", "properties": {"event_id": {"type": "integer"}}}}}},
            **{c: {"description": ERRORS[c], "content": {"application/json": {"schema": ERROR}}}
               for c in ("400", "401", "404", "413", "422")}}}}
    return {"openapi": "3.0.3",
            "info": {"title": "Zentra rules", "version": "1",
                     "description": "The automation engine of the Zentra service desk."},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "paths": paths}

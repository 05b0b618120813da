"""Null-safe tests exactly as the language page says: no test ever raises."""

from __future__ import annotations

import pytest

from runtime.conditions import where_fn
from runtime.events import event_data

from .conftest import NOW, plan_of


def holds(condition: str, subject: dict, previous: dict | None = None) -> bool:  # type: ignore[type-arg]
    plan = plan_of(f"WHEN ticket.updated WHERE {condition} THEN escalate")
    env = event_data("ticket.updated", None, subject, previous, NOW)
    env["$now"] = NOW
    return where_fn(plan)(env)


@pytest.mark.parametrize("condition, expected", [
    ('category = "x"', False),
    ('category != "x"', True),
    ('category in ["x"]', False),
    ('category not in ["x"]', True),
    ('category < "x"', False),
    ('category >= "x"', False),
    ('category contains "x"', False),
    ('category starts with "x"', False),
    ('category ends with "x"', False),
    ('category matches "x"', False),
    ("category is empty", True),
    ("category is not empty", False),
    ("category", False),
    ("NOT category", True),
    ("len(category) = 0", True),
    ('lower(category) = "x"', False),
    ("linkedAsset.criticality <= 1", False),
    ("requester.manager.vip", False),
])
def test_a_missing_field_reads_as_null(condition: str, expected: bool) -> None:
    assert holds(condition, {}) is expected


@pytest.mark.parametrize("condition, subject, expected", [
    ('priority = "urgent" OR priority = "high" AND category = "x"', {"priority": "urgent"}, True),
    ('(priority = "urgent" OR priority = "high") AND category = "x"', {"priority": "urgent"}, False),
    ('NOT priority = "low" AND category = "x"', {"priority": "high", "category": "x"}, True),
    ('NOT (priority = "low" AND category = "x")', {"priority": "low", "category": "y"}, True),
    ('category = "network"', {"category": "Network"}, False),
    ('lower(category) = "network"', {"category": "Network"}, True),
    ('upper(category) = "NETWORK"', {"category": "Network"}, True),
    ('title contains "VPN"', {"title": "VPN down"}, True),
    ('tags contains "vip"', {"tags": ["vip", "x"]}, True),
    ('title matches "^(VPN|Wi-?Fi)\\\\b"', {"title": "WiFi slow"}, True),
    ('title matches "(a+)+$"', {"title": "a" * 5000 + "!"}, False),
    ("linkedAsset.criticality <= 1", {"linkedAsset": {"criticality": 1}}, True),
    ("linkedAsset.criticality <= 1", {"linkedAsset": {"criticality": "1"}}, False),
    ("dueAt < now", {"dueAt": "2026-11-25T08:00:00Z"}, True),
    ("dueAt < now - 4 hours", {"dueAt": "2026-11-25T08:00:00Z"}, False),
    ("createdAt > now - 2 days", {"createdAt": "2026-11-24T09:00:00+00:00"}, True),
    ('title + "!" = "a!"', {"title": "a"}, True),
    ("escalationLevel + 1 = 3", {"escalationLevel": 2}, True),
    ("len(tags) >= 2", {"tags": ["a", "b"]}, True),
    ("requester.vip", {"requester": {"vip": True}}, True),
    ("requester.vip = true", {"requester": {"vip": 1}}, False),
    ('custom.region = "EU"', {"custom": {"region": "EU"}}, True),
])
def test_operators(condition: str, subject: dict, expected: bool) -> None:  # type: ignore[type-arg]
    assert holds(condition, subject) is expected


@pytest.mark.parametrize("condition, subject, previous, expected", [
    ("status changed", {"status": "open"}, {"status": "new"}, True),
    ("status changed", {"status": "open"}, {"status": "open"}, False),
    ("status changed", {"status": "open"}, None, False),
    ('status changed to "open"', {"status": "open"}, {"status": "new"}, True),
    ('status changed to "open"', {"status": "pending"}, {"status": "new"}, False),
    ('status changed from "new"', {"status": "open"}, {"status": "new"}, True),
    ('status changed from "new"', {"status": "open"}, {"status": "pending"}, False),
    ('event.previous.priority = "low"', {"priority": "high"}, {"priority": "low"}, True),
    ("team changed", {"team": "A"}, {}, True),
])
def test_changes_compare_with_the_previous_subject(condition: str, subject: dict,  # type: ignore[type-arg]
                                                   previous: dict | None, expected: bool) -> None:  # type: ignore[type-arg]
    assert holds(condition, subject, previous) is expected


def test_references_stored_as_ids_are_read_through_records() -> None:
    plan = plan_of('WHEN ticket.created WHERE requester.manager.email ends with "@example.com" '
                   "THEN escalate")
    env = event_data("ticket.created", None, {"requester": "u1"}, None, NOW,
                     records={"user": {"u1": {"manager": "u2"}, "u2": {"email": "boss@example.com"}}})
    assert where_fn(plan)(env) is True
    env["$records"]["user"]["u2"]["email"] = "boss@elsewhere.org"
    assert where_fn(plan)(env) is False


def test_an_embedded_reference_reads_as_its_id() -> None:
    assert holds('requester.manager = "u_ceo"', {"requester": {"manager": {"id": "u_ceo"}}})
    assert holds('requester.manager = "u_ceo"', {"requester": {"manager": "u_ceo"}})
    assert holds('requester.manager.name = "Maria"',
                 {"requester": {"manager": {"id": "u_ceo", "name": "Maria"}}})


@pytest.mark.parametrize("condition, subject, expected", [
    ("dueAt < updatedAt", {"dueAt": "2026-03-01T10:00:00+02:00", "updatedAt": "2026-03-01T09:30:00Z"}, True),
    ('dueAt = "2026-03-01T08:00:00Z"', {"dueAt": "2026-03-01T10:00:00+02:00"}, True),
    ("dueAt < now", {"dueAt": "not a time"}, False),
    ("dueAt changed", {"dueAt": "2026-03-01T10:00:00Z"}, True),
])
def test_time_fields_compare_as_times_whatever_their_text(condition: str, subject: dict,  # type: ignore[type-arg]
                                                          expected: bool) -> None:
    assert holds(condition, subject, {"dueAt": None}) is expected


def test_changes_of_time_fields_compare_instants() -> None:
    subject, previous = {"dueAt": "2026-03-01T10:00:00+01:00"}, {"dueAt": "2026-02-01T10:00:00Z"}
    assert holds('dueAt changed to "2026-03-01T09:00:00Z"', subject, previous)
    assert holds('dueAt changed from "2026-02-01T11:00:00+01:00"', subject, previous)
    assert not holds("dueAt changed", subject, {"dueAt": "2026-03-01T09:00:00Z"})

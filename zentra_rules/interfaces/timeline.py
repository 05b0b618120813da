"""A record's timeline: every event that happened to it, and under each the definitions its
trigger named — fired (with the execution) or not, and why; then every execution that ran on,
created or changed the record, with what each statement changed.

Everything comes from what the store kept: the events with their subject, previous values and
the records the subject referred to; which versions were active when (the activation history);
the executions and their record links. Nothing is stored for a definition that did not fire: its
condition is evaluated again, by the engine's own matcher, on the stored event and against the
version that was active when the engine matched the event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from runtime.events import event_data
from runtime.matcher import Matcher
from zentra_rules.domain.changes import BOOKKEEPING
from zentra_rules.domain.errors import InputError, NotFoundError
from zentra_rules.domain.plan import Plan
from zentra_rules.domain.schema import RECORD_KINDS, TRIGGERS
from zentra_rules.domain.values import iso
from zentra_rules.store import Store

Record = dict[str, Any]
PlanOf = Callable[[int], Plan]   # a version's plan by its row id (the engine's cache)
ROLE_ORDER = ("subject", "created", "changed")


def check_id(kind: str, record_id: str) -> str:
    """A record id as the desk keeps it; a ticket's is a number (anything else is a 422)."""
    if kind not in RECORD_KINDS:
        raise InputError(f"a timeline is kept for {', '.join(RECORD_KINDS)}, not {kind!r}")
    text = str(record_id).strip()
    if kind == "ticket" and not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise InputError(f"a ticket id is a number of at most 18 digits, not {text[:40]!r}")
    if not text:
        raise InputError(f"an {kind} id is required" if kind[0] in "aeiou" else
                         f"a {kind} id is required")
    return text


class _Versions:
    """The versions active at a time and a matcher over their plans, each built once."""

    def __init__(self, store: Store, plan_of: PlanOf):
        self.store, self.plan_of = store, plan_of
        self._matchers: dict[tuple[int, ...], tuple[Matcher, dict[int, Record]]] = {}

    def at(self, when: datetime) -> tuple[Matcher, dict[int, Record]]:
        """The matcher over the versions active at `when`, and each plan's version record."""
        active = self.store.definitions.active_at(when)
        key = tuple(sorted(a["version_id"] for a in active))
        if key not in self._matchers:
            plans = [(self.plan_of(a["version_id"]), a) for a in active]
            self._matchers[key] = (Matcher([p for p, _ in plans]), {id(p): a for p, a in plans})
        return self._matchers[key]


def timeline(store: Store, plan_of: PlanOf, kind: str, record_id: str, *,
             workflow: str | None = None, after: int | None = None,
             limit: int | None = None) -> Record:
    """The timeline of one record (`after`, `limit`: a page of its events, oldest first;
    `workflow`: only that definition's part). `more` says whether events follow the page."""
    record_id = check_id(kind, record_id)
    if store.records.get_record(kind, record_id) is None:
        raise NotFoundError(f"no {kind} {record_id}")
    events = store.events.on_record(kind, record_id, after=after,
                                    limit=None if limit is None else limit + 1)
    more = limit is not None and len(events) > limit
    events = events[:limit] if limit is not None else events
    links: dict[int, list[Record]] = {}
    for link in store.links.of_record(kind, record_id):
        links.setdefault(link["execution"], []).append(link)
    ran = sorted(set(links) | set(store.runs.on_subject(kind, record_id)))
    started: dict[int, list[Record]] = {}
    for run in store.runs.summaries(events=[e["id"] for e in events]):
        if "error" not in run:
            started.setdefault(run["event"], []).append(run)
    versions = _Versions(store, plan_of)
    entries = [_entry(store, versions, event, started.get(event["id"], []), links, workflow)
               for event in events]
    executions = [_execution(run, links.get(run["id"], []), kind, record_id)
                  for run in store.runs.summaries(ids=ran)
                  if workflow is None or run.get("workflow") in (None, workflow)]
    return {"record": {"kind": kind, "id": record_id}, "workflow": workflow, "entries": entries,
            "executions": executions, "more": more,
            "last_event": events[-1]["id"] if events else None}


def _entry(store: Store, versions: _Versions, event: Record, runs: list[Record],
           links: dict[int, list[Record]], workflow: str | None) -> Record:
    """One event and the definitions its trigger named, as the engine decided when it matched."""
    name, qualifier, subject = event["name"], event["qualifier"], event["subject"]
    definitions: list[Record] = []
    records_from = "none"
    if name in TRIGGERS:
        when = event["processed_at"] or event["at"]
        matcher, active = versions.at(when)
        data, records_from = _data(store, event, runs)
        trigger = name + (f":{qualifier}" if qualifier else "")
        shown: set[int] = set()
        for plan, tree in matcher.decide(trigger, subject, data, when, every=True):
            mine = [r for r in runs if r["workflow"] == plan.name]
            if mine:
                definitions += [_fired(r, links.get(r["id"], [])) for r in mine]
                shown.update(r["id"] for r in mine)
            else:
                definitions.append(_candidate(plan, active[id(plan)], tree, event))
        # A run of a version not active then (a change at the very moment it was matched).
        definitions += [_fired(r, links.get(r["id"], [])) for r in runs if r["id"] not in shown]
    if workflow is not None:
        definitions = [d for d in definitions if d["workflow"] == workflow]
    return {"event": _event(event, records_from), "definitions": definitions}


def _data(store: Store, event: Record, runs: list[Record]) -> tuple[Record, str]:
    """What the definitions read for this event, and where its referenced records came from:
    a run's own inputs or the event's stored records (`as matched`), else the desk's records as
    they are now (an event stored before the desk kept them)."""
    for run in runs:
        data = (run.get("inputs") or {}).get("data")
        if isinstance(data, dict):
            return data, "as matched"
    records = event.get("records")
    source = "as matched"
    subject = event["subject"]
    if records is None and event["subject_kind"] in RECORD_KINDS and isinstance(subject, dict):
        records = store.records.referenced(event["subject_kind"], subject)
        source = "as they are now"
    return event_data(event["name"], event["qualifier"], subject, event["previous"], event["at"],
                      event["actor"], records), source


def _event(event: Record, records_from: str) -> Record:
    previous, subject = event["previous"], event["subject"]
    fields = None
    if isinstance(previous, dict) and isinstance(subject, dict):
        fields = {k: [previous.get(k), subject.get(k)] for k in {*previous, *subject} - BOOKKEEPING
                  if previous.get(k) != subject.get(k)}
        fields = dict(sorted(fields.items()))
    return {"id": event["id"], "name": event["name"], "qualifier": event["qualifier"],
            "at": iso(event["at"]), "actor": event["actor"], "execution": event["execution"],
            "processed_at": iso(event["processed_at"]) if event["processed_at"] else None,
            "fields": fields, "records": records_from}


def _candidate(plan: Plan, version: Record, tree: Record, event: Record) -> Record:
    """A definition the event's trigger named that started no run: why not (its condition)."""
    out: Record = {"workflow": plan.name, "version": version["version"], "kind": plan.kind,
                   "fired": bool(tree["value"]), "explain": tree}
    if out["fired"]:   # not matched yet (or no run was recorded): no execution to show
        out.update(execution=None, status="pending" if event["processed_at"] is None else None,
                   path=[], changes=[])
    return out


def _changes(links: list[Record]) -> list[Record]:
    return [{"pc": link["pc"], "line": link["line"], "statement": link["statement"],
             "instruction": link["instruction"], "field": link["field"], "old": link["old"],
             "new": link["new"], "at": link["at"]} for link in links if link["role"] == "changed"]


def _fired(run: Record, links: list[Record]) -> Record:
    """A definition the event started: its execution, how it went and what it changed here."""
    out: Record = {"workflow": run["workflow"], "version": run["version"], "kind": run["kind"],
                   "fired": True, "explain": (run.get("inputs") or {}).get("explain"),
                   "execution": run["id"], "status": run["status"], "path": run["path"],
                   "changes": _changes(links)}
    if run.get("reason"):
        out["reason"] = run["reason"]
    return out


def _execution(run: Record, links: list[Record], kind: str, record_id: str) -> Record:
    """An execution linked to the record: in which roles, and each change it made to it."""
    if "error" in run:   # a row the store could not read: reported as such
        return {"execution": run["id"], "error": run["error"]}
    roles = {link["role"] for link in links}
    if run["subject"] == {"kind": kind, "id": record_id}:
        roles.add("subject")   # also for runs stored before record links were kept
    created = next(({"pc": link["pc"], "line": link["line"], "statement": link["statement"],
                     "instruction": link["instruction"], "at": link["at"]}
                    for link in links if link["role"] == "created"), None)
    out: Record = {"execution": run["id"], "workflow": run["workflow"], "version": run["version"],
                   "kind": run["kind"], "status": run["status"], "trigger": run["trigger"],
                   "event": run["event"], "created_at": run["created_at"],
                   "roles": [r for r in ROLE_ORDER if r in roles], "created": created,
                   "changes": _changes(links)}
    if run.get("reason"):
        out["reason"] = run["reason"]
    return out

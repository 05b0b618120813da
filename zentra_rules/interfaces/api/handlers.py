"""The API's handlers: request data in, calls on the engine and store, JSON out (no HTTP here)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

import runtime
from compiler import compile_text
from compiler.legacy import load_rules, translate, translate_rule
from runtime.trace import stored_trace
from zentra_rules.domain import jsonlimits, plangraph
from zentra_rules.domain.errors import CompileError, InputError, NotFoundError, ZentraError
from zentra_rules.domain.plan import Op
from zentra_rules.domain.schema import RECORDS, TRIGGERS
from zentra_rules.domain.values import as_datetime, iso
from zentra_rules.integrations.webhooks import new_secret, sign
from zentra_rules.interfaces.api.http import Call, HTTPError, need
from zentra_rules.interfaces.timeline import timeline
from zentra_rules.interfaces.web import SAMPLES
from zentra_rules.store.runs import unreadable

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def _state(call: Call) -> Any:
    return call.request.app.state


# A page of a listing, and the most one may ask for.
PAGE, MAX_PAGE = 100, 500


def _whole(value: str) -> int | None:
    """ASCII digits, at most 12 (`²` is a digit to Python), as a number; None otherwise."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def _int(value: str, what: str) -> int:
    """A path id: anything that is not one names no record."""
    number = _whole(value)
    if number is None:
        raise NotFoundError(f"no {what} {value}")
    return number


# -- catalog and definitions ---------------------------------------------------------------
def triggers(call: Call) -> dict[str, Any]:
    out = []
    for t in TRIGGERS.values():
        fields = {name: spec.describe() for name, spec in RECORDS.get(t.subject or "", {}).items()}
        out.append({"name": t.name, "subject": t.subject, "qualifier": t.qualifier,
                    "fires_when": t.fires_when, "fields": fields})
    return {"triggers": out}


def _compile(source: Any, name: Any) -> Any:
    if name is not None and not NAME.match(name):
        raise HTTPError(422, "`name` is letters, digits, `_`, `-` and `.`, up to 100 characters")
    return compile_text(source, f"{name or 'workflow'}.zflow")


def publish(call: Call) -> dict[str, Any]:
    source = need(call.body, "source", str)
    result = _compile(source, need(call.body, "name", str, required=False))
    return {"definitions": _state(call).engine.publish(result.plans, call.actor),
            "warnings": [d.to_dict() for d in result.warnings]}


def definitions(call: Call) -> dict[str, Any]:
    """The definitions and their active versions (`at`: the versions active at that time)."""
    at = _time(call.query.get("at"), "at")
    store = _state(call).store
    if at is None:
        return {"definitions": store.definitions.listing()}
    return {"at": iso(at), "definitions": [
        {"name": a["name"], "kind": a["kind"], "active_version": a["version"]}
        for a in store.definitions.active_at(at)]}


def definition(call: Call) -> dict[str, Any]:
    return _state(call).store.definitions.definition(call.params["name"])  # type: ignore[no-any-return]


def activate(call: Call) -> dict[str, Any]:
    version = need(call.body, "version", int)
    if not 1 <= version <= 2**31:
        raise NotFoundError(f"`{call.params['name']}` has no version {version}")
    state = _state(call)
    state.store.definitions.activate(call.params["name"], version, state.engine.clock.now(),
                                     call.actor)
    return {"name": call.params["name"], "active_version": version}


def deactivate(call: Call) -> dict[str, Any]:
    state = _state(call)
    state.store.definitions.activate(call.params["name"], None, state.engine.clock.now(),
                                     call.actor)
    return {"name": call.params["name"], "active_version": None}


# -- the playground ----------------------------------------------------------------------
def check(call: Call) -> dict[str, Any]:
    source = need(call.body, "source", str)
    try:
        result = compile_text(source, "workflow.zflow")   # the name publishing gives it too
    except CompileError as exc:
        return {"ok": False, "diagnostics": [d.to_dict() for d in exc.diagnostics],
                "definitions": []}
    defs = [{"kind": p.kind, "name": p.name,
             "triggers": [t.event + (f":{t.qualifier}" if t.qualifier else "") for t in p.triggers],
             "approvals": [str(i.args[0]) for i in p.code if i.op is Op.REQUEST]}
            for p in result.plans]
    return {"ok": True, "diagnostics": [d.to_dict() for d in result.warnings], "definitions": defs}


def dry_run(call: Call) -> dict[str, Any]:
    source = need(call.body, "source", str)
    event = need(call.body, "event", str)
    subject = need(call.body, "subject", dict, required=False) or {}
    previous = need(call.body, "previous", dict, required=False)
    decisions = need(call.body, "decisions", dict, required=False) or {}
    if not all(isinstance(v, str) for v in decisions.values()):
        raise HTTPError(422, "`decisions` maps approval names to approved, rejected or timed_out")
    compiled = _compile(source, need(call.body, "name", str, required=False))
    plans = compiled.plans
    engine = _state(call).engine
    trace = runtime.dry_run(plans, event, subject, previous, decisions, now=engine.clock.now(),
                            actor=call.actor, records=engine.directory(plans, event, subject))
    trace["warnings"] = [d.to_dict() for d in compiled.warnings]
    by_name = {p.name: p for p in plans}
    trace["disassembly"] = {r["workflow"]: by_name[r["workflow"]].disassemble(mark=set(r["path"]))
                            for r in trace["runs"] if r["workflow"] in by_name}
    # One run per definition in a dry run, so each graph can carry that run's path.
    trace["graphs"] = {r["workflow"]: plangraph.mark(plangraph.graph(by_name[r["workflow"]]), r)
                       for r in trace["runs"] if r["workflow"] in by_name}
    return trace  # type: ignore[no-any-return]


def samples(call: Call) -> Any:
    try:
        return json.loads(SAMPLES.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"samples": []}


# -- records ---------------------------------------------------------------------------------
def _ticket_view(call: Call, ticket_id: str) -> dict[str, Any]:
    store = _state(call).store
    ticket = store.records.get_ticket(ticket_id)
    if ticket is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    return {**ticket, "notes": store.records.notes(ticket_id), "links": store.records.links(ticket_id)}


def create_ticket(call: Call) -> dict[str, Any]:
    return _state(call).engine.create_ticket(call.body, call.actor)  # type: ignore[no-any-return]


def get_ticket(call: Call) -> dict[str, Any]:
    return _ticket_view(call, call.params["id"])


def patch_ticket(call: Call) -> dict[str, Any]:
    ticket_id = call.params["id"]
    if _state(call).store.records.get_ticket(ticket_id) is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    _state(call).engine.update_ticket(ticket_id, call.body, call.actor)
    return _ticket_view(call, ticket_id)


def _put(call: Call, kind: str, create: bool) -> dict[str, Any]:
    """Create or change an asset or a change record (kept by id; each change is an event)."""
    engine = _state(call).engine
    put = engine.put_asset if kind == "asset" else engine.put_change
    if create:
        return put(call.body, True, call.actor)  # type: ignore[no-any-return]
    if "id" in call.body and call.body["id"] != call.params["id"]:
        raise InputError(f"a{'n' if kind == 'asset' else ''} {kind}'s `id` cannot be changed")
    _get(call, kind)
    return put({**call.body, "id": call.params["id"]}, False, call.actor)  # type: ignore[no-any-return]


def _get(call: Call, kind: str) -> dict[str, Any]:
    record = _state(call).store.records.get_record(kind, call.params["id"])
    if record is None:
        raise NotFoundError(f"no {kind} {call.params['id']}")
    return record  # type: ignore[no-any-return]


def create_asset(call: Call) -> dict[str, Any]:
    return _put(call, "asset", create=True)


def get_asset(call: Call) -> dict[str, Any]:
    return _get(call, "asset")


def patch_asset(call: Call) -> dict[str, Any]:
    return _put(call, "asset", create=False)


def create_change(call: Call) -> dict[str, Any]:
    return _put(call, "change", create=True)


def get_change(call: Call) -> dict[str, Any]:
    return _get(call, "change")


def patch_change(call: Call) -> dict[str, Any]:
    """A change record's fields; `status` becoming `approved` emits `change.approved`."""
    return _put(call, "change", create=False)


def create_user(call: Call) -> dict[str, Any]:
    with _state(call).store.tx():
        return _state(call).store.records.create_user(call.body)  # type: ignore[no-any-return]


# -- runs -------------------------------------------------------------------------------------
def _with_trace(call: Call, run: dict[str, Any]) -> dict[str, Any]:
    engine = _state(call).engine
    if "error" in run:   # a row the store could not read: reported as such
        return run
    if "steps" not in run:
        run = engine.store.runs.execution(run["id"])
        if "error" in run:
            return run
    view = {k: v for k, v in run.items() if k not in ("state", "version_id")}
    view["trace"] = stored_trace(run, engine.plan_of(run))
    return view


def _listed(call: Call, run: dict[str, Any]) -> dict[str, Any]:
    """One entry of a listing: the execution, or `{"id", "error"}` when it cannot be shown."""
    try:
        view = _with_trace(call, run)
        jsonlimits.check(view)   # what cannot be sent as JSON is an error of this entry only
        return view
    except (ValueError, TypeError, KeyError, ZentraError) as exc:
        return unreadable(run.get("id"), exc)


def run_scenario(call: Call) -> dict[str, Any]:
    ticket = need(call.body, "ticket", (str, int))
    execution = _state(call).engine.start_scenario(call.params["name"], str(ticket), call.actor)
    return _with_trace(call, _state(call).store.runs.execution(execution))


def executions(call: Call) -> dict[str, Any]:
    """Executions, newest first, a page at a time (`next_cursor` fetches the next page)."""
    q = call.query
    limit, before, since, until = _paging(q)
    rows = _state(call).store.runs.executions(
        ticket=q.get("ticket"), workflow=q.get("workflow"), status=q.get("status"),
        version=_number(q.get("version"), "version"), limit=limit + 1, before=before,
        since=since, until=until)
    return _page("executions", rows, limit, lambda run: _listed(call, run))


def events(call: Call) -> dict[str, Any]:
    """Events as they happened, newest first, a page at a time (as executions)."""
    q = call.query
    limit, before, since, until = _paging(q)
    rows = _state(call).store.events.listing(
        name=q.get("name"), subject_kind=q.get("kind"), subject_id=q.get("id"),
        execution=_number(q.get("execution"), "execution"), limit=limit + 1, before=before,
        since=since, until=until)
    return _page("events", rows, limit, _event_view)


def _event_view(event: dict[str, Any]) -> dict[str, Any]:
    """An event as the API shows it: the record it happened to as `{kind, id}`, like executions."""
    return {"id": event["id"], "name": event["name"], "qualifier": event["qualifier"],
            "subject": {"kind": event["subject_kind"], "id": event["subject_id"]},
            "record": event["subject"], "previous": event["previous"], "cascade": event["cascade"],
            "actor": event["actor"], "at": iso(event["at"]), "execution": event["execution"],
            "processed_at": iso(event["processed_at"]) if event["processed_at"] else None}


def _paging(q: Any) -> tuple[int, int | None, datetime | None, datetime | None]:
    """A listing's page size, cursor and time range, checked (a bad one is a 422 naming it)."""
    limit = _number(q.get("limit"), "limit")
    limit = PAGE if limit is None else limit
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"`limit` is 1 to {MAX_PAGE}, not {limit}")
    return limit, _cursor(q.get("cursor")), _time(q.get("since"), "since"), \
        _time(q.get("until"), "until")


def _page(key: str, rows: list[dict[str, Any]], limit: int,
          show: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """`limit` of the `limit + 1` rows asked for, and the cursor of the next page if the extra
    row says there is one."""
    page = rows[:limit]
    return {key: [show(r) for r in page],
            "next_cursor": _next_cursor(page[-1]["id"]) if len(rows) > limit else None}


def _next_cursor(last_id: Any) -> str:
    """Opaque to clients: the id the next page starts below."""
    return base64.urlsafe_b64encode(f"x{int(last_id)}".encode()).decode().rstrip("=")


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        if text[:1] == "x" and (before := _whole(text[1:])) is not None:
            return before
    except (ValueError, UnicodeDecodeError):
        pass
    raise InputError("`cursor` is not one this API gave out (use `next_cursor` as it is)")


def _number(value: str | None, name: str) -> int | None:
    """A query parameter that is a whole number (absent: None)."""
    if value is None:
        return None
    number = _whole(value)
    if number is None:
        raise InputError(f"`{name}` is a whole number, not {value[:40]!r}")
    return number


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    at = as_datetime(value)
    if at is None:
        raise InputError(f"`{name}` is an ISO 8601 time such as 2026-11-25T09:00:00Z, not {value!r}")
    return at


def _timeline(call: Call, kind: str) -> dict[str, Any]:
    """A record's events, oldest first, a page at a time, each with the definitions its trigger
    named (fired or not, and why), and every execution linked to the record."""
    q = call.query
    limit = _number(q.get("limit"), "limit")
    limit = PAGE if limit is None else limit
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"`limit` is 1 to {MAX_PAGE}, not {limit}")
    engine = _state(call).engine
    found = timeline(_state(call).store, engine.plans.plan, kind, call.params["id"],
                     workflow=q.get("workflow"), after=_cursor(q.get("cursor")), limit=limit)
    more, last = found.pop("more"), found.pop("last_event")
    found["next_cursor"] = _next_cursor(last) if more else None
    return found


def ticket_timeline(call: Call) -> dict[str, Any]:
    """A ticket's timeline: why each workflow did or did not run on each of its events."""
    return _timeline(call, "ticket")


def asset_timeline(call: Call) -> dict[str, Any]:
    """An asset's timeline: why each workflow did or did not run on each of its events."""
    return _timeline(call, "asset")


def change_timeline(call: Call) -> dict[str, Any]:
    """A change record's timeline: why each workflow did or did not run on each of its events."""
    return _timeline(call, "change")


def _stored(call: Call) -> dict[str, Any]:
    """The execution the path names, as stored; a row that cannot be read is a 409 (the
    listing shows it in its own entry) — never a 500."""
    run = _state(call).store.runs.execution(_int(call.params["id"], "execution"))
    if "error" in run:
        raise HTTPError(409, f"execution {call.params['id']} cannot be read: {run['error']}")
    return run


def execution(call: Call) -> dict[str, Any]:
    return _with_trace(call, _stored(call))


def execution_graph(call: Call) -> dict[str, Any]:
    """The graph of an execution's plan version, marked with the path the execution took."""
    stored = _stored(call)
    run = _with_trace(call, stored)
    trace = run["trace"]
    drawn = plangraph.mark(plangraph.graph(_state(call).engine.plan_of(stored)), trace)
    # What the graph's details read: the condition and every decision of the run.
    return {"execution": run["id"], "workflow": run["workflow"], "version": run["version"],
            "status": run["status"], "graph": drawn,
            "run": {k: trace.get(k) for k in ("fired", "explain", "path", "timeline")}}


# -- approvals ----------------------------------------------------------------------------
def approvals(call: Call) -> dict[str, Any]:
    store, caller = _state(call).store, call.caller
    rows = store.approvals.listing(status=call.query.get("status"))
    if caller["role"] != "admin":   # everyone else sees what they are (or were) asked to decide
        me = {caller.get("user")} | {(store.records.get_user(caller["user"]) or {}).get("email")} \
            if caller.get("user") else set()
        rows = [r for r in rows if me & {u for e in r["approvers"] for u in e["users"]}]
    return {"approvals": rows}


def decide(call: Call) -> dict[str, Any]:
    decision = need(call.body, "decision", str)
    comment = need(call.body, "comment", str, required=False)
    request_id = _int(call.params["id"], "approval request")
    _state(call).store.approvals.approval(request_id)          # 404 before 403
    user = call.caller.get("user")
    if not user:
        raise HTTPError(403, "this token acts for no user, and only an asked approver may decide")
    return _state(call).engine.decide(request_id, user, decision, comment)  # type: ignore[no-any-return]


# -- webhooks and tokens ------------------------------------------------------------------
def _name(call: Call) -> str:
    name = need(call.body, "name", str)
    if not NAME.match(name):
        raise HTTPError(422, "`name` is letters, digits, `_`, `-` and `.`, up to 100 characters")
    return name  # type: ignore[no-any-return]


def inbound_endpoint(call: Call) -> dict[str, Any]:
    name, secret = _name(call), new_secret()
    store = _state(call).store
    with store.tx():
        store.webhooks.register_endpoint(name, "inbound", secret, _state(call).engine.clock.now())
    return {"name": name, "url": f"/hooks/{name}", "secret": secret}


def outbound_endpoint(call: Call) -> dict[str, Any]:
    name, url = _name(call), need(call.body, "url", str)
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:   # e.g. an unclosed IPv6 bracket
        valid = False
    if not valid:
        raise HTTPError(422, "`url` must be an http:// or https:// URL")
    secret = need(call.body, "secret", str, required=False) or new_secret()
    try:
        sign(secret, "check", 0, b"")
    except InputError:
        raise HTTPError(422, "`secret` must be `whsec_` followed by base64") from None
    store = _state(call).store
    with store.tx():
        store.webhooks.register_endpoint(name, "outbound", secret, _state(call).engine.clock.now(), url)
    return {"name": name, "url": url}


def create_token(call: Call) -> dict[str, Any]:
    role = need(call.body, "role", str)
    user = need(call.body, "user", str, required=False)
    store = _state(call).store
    with store.tx():
        token = store.tokens.create_token(role, user, _state(call).engine.clock.now())
        return {"id": store.tokens.token_id(token), "token": token, "role": role, "user": user}


def tokens(call: Call) -> dict[str, Any]:
    return {"tokens": _state(call).store.tokens.listing()}


def revoke_token(call: Call) -> Response:
    store = _state(call).store
    with store.tx():
        store.tokens.revoke_token(_int(call.params["id"], "token"), _state(call).engine.clock.now())
    return Response(status_code=204)


# -- legacy automation rules ----------------------------------------------------------------
def create_rule(call: Call) -> dict[str, Any]:
    """Store a legacy rule; its event's rules run again as one translated workflow version."""
    (rule,) = load_rules(call.body)
    state = _state(call)
    warnings: list[dict[str, Any]] = []
    with state.store.tx():
        old = state.store.definitions.put_rule(rule)
        published = []
        for event in dict.fromkeys([rule["event"], *([old["event"]] if old else [])]):
            rules = state.store.definitions.rules_for(event)
            name = f"legacy {event}"
            if any(r.get("active", True) for r in rules):
                result = compile_text(translate(rules), "legacy.zflow")
                published += state.engine.publish(result.plans, call.actor)
                warnings += [d.to_dict() for d in result.warnings]
            elif name in {d["name"] for d in state.store.definitions.listing()}:
                state.store.definitions.activate(name, None, state.engine.clock.now(), call.actor)
    return {"id": rule["id"], "event": rule["event"], "active": rule.get("active", True),
            "workflows": published, "warnings": warnings, "zflow": translate_rule(rule)}


RULE_RUNS, MAX_RULE_RUNS = 20, 100


def rule(call: Call) -> dict[str, Any]:
    """A legacy rule as stored, with the recent runs of its translation: did it fire in each."""
    state = _state(call)
    found = state.store.definitions.rule(call.params["id"])
    limit = _number(call.query.get("limit"), "limit")
    limit = RULE_RUNS if limit is None else limit
    if not 1 <= limit <= MAX_RULE_RUNS:
        raise InputError(f"`limit` is 1 to {MAX_RULE_RUNS}, not {limit}")
    name = f"legacy {found['event']}"
    active = next((d["active_version"] for d in state.store.definitions.listing()
                   if d["name"] == name), None)
    runs = [_rule_run(call, run, found["id"])
            for run in state.store.runs.executions(workflow=name, limit=limit)]
    return {"id": found["id"], "event": found["event"], "active": found.get("active", True),
            "rule": found, "workflow": {"name": name, "active_version": active}, "runs": runs}


def _rule_run(call: Call, run: dict[str, Any], rule_id: str) -> dict[str, Any]:
    """One run of a translation as a rule sees it: fired or not, reached or not, and why;
    `fired` is null in a run of a version the rule was not part of (inactive or not yet there)."""
    if "error" in run:
        return run
    try:
        engine = _state(call).engine
        full = engine.store.runs.execution(run["id"])
        if "error" in full:
            return full
        trace = stored_trace(full, engine.plan_of(full))
    except (ValueError, TypeError, KeyError, ZentraError) as exc:
        return unreadable(run["id"], exc)
    mine = next((r for r in trace.get("rules") or [] if r["id"] == rule_id), None)
    return {"execution": run["id"], "version": run["version"], "status": run["status"],
            "created_at": run["created_at"], "subject": run["subject"],
            "in_version": mine is not None, "fired": None if mine is None else mine["fired"],
            "reached": None if mine is None else mine["reached"],
            "explain": None if mine is None else mine["explain"]}


def rule_zflow(call: Call) -> dict[str, Any]:
    rule = _state(call).store.definitions.rule(call.params["id"])
    return {"id": rule["id"], "zflow": translate_rule(rule)}

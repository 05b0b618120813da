"""Zentra rules micro-benchmarks: every number is a ratio against a baseline measured in this run.

    .venv/bin/python bench/run.py [--quick]

1. compile throughput: textX parse alone vs full compile_source (parse + check + lower)
2. compiled WHERE closure vs a hand-written lambda doing the same test on the same dict
3. Matcher.match vs a plain scan evaluating every plan's where_fn (10,000 workflows)

The machine is noisy: each figure is the best of several repetitions after a warm-up, the
measure and its baseline run round-robin so drift hits both alike, and nothing is asserted
about speed — only about correctness (same plans matched, same results).
"""

from __future__ import annotations

import argparse
import gc
import io
import random
import sys
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compiler import compile_source
from compiler.parse import metamodel
from runtime.conditions import where_fn
from runtime.events import event_data
from runtime.matcher import Matcher

# -- vocabulary --------------------------------------------------------------------------------
CATEGORIES = ["Network", "Hardware", "Software", "Identity", "Email", "Printing", "VPN",
              "Database", "Storage", "Security", "Facilities", "Telephony"]
TEAMS = ["Network", "Service Desk", "Field IT", "IAM", "Messaging", "DBA", "Storage", "SecOps",
         "Facilities", "Voice", "Apps", "Cloud"]
PRIORITIES = ["low", "normal", "high", "urgent"]
STATUSES = ["new", "open", "in_progress", "pending", "ready", "resolved", "closed", "cancelled"]
CHANNELS = ["email", "portal", "chat", "phone", "api"]
ORDERS = ["sequential", "parallel any", "parallel all"]
LIFECYCLES = ["ordered", "deployed", "in_repair", "retired", "disposed"]
ORGS = [f"org-{i}" for i in range(20)]
TAGS = ["vip", "outage", "hardware", "follow-up", "security", "billing", "onboarding"]
SLACK = ["#incidents", "#servicedesk", "#network-ops", "#secops", "#field-it", "#dba"]


def q(s: str) -> str:
    return '"' + s + '"'


def qlist(rng: random.Random, pool: list[str], lo: int = 2, hi: int = 4) -> str:
    return "[" + ", ".join(q(x) for x in rng.sample(pool, rng.randint(lo, hi))) + "]"


# -- 1. a realistic 1,000-definition script -------------------------------------------------------
def ticket_test(rng: random.Random) -> str:
    kind = rng.randrange(10)
    if kind == 0:
        return f"priority = {q(rng.choice(PRIORITIES))}"
    if kind == 1:
        return f"category = {q(rng.choice(CATEGORIES))}"
    if kind == 2:
        return f"category in {qlist(rng, CATEGORIES)}"
    if kind == 3:
        return f"team in {qlist(rng, TEAMS)}"
    if kind == 4:
        return f"channel = {q(rng.choice(CHANNELS))}"
    if kind == 5:
        return f"requester.organizationId = {q(rng.choice(ORGS))}"
    if kind == 6:
        return f"status != {q(rng.choice(STATUSES))}"
    if kind == 7:
        return f"title contains {q(rng.choice(['outage', 'down', 'laptop', 'password', 'VPN']))}"
    if kind == 8:
        return "requester.vip = true"
    return f"priority not in {qlist(rng, PRIORITIES, 1, 2)}"


def ticket_condition(rng: random.Random) -> str:
    shape = rng.randrange(6)
    a, b, c = ticket_test(rng), ticket_test(rng), ticket_test(rng)
    if shape == 0:
        return a
    if shape == 1:
        return f"{a} AND {b}"
    if shape == 2:
        return f"{a}\n  AND ({b} OR {c})"
    if shape == 3:
        return f"{a} AND NOT {b}"
    if shape == 4:
        return f"({a} OR {b})\n  AND NOT ({c})"
    return f"{a} AND {b} AND {c}"


def ticket_body(rng: random.Random, mutate: bool) -> list[str]:
    """Statements for a ticket workflow; `mutate` False keeps it from re-firing ticket.updated."""
    pool = [
        lambda: "add internal note = \"Auto-triaged: {{ticket.category}} / {{ticket.priority}}\"",
        lambda: f"notify slack = {q(rng.choice(SLACK))}, message = \"{{{{ticket.title}}}} needs eyes\"",
        lambda: "notify email = \"oncall@example.com\", subject = \"Ticket {{ticket.id}}\", "
                "body = \"Priority {{ticket.priority}}\"",
        lambda: "post reply = \"Thanks, we are on it ({{ticket.id}}).\"",
        lambda: "call webhook = \"pagerduty\", payload = ticket.id",
    ]
    if mutate:
        pool += [
            lambda: f"set team = {q(rng.choice(TEAMS))}",
            lambda: f"assign team = {q(rng.choice(TEAMS))}",
            lambda: f"add tag = {q(rng.choice(TAGS))}",
            lambda: "transition status = \"open\"",
            lambda: "escalate",
        ]
    out = [rng.choice(pool)() for _ in range(rng.randint(2, 5))]
    roll = rng.random()
    if roll < 0.3:
        out += [
            f"if {ticket_test(rng)} then",
            "  " + rng.choice(pool)(),
            "  " + rng.choice(pool)(),
            "else",
            "  " + rng.choice(pool)(),
            "end",
        ]
    elif roll < 0.45:
        who = rng.choice(['requester.manager', 'role "it-manager"', 'group "cab"',
                          'user "u-1001", user "u-1002"'])
        out += [
            f"request approval ok from {who} order {rng.choice(ORDERS)}"
            f" remind every 4 hours timeout 24 hours",
            "wait for approval ok or 24 hours",
            "if ok.approved then",
            "  " + rng.choice(pool)(),
            "else",
            f"  notify slack = {q(rng.choice(SLACK))}, message = \"Approval {{{{ok.outcome}}}}\"",
            "  terminate with \"not approved\"",
            "end",
        ]
    elif roll < 0.55:
        out += ["wait 2 hours", rng.choice(pool)()]
    return out


def definition(i: int, rng: random.Random) -> str:
    kind = rng.choices(["created", "updated", "status", "sla", "change", "asset", "cron", "hook"],
                       weights=[40, 12, 10, 10, 7, 7, 7, 7])[0]
    head = f'workflow "wf-{i:04d}-{kind}"'
    if kind in ("created", "sla"):
        trig = "ticket.created" if kind == "created" else "ticket.sla_breached"
        if kind == "created" and rng.random() < 0.1:
            trig += " OR ticket.sla_breached"
        lines = [head, f"WHEN {trig}", f"WHERE {ticket_condition(rng)}", "THEN"]
        lines += ticket_body(rng, mutate=True)
    elif kind == "updated":
        lines = [head, "WHEN ticket.updated",
                 f"WHERE priority changed to {q(rng.choice(PRIORITIES))} AND {ticket_test(rng)}",
                 "THEN", *ticket_body(rng, mutate=False)]
    elif kind == "status":
        lines = [head, "WHEN ticket.status_changed",
                 f"WHERE status = {q(rng.choice(STATUSES))} AND category in {qlist(rng, CATEGORIES)}",
                 "THEN", *ticket_body(rng, mutate=False)]
    elif kind == "change":
        lines = [head, "WHEN change.approved",
                 f"WHERE risk in [\"high\", \"critical\"] OR NOT (status = {q(rng.choice(STATUSES))})",
                 "THEN",
                 "  notify teams = \"Change Board\", message = \"Change {{change.id}} approved\"",
                 "  create ticket impl, title = \"Implement {{change.title}}\", "
                 f"team = {q(rng.choice(TEAMS))}",
                 "  wait 1 hours",
                 "  set impl.status = \"open\""]
    elif kind == "asset":
        lines = [head, "WHEN asset.lifecycle_changed",
                 f"WHERE lifecycle = {q(rng.choice(LIFECYCLES))} AND criticality <= {rng.randint(1, 3)}",
                 "THEN",
                 f"  notify slack = {q(rng.choice(SLACK))}, message = \"Asset {{{{asset.name}}}} changed\"",
                 "  schedule renewal alert = asset.renewalDate, before = 30 days",
                 "  attach contract = \"support-2025\""]
    elif kind == "cron":
        lines = [head, f'WHEN schedule.cron "{rng.randint(0, 59)} {rng.randint(6, 20)} * * 1-5"'
                 f' tz "Europe/Paris"',
                 "THEN",
                 "  notify email = \"reports@example.com\", subject = \"Daily report\", body = \"Run\"",
                 "  call webhook = \"metrics-export\""]
    else:
        lines = [head, f'WHEN webhook.received "{rng.choice(["hr", "monitoring", "crm"])}"',
                 f'WHERE payload.type = "{rng.choice(["new_joiner", "leaver", "alert"])}"',
                 "THEN",
                 "  create ticket t, title = \"Request for {{payload.name}}\", "
                 f"team = {q(rng.choice(TEAMS))}",
                 "  request approval manager from payload.manager remind every 12 hours "
                 "timeout 48 hours",
                 "  wait for approval manager or 48 hours",
                 "  if manager.approved then",
                 "    set t.status = \"ready\"",
                 "  else",
                 "    set t.status = \"cancelled\"",
                 "  end",
                 "  send survey = \"check-in\", to = payload.email"]
    # THEN-block statements are indented for readers; layout carries no meaning.
    out, in_body = [], False
    for line in lines:
        out.append("  " + line if in_body and not line.startswith("  ") else line)
        in_body = in_body or line == "THEN"
    return "\n".join(out)


def make_script(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    return f"# generated benchmark script: {n} definitions\n\n" + "\n\n".join(
        definition(i, rng) for i in range(n)) + "\n"


# -- timing helpers ------------------------------------------------------------------------------
def race(fns: list[Callable[[], Any]], reps: int, warm: bool = True) -> list[float]:
    """Best-of-`reps` seconds for each fn, run round-robin so machine drift hits all alike.

    One warm-up call each (unless done by the caller); the GC is off while timing.
    """
    if warm:
        for fn in fns:
            fn()
    best = [float("inf")] * len(fns)
    for _ in range(reps):
        for i, fn in enumerate(fns):
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - t0)
            finally:
                gc.enable()
    return best


def ns_per_call(fns: list[Callable[[Any], Any]], arg: Any, loops: int, repeat: int) -> list[float]:
    """Best-of-`repeat` ns per call of each fn(arg) over `loops` calls, round-robin (timeit: GC off)."""
    timers = [timeit.Timer("f(a)", globals={"f": fn, "a": arg}) for fn in fns]
    for t in timers:
        t.timeit(loops // 10 or 1)   # warm up
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, t in enumerate(timers):
            best[i] = min(best[i], t.timeit(loops))
    return [b / loops * 1e9 for b in best]


ROWS: list[tuple[str, str, str, str]] = []


def row(name: str, ours: str, base: str, ratio: float | str) -> None:
    ROWS.append((name, ours, base, ratio if isinstance(ratio, str) else f"{ratio:5.2f}x"))


# -- 1. compile throughput -----------------------------------------------------------------------
def bench_compile(n: int, reps: int) -> None:
    text = make_script(n)
    mm = metamodel()                      # built once per process; not part of either figure
    # These two calls are the warm-ups (and check the script is valid).
    assert len(mm.model_from_str(text).definitions) == n
    plans = compile_source(text, "bench.zflow")
    assert len(plans) == n, f"expected {n} plans, got {len(plans)}"
    t_parse, t_full = race([lambda: mm.model_from_str(text),
                            lambda: compile_source(text, "bench.zflow")], reps, warm=False)
    kib = len(text.encode()) / 1024
    print(f"[1] script: {n} definitions, {kib:.0f} KiB, {text.count(chr(10))} lines; best of {reps}")
    row("compile: full compile_source (defs/s)", f"{n / t_full:10,.0f}", f"{n / t_parse:10,.0f}",
        t_full / t_parse)
    row("  ms per 1,000-definition script", f"{t_full * 1e3:10.1f}", f"{t_parse * 1e3:10.1f}",
        t_full / t_parse)
    row("  check+lower share of full time", f"{(t_full - t_parse) / t_full:10.0%}", "", "")


# -- 2. compiled conditions vs hand-written lambdas ------------------------------------------------
def where_of(condition: str, trigger: str = "ticket.created") -> Callable[[dict], bool]:
    [plan] = compile_source(f"WHEN {trigger}\nWHERE {condition}\nTHEN add internal note = \"x\"\n",
                            "cond.zflow")
    return where_fn(plan)


def bench_conditions(loops: int, repeat: int) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    ticket = {"id": "T-1", "title": "VPN down in Lyon", "priority": "urgent", "category": "Network",
              "team": "Service Desk", "status": "new", "channel": "email",
              "requester": {"id": "u-1", "organizationId": "org-3", "vip": False}}
    env = event_data("ticket.created", None, ticket, None, now)
    env["$now"] = now
    cases: list[tuple[str, str, Callable[[dict], bool]]] = [
        ("= AND =",
         'priority = "urgent" AND category = "Network"',
         lambda e: e["ticket"].get("priority") == "urgent"
         and e["ticket"].get("category") == "Network"),
        ("in [..] AND in [..]",
         'category in ["Network", "VPN", "Security"] AND priority in ["high", "urgent"]',
         lambda e: e["ticket"].get("category") in ("Network", "VPN", "Security")
         and e["ticket"].get("priority") in ("high", "urgent")),
        ("NOT/OR (nested)",
         'NOT (status = "closed") AND (channel = "phone" OR requester.organizationId = "org-3")',
         lambda e: e["ticket"].get("status") != "closed"
         and (e["ticket"].get("channel") == "phone"
              or e["ticket"].get("requester", {}).get("organizationId") == "org-3")),
    ]
    print(f"[2] condition closures: best of {repeat} x {loops:,} calls; "
          "baseline = hand-written lambda on the same env")
    for label, cond, hand in cases:
        ours = where_of(cond)
        # correctness on this env and on variations where each test flips
        variants = [env] + [dict(env, ticket=dict(ticket, **{k: v}))
                            for k, v in (("priority", "low"), ("category", "Email"),
                                         ("status", "closed"), ("channel", "phone"),
                                         ("requester", {"organizationId": "org-9"}))]
        for v in variants:
            assert ours(v) == hand(v), (cond, v["ticket"])
        assert ours(env) is True, cond
        t_ours, t_hand = ns_per_call([ours, hand], env, loops, repeat)
        row(f"cond {label} (ns/eval)", f"{t_ours:10.0f}", f"{t_hand:10.0f}", t_ours / t_hand)


# -- 3. Matcher vs plain scan ----------------------------------------------------------------------
# A mid-size multi-tenant desk: finer categories and more teams/orgs than section 1's script.
M_CATEGORIES = CATEGORIES + [f"{c} / {sub}" for c in CATEGORIES[:7]
                             for sub in ("Access", "Outage", "Request", "Question")]
M_TEAMS = TEAMS + [f"{t} L2" for t in TEAMS] + [f"{t} L3" for t in TEAMS[:6]]
M_ORGS = [f"org-{i}" for i in range(60)]


def matcher_scripts(n: int, per_file: int = 1000, seed: int = 7) -> list[str]:
    """n small workflows, split into files (one script may not exceed 1 MiB)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        tests = []
        shape = rng.randrange(20)
        if shape < 8:
            tests.append(f"category = {q(rng.choice(M_CATEGORIES))}")
        elif shape < 12:
            tests.append(f"category in {qlist(rng, M_CATEGORIES, 2, 3)}")
        elif shape < 14:
            tests.append(f"team in {qlist(rng, M_TEAMS, 1, 3)}")
        elif shape < 17:
            tests.append(f"requester.organizationId = {q(rng.choice(M_ORGS))}")
        elif shape < 19:
            tests.append(f"channel = {q(rng.choice(CHANNELS))}")
        # shape 19 (5%): no indexable test -> always a candidate
        extra = rng.randrange(4)
        if extra == 0:
            tests.append(f"priority = {q(rng.choice(PRIORITIES))}")
        elif extra == 1:
            tests.append(f"priority in {qlist(rng, PRIORITIES, 1, 2)}")
        elif extra == 2:
            tests.append(f"(status = \"new\" OR channel = {q(rng.choice(CHANNELS))})")
        if shape == 19:
            tests.append(f"NOT (team = {q(rng.choice(M_TEAMS))})")
        where = f"\nWHERE {' AND '.join(tests)}" if tests else ""
        out.append(f'workflow "m-{i:05d}"\nWHEN ticket.created{where}\n'
                   f'THEN assign team = {q(rng.choice(M_TEAMS))}')
    return ["\n\n".join(out[i:i + per_file]) + "\n" for i in range(0, n, per_file)]


def bench_matcher(n: int, reps: int) -> None:
    t0 = time.perf_counter()
    plans = [p for k, text in enumerate(matcher_scripts(n))
             for p in compile_source(text, f"matcher-{k}.zflow")]
    assert len(plans) == n
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    matcher = Matcher(plans)
    t_index = time.perf_counter() - t0
    wheres = [where_fn(p) for p in plans]          # build every closure before timing
    now = datetime(2025, 1, 1, tzinfo=UTC)
    rng = random.Random(3)
    subjects = []
    for _ in range(20):
        subjects.append({"id": "T", "title": "x", "priority": rng.choice(PRIORITIES),
                         "category": rng.choice(M_CATEGORIES), "team": rng.choice(M_TEAMS),
                         "status": rng.choice(STATUSES[:3]), "channel": rng.choice(CHANNELS),
                         "requester": {"organizationId": rng.choice(M_ORGS)}})
    subjects.append({})   # a ticket with no fields at all

    def scan(subject: dict) -> list:
        env = event_data("ticket.created", None, subject, None, now)
        env["$now"] = now
        return [p for p, w in zip(plans, wheres, strict=True) if w(env)]

    total = 0
    for s in subjects:
        got, want = matcher.match("ticket.created", s, now=now), scan(s)
        assert {id(p) for p in got} == {id(p) for p in want}, "Matcher disagrees with the scan"
        assert [id(p) for p in got] == [id(p) for p in want], "Matcher's order differs from plan order"
        total += len(got)
    n_cand = sum(len(matcher.candidates("ticket.created", s)) for s in subjects) / len(subjects)

    t_match, t_scan, t_cand = race([
        lambda: [matcher.match("ticket.created", s, now=now) for s in subjects],
        lambda: [scan(s) for s in subjects],
        lambda: [matcher.candidates("ticket.created", s) for s in subjects]], reps)
    k = len(subjects)
    print(f"[3] matcher: {n:,} workflows on ticket.created (compile {t_compile:.1f} s, index "
          f"{t_index * 1e3:.0f} ms); {k} events, avg {n_cand:,.0f} candidates, "
          f"avg {total / k:.1f} matches; same plans as the scan, in the same order; best of {reps}")
    row("Matcher.match vs full scan (us/event)", f"{t_match / k * 1e6:10.1f}",
        f"{t_scan / k * 1e6:10.1f}", t_match / t_scan)
    row("  of which Matcher.candidates (us/event)", f"{t_cand / k * 1e6:10.1f}", "",
        f"{t_cand / t_match:5.0%}")
    row("  speed-up (scan / match)", "", "", f"{t_scan / t_match:5.1f}x")
    row("  plans tested (candidates / all)", f"{n_cand:10,.0f}", f"{n:10,}", n_cand / n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    args = ap.parse_args()
    if isinstance(sys.stdout, io.TextIOWrapper):   # not when a test or a tool has replaced it
        sys.stdout.reconfigure(line_buffering=True)  # progress as it happens
    reps = 2 if args.quick else 5
    started = time.perf_counter()
    print(f"python {sys.version.split()[0]} ({sys.implementation.name})")
    bench_compile(1000, 2 if args.quick else 3)   # ~1.5 s a call: keep the whole run < ~60 s
    bench_conditions(loops=50_000 if args.quick else 200_000, repeat=reps)
    bench_matcher(10_000, reps)
    w = max(len(r[0]) for r in ROWS)
    print()
    print(f"{'measure':<{w}}  {'ours':>10}  {'baseline':>10}  {'ratio':>6}")
    print(f"{'-' * w}  {'-' * 10}  {'-' * 10}  {'-' * 6}")
    for name, ours, base, ratio in ROWS:
        print(f"{name:<{w}}  {ours:>10}  {base:>10}  {ratio:>6}")
    print("baselines: [1] textX model_from_str alone  [2] hand-written lambda  "
          "[3] where_fn of every plan")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

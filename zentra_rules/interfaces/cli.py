"""The `zentra` command line: check, compile, dry-run and translate scripts; publish, run the
worker, manage tokens and ask why workflows ran on a ticket, on the configured database (`serve`
comes from `server.py`)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from compiler import compile_text
from compiler.legacy import LegacyError, translate, translate_rule
from runtime import dry_run
from runtime.durable.queue import run_worker
from zentra_rules.domain.config import Config, load
from zentra_rules.domain.errors import CompileError, InputError, ZentraError
from zentra_rules.domain.values import as_datetime
from zentra_rules.interfaces.process import App, open_app
from zentra_rules.interfaces.timeline import timeline
from zentra_rules.interfaces.tracetext import render_trace
from zentra_rules.interfaces.whytext import render_why

# What `zentra serve` runs: the HTTP service on a configuration, a host and a port.
Serve = Callable[[Config, str, int], None]


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"cannot read {path}: it is a directory") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read {path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_json(path: str) -> Any:
    text = _read(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply") from None


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = 0
    for path in args.files:
        try:
            result = compile_text(_read(path), path)
        except CompileError as exc:
            print(exc.render(), file=err)
            status = 1
            continue
        except InputError as exc:
            print(f"zentra: error: {exc}", file=err)
            status = 1
            continue
        for warning in result.warnings:
            print(warning.render(), file=err)
        print(f"{path}: ok ({len(result.plans)} definition{'s' * (len(result.plans) != 1)}"
              + (f", {len(result.warnings)} warning(s)" if result.warnings else "") + ")", file=out)
    return status


def cmd_compile(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    result = compile_text(_read(args.file), args.file)
    for warning in result.warnings:
        print(warning.render(), file=err)
    if args.json:
        print(json.dumps({"plans": [p.to_json() for p in result.plans]}, indent=2,
                         ensure_ascii=False), file=out)
    else:
        print("\n\n".join(p.disassemble() for p in result.plans), file=out)
    return 0


def _decisions(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, decision = item.partition("=")
        if not sep or not name or decision.partition(":")[0] not in ("approved", "rejected",
                                                                     "timed_out"):
            raise InputError("--decide takes NAME=approved|rejected|timed_out[:WHO], "
                             f"not {item!r}")
        out[name] = decision
    return out


def cmd_dry_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    result = compile_text(_read(args.file), args.file)
    subject = _read_json(args.subject) if args.subject else {}
    previous = _read_json(args.previous) if args.previous else None
    now = None
    if args.now:
        now = as_datetime(args.now)
        if now is None:
            raise InputError(f"--now takes an ISO time such as 2026-01-31T09:00:00Z, not {args.now!r}")
    records = _read_json(args.records) if args.records else None
    if records is not None and not (isinstance(records, dict) and all(
            isinstance(v, dict) for v in records.values())):
        raise InputError(f"{args.records}: --records is a JSON object such as "
                         '{"user": {"u_kim": {"email": "kim@example.com"}}}')
    trace = dry_run(result.plans, args.event, subject, previous, _decisions(args.decide),
                    now or datetime.now(UTC), args.actor, records=records)
    if args.json:
        print(json.dumps(trace, indent=2, ensure_ascii=False), file=out)
    else:
        print(render_trace(trace), file=out)
    return 0


def _app(args: argparse.Namespace) -> App:
    return open_app(load(args.config))


def cmd_worker(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = _app(args)
    config = app.engine.config
    run_worker(app.engine, app.huey, args.workers or config.workers, config.sweep_seconds)
    return 0


def cmd_publish(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    app = _app(args)
    for path in args.files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {path}: {exc}") from None
        result = compile_text(text, path)
        for warning in result.warnings:   # published all the same, as `zentra check` would say
            print(warning.render(), file=err)
        for d in app.engine.publish(result.plans, args.author):
            print(f"{path}: {d['kind']} {d['name']} version {d['version']} (active)", file=out)
    return 0


def cmd_token(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    app = _app(args)
    with app.store.tx():
        print(app.store.tokens.create_token(args.role, args.user, app.engine.clock.now()), file=out)
    return 0


def cmd_revoke(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    app = _app(args)
    with app.store.tx():
        app.store.tokens.revoke_token(args.id, app.engine.clock.now())
    print(f"token {args.id} revoked", file=out)
    return 0


def cmd_why(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Why each workflow did or did not run on a ticket, from what the desk stored."""
    app = _app(args)
    found = timeline(app.store, app.engine.plans.plan, "ticket", args.ticket,
                     workflow=args.workflow)
    found.pop("more", None)
    found.pop("last_event", None)
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False), file=out)
    else:
        print(render_why(found), file=out)
    return 0


def cmd_translate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Legacy rules to zflow: one rule as its own workflow; a list as per-event workflows."""
    doc = _read_json(args.file)
    total = len(doc) if isinstance(doc, list) else 1
    rules = f"{total} rule{'s' * (total != 1)}"
    try:
        # One rule reads best as the workflow an admin would write; a list must keep legacy
        # order, so it becomes one workflow per event (the output's header says why).
        text = translate_rule(doc) if isinstance(doc, dict) else translate(doc)
    except LegacyError as exc:
        print(f"{args.file}: translated 0 rules into 0 workflows; {exc.failed} failed (of {rules}; "
              "nothing is translated while a rule fails)", file=err)
        for problem in exc.problems:
            print(f"  {problem}", file=err)
        return 1
    if args.check:
        try:
            result = compile_text(text, str(Path(args.file).with_suffix(".zflow").name))
        except CompileError as exc:
            print(exc.render(), file=err)
            print(f"{args.file}: the translation does not compile: a translator bug, please report "
                  "it", file=err)
            return 1
        for warning in result.warnings:
            print(warning.render(), file=err)
    out.write(text)
    workflows = sum(line.startswith("workflow ") for line in text.splitlines())
    print(f"{args.file}: translated {rules} into {workflows} workflow{'s' * (workflows != 1)}; "
          "0 failed" + ("; the translation compiles" if args.check else ""), file=err)
    return 0


def _serve_command(serve: Serve) -> Callable[[argparse.Namespace, TextIO, TextIO], int]:
    def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
        serve(load(args.config), args.host, args.port)
        return 0
    return cmd_serve


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line and exit 1, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser(serve: Serve | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="zentra", description="Zentra rules: zflow automation.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="parse, compile and check scripts")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("compile", help="print the plan (disassembly or JSON)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--disasm", action="store_true", help="disassembly (the default)")
    p.add_argument("--json", action="store_true", help="the plans as JSON")
    p.set_defaults(func=cmd_compile)
    p = sub.add_parser("dry-run", help="run a script against a subject, changing nothing")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--event", required=True, help="e.g. ticket.created or webhook.received:hr")
    p.add_argument("--subject", metavar="JSON_FILE", help="the ticket/asset/payload as JSON")
    p.add_argument("--previous", metavar="JSON_FILE", help="the subject before the change")
    p.add_argument("--records", metavar="JSON_FILE",
                   help='records the subject refers to by id: {"user": {ID: {...}}, "asset": …}')
    p.add_argument("--decide", action="append", default=[], metavar="NAME=OUTCOME[:WHO]",
                   help="approval outcome: approved, rejected or timed_out, decided by WHO "
                        "(default: the first approver asked; repeatable)")
    p.add_argument("--now", help="simulated start time (ISO 8601, default: the current time)")
    p.add_argument("--actor", help="who caused the event (event.actor)")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    p.set_defaults(func=cmd_dry_run)
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", metavar="PATH", help="configuration file (default: zentra.toml)")

    if serve is not None:
        p = sub.add_parser("serve",
                           help="the HTTP API, webhooks and playground, with an embedded worker")
        common(p)
        p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
        p.set_defaults(func=_serve_command(serve))
    p = sub.add_parser("translate", help="print the zflow equivalent of legacy AutomationRules")
    p.add_argument("file", metavar="LEGACY.json")
    p.add_argument("--check", action="store_true", help="also compile the translation")
    p.set_defaults(func=cmd_translate)
    p = sub.add_parser("worker", help="a queue consumer with a sweeper (run many to scale out)")
    common(p)
    p.add_argument("--workers", type=int, help="worker threads (default: runtime.workers)")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("publish", help="compile scripts and store each definition as a new version")
    common(p)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--author", default="cli", help="recorded as the versions' author")
    p.set_defaults(func=cmd_publish)
    p = sub.add_parser("why", help="why each workflow ran or did not on a ticket's events")
    common(p)
    p.add_argument("ticket", metavar="TICKET-ID")
    p.add_argument("--workflow", metavar="NAME", help="only this workflow")
    p.add_argument("--json", action="store_true", help="print the timeline as JSON")
    p.set_defaults(func=cmd_why)
    p = sub.add_parser("token", help="API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True)
    p = tsub.add_parser("create", help="print a new API token")
    common(p)
    p.add_argument("--role", required=True, choices=["admin", "editor", "agent", "viewer"])
    p.add_argument("--user", help="the user the token acts as")
    p.set_defaults(func=cmd_token)
    p = tsub.add_parser("revoke", help="revoke a token by its id (GET /api/tokens lists them)")
    common(p)
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_revoke)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None, serve: Serve | None = None) -> int:
    """The `zentra` program; `serve` is the HTTP service (`server.main` passes it in)."""
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser(serve)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return int(args.func(args, out, err))
    except CompileError as exc:
        print(exc.render(), file=err)
        return 1
    except ZentraError as exc:
        print(f"zentra: error: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other command-line tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — keeps interpreter exit from failing
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `zentra` commands that run against the configured database and queue."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, TextIO

from zentra_rules.domain.errors import InputError


def _app(args: argparse.Namespace) -> Any:
    from zentra_rules.domain.config import load
    from zentra_rules.interfaces.process import open_app
    return open_app(load(args.config))


def cmd_worker(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from runtime.durable.queue import run_worker
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = _app(args)
    config = app.engine.config
    run_worker(app.engine, app.huey, args.workers or config.workers, config.sweep_seconds)
    return 0


def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from server import serve
    from zentra_rules.domain.config import load
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(load(args.config), args.host, args.port)
    return 0


def cmd_publish(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler import compile_text
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


def cmd_translate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Legacy rules to zflow: one rule as its own workflow; a list as per-event workflows."""
    from compiler import compile_text
    from compiler.legacy import LegacyError, translate, translate_rule
    from zentra_rules.domain.errors import CompileError
    from zentra_rules.interfaces.cli import _read_json
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


def add_commands(sub: Any) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", metavar="PATH", help="configuration file (default: zentra.toml)")

    p = sub.add_parser("serve", help="the HTTP API, webhooks and playground, with an embedded worker")
    common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.set_defaults(func=cmd_serve)
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

"""The `zentra` command line: check, compile and dry-run zflow scripts (and run the engine)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from zentra_rules.domain.errors import CompileError, InputError, ZentraError
from zentra_rules.domain.values import as_datetime


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
    from compiler import compile_text
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
    from compiler import compile_text
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
        name, sep, outcome = item.partition("=")
        if not sep or not name or outcome not in ("approved", "rejected", "timed_out"):
            raise InputError(f"--decide takes NAME=approved|rejected|timed_out, not {item!r}")
        out[name] = outcome
    return out


def cmd_dry_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from compiler import compile_text
    from runtime import dry_run
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


def render_trace(trace: dict[str, Any]) -> str:
    """The trace for people: why each definition fired or not, and what it did."""
    if not trace["runs"]:
        return "no definition in this file is started by that event"
    blocks = []
    for run in trace["runs"]:
        lines = [f"{run['kind']} \"{run['workflow']}\" on {run['trigger']}: "
                 + ("fired" if run["fired"] else "did not fire")]
        lines += _explain_lines(run["explain"], 1)
        for action in run["actions"]:
            text = f"{action['verb']} {action['object']}"
            if "name" in action:
                text += f" {action['name']}"
            if "value" in action:
                text += f" = {json.dumps(action['value'], ensure_ascii=False)}"
            for key, value in action["params"].items():
                text += f", {key} = {json.dumps(value, ensure_ascii=False)}"
            lines.append(f"  -> {text}")
        for send in run.get("sends", []):
            lines.append(f"  sends {send['channel']} to {send['to']}")
        status = run["status"]
        if run.get("waiting_for"):
            status += f" for {json.dumps(run['waiting_for'], ensure_ascii=False)}"
        if run.get("reason"):
            status += f": {run['reason']}"
        lines.append(f"  status: {status}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _explain_lines(node: dict[str, Any], depth: int) -> list[str]:
    mark = "true " if node["value"] else "false"
    detail = ""
    if "left" in node:
        detail = f"   (saw {json.dumps(node['left'], ensure_ascii=False)}"
        if "right" in node:
            detail += f", compared with {json.dumps(node['right'], ensure_ascii=False)}"
        if "previous" in node:
            detail += f", before {json.dumps(node['previous'], ensure_ascii=False)}"
        detail += ")"
    lines = [f"{'  ' * depth}[{mark}] {node['text']}{detail}"]
    for child in node.get("children", []):
        lines += _explain_lines(child, depth + 1)
    return lines


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line and exit 1, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
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
    p.add_argument("--decide", action="append", default=[], metavar="NAME=OUTCOME",
                   help="approval outcome: approved, rejected or timed_out (repeatable)")
    p.add_argument("--now", help="simulated start time (ISO 8601, default: the current time)")
    p.add_argument("--actor", help="who caused the event (event.actor)")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    p.set_defaults(func=cmd_dry_run)
    from zentra_rules.interfaces.commands import add_commands
    add_commands(sub)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser()
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

"""Golden diagnostics: each `# expect: error@COL: TEXT` names a diagnostic on its own line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import compile_text
from zentra_rules.domain.errors import CompileError, Diagnostic

GOLDEN = Path(__file__).parent / "golden" / "errors"
EXPECT = re.compile(r"# expect: (error|warning)@(\d+): (.*)$")


def expectations(text: str) -> list[tuple[int, int, str, str]]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        match = EXPECT.search(line)
        if match:
            out.append((number, int(match.group(2)), match.group(1), match.group(3).strip()))
    return out


def diagnostics_of(text: str, name: str) -> list[Diagnostic]:
    try:
        return compile_text(text, name).diagnostics
    except CompileError as exc:
        return exc.diagnostics


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.zflow")), ids=lambda p: p.stem)
def test_golden_diagnostics(path: Path) -> None:
    text = path.read_text()
    expected = expectations(text)
    assert expected, f"{path.name} states no expectation"
    found = diagnostics_of(text, str(path))
    got = [(d.line, d.col, d.severity, d.message) for d in found]
    for line, col, severity, fragment in expected:
        assert any(g[0] == line and g[1] == col and g[2] == severity and fragment in g[3]
                   for g in got), f"{path.name}:{line}:{col}: no {severity} containing " \
                                  f"{fragment!r}; got {got}"
    # No diagnostic that the file does not announce: one message per mistake, no cascades.
    announced = {(line, severity) for line, _, severity, _ in expected}
    extra = [g for g in got if (g[0], g[2]) not in announced]
    assert not extra, f"unannounced diagnostics: {extra}"
    assert len(got) == len(expected), f"expected {len(expected)} diagnostics, got {got}"


def test_check_command_prints_location_source_line_and_caret(tmp_path: Path) -> None:
    script = tmp_path / "rule.zflow"
    script.write_text('WHEN ticket.created\nWHERE priority = "urgnet"\nTHEN escalate\n')
    proc = subprocess.run([sys.executable, "-m", "zentra_rules.interfaces.cli", "check", str(script)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == (f'{script}:2:18: error: "urgnet" is not a valid priority; '
                        'did you mean "urgent"?')
    assert lines[1] == '    WHERE priority = "urgnet"'
    assert lines[2] == "    " + " " * 17 + "^"
    assert "Traceback" not in proc.stderr


def test_all_errors_of_a_file_come_in_one_pass() -> None:
    text = ('WHEN ticket.created WHERE prority = "urgent" AND category = 3\n'
            'THEN set teem = "x"\n  sned survey = "x"\n')
    found = diagnostics_of(text, "many.zflow")
    assert [(d.line, d.col) for d in found] == [(1, 27), (1, 61), (2, 10), (3, 3)]
    assert all(d.severity == "error" for d in found)


def test_warnings_do_not_fail_the_check(tmp_path: Path) -> None:
    script = tmp_path / "warn.zflow"
    script.write_text('WHEN ticket.created THEN terminate with "x"\n notify slack = "#a"\n')
    proc = subprocess.run([sys.executable, "-m", "zentra_rules.interfaces.cli", "check", str(script)],
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert f"{script}:2:2: warning: this statement never runs" in proc.stderr


def test_nesting_limit_is_a_clear_error_not_a_recursion_error() -> None:
    for depth, ok in ((32, True), (33, False), (500, False)):
        text = "WHEN ticket.created WHERE " + "(" * depth + 'priority = "high"' + ")" * depth \
               + " THEN escalate"
        found = diagnostics_of(text, "deep.zflow")
        if ok:
            assert not [d for d in found if d.severity == "error"]
        else:
            assert len(found) == 1 and "nesting is deeper than 32" in found[0].message
            assert (found[0].line, found[0].col) == (1, 27 + 32)
    blocks = "WHEN ticket.created THEN " + "if priority = \"high\" then " * 40 + "escalate" \
             + " end" * 40
    found = diagnostics_of(blocks, "deep-if.zflow")
    assert len(found) == 1 and "nesting is deeper than 32" in found[0].message
    nots = "WHEN ticket.created WHERE " + "not " * 300 + "priority = \"high\" THEN escalate"
    assert "nesting is deeper than 32" in diagnostics_of(nots, "nots.zflow")[0].message


def test_approval_order_parallel_is_not_a_block() -> None:
    text = "\n".join(f'workflow "w{i}" WHEN ticket.created THEN '
                     f'request approval ok from role "m" order parallel any' for i in range(40))
    assert diagnostics_of(text, "many.zflow") == []


@pytest.mark.parametrize("text, message", [
    ("WHEN ticket.created THEN if requester.vip then escalate",
     "unexpected end of file; expected `end` to close the open `if`/`parallel` block"),
    ('WHEN ticket.created WHERE priority == "urgent" THEN escalate',
     "unexpected `=`; expected a number, a string"),
    ('WHEN ticket.created THEN notify = "x"', "unknown action `notify`; `notify` takes:"),
    ('WHEN ticket.created THEN request approval m from user "u" wait for approval m '
     'if m.outcom = "x" then escalate end', "unknown field `outcom` on approval; did you mean `outcome`"),
])
def test_messages_name_the_fix(text: str, message: str) -> None:
    found = diagnostics_of(text, "m.zflow")
    assert len(found) == 1 and message in found[0].message, found
    assert "\\d" not in found[0].message and "(?i)" not in found[0].message


def test_retrigger_check_follows_every_path() -> None:
    looping = ('workflow "a" WHEN ticket.updated WHERE team != "B" THEN if priority = "urgent" then '
               'assign team = "A" else assign team = "B" end')
    found = diagnostics_of(looping, "a.zflow")
    assert [d.severity for d in found] == ["warning"] and '`team != "A"`' in found[0].message
    safe = ('workflow "b" WHEN ticket.updated WHERE NOT tags contains "vip" THEN add tag = "vip" '
            'remove tag = "new"')
    assert diagnostics_of(safe, "b.zflow") == []


@pytest.mark.parametrize("text, message", [
    ("WHEN ticket.created WHERE title in nope THEN escalate", "unknown field `nope` on ticket"),
    ('WHEN ticket.created WHERE event.previous.nope = "x" THEN escalate', "unknown field `nope`"),
    ('WHEN ticket.created THEN set ticket = "x"', "say which field of the ticket to set"),
    ("WHEN ticket.created WHERE escalationLevel = " + "1" * 5000 + " THEN escalate",
     "is too large; numbers have at most 18 digits"),
    ('WHEN ticket.created THEN escalate = "high"', "`escalation level` is a number"),
    ('WHEN ticket.created THEN assign team = 3', 'type mismatch: `team` is a string, but this is a '
                                                 'number; use a string such as "x"'),
    ('WHEN ticket.created\nWHERE priority = "urgent"', "expected `+` or `-`, `AND`, `OR` or `THEN`"),
    ('WHEN ticket.created WHERE (priority = "urgent" THEN escalate', "`OR` or `)`"),
    ("WHEN ticket.created THEN wait 2", "expected a duration unit"),
])
def test_no_crash_and_a_clear_message(text: str, message: str) -> None:
    found = diagnostics_of(text, "c.zflow")
    assert len(found) == 1 and message in found[0].message, found


@pytest.mark.parametrize("text, warns", [
    ('WHEN ticket.updated WHERE tags contains "vip" THEN add tag = "seen"', True),
    ('WHEN ticket.updated WHERE tags contains "vip" THEN remove tag = "vip"', False),
    ("WHEN ticket.updated WHERE escalationLevel != 3 THEN escalate = 3", False),
    ("WHEN ticket.updated WHERE escalationLevel != 3 THEN escalate", True),
    ('WHEN asset.lifecycle_changed WHERE lifecycle != "disposed" THEN '
     'update asset lifecycle = "in_repair"', True),
    ('WHEN asset.lifecycle_changed WHERE lifecycle = "retired" THEN '
     'update asset lifecycle = "disposed"', False),
])
def test_retrigger_cases(text: str, warns: bool) -> None:
    found = diagnostics_of(text, "r.zflow")
    assert [d.severity for d in found] == (["warning"] if warns else [])


@pytest.mark.parametrize("text, message", [
    ('WHEN ticket.created WHERE title = ""' + " + title" * 1000 + ' THEN add tag = "x"',
     "this expression joins more than 32 values with `+`/`-`"),
    ("WHEN\u00a0ticket.created THEN escalate", "after an invisible character (U+00A0)"),
    ('WHEN ticket.created WHERE priority + 1 = 2 THEN escalate',
     "type mismatch: the value on the left is a string"),
])
def test_odd_scripts_get_clear_messages(text: str, message: str) -> None:
    found = diagnostics_of(text, "o.zflow")
    assert len(found) == 1 and message in found[0].message, found


def test_source_line_follows_the_parsers_line_count() -> None:
    # A form feed or a lone carriage return inside a comment is not a line break for the parser.
    text = "# page\x0cbreak\rhere\nWHEN ticket.created WHERE prority = 1 THEN escalate"
    found = diagnostics_of(text, "ff.zflow")
    assert (found[0].line, found[0].source_line) == (2, text.split("\n")[1])

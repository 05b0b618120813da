"""The one-way structure: import-linter's contracts hold, bite, and the pure core stays pure."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("zentra_rules", "compiler", "runtime")
OWN = {*PACKAGES, "server"}
# The pure core: no clock, no randomness, no I/O of its own (time comes in as `now`).
PURE = [ROOT / "zentra_rules" / "domain", ROOT / "compiler",
        *(ROOT / "runtime" / f"{m}.py" for m in
          ("vm", "drive", "matcher", "dryrun", "events", "trace", "conditions", "__init__"))]
# SystemClock is the one place that reads the wall clock; everything else is handed a clock.
CLOCK = ROOT / "zentra_rules" / "domain" / "clock.py"
IMPURE_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
                ("date", "today"), ("time", "time"), ("time", "monotonic"),
                ("time", "perf_counter"), ("uuid", "uuid4"), ("uuid", "uuid1"),
                ("os", "urandom"), ("secrets", "token_hex"), ("secrets", "token_urlsafe")}
IMPURE_NAMES = {"uuid4", "uuid1", "urandom", "perf_counter", "monotonic"}
IMPURE_MODULES = {"random", "secrets"}


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command;"
                           "lint_imports_command()", "--no-cache"],
                          cwd=cwd, env=env, capture_output=True, text=True)


def test_the_contracts_hold() -> None:
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("runtime/vm.py", "from zentra_rules.store import Store", "The runtime"),
    ("zentra_rules/domain/values.py", "import compiler", "One way"),
    ("runtime/durable/slices.py", "from runtime.durable import engine", "The durable engine"),
    ("zentra_rules/store/events.py", "import server", "nothing imports it"),
    ("runtime/durable/reads.py", "import peewee", "peewee only in the store"),
    ("runtime/matcher.py", "import socket", "does no I/O"),
])
def test_an_upward_or_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, line: str,
                                                         contract: str) -> None:
    for name in (*PACKAGES, "grammar"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copy(ROOT / "server.py", tmp_path / "server.py")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # an import against the layering\n")
    proc = _lint(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # The report wraps long contract names: compare with the whitespace folded.
    report = " ".join(proc.stdout.split())
    assert f"{contract}" in report.split("Broken contracts")[-1], proc.stdout
    assert report.count("BROKEN") >= 1


def _sources() -> list[Path]:
    return [p for name in PACKAGES for p in (ROOT / name).rglob("*.py")] + [ROOT / "server.py"]


def test_no_import_of_the_project_hides_inside_a_function() -> None:
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = ["." + (node.module or "")] if node.level else [node.module or ""]
                else:
                    continue
                if any(n.startswith(".") or n.split(".")[0] in OWN for n in names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {names}")
    assert not found, "function-local imports of the project's modules:\n" + "\n".join(found)


def _pure_files() -> list[Path]:
    files = [p for root in PURE for p in ([root] if root.is_file() else root.rglob("*.py"))]
    return [p for p in files if p != CLOCK]


def _impurities(source: str, where: str) -> list[str]:
    """Each read of a clock, draw of randomness or import of a random module in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        at = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name | ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
            if (owner, node.attr) in IMPURE_CALLS:
                found.append(f"{at}: {owner}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("uuid", "time", "os"):
            found += [f"{at}: from {node.module} import {a.name}" for a in node.names
                      if a.name in IMPURE_NAMES]
        if isinstance(node, ast.Import | ast.ImportFrom):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{at}: import {m}" for m in mods if m.split(".")[0] in IMPURE_MODULES]
    return found


def test_the_pure_core_reads_no_clock_and_draws_no_random_numbers() -> None:
    found = [f for path in _pure_files()
             for f in _impurities(path.read_text(), str(path.relative_to(ROOT)))]
    assert not found, "the pure core reads a clock or draws randomness:\n" + "\n".join(found)


def test_the_purity_check_sees_what_it_forbids() -> None:
    sample = ("import random\nfrom uuid import uuid4\nimport time, datetime\n"
              "def f():\n    return datetime.datetime.now(), time.time(), uuid4()\n")
    found = _impurities(sample, "sample")
    assert [f.split(": ", 1)[1] for f in found] == [
        "import random", "from uuid import uuid4", "datetime.now", "time.time"], found

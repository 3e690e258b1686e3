"""The command line's edges: wrong flags and missing arguments are one line (exit 2); help still works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

CLI = [sys.executable, "-m", "db.cli"]


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + ["--db", str(tmp_path / "x.db"), *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("report", "accuracy", "--jsn"),
         "error: No such option: --jsn (Possible options: --json) (see 'abel-triage report accuracy --help')"),
        (("run", "--model", "Abel-7B-001"), "error: Missing option '--benchmark'. (see 'abel-triage run --help')"),
        (("nosuchcommand",), "error: No such command 'nosuchcommand'. (see 'abel-triage --help')"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: tuple[str, ...], expected: str, tmp_path: Path) -> None:
    proc = _run(*args, tmp_path=tmp_path)
    assert proc.returncode == 2
    # Run as `python -m db.cli`, the command path reads so; installed, it reads `abel-triage`.
    assert proc.stderr.splitlines() == [expected.replace("abel-triage", "python -m db.cli")]


def test_bare_group_shows_its_help(tmp_path: Path) -> None:
    proc = _run("report", tmp_path=tmp_path)
    assert proc.returncode == 0
    assert "accuracy" in proc.stdout and "disagreements" in proc.stdout

"""`abel-triage setup` (what `make run` does first): fills the default database, and finishes after a kill."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.kill import kill_when, stored_responses

CLI = [sys.executable, "-m", "db.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ABEL_OUTPUTS", "ABEL_TRIAGE_DB")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(extra)
    return env


def _state(db_path: Path) -> tuple[int, int, int, int]:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return conn.execute(
            "SELECT count(*), count(DISTINCT run_id || ':' || problem_id), sum(status IS NULL), "
            "sum(correct = 0 AND category IS NULL) FROM response"
        ).fetchone()


def test_setup_killed_at_any_point_then_rerun_finishes(abel_outputs: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "setup.db"
    env = _env(ABEL_OUTPUTS=str(abel_outputs), ABEL_TRIAGE_DB=str(db_path))
    if kill_when(CLI + ["setup"], lambda: stored_responses(db_path) >= 2000, cwd=tmp_path, env=env) == 0:
        pytest.skip("setup finished before it could be killed")

    rerun = subprocess.run(CLI + ["setup"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    total, distinct, ungraded, uncategorized = _state(db_path)
    assert total == distinct == 9914
    assert ungraded == 0 and uncategorized == 0

    again = subprocess.run(CLI + ["setup"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert "imported 0 new" in again.stdout and "graded 0" in again.stdout and "categorized 0" in again.stdout


def test_setup_without_a_source_leaves_an_empty_database_and_says_how(tmp_path: Path) -> None:
    db_path = tmp_path / "empty.db"
    proc = subprocess.run(CLI + ["setup"], cwd=tmp_path, env=_env(ABEL_TRIAGE_DB=str(db_path)),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "no Abel outputs found" in proc.stdout and "--from-github" in proc.stdout
    assert _state(db_path)[0] == 0


def test_setup_with_a_missing_source_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(CLI + ["setup"], cwd=tmp_path,
                          env=_env(ABEL_OUTPUTS=str(tmp_path / "nope"), ABEL_TRIAGE_DB=str(tmp_path / "x.db")),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: Abel outputs directory not found: {tmp_path / 'nope'}"]

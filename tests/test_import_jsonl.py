"""`import jsonl`: another tool's outputs (its own field names) become a run, graded like any other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

CLI = [sys.executable, "-m", "db.cli"]


def _cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + ["--db", db, *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)


def test_foreign_jsonl_is_imported_graded_and_idempotent(abel_outputs: Path, benchmarks_dir: Path,
                                                         tmp_path: Path) -> None:
    source = [json.loads(line) for line in (abel_outputs / "gsm8k" / "70b.jsonl").read_text().splitlines()[:60]]
    lines = [json.dumps({"idx": r["id"], "output": r["response"], "is_correct": r["result"]}) for r in source]
    lines[10] = '{"idx": 10, "output": '  # cut off: line 11
    lines[20] = json.dumps({"idx": 99999, "output": "#### 1", "is_correct": False})  # line 21: no such problem
    path = tmp_path / "harness_outputs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    db = f"sqlite:///{tmp_path / 'j.db'}"
    args = ["import", "jsonl", str(path), "--model", "Abel-70B-001", "--benchmark", "gsm8k", "--benchmarks",
            str(benchmarks_dir), "--key-field", "idx", "--response-field", "output", "--correct-field", "is_correct"]

    first = _cli(db, *args)
    assert first.returncode == 1, first.stderr
    assert f"{path}:11: invalid JSON" in first.stderr
    assert f"{path}:21: key '99999' is not a problem of gsm8k" in first.stderr
    assert "58 new" in first.stdout

    assert _cli(db, "grade").returncode == 0
    report = json.loads(_cli(db, "report", "accuracy", "--json").stdout)
    assert len(report) == 1 and report[0]["model"] == "Abel-70B-001" and report[0]["n"] == 58
    kept = [r for i, r in enumerate(source) if i not in (10, 20)]
    assert report[0]["published_accuracy"] == round(100 * sum(r["result"] for r in kept) / 58, 2)
    assert report[0]["accuracy"] == report[0]["published_accuracy"]  # no quirk among the first 60 items

    again = _cli(db, *args)
    assert " 0 new" in again.stdout and "58 unchanged" in again.stdout


def test_without_stored_problems_it_says_how_to_load_them(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps({"id": 0, "response": "#### 1"}) + "\n")
    proc = _cli(f"sqlite:///{tmp_path / 'j.db'}", "import", "jsonl", str(path), "--model", "M-7B",
                "--benchmark", "svamp")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: no problems of svamp are stored: load them first (abel-triage benchmarks load svamp --path FILE) "
        "or pass --benchmarks DIR"]

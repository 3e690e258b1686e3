"""`benchmarks load NAME --hf DATASET` through the real Hugging Face `datasets` package, offline.

A local dataset folder goes through `datasets.load_dataset` and the benchmark's own record parser; a hub id with
the hub unreachable is one clear error. Runs in subprocesses so the offline switches take effect at import time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytest.importorskip("datasets", reason="Hugging Face `datasets` is not installed (extra .[hf])")

CLI = [sys.executable, "-m", "db.cli"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               PYTHONPATH=str(REPO_ROOT))
    return env


def test_local_dataset_loads_through_datasets_and_the_gsm8k_parser(benchmarks_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "gsm8k_hf"
    folder.mkdir()
    rows = [json.loads(line) for line in (benchmarks_dir / "gsm8k" / "test.jsonl").read_text().splitlines()[:7]]
    # The hub's openai/gsm8k has only question + answer (no idx).
    (folder / "test.jsonl").write_text("\n".join(json.dumps({"question": r["question"], "answer": r["answer"]})
                                                 for r in rows) + "\n")
    db = f"sqlite:///{tmp_path / 'hf.db'}"
    proc = subprocess.run(CLI + ["--db", db, "benchmarks", "load", "gsm8k", "--hf", str(folder)], cwd=REPO_ROOT,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "hf.db") as conn:
        stored = conn.execute("SELECT key, reference_answer, reference_solution FROM problem ORDER BY id").fetchall()
    assert [k for k, _, _ in stored] == [str(i) for i in range(7)]
    assert stored[0][1] == "18" and "<<16-3-4=9>>" in stored[0][2]


def test_hub_id_offline_is_one_clear_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'hf.db'}"
    proc = subprocess.run(CLI + ["--db", db, "benchmarks", "load", "gsm8k", "--hf", "default"], cwd=REPO_ROOT,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "could not be loaded (offline?)" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr

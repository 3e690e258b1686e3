"""Importing Abel's published outputs: counts, idempotence, lenient ingest, layouts, and the CLI's messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.abel_outputs import AbelLayoutError, read_abel_file
from db.importer import import_abel_outputs
from db.models import Model, Problem, Response, Run
from tests.conftest import REPO_ROOT

CLI = [sys.executable, "-m", "db.cli"]


def _write_outputs(root: Path, folder: str, size: str, lines: list[str]) -> Path:
    path = root / folder / f"{size}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _abel_line(i: int, question: str, response: str, gold: str, result: bool) -> str:
    prompt = f"Question:\n{question}\nAnswer:\nLet's think step by step.\n"
    pred = response.rsplit("####", 1)[-1].strip() if "####" in response else ""
    return json.dumps({"id": i, "prompt": prompt, "response": response, "pred": pred, "gold": gold, "result": result})


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_a_prompt_not_in_abels_format_is_a_line_error(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    good = _abel_line(0, "How many?\nTwo lines.", "#### 2", "2", True)
    odd = json.dumps({"id": 1, "prompt": "Solve: 1+1", "response": "#### 2", "pred": "2", "gold": "2", "result": True})
    path = _write_outputs(tmp_path / "o", "gsm8k", "7b", [good, odd])
    report = import_abel_outputs(engine, tmp_path / "o")
    assert [(e.path, e.line) for e in report.all_errors] == [(str(path), 2)]
    assert "not an Abel prompt" in report.all_errors[0].message
    with Session(engine) as s:
        assert list(s.scalars(select(Problem.question))) == ["How many?\nTwo lines."]


def test_malformed_line_in_the_middle_is_reported_and_the_rest_stored(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    lines = [_abel_line(i, f"What is {i} + 1?", f"1. {i} + 1 = {i + 1} #### {i + 1}", str(i + 1), True)
             for i in range(10)]
    lines[4] = '{"id": 4, "prompt": "Question:\\nbroken'  # truncated JSON on line 5
    lines[7] = json.dumps({"id": 7, "response": "no prompt"})  # missing field on line 8
    path = _write_outputs(tmp_path / "outputs", "gsm8k", "7b", lines)

    report = import_abel_outputs(engine, tmp_path / "outputs")

    errors = report.all_errors
    assert [(e.path, e.line) for e in errors] == [(str(path), 5), (str(path), 8)]
    assert "invalid JSON" in errors[0].message and "missing field(s): prompt" in errors[1].message
    assert _count(engine, Response) == 8
    with Session(engine) as s:
        keys = set(s.scalars(select(Problem.key)))
    assert keys == {str(i) for i in range(10) if i not in (4, 7)}


def test_import_twice_changes_nothing(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    lines = [_abel_line(i, f"Q{i}", f"#### {i}", str(i), True) for i in range(5)]
    _write_outputs(tmp_path / "o", "gsm8k", "7b", lines)
    _write_outputs(tmp_path / "o", "gsm8k", "13b", lines)
    first = import_abel_outputs(engine, tmp_path / "o")
    assert first.inserted == 10
    second = import_abel_outputs(engine, tmp_path / "o")
    assert second.inserted == 0 and sum(f.unchanged for f in second.files) == 10
    assert _count(engine, Response) == 10 and _count(engine, Run) == 2 and _count(engine, Model) == 2


def test_reimport_after_a_partial_import_finishes_without_duplicates(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    lines = [_abel_line(i, f"Q{i}", f"#### {i}", str(i), True) for i in range(20)]
    _write_outputs(tmp_path / "o", "gsm8k", "7b", lines[:12])  # as if killed after 12 lines were committed
    import_abel_outputs(engine, tmp_path / "o")
    _write_outputs(tmp_path / "o", "gsm8k", "7b", lines)
    report = import_abel_outputs(engine, tmp_path / "o")
    assert report.inserted == 8
    assert _count(engine, Response) == 20


def test_missing_directory_and_wrong_layout(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match="not found"):
        import_abel_outputs(engine, tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "7b.jsonl").write_text(_abel_line(0, "Q", "#### 1", "1", True))
    with pytest.raises(AbelLayoutError, match="expected gsm8k/"):
        import_abel_outputs(engine, tmp_path / "flat")


def test_cli_errors_are_one_line_exit_1_no_traceback(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    cases = [
        ["import", "abel", str(tmp_path / "missing")],
        ["--db", str(tmp_path / "no" / "such" / "dir" / "x.db"), "db", "info"],
        ["import", "abel", str(tmp_path)],  # exists, wrong layout
    ]
    for args in cases:
        full = CLI + (["--db", db] if args[0] != "--db" else []) + args
        proc = subprocess.run(full, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        err_lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(err_lines) == 1 and err_lines[0].startswith("error: "), proc.stderr
        assert "Traceback" not in proc.stderr


def test_cli_reports_bad_line_with_file_and_line(tmp_path: Path) -> None:
    lines = [_abel_line(i, f"Q{i}", f"#### {i}", str(i), True) for i in range(3)]
    lines[1] = "not json"
    path = _write_outputs(tmp_path / "o", "gsm8k_robust", "70b", lines)
    db = f"sqlite:///{tmp_path / 'x.db'}"
    proc = subprocess.run(CLI + ["--db", db, "import", "abel", str(tmp_path / "o")], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 1
    assert f"{path}:2: invalid JSON" in proc.stderr
    assert "2 new" in proc.stdout


def test_real_import_grade_and_accuracy(abel_outputs: Path, benchmarks_dir: Path, tmp_path: Path) -> None:
    """The acceptance run: 7 runs with the published accuracies, differences only by listed disagreements."""
    db = f"sqlite:///{tmp_path / 'real.db'}"
    run = lambda *a: subprocess.run(CLI + ["--db", db, *a], capture_output=True, text=True, cwd=REPO_ROOT,  # noqa: E731
                                    timeout=600)
    proc = run("import", "abel", str(abel_outputs), "--benchmarks", str(benchmarks_dir))
    assert proc.returncode == 0, proc.stderr
    assert run("grade").returncode == 0
    again = run("import", "abel", str(abel_outputs), "--benchmarks", str(benchmarks_dir))
    assert again.returncode == 0 and " 0 new" in again.stdout and "1319 unchanged" in again.stdout
    acc = json.loads(run("report", "accuracy", "--json").stdout)
    published = {(r["benchmark"], r["model"]): r["published_accuracy"] for r in acc}
    assert published == {
        ("gsm8k", "Abel-7B-001"): 59.74, ("gsm8k", "Abel-13B-001"): 66.41, ("gsm8k", "Abel-70B-001"): 83.62,
        ("gsm8k_robust", "Abel-7B-001"): 58.23, ("gsm8k_robust", "Abel-13B-001"): 66.57,
        ("gsm8k_robust", "Abel-70B-001"): 81.80, ("tal_scq5k_en", "Abel-70B-001"): 59.70,
    }
    assert sum(r["n"] for r in acc) == 9914
    disagreements = json.loads(run("report", "disagreements", "--json").stdout)
    assert all(d["reason"] for d in disagreements)
    by_run: dict[tuple[str, str], list[dict]] = {}
    for d in disagreements:
        by_run.setdefault((d["benchmark"], d["model"]), []).append(d)
    for r in acc:
        rows = by_run.get((r["benchmark"], r["model"]), [])
        assert r["disagreements"] == len(rows)
        fixed = sum(1 for d in rows if d["correct"]) - sum(1 for d in rows if not d["correct"])
        published_right = round(r["published_accuracy"] * r["n"] / 100)
        assert round(100 * (published_right + fixed) / r["n"], 2) == r["accuracy"]
    # The four quirks in abel-outputs/MANIFEST.md.
    keyed = {(d["benchmark"], d["model"], d["key"]): d for d in disagreements}
    assert keyed[("gsm8k", "Abel-13B-001", "880")]["correct"] is True
    assert keyed[("gsm8k_robust", "Abel-70B-001", "1312")]["correct"] is True
    assert keyed[("tal_scq5k_en", "Abel-70B-001", "1363")]["correct"] is False
    with Session(__import__("db.session", fromlist=["make_engine"]).make_engine(db)) as s:
        quirk = s.execute(
            select(Response.extracted, Response.correct, Problem.reference_answer)
            .join(Problem, Problem.id == Response.problem_id)
            .join(Run, Run.id == Response.run_id)
            .where(Run.run_key == "import:abel:gsm8k_robust/13b", Problem.key == "490")
        ).one()
    assert quirk.extracted is not None and quirk.extracted.strip() == "5"
    assert quirk.correct == (quirk.reference_answer.strip() == "5")


def test_problems_inferred_from_prompts_link_robust_to_gsm8k(abel_outputs: Path, tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    sub = tmp_path / "o"
    for folder in ("gsm8k", "gsm8k_robust"):
        (sub / folder).mkdir(parents=True)
        shutil.copy(abel_outputs / folder / "7b.jsonl", sub / folder / "7b.jsonl")
    import_abel_outputs(engine, sub)
    with Session(engine) as s:
        linked = s.scalar(select(func.count()).select_from(Problem).where(Problem.original_id.is_not(None)))
        q0 = s.scalar(select(Problem.question).where(Problem.key == "0").limit(1))
    assert linked == 1319
    assert q0 is not None and q0.startswith("Janet")


def test_read_abel_file_strict_raises_at_first_bad_line(tmp_path: Path) -> None:
    path = _write_outputs(tmp_path, "gsm8k", "7b", [_abel_line(0, "Q", "#### 1", "1", True), "[1, 2]"])
    records, errors = read_abel_file(path)
    assert len(records) == 1 and errors[0].line == 2 and "expected a JSON object" in errors[0].message
    with pytest.raises(ValueError, match=r"7b\.jsonl:2: expected a JSON object"):
        read_abel_file(path, strict=True)


def test_import_killed_half_way_then_rerun_ends_complete_without_duplicates(abel_outputs: Path, tmp_path: Path) -> None:
    import signal
    import sqlite3

    from tests.kill import kill_when, stored_responses

    db_path = tmp_path / "kill.db"
    db = f"sqlite:///{db_path}"
    assert subprocess.run(CLI + ["--db", db, "db", "upgrade"], cwd=REPO_ROOT, capture_output=True).returncode == 0
    code = kill_when(CLI + ["--db", db, "import", "abel", str(abel_outputs)], lambda: stored_responses(db_path) >= 1000,
                     cwd=REPO_ROOT)
    if code == 0:
        pytest.skip("the import finished before it could be killed")
    assert code == -signal.SIGKILL and 0 < stored_responses(db_path) < 9914

    rerun = subprocess.run(CLI + ["--db", db, "import", "abel", str(abel_outputs)], cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    with sqlite3.connect(db_path) as conn:
        total = conn.execute("SELECT count(*) FROM response").fetchone()[0]
        distinct = conn.execute("SELECT count(DISTINCT run_id || ':' || problem_id) FROM response").fetchone()[0]
        runs = conn.execute("SELECT count(*), sum(status = 'finished') FROM run").fetchone()
    assert total == distinct == 9914
    assert runs == (7, 7)

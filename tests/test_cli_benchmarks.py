"""`abel-triage benchmarks list | load | load-all` against a temp-file database."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from db.cli import main
from db.models import Benchmark, Problem


def run_cli(args: list[str], db_url: str, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run `abel-triage --db URL ARGS` through the real entry point; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["abel-triage", "--db", db_url, *args])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    return lambda *args: run_cli(list(args), db_url, capsys, monkeypatch)


def _stored(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count(Problem.id)).join(Benchmark).where(Benchmark.name == name)
        ).scalar_one()


def test_list_json_shows_every_benchmark(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("benchmarks", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) >= 20
    assert all(set(row) == {"name", "domain", "answer_type", "count"} for row in rows)
    by_name = {row["name"]: row for row in rows}
    assert by_name["gsm8k"] == {"name": "gsm8k", "domain": "in_domain", "answer_type": "number", "count": 0}
    assert by_name["tal_scq5k_en"]["answer_type"] == "choice"
    assert "mr_gsm8k" not in by_name


def test_load_is_idempotent_and_counts_show_in_list(cli, benchmarks_dir: Path, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    path = str(benchmarks_dir / "gsm8k" / "test.jsonl")
    code, out, _ = cli("benchmarks", "load", "gsm8k", "--path", path)
    assert code == 0
    assert "inserted 1319, updated 0, unchanged 0" in out
    code, out, _ = cli("benchmarks", "load", "gsm8k", "--path", path)
    assert code == 0
    assert "inserted 0, updated 0, unchanged 1319" in out
    assert _stored(engine, "gsm8k") == 1319
    rows = {r["name"]: r for r in json.loads(cli("benchmarks", "list", "--json")[1])}
    assert rows["gsm8k"]["count"] == 1319 and rows["math500"]["count"] == 0


def test_load_links_variants_to_stored_originals(cli, benchmarks_dir: Path, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("benchmarks", "load", "gsm8k_robust", "--path",
                       str(benchmarks_dir / "gsm8k_robust" / "test.jsonl"))
    assert code == 0 and "links to originals set 0" in out  # gsm8k not stored yet
    code, out, _ = cli("benchmarks", "load", "gsm8k", "--path", str(benchmarks_dir / "gsm8k" / "test.jsonl"))
    assert code == 0 and "links to originals set 1319" in out
    with engine.connect() as conn:
        orig = Problem.__table__.alias("orig")
        pairs = conn.execute(
            select(Problem.key, orig.c.key).join(orig, orig.c.id == Problem.original_id)
        ).all()
    assert len(pairs) == 1319 and all(a == b for a, b in pairs)


def test_load_reports_bad_lines_and_stores_the_rest(cli, tmp_path: Path, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "small.jsonl"
    good = [json.dumps({"question": f"Q{i}?", "answer": f"x\n#### {i}", "idx": i}) for i in range(3)]
    path.write_text("\n".join([good[0], "{oops", good[1], good[2]]) + "\n", encoding="utf-8")
    code, out, err = cli("benchmarks", "load", "gsm8k", "--path", str(path))
    assert code == 0
    assert "inserted 3" in out and "1 bad records skipped" in out
    assert f"{path}:2: invalid JSON" in err
    assert _stored(engine, "gsm8k") == 3


def test_load_all_loads_what_exists(cli, tmp_path: Path, benchmarks_dir: Path, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    for name, file in (("aime24", "test.jsonl"), ("gaokao2023en", "test.jsonl")):
        (tmp_path / name).mkdir()
        shutil.copy(benchmarks_dir / name / file, tmp_path / name / file)
    code, out, err = cli("benchmarks", "load-all", str(tmp_path))
    assert code == 0
    assert "aime24: 30 problems: inserted 30" in out
    assert "gaokao2023en: 383 problems: inserted 383" in out
    assert "2 benchmarks loaded" in out
    assert "test.jsonl:168: empty 'answer'" in err and "gsm8k: skipped" in err
    rows = {r["name"]: r for r in json.loads(cli("benchmarks", "list", "--json", "--data", str(tmp_path))[1])}
    assert rows["aime24"] == {"name": "aime24", "domain": "out_of_domain", "answer_type": "number", "count": 30,
                              "available": 30}
    assert rows["gsm8k"]["available"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["benchmarks", "load", "gsm9k", "--path", "x.jsonl"], "unknown benchmark 'gsm9k'"),
    (["benchmarks", "load", "gsm8k"], "give exactly one of --path FILE or --hf DATASET"),
    (["benchmarks", "load", "gsm8k", "--path", "/nonexistent/test.jsonl"], "/nonexistent/test.jsonl"),
    (["benchmarks", "load-all", "/nonexistent"], "not a directory"),
])
def test_errors_are_one_line(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(*args)
    assert code == 1
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_hf_without_datasets_is_one_line(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "datasets", None)
    code, _, err = cli("benchmarks", "load", "gsm8k", "--hf", "openai/gsm8k")
    assert code == 1
    assert "Hugging Face dataset openai/gsm8k could not be loaded" in err
    assert len(err.strip().splitlines()) == 1


def test_load_all_twice_changes_nothing(cli, benchmarks_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Every adapter's records survive the JSON round trip through the database unchanged."""
    code, first, _ = cli("benchmarks", "load-all", str(benchmarks_dir))
    assert code == 0 and "22 benchmarks loaded" in first
    code, second, _ = cli("benchmarks", "load-all", str(benchmarks_dir))
    assert code == 0
    lines = [line for line in second.splitlines() if "problems:" in line]
    assert len(lines) == 22
    assert all("inserted 0, updated 0" in line for line in lines), [line for line in lines if "updated 0" not in line]
    rows = {r["name"]: r["count"] for r in json.loads(cli("benchmarks", "list", "--json")[1])}
    assert rows["gsm_plus"] == 2400 and rows["gaokao2023en"] == 383 and rows["math_full_test"] == 5000

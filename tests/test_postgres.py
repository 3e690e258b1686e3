"""The same pipeline on PostgreSQL as on SQLite ("any SQLAlchemy URL such as PostgreSQL for a team").

Imports part of Abel's outputs into a private PostgreSQL server and into SQLite, grades, categorizes and runs the
dashboard's queries on both: the numbers must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.categorize import categorize, failures_report
from db.grading import grade_responses
from db.importer import import_abel_outputs
from db.queries import accuracy_df, category_counts_df, compare_counts, overview_tiles, robustness_df
from db.reports import accuracy_report, disagreements_report
from db.session import current_revision, head_revision, make_engine
from tests.postgres import PostgresUnavailable, running_postgres

pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    try:
        with running_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


def _subset(abel_outputs: Path, tmp_path: Path) -> Path:
    out = tmp_path / "outputs"
    for rel in ("gsm8k/7b.jsonl", "gsm8k/70b.jsonl", "gsm8k_robust/7b.jsonl", "mathgpt/70b.jsonl"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes((abel_outputs / rel).read_bytes())
    return out


def _pipeline(engine: Engine, outputs: Path, benchmarks: Path) -> dict[str, object]:
    import_abel_outputs(engine, outputs, benchmarks_dir=benchmarks)
    import_abel_outputs(engine, outputs, benchmarks_dir=benchmarks)  # idempotent on this backend too
    grade_responses(engine)
    categorize(engine)
    runs = {(r["model"], r["benchmark"]): r["run_id"] for r in accuracy_report(engine)}
    gsm_7b, gsm_70b = runs[("Abel-7B-001", "gsm8k")], runs[("Abel-70B-001", "gsm8k")]
    return {
        "accuracy": [{k: r[k] for k in ("model", "benchmark", "n", "published_accuracy", "accuracy",
                                        "disagreements")} for r in accuracy_report(engine)],
        "disagreements": sorted((d["benchmark"], d["model"], d["key"]) for d in disagreements_report(engine)),
        "failures": sorted((r["model"], r["benchmark"], r["failures"], sorted(r["categories"].items()),
                            sorted(r["flags"].items())) for r in failures_report(engine)),
        "tiles": overview_tiles(engine),
        "accuracy_df": accuracy_df(engine).sort_values(["model", "benchmark"]).to_dict("records"),
        "categories": category_counts_df(engine).sort_values(list(category_counts_df(engine).columns))
        .to_dict("records"),
        "robustness": robustness_df(engine).to_dict("records"),
        "compare": compare_counts(engine, gsm_7b, gsm_70b),
    }


def test_postgres_gives_the_same_numbers_as_sqlite(
    pg_url: str, abel_outputs: Path, benchmarks_dir: Path, tmp_path: Path
) -> None:
    outputs = _subset(abel_outputs, tmp_path)
    pg = make_engine(pg_url)
    lite = make_engine(f"sqlite:///{tmp_path / 'lite.db'}")
    try:
        assert current_revision(pg) == head_revision()
        on_pg = _pipeline(pg, outputs, benchmarks_dir)
        on_lite = _pipeline(lite, outputs, benchmarks_dir)
    finally:
        pg.dispose()
        lite.dispose()
    assert {(r["model"], r["benchmark"]): r["published_accuracy"] for r in on_pg["accuracy"]} == {
        ("Abel-7B-001", "gsm8k"): 59.74, ("Abel-70B-001", "gsm8k"): 83.62,
        ("Abel-7B-001", "gsm8k_robust"): 58.23, ("Abel-70B-001", "tal_scq5k_en"): 59.70,
    }
    for key in on_lite:
        assert on_pg[key] == on_lite[key], key


def test_run_on_postgres_stores_grades_and_resumes(pg_url: str, abel_outputs: Path, benchmarks_dir: Path) -> None:
    """The runner's batch writer (ON CONFLICT DO NOTHING on PostgreSQL) and resume, against the loopback server."""
    from sqlalchemy import func, select
    from typer.testing import CliRunner

    from db.cli import app
    from db.models import Response, Run
    from tests.openai_server import AbelOutputsServer

    server = AbelOutputsServer(abel_outputs).start()
    args = ["--db", pg_url, "run", "--model", "Abel-7B-001", "--benchmark", "gsm8k", "--engine", "openai",
            "--base-url", server.url, "--data", str(benchmarks_dir), "--batch-size", "32"]
    try:
        first = CliRunner().invoke(app, [*args, "--limit", "100"])
        assert first.exit_code == 0, first.output
        second = CliRunner().invoke(app, [*args, "--limit", "160"])
        assert second.exit_code == 0, second.output
    finally:
        server.stop()
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            run_id = conn.execute(select(Run.id).where(Run.source == "openai")).scalar_one()
            total, graded = conn.execute(
                select(func.count(), func.count(Response.status)).where(Response.run_id == run_id)).one()
            distinct = conn.execute(select(func.count(func.distinct(Response.problem_id)))
                                    .where(Response.run_id == run_id)).scalar_one()
        assert total == distinct == graded == 160
    finally:
        engine.dispose()

"""Cross-run flags on a small hand-built database: each flag fires where it should, only there, and
recomputing is idempotent (stale flags are deleted)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from analysis.types import Problem as ProblemRecord
from analysis.types import ProblemRef
from db.cli import app
from db.flags import compute_flags
from db.models import Response, ResponseFlag, Run
from db.session import session_scope
from db.store import ensure_benchmark, ensure_model, problem_ids_by_key, resolve_original_links, upsert_problems


def _build(engine: Engine) -> dict[str, int]:
    """Returns a name -> response id map (names say run/problem[/sample])."""
    ids: dict[str, int] = {}
    with session_scope(engine) as s:
        gsm = ensure_benchmark(s, "gsm8k", domain="in_domain", answer_type="number")
        rob = ensure_benchmark(s, "gsm8k_robust", domain="robustness", answer_type="number")
        upsert_problems(s, gsm, [ProblemRecord("gsm8k", k, f"question {k}", g)
                                 for k, g in (("p1", "10"), ("p2", "7"), ("p3", "3"))])
        upsert_problems(s, rob, [ProblemRecord("gsm8k_robust", "v1", "variant of p1", "12",
                                               original=ProblemRef("gsm8k", "p1"))])
        resolve_original_links(s)
        small = ensure_model(s, "Abel-7B-001", family="Abel", size="7B", size_b=7, generation="Abel-001")
        large = ensure_model(s, "Abel-13B-001", family="Abel", size="13B", size_b=13, generation="Abel-001")
        pid = {**problem_ids_by_key(s, gsm), **problem_ids_by_key(s, rob)}

        def run(key: str, model_id: int, bench_id: int, day: int, settings: dict | None = None) -> int:
            r = Run(run_key=key, model_id=model_id, benchmark_id=bench_id, source="test",
                    settings=settings or {"temperature": 0}, started_at=datetime(2025, 1, day, tzinfo=UTC))
            s.add(r)
            s.flush()
            return r.id

        r7 = run("r7", small.id, gsm.id, 1)
        r13 = run("r13", large.id, gsm.id, 1)
        r7b = run("r7b", small.id, rob.id, 1)
        r7later = run("r7later", small.id, gsm.id, 5, {"temperature": 0.7})

        def resp(name: str, run_id: int, problem: str, extracted: str, correct: bool, sample: int = 0) -> None:
            row = Response(run_id=run_id, problem_id=pid[problem], sample_index=sample, text=f"#### {extracted}",
                           extracted=extracted, correct=correct, status="correct" if correct else "incorrect")
            s.add(row)
            s.flush()
            ids[name] = row.id

        resp("r7/p1", r7, "p1", "10", True)
        resp("r13/p1", r13, "p1", "11", False)  # scale_regression: the 7B is right
        resp("r7b/v1", r7b, "v1", "10", False)  # robustness_flip: the 7B was right on p1
        resp("r7/p2", r7, "p2", "5", False)  # consensus_against_gold with r13/p2 ("5.0" == "5")
        resp("r13/p2", r13, "p2", "5.0", False)
        resp("r7/p3/0", r7, "p3", "3", True)  # unstable: two samples disagree
        resp("r7/p3/1", r7, "p3", "4", False, sample=1)
        resp("r13/p3", r13, "p3", "3", True)
        resp("r7later/p1", r7later, "p1", "9", False)  # regression: right in the previous run r7
    return ids


def _flags(engine: Engine) -> set[tuple[int, str]]:
    with session_scope(engine) as s:
        return set(s.execute(select(ResponseFlag.response_id, ResponseFlag.flag)).all())


def test_each_flag_where_it_belongs(engine: Engine) -> None:
    ids = _build(engine)
    counts = compute_flags(engine)
    expected = {
        (ids["r13/p1"], "scale_regression"),
        (ids["r7b/v1"], "robustness_flip"),
        (ids["r7/p2"], "consensus_against_gold"),
        (ids["r13/p2"], "consensus_against_gold"),
        (ids["r7/p3/0"], "unstable"),
        (ids["r7/p3/1"], "unstable"),
        (ids["r7later/p1"], "regression"),
    }
    assert _flags(engine) == expected
    assert counts == {"robustness_flip": 1, "scale_regression": 1, "regression": 1, "unstable": 2,
                      "consensus_against_gold": 2}


def test_recompute_is_idempotent_and_drops_stale_flags(engine: Engine) -> None:
    ids = _build(engine)
    compute_flags(engine)
    with session_scope(engine) as s:
        before = sorted(s.execute(select(ResponseFlag.id, ResponseFlag.response_id, ResponseFlag.flag)).all())
    compute_flags(engine)
    with session_scope(engine) as s:
        assert sorted(s.execute(select(ResponseFlag.id, ResponseFlag.response_id, ResponseFlag.flag)).all()) == before
        # The larger model is regraded right on p1: its scale_regression no longer holds.
        s.execute(update(Response).where(Response.id == ids["r13/p1"]).values(correct=True, status="correct"))
    compute_flags(engine)
    assert (ids["r13/p1"], "scale_regression") not in _flags(engine)
    assert len(_flags(engine)) == len(before) - 1


def test_no_consensus_with_a_single_model_or_different_answers(engine: Engine) -> None:
    ids = _build(engine)
    with session_scope(engine) as s:
        s.execute(update(Response).where(Response.id == ids["r13/p2"]).values(extracted="6"))
    compute_flags(engine)
    assert not any(flag == "consensus_against_gold" for _, flag in _flags(engine))


def test_report_flags_json(engine: Engine, db_url: str) -> None:
    _build(engine)
    compute_flags(engine)
    runner = CliRunner()
    out = runner.invoke(app, ["--db", db_url, "report", "flags", "--json", "--flag", "consensus_against_gold"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert {(r["model"], r["benchmark"], r["key"], r["flag"]) for r in rows} == {
        ("Abel-7B-001", "gsm8k", "p2", "consensus_against_gold"),
        ("Abel-13B-001", "gsm8k", "p2", "consensus_against_gold"),
    }
    bad = runner.invoke(app, ["--db", db_url, "report", "flags", "--json", "--flag", "nope"])
    assert bad.exit_code != 0

"""db.categorize: labels for every failure, idempotence, version replacement, the human-label rule, stale labels,
and the same categories as `categorize-file` on the same responses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

import db.categorize as dbcat
from analysis.types import Problem as ProblemRecord
from db.categorize import categorize
from db.cli import app
from db.grading import grade_responses
from db.labels import add_human_label
from db.models import CategoryLabel, Response, Run
from db.session import session_scope
from db.store import ensure_benchmark, ensure_model, problem_ids_by_key, upsert_problems

CASES = {json.loads(line)["id"]: json.loads(line)
         for line in (Path(__file__).parent / "data" / "categorize_cases.jsonl").open()}
USED = ["arith-gsm8k-70b-576", "arith-units-between", "missing-step-gsm8k-7b-1310", "unit-minutes-vs-hours",
        "reasoning-fallback", "grader-miss-13b-880", "correct-not-a-failure", "no-final-answer"]


def _published(cid: str) -> bool:
    """The publisher's verdict: as the case states, else right exactly when the case is not a failure."""
    return CASES[cid].get("published_correct", CASES[cid]["expected"] is None)


def _seed(engine: Engine) -> dict[str, int]:
    """One run of Abel-7B-001 on gsm8k with one response per case; graded by db.grading. Returns case -> id."""
    with session_scope(engine) as s:
        bench = ensure_benchmark(s, "gsm8k", domain="in_domain", answer_type="number")
        model = ensure_model(s, "Abel-7B-001", family="Abel", size="7B", size_b=7, generation="Abel-001")
        upsert_problems(s, bench, [
            ProblemRecord("gsm8k", cid, CASES[cid]["question"], CASES[cid]["gold"],
                          solution=CASES[cid].get("reference_solution"))
            for cid in USED
        ])
        run = Run(run_key="test:run", model_id=model.id, benchmark_id=bench.id, source="import")
        s.add(run)
        s.flush()
        pids = problem_ids_by_key(s, bench)
        for cid in USED:
            s.add(Response(run_id=run.id, problem_id=pids[cid], text=CASES[cid]["response"],
                           published_correct=_published(cid)))
    grade_responses(engine)
    with session_scope(engine) as s:
        rows = s.execute(select(Response.id, Response.problem_id)).all()
        pids_rev = {v: k for k, v in problem_ids_by_key(s, ensure_benchmark(
            s, "gsm8k", domain="in_domain", answer_type="number")).items()}
    return {pids_rev[pid]: rid for rid, pid in rows}


def _categories(engine: Engine) -> dict[int, str | None]:
    with session_scope(engine) as s:
        return dict(s.execute(select(Response.id, Response.category)).all())


def test_every_failure_gets_a_rule_label_with_evidence(engine: Engine) -> None:
    ids = _seed(engine)
    summary = categorize(engine)
    assert summary["failures"] == len(USED) - 1  # all but the correct one (the grader miss counts)
    assert summary["categorized"] == summary["failures"]
    cats = _categories(engine)
    assert cats[ids["correct-not-a-failure"]] is None
    assert cats[ids["arith-gsm8k-70b-576"]] == "arithmetic"
    assert cats[ids["missing-step-gsm8k-7b-1310"]] == "missing_step"
    assert cats[ids["grader-miss-13b-880"]] == "grader_miss"
    assert cats[ids["reasoning-fallback"]] == "reasoning"
    with session_scope(engine) as s:
        label = s.scalar(select(CategoryLabel).where(CategoryLabel.response_id == ids["arith-gsm8k-70b-576"]))
        assert label is not None and label.source == "rule"
        assert label.categorizer_version == dbcat.CATEGORIZER_VERSION
        assert label.first_error_step == 6
        assert label.evidence["expression"] == "52 * 216" and label.evidence["actual"] == "11232"


def test_rerun_is_idempotent(engine: Engine) -> None:
    _seed(engine)
    categorize(engine)
    with session_scope(engine) as s:
        before = sorted(s.execute(select(CategoryLabel.id, CategoryLabel.category)).all())
    again = categorize(engine)
    assert again["categorized"] == 0 and again["already_current"] == again["failures"]
    with session_scope(engine) as s:
        assert sorted(s.execute(select(CategoryLabel.id, CategoryLabel.category)).all()) == before


def test_new_version_replaces_rule_labels_but_never_human_ones(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _seed(engine)
    categorize(engine)
    target = ids["reasoning-fallback"]
    with session_scope(engine) as s:
        add_human_label(s, target, "misread_quantity", author="tester", note="reads 3 as given away")
    categorize(engine)  # same version: nothing changes, the human label still wins
    assert _categories(engine)[target] == "misread_quantity"

    monkeypatch.setattr(dbcat, "CATEGORIZER_VERSION", "999")
    summary = categorize(engine)
    assert summary["categorized"] == summary["failures"]
    with session_scope(engine) as s:
        labels = s.execute(select(CategoryLabel.source, CategoryLabel.categorizer_version, CategoryLabel.category)
                           .where(CategoryLabel.response_id == target)).all()
    assert ("human", None, "misread_quantity") in labels
    assert [v for src, v, _ in labels if src == "rule"] == ["999"]  # the old rule label is gone
    assert _categories(engine)[target] == "misread_quantity"


def test_a_response_that_became_correct_loses_its_rule_label(engine: Engine) -> None:
    ids = _seed(engine)
    categorize(engine)
    rid = ids["reasoning-fallback"]
    with session_scope(engine) as s:
        s.execute(update(Response).where(Response.id == rid).values(correct=True, status="correct",
                                                                      published_correct=True))
    summary = categorize(engine)
    assert summary["rule_labels_removed"] == 1
    assert _categories(engine)[rid] is None
    with session_scope(engine) as s:
        assert s.scalar(select(CategoryLabel).where(CategoryLabel.response_id == rid)) is None


def test_categorize_file_gives_the_same_categories_as_the_database(engine: Engine, db_url: str,
                                                                  tmp_path: Path) -> None:
    ids = _seed(engine)
    categorize(engine)
    db_cats = _categories(engine)
    src = tmp_path / "in.jsonl"
    with src.open("w") as fh:
        for cid in USED:
            c = CASES[cid]
            rec = {k: c[k] for k in ("question", "response", "gold", "reference_solution") if k in c}
            rec["published_correct"] = _published(cid)
            rec["id"] = cid
            fh.write(json.dumps(rec) + "\n")
        fh.write("{not json\n")
        fh.write(json.dumps({"question": "q", "gold": "1"}) + "\n")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["categorize-file", str(src), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{src}:{len(USED) + 1}: invalid JSON" in result.output
    assert f'{src}:{len(USED) + 2}: missing "response"' in result.output
    written = [json.loads(line) for line in out.open()]
    assert len(written) == len(USED)
    for rec in written:
        assert rec["category"] == db_cats[ids[rec["id"]]], rec["id"]
        assert rec["correct"] == (rec["id"] in ("correct-not-a-failure", "grader-miss-13b-880"))
    by_id = {r["id"]: r for r in written}
    assert by_id["arith-gsm8k-70b-576"]["first_error_step"] == 6
    assert by_id["correct-not-a-failure"]["evidence"] is None


def test_report_failures_accounts_for_every_failure(engine: Engine, db_url: str) -> None:
    _seed(engine)
    runner = CliRunner()
    result = runner.invoke(app, ["--db", db_url, "categorize"])
    assert result.exit_code == 0, result.output
    assert "7 failure(s): 7 categorized now" in result.output
    report = json.loads(runner.invoke(app, ["--db", db_url, "report", "failures", "--json"]).output)
    assert len(report) == 1
    (run,) = report
    assert run["model"] == "Abel-7B-001" and run["benchmark"] == "gsm8k"
    assert run["failures"] == 7 == sum(run["categories"].values())
    assert "uncategorized" not in run["categories"]

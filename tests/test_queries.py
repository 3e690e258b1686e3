"""db.queries on a small hand-made database (tests/dashboard_seed.py) whose figures are known by hand,
plus db.synth (`abel-triage dev synth`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from db import queries as q
from db.cli import app
from db.labels import add_human_label
from db.models import Benchmark, CategoryLabel, Model, Response, Run
from db.session import make_engine, session_scope
from db.synth import delete_synthetic, generate_synthetic
from tests import dashboard_seed as seed


@pytest.fixture
def seeded(engine: Engine) -> Iterator[tuple[Engine, dict[tuple[str, str, int], int]]]:
    yield engine, seed.seed(engine)


def test_empty_database_gives_empty_frames(engine: Engine) -> None:
    assert not q.has_responses(engine)
    assert q.overview_tiles(engine) == q.Tiles(0, 0, 0, 0, 0, 0)
    assert q.accuracy_df(engine).empty
    assert q.category_counts_df(engine).empty
    assert q.failures_df(engine).empty
    assert q.count_failures(engine) == 0
    assert q.triage_queue_ids(engine) == []
    assert q.robustness_df(engine).empty


def test_tiles(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, _ = seeded
    t = q.overview_tiles(engine)
    assert (t.models, t.benchmarks, t.responses, t.graded) == (2, 3, seed.EXPECTED_RESPONSES, 18)
    assert t.failures == seed.EXPECTED_FAILURES
    assert t.needs_review == seed.EXPECTED_NEEDS_REVIEW == q.count_needs_review(engine)


def test_accuracy_published_and_regraded(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, _ = seeded
    acc = q.accuracy_df(engine).set_index(["model", "benchmark", "kind"])["accuracy"]
    assert acc[("M-7B", "gsm8k", "published")] == 75.0
    assert acc[("M-7B", "gsm8k", "regraded")] == 50.0
    assert acc[("M-70B", "gsm8k_robust", "regraded")] == 75.0
    assert acc[("M-70B", "tal_mc", "regraded")] == 50.0


def test_global_filters_restrict_to_matching_runs(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, _ = seeded
    only7 = q.overview_tiles(engine, q.Filters(models=("M-7B",)))
    assert (only7.models, only7.responses, only7.failures) == (1, 8, 5)
    ood = q.overview_tiles(engine, q.Filters(domains=("out_of_domain",)))
    assert (ood.benchmarks, ood.responses, ood.failures) == (1, 2, 1)


def test_category_counts_include_uncategorized(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, _ = seeded
    counts = q.category_counts_df(engine)
    assert counts["failures"].sum() == seed.EXPECTED_FAILURES
    by = counts.groupby("category")["failures"].sum()
    assert by["arithmetic"] == 2 and by[q.UNCATEGORIZED] == 1 and by["memorized_original"] == 1


def test_failures_filters(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, ids = seeded
    assert len(q.failures_df(engine)) == seed.EXPECTED_FAILURES
    arith = q.failures_df(engine, ff=q.FailureFilters(categories=("arithmetic",)))
    assert sorted(arith["response_id"]) == sorted([ids[("M-7B", "gsm8k", 1)], ids[("M-70B", "gsm8k_robust", 3)]])
    assert q.count_failures(engine, ff=q.FailureFilters(categories=(q.UNCATEGORIZED,))) == 1
    judge = q.failures_df(engine, ff=q.FailureFilters(sources=("judge",)))
    assert judge["response_id"].tolist() == [ids[("M-7B", "gsm8k_robust", 1)]]
    low = q.failures_df(engine, ff=q.FailureFilters(max_confidence=0.45))
    assert set(low["category"]) == {"reasoning", "arithmetic"}
    flagged = q.failures_df(engine, ff=q.FailureFilters(flags=("consensus_against_gold",)))
    assert flagged["response_id"].tolist() == [ids[seed.CONSENSUS]]
    # free text: over the response ("12 * 15 = 170") and over the question ("gsm8k_robust question 2")
    text = q.failures_df(engine, ff=q.FailureFilters(text="12 * 15 = 170"))
    assert text["response_id"].tolist() == [ids[("M-7B", "gsm8k", 1)]]
    assert len(q.failures_df(engine, ff=q.FailureFilters(text="gsm8k_robust question 2"))) == 1
    assert q.failures_df(engine, ff=q.FailureFilters(text="100%_no_such")).empty  # LIKE wildcards are escaped
    assert q.count_failures(engine, ff=q.FailureFilters(text="x")) is None
    assert len(q.failures_df(engine, limit=3)) == 3


def test_failures_export_has_full_texts(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, ids = seeded
    full = q.failures_df(engine, q.Filters(models=("M-7B",), benchmarks=("gsm8k",)), full=True)
    row = full.set_index("response_id").loc[ids[("M-7B", "gsm8k", 1)]]
    assert row["response"] == seed.ARITH_TEXT
    assert row["question"].startswith("Tom has 13 boxes")


def test_detail_same_problem_and_original(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, ids = seeded
    d = q.response_detail(engine, ids[("M-7B", "gsm8k", 1)])
    assert d is not None and d.model == "M-7B" and d.category == "arithmetic"
    assert d.labels[0].evidence == seed.ARITH_EVIDENCE
    others = q.same_problem_df(engine, d.problem_id, exclude_response=d.response_id)
    assert others["model"].tolist() == ["M-70B"] and others["correct"].tolist() == [True]
    pert = q.response_detail(engine, ids[("M-7B", "gsm8k_robust", 0)])
    assert pert is not None and pert.original_id is not None
    orig = q.original_of(engine, pert.problem_id, pert.model_id)
    assert orig is not None and orig.benchmark == "gsm8k" and orig.correct is True
    assert orig.response_id == ids[("M-7B", "gsm8k", 0)]
    assert q.response_detail(engine, 10_000) is None


def test_triage_queue_skips_human_labelled_items(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, ids = seeded
    queue = q.triage_queue_ids(engine, limit=100)
    assert len(queue) == seed.EXPECTED_NEEDS_REVIEW
    assert ids[seed.CONSENSUS] in queue
    assert "consensus_against_gold" in " ".join(q.triage_reasons(engine, ids[seed.CONSENSUS]))
    first = queue[0]
    # a second triager who saved a label on the first item: it leaves everyone's queue
    with session_scope(engine) as s:
        add_human_label(s, first, "gold_suspect", author="someone else")
    after = q.triage_queue_ids(engine, limit=100)
    assert first not in after and len(after) == seed.EXPECTED_NEEDS_REVIEW - 1
    assert q.triage_queue_ids(engine, exclude=after[:1]) == after[1:2]
    assert q.human_label_count(engine) == 1


def test_robustness_pairs(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, ids = seeded
    rob = q.robustness_df(engine).set_index("model")
    assert rob.loc["M-7B", ["both_right", "flipped", "fixed", "both_wrong"]].tolist() == [1, 1, 0, 2]
    assert rob.loc["M-70B", ["both_right", "flipped", "fixed", "both_wrong"]].tolist() == [2, 1, 1, 0]
    assert rob.loc["M-7B", "memorized_original"] == 1
    flips = q.robustness_pairs_df(engine, "M-70B", "flipped")
    assert flips["response_id"].tolist() == [ids[("M-70B", "gsm8k_robust", 3)]]
    assert q.robustness_pairs_df(engine, "M-7B", "memorized_original")["response_id"].tolist() == [
        ids[("M-7B", "gsm8k_robust", 0)]]
    with pytest.raises(ValueError):
        q.robustness_pairs_df(engine, "M-7B", "nonsense")


def test_compare_runs(seeded) -> None:  # type: ignore[no-untyped-def]
    engine, ids = seeded
    runs = q.runs_df(engine, q.Filters(benchmarks=("gsm8k",))).set_index("model")["run_id"]
    pc = q.compare_counts(engine, int(runs["M-7B"]), int(runs["M-70B"]))
    assert (pc.both_right, pc.a_only, pc.b_only, pc.both_wrong) == (2, 0, 1, 1)
    back = q.compare_counts(engine, int(runs["M-70B"]), int(runs["M-7B"]))
    assert back.a_only == 1
    reg = q.regressed_df(engine, int(runs["M-70B"]), int(runs["M-7B"]))
    assert reg["response_id"].tolist() == [ids[("M-7B", "gsm8k", 1)]] and reg["category_b"].tolist() == ["arithmetic"]
    cats = q.run_category_counts_df(engine, [int(runs["M-7B"])])
    assert dict(zip(cats["category"], cats["failures"], strict=True)) == {"arithmetic": 1, "reasoning": 1}


def test_synth_writes_exact_count_marked_synthetic(engine: Engine) -> None:
    counts = generate_synthetic(engine, 2_000, seed=1)
    assert counts.responses == 2_000 and counts.runs == 9
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Response)).scalar_one() == 2_000
        assert conn.execute(select(func.count()).where(Run.synthetic.is_(False))).scalar_one() == 0
        names = conn.scalars(select(Model.name)).all() + conn.scalars(select(Benchmark.name)).all()
        assert all(n.startswith("synth-") for n in names)
        failures = conn.execute(select(func.count()).where(Response.correct.is_(False))).scalar_one()
        labels = conn.execute(select(func.count()).select_from(CategoryLabel)).scalar_one()
    assert failures == labels == counts.labels  # every failure has exactly one label
    acc = q.accuracy_df(engine).query("kind == 'regraded'").groupby("model")["accuracy"].mean()
    assert acc["synth-Abel-7B"] < acc["synth-Abel-70B"]  # shaped like Abel: bigger is better
    assert not q.robustness_df(engine).empty
    # the tile (derived from the breakdown) and the triage queue (SQL) agree on what needs review
    assert q.overview_tiles(engine).needs_review == q.count_needs_review(engine) == len(
        q.triage_queue_ids(engine, limit=10**6))
    assert counts.flags > 0
    generate_synthetic(engine, 500, seed=1)  # replaces, does not add
    assert q.overview_tiles(engine).responses == 500
    delete_synthetic(engine)
    assert not q.has_responses(engine)


def test_cli_dev_synth(db_url: str) -> None:
    result = CliRunner().invoke(app, ["--db", db_url, "dev", "synth", "--responses", "900"])
    assert result.exit_code == 0, result.output
    assert "wrote 900 synthetic responses" in result.output
    eng = make_engine(db_url)
    try:
        assert q.overview_tiles(eng).responses == 900
    finally:
        eng.dispose()

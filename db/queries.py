"""Read-only queries behind the dashboard (and anything else that needs small, pre-aggregated answers).

Every function takes an Engine and returns a small pandas DataFrame or a frozen dataclass. Aggregates are done
in SQL over covering indexes (`ix_response_run_summary`), so a million responses never travel to Python; lists
are always LIMITed. Global filters (models, benchmarks, domains) are first resolved to the matching run ids,
which are few, and every response query is restricted with `run_id IN (...)`.

A *failure* is a graded response with `correct = false`. Ungraded responses (`correct IS NULL`) are counted
separately so a page can say that grading has not been run yet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, case, false, func, literal, not_, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select

from analysis.types import Category, Flag, LabelSource
from db.models import Benchmark, CategoryLabel, Model, Problem, Response, ResponseFlag, Run

log = logging.getLogger(__name__)

LOW_CONFIDENCE = 0.5
UNCATEGORIZED = "uncategorized"  # shown for failures that have no category yet
FAILURE_LIST_LIMIT = 200
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class Filters:
    """Global filters from the sidebar. Empty tuple = no restriction."""

    models: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class FailureFilters:
    """The Failures page's own narrowing, on top of the global filters."""

    categories: tuple[str, ...] = ()  # may include UNCATEGORIZED
    flags: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # rule / judge / human
    min_confidence: float = 0.0
    max_confidence: float = 1.0
    text: str = ""  # substring of the question or the response (SQL LIKE)


@dataclass(frozen=True)
class Tiles:
    models: int
    benchmarks: int
    responses: int
    graded: int
    failures: int
    needs_review: int


@dataclass(frozen=True)
class LabelRow:
    category: str
    source: str
    confidence: float
    first_error_step: int | None
    evidence: dict[str, Any]
    author: str | None
    note: str | None
    created_at: Any
    categorizer_version: str | None


@dataclass(frozen=True)
class ResponseDetail:
    response_id: int
    run_id: int
    model_id: int
    model: str
    benchmark: str
    domain: str
    answer_type: str
    problem_id: int
    problem_key: str
    question: str
    choices: list[dict[str, str]]
    reference_solution: str | None
    reference_answer: str
    original_id: int | None
    text: str
    finish_reason: str | None
    extracted: str | None
    status: str | None
    correct: bool | None
    grade_reason: str | None
    published_extracted: str | None
    published_correct: bool | None
    category: str | None
    category_source: str | None
    category_confidence: float | None
    labels: list[LabelRow] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PairCounts:
    """Two verdicts on the same problems: a = first (original / run A), b = second (perturbed / run B)."""

    both_right: int
    a_only: int  # right in a, wrong in b: regressed / flipped
    b_only: int  # wrong in a, right in b: fixed
    both_wrong: int

    @property
    def total(self) -> int:
        return self.both_right + self.a_only + self.b_only + self.both_wrong


# ---------------------------------------------------------------------------------------------- helpers


def _df(engine: Engine, stmt: Select[Any], columns: Sequence[str] | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(stmt)
        rows = result.all()
        cols = list(columns) if columns is not None else list(result.keys())
    return pd.DataFrame([tuple(r) for r in rows], columns=cols)


def runs_df(engine: Engine, filters: Filters = Filters()) -> pd.DataFrame:
    """Runs matching the global filters with their model and benchmark descriptors (one row per run)."""
    stmt = (
        select(
            Run.id.label("run_id"),
            Run.run_key,
            Run.source,
            Run.started_at,
            Run.synthetic,
            Model.id.label("model_id"),
            Model.name.label("model"),
            Model.family,
            Model.size,
            Model.size_b,
            Model.generation,
            Benchmark.id.label("benchmark_id"),
            Benchmark.name.label("benchmark"),
            Benchmark.domain,
            Benchmark.answer_type,
        )
        .join(Model, Model.id == Run.model_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .order_by(Benchmark.name, Model.size_b, Model.name, Run.id)
    )
    if filters.models:
        stmt = stmt.where(Model.name.in_(filters.models))
    if filters.benchmarks:
        stmt = stmt.where(Benchmark.name.in_(filters.benchmarks))
    if filters.domains:
        stmt = stmt.where(Benchmark.domain.in_(filters.domains))
    return _df(engine, stmt)


def run_ids(engine: Engine, filters: Filters = Filters()) -> list[int]:
    return [int(x) for x in runs_df(engine, filters)["run_id"]]


def filter_options(engine: Engine) -> dict[str, list[str]]:
    """Values offered by the sidebar's global filters."""
    with engine.connect() as conn:
        models = list(conn.scalars(select(Model.name).order_by(Model.size_b, Model.name)))
        benchmarks = list(conn.scalars(select(Benchmark.name).order_by(Benchmark.name)))
        domains = list(conn.scalars(select(Benchmark.domain).distinct().order_by(Benchmark.domain)))
    return {"models": models, "benchmarks": benchmarks, "domains": domains}


def has_responses(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(Response.id).limit(1)).first() is not None


def _needs_review_predicate() -> ColumnElement[bool]:
    """A failure or grader disagreement that a person should look at and that no person has labelled yet."""
    not_human = or_(Response.category_source.is_(None), Response.category_source != LabelSource.HUMAN.value)
    doubtful_failure = and_(
        Response.correct == false(),
        or_(
            Response.category.is_(None),
            Response.category == Category.REASONING.value,
            Response.category_confidence < LOW_CONFIDENCE,
        ),
    )
    disagreement = and_(
        Response.correct.is_not(None),
        Response.published_correct.is_not(None),
        Response.correct != Response.published_correct,
    )
    consensus = Response.id.in_(
        select(ResponseFlag.response_id).where(ResponseFlag.flag == Flag.CONSENSUS_AGAINST_GOLD.value)
    )
    return and_(not_human, or_(doubtful_failure, disagreement, consensus))


# ---------------------------------------------------------------------------------------------- overview


BREAKDOWN_COLUMNS = ["run_id", "correct", "published_correct", "category", "category_source", "n", "low_n"]


def run_breakdown_df(engine: Engine, filters: Filters = Filters()) -> pd.DataFrame:
    """Response counts per run x verdict x published verdict x category x label source (`n`), and how many
    of them have a category confidence below LOW_CONFIDENCE (`low_n`).

    One scan of the covering index `ix_response_run_summary`; the result has at most a few hundred rows per
    run, and every overview figure (accuracy, failures by category, tiles) is derived from it in pandas.
    Columns: the run descriptors of `runs_df` plus BREAKDOWN_COLUMNS.
    """
    runs = runs_df(engine, filters)
    if runs.empty:
        return pd.DataFrame(columns=[*runs.columns, *BREAKDOWN_COLUMNS[1:]])
    low = func.sum(case((Response.category_confidence < LOW_CONFIDENCE, 1), else_=0)).label("low_n")
    stmt = (
        select(Response.run_id, Response.correct, Response.published_correct, Response.category,
               Response.category_source, func.count().label("n"), low)
        .where(Response.run_id.in_(runs["run_id"].tolist()))
        # Grouping in index order needs no temporary B-tree: the scan streams straight into the groups.
        .group_by(Response.run_id, Response.correct, Response.published_correct, Response.category,
                  Response.category_source)
        # SQLite otherwise picks (run_id, category), which is not covering and reads every row.
        .with_hint(Response, "INDEXED BY ix_response_run_summary", "sqlite")
    )
    counts = _df(engine, stmt, BREAKDOWN_COLUMNS)
    return runs.merge(counts, on="run_id", how="inner")


def summarize_runs(runs: pd.DataFrame, breakdown: pd.DataFrame) -> pd.DataFrame:
    """One row per run (from `runs_df`): responses, graded, correct, published counts, accuracies in percent."""
    b = breakdown
    parts = pd.DataFrame({
        "run_id": b["run_id"],
        "responses": b["n"],
        "graded": b["n"].where(b["correct"].notna(), 0),
        "correct": b["n"].where(b["correct"] == True, 0),  # noqa: E712 (pandas element-wise)
        "published_n": b["n"].where(b["published_correct"].notna(), 0),
        "published_correct": b["n"].where(b["published_correct"] == True, 0),  # noqa: E712
    })
    cols = ["responses", "graded", "correct", "published_n", "published_correct"]
    counts = parts.groupby("run_id", as_index=False)[cols].sum() if not parts.empty else parts
    out = runs.merge(counts, on="run_id", how="left")
    for c in cols:
        out[c] = out[c].fillna(0).astype("int64")
    out["accuracy"] = (100.0 * out["correct"] / out["graded"]).where(out["graded"] > 0)
    out["published_accuracy"] = (100.0 * out["published_correct"] / out["published_n"]).where(
        out["published_n"] > 0
    )
    return out


def run_summary_df(engine: Engine, filters: Filters = Filters()) -> pd.DataFrame:
    """One row per run: responses, graded, correct, published counts and accuracies (in percent)."""
    return summarize_runs(runs_df(engine, filters), run_breakdown_df(engine, filters))


ACCURACY_COLUMNS = ["model", "size_b", "benchmark", "domain", "kind", "accuracy", "n"]


def accuracy_from_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Model x benchmark accuracy in long form: one row per (model, benchmark, kind), kind published/regraded.

    Several runs of the same model on the same benchmark are pooled.
    """
    if summary.empty:
        return pd.DataFrame(columns=ACCURACY_COLUMNS)
    grouped = summary.groupby(["model", "benchmark", "domain"], as_index=False, dropna=False).agg(
        size_b=("size_b", "first"),
        graded=("graded", "sum"),
        correct=("correct", "sum"),
        published_n=("published_n", "sum"),
        published_correct=("published_correct", "sum"),
    )
    rows: list[dict[str, Any]] = []
    for r in grouped.itertuples(index=False):
        common = {"model": r.model, "size_b": r.size_b, "benchmark": r.benchmark, "domain": r.domain}
        if r.published_n:
            acc = round(100.0 * r.published_correct / r.published_n, 2)
            rows.append({**common, "kind": "published", "accuracy": acc, "n": int(r.published_n)})
        if r.graded:
            rows.append({**common, "kind": "regraded", "accuracy": round(100.0 * r.correct / r.graded, 2),
                         "n": int(r.graded)})
    return pd.DataFrame(rows, columns=ACCURACY_COLUMNS)


def accuracy_df(engine: Engine, filters: Filters = Filters()) -> pd.DataFrame:
    return accuracy_from_summary(run_summary_df(engine, filters))


CATEGORY_COLUMNS = ["model", "size_b", "benchmark", "domain", "category", "failures"]


def category_counts_from(breakdown: pd.DataFrame) -> pd.DataFrame:
    """Failures per (model, benchmark, category); uncategorized failures appear as UNCATEGORIZED."""
    failed = breakdown[breakdown["correct"] == False]  # noqa: E712
    if failed.empty:
        return pd.DataFrame(columns=CATEGORY_COLUMNS)
    failed = failed.assign(category=failed["category"].fillna(UNCATEGORIZED))
    return (
        failed.groupby(["model", "size_b", "benchmark", "domain", "category"], as_index=False, dropna=False)["n"]
        .sum()
        .rename(columns={"n": "failures"})
        .loc[:, CATEGORY_COLUMNS]
    )


def category_counts_df(engine: Engine, filters: Filters = Filters()) -> pd.DataFrame:
    return category_counts_from(run_breakdown_df(engine, filters))


def count_needs_review(engine: Engine, filters: Filters = Filters()) -> int:
    """Size of the triage queue (same rule as `_needs_review_predicate`), in one SQL count."""
    ids = run_ids(engine, filters)
    if not ids:
        return 0
    stmt = select(func.count()).select_from(Response).where(Response.run_id.in_(ids), _needs_review_predicate())
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def _review_counts(b: pd.DataFrame) -> pd.Series:
    """Per breakdown row: how many of its responses `_needs_review_predicate` selects, without the flag part."""
    not_human = b["category_source"].isna() | (b["category_source"] != LabelSource.HUMAN.value)
    failed = b["correct"] == False  # noqa: E712
    whole = b["category"].isna() | (b["category"] == Category.REASONING.value)
    disagree = b["correct"].notna() & b["published_correct"].notna() & (b["correct"] != b["published_correct"])
    per_row = b["n"].where(disagree | (failed & whole), b["low_n"].where(failed, 0))
    return per_row.where(not_human, 0).astype("int64")


def needs_review_from(engine: Engine, breakdown: pd.DataFrame) -> int:
    """The triage queue size from a breakdown plus the (few) consensus-flagged responses not counted in it.

    Equal to `count_needs_review` but without a second scan of every response.
    """
    if breakdown.empty:
        return 0
    counted = int(_review_counts(breakdown).sum())
    low = case((Response.category_confidence < LOW_CONFIDENCE, 1), else_=0)
    stmt = (
        select(Response.correct, Response.published_correct, Response.category, Response.category_source,
               literal(1).label("n"), low.label("low_n"))
        .join(ResponseFlag, ResponseFlag.response_id == Response.id)
        .where(ResponseFlag.flag == Flag.CONSENSUS_AGAINST_GOLD.value,
               Response.run_id.in_(breakdown["run_id"].unique().tolist()))
    )
    flagged = _df(engine, stmt, BREAKDOWN_COLUMNS[1:])
    if flagged.empty:
        return counted
    not_human = flagged["category_source"].isna() | (flagged["category_source"] != LabelSource.HUMAN.value)
    return counted + int((not_human & (_review_counts(flagged) == 0)).sum())


def tiles_from(summary: pd.DataFrame, needs_review: int) -> Tiles:
    if summary.empty:
        return Tiles(0, 0, 0, 0, 0, needs_review)
    graded = int(summary["graded"].sum())
    return Tiles(
        models=int(summary["model"].nunique()),
        benchmarks=int(summary["benchmark"].nunique()),
        responses=int(summary["responses"].sum()),
        graded=graded,
        failures=graded - int(summary["correct"].sum()),
        needs_review=needs_review,
    )


def overview_tiles(engine: Engine, filters: Filters = Filters()) -> Tiles:
    runs = runs_df(engine, filters)
    breakdown = run_breakdown_df(engine, filters)
    return tiles_from(summarize_runs(runs, breakdown), needs_review_from(engine, breakdown))


# ---------------------------------------------------------------------------------------------- failures


def _failure_conditions(ids: Sequence[int], ff: FailureFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Response.run_id.in_(list(ids)), Response.correct == false()]
    if ff.categories:
        named = [c for c in ff.categories if c != UNCATEGORIZED]
        parts: list[ColumnElement[bool]] = []
        if named:
            parts.append(Response.category.in_(named))
        if UNCATEGORIZED in ff.categories:
            parts.append(Response.category.is_(None))
        conds.append(or_(*parts))
    if ff.sources:
        conds.append(Response.category_source.in_(list(ff.sources)))
    if ff.min_confidence > 0.0 or ff.max_confidence < 1.0:
        conds.append(Response.category_confidence.between(ff.min_confidence, ff.max_confidence))
    if ff.flags:
        conds.append(
            Response.id.in_(select(ResponseFlag.response_id).where(ResponseFlag.flag.in_(list(ff.flags))))
        )
    return conds


def _text_condition(text: str) -> ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(Problem.question.like(pattern, escape="\\"), Response.text.like(pattern, escape="\\"))


def failures_df(
    engine: Engine,
    filters: Filters = Filters(),
    ff: FailureFilters = FailureFilters(),
    *,
    limit: int = FAILURE_LIST_LIMIT,
    offset: int = 0,
    full: bool = False,
) -> pd.DataFrame:
    """Failures matching the filters, by run then id, at most `limit`. `full` adds the texts (for export)."""
    ids = run_ids(engine, filters)
    base_cols = [
        Response.id.label("response_id"),
        Model.name.label("model"),
        Benchmark.name.label("benchmark"),
        Problem.key.label("problem"),
        func.coalesce(Response.category, literal(UNCATEGORIZED)).label("category"),
        Response.category_source.label("source"),
        Response.category_confidence.label("confidence"),
        Response.extracted,
        Problem.reference_answer.label("gold"),
    ]
    if full:
        base_cols += [Problem.question, Response.text.label("response"), Response.grade_reason,
                      Response.published_extracted, Response.published_correct]
    else:
        base_cols += [func.substr(Problem.question, 1, 140).label("question")]
    names = [c.name for c in base_cols]
    if not ids:
        return pd.DataFrame(columns=names)
    # Pick the page of ids from `response` alone, then join the descriptors: with the joins in the same
    # query SQLite drives from `run` and sorts every matching failure (0.8 s at a million responses); on its
    # own, (run_id, id) follows the (run_id, ...) indexes and the first `limit` rows come out in order.
    page = (
        select(Response.id)
        .where(*_failure_conditions(ids, ff))
        .order_by(Response.run_id, Response.id)
        .limit(limit)
        .offset(offset)
    )
    if ff.text.strip():
        page = page.join(Problem, Problem.id == Response.problem_id).where(_text_condition(ff.text.strip()))
    stmt = (
        select(*base_cols)
        .join(Run, Run.id == Response.run_id)
        .join(Model, Model.id == Run.model_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .join(Problem, Problem.id == Response.problem_id)
        .where(Response.id.in_(page.scalar_subquery()))
        .order_by(Response.run_id, Response.id)
    )
    return _df(engine, stmt, names)


def count_failures(engine: Engine, filters: Filters = Filters(), ff: FailureFilters = FailureFilters()) -> int | None:
    """How many failures match; None with a text filter (a LIKE count over every text would be a full scan)."""
    if ff.text.strip():
        return None
    ids = run_ids(engine, filters)
    if not ids:
        return 0
    stmt = select(func.count()).select_from(Response).where(*_failure_conditions(ids, ff))
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def response_detail(engine: Engine, response_id: int) -> ResponseDetail | None:
    stmt = (
        select(Response, Run, Model, Benchmark, Problem)
        .join(Run, Run.id == Response.run_id)
        .join(Model, Model.id == Run.model_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .join(Problem, Problem.id == Response.problem_id)
        .where(Response.id == response_id)
    )
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        row = session.execute(stmt).first()
        if row is None:
            return None
        resp, run, model, bench, prob = row
        labels = [
            LabelRow(
                category=lab.category, source=lab.source, confidence=lab.confidence,
                first_error_step=lab.first_error_step, evidence=dict(lab.evidence or {}), author=lab.author,
                note=lab.note, created_at=lab.created_at, categorizer_version=lab.categorizer_version,
            )
            for lab in session.scalars(
                select(CategoryLabel)
                .where(CategoryLabel.response_id == response_id)
                .order_by(CategoryLabel.created_at, CategoryLabel.id)
            )
        ]
        flags = list(
            session.scalars(select(ResponseFlag.flag).where(ResponseFlag.response_id == response_id).order_by(
                ResponseFlag.flag))
        )
        return ResponseDetail(
            response_id=resp.id, run_id=run.id, model_id=model.id, model=model.name, benchmark=bench.name,
            domain=bench.domain, answer_type=bench.answer_type, problem_id=prob.id, problem_key=prob.key,
            question=prob.question, choices=list(prob.choices or []), reference_solution=prob.reference_solution,
            reference_answer=prob.reference_answer, original_id=prob.original_id, text=resp.text,
            finish_reason=resp.finish_reason, extracted=resp.extracted, status=resp.status, correct=resp.correct,
            grade_reason=resp.grade_reason, published_extracted=resp.published_extracted,
            published_correct=resp.published_correct, category=resp.category, category_source=resp.category_source,
            category_confidence=resp.category_confidence, labels=labels, flags=flags,
        )


def same_problem_df(engine: Engine, problem_id: int, *, exclude_response: int | None = None) -> pd.DataFrame:
    """Every model's response to one problem (first sample of each run), smallest model first."""
    stmt = (
        select(
            Response.id.label("response_id"),
            Model.name.label("model"),
            Model.size_b,
            Response.correct,
            Response.extracted,
            Response.category,
            Response.text,
        )
        .join(Run, Run.id == Response.run_id)
        .join(Model, Model.id == Run.model_id)
        .where(Response.problem_id == problem_id, Response.sample_index == 0)
        .order_by(Model.size_b, Model.name, Response.id)
        .limit(50)
    )
    if exclude_response is not None:
        stmt = stmt.where(Response.id != exclude_response)
    return _df(engine, stmt)


@dataclass(frozen=True)
class OriginalPair:
    problem_key: str
    benchmark: str
    question: str
    reference_answer: str
    response_id: int | None
    extracted: str | None
    correct: bool | None
    text: str | None


def original_of(engine: Engine, problem_id: int, model_id: int) -> OriginalPair | None:
    """For a perturbed problem: its original and the same model's answer to it (if that run exists)."""
    orig = aliased(Problem)
    with engine.connect() as conn:
        row = conn.execute(
            select(orig.id, orig.key, Benchmark.name, orig.question, orig.reference_answer)
            .select_from(Problem)
            .join(orig, orig.id == Problem.original_id)
            .join(Benchmark, Benchmark.id == orig.benchmark_id)
            .where(Problem.id == problem_id)
        ).first()
        if row is None:
            return None
        resp = conn.execute(
            select(Response.id, Response.extracted, Response.correct, Response.text)
            .join(Run, Run.id == Response.run_id)
            .where(Response.problem_id == row[0], Run.model_id == model_id, Response.sample_index == 0)
            .order_by(Response.id)
            .limit(1)
        ).first()
    return OriginalPair(
        problem_key=row[1], benchmark=row[2], question=row[3], reference_answer=row[4],
        response_id=resp[0] if resp else None, extracted=resp[1] if resp else None,
        correct=resp[2] if resp else None, text=resp[3] if resp else None,
    )


# ---------------------------------------------------------------------------------------------- triage


def triage_queue_ids(
    engine: Engine, filters: Filters = Filters(), *, exclude: Sequence[int] = (), limit: int = 1
) -> list[int]:
    """The next responses that need a person, oldest first; already human-labelled ones never appear."""
    ids = run_ids(engine, filters)
    if not ids:
        return []
    stmt = (
        select(Response.id)
        .where(Response.run_id.in_(ids), _needs_review_predicate())
        .order_by(Response.id)
        .limit(limit)
    )
    if exclude:
        stmt = stmt.where(not_(Response.id.in_(list(exclude))))
    with engine.connect() as conn:
        return [int(x) for x in conn.scalars(stmt)]


def triage_reasons(engine: Engine, response_id: int) -> list[str]:
    """Why a response is in the triage queue, in words."""
    reasons: list[str] = []
    with engine.connect() as conn:
        row = conn.execute(
            select(Response.correct, Response.published_correct, Response.category, Response.category_confidence)
            .where(Response.id == response_id)
        ).first()
        flagged = conn.execute(
            select(ResponseFlag.id).where(
                ResponseFlag.response_id == response_id, ResponseFlag.flag == Flag.CONSENSUS_AGAINST_GOLD.value
            )
        ).first()
    if row is None:
        return reasons
    correct, published, category, confidence = row
    if correct is False and category is None:
        reasons.append("not categorized yet")
    if correct is False and category == Category.REASONING.value:
        reasons.append("fallback category `reasoning`")
    if correct is False and confidence is not None and confidence < LOW_CONFIDENCE:
        reasons.append(f"low confidence ({confidence:.2f})")
    if correct is not None and published is not None and correct != published:
        reasons.append(
            "grader disagreement: published says " + ("correct" if published else "wrong")
            + ", regrade says " + ("correct" if correct else "wrong")
        )
    if flagged:
        reasons.append("all models agree on an answer that differs from gold (`consensus_against_gold`)")
    return reasons


def human_label_count(engine: Engine, filters: Filters = Filters()) -> int:
    """Responses (within the filters) whose effective category comes from a person."""
    ids = run_ids(engine, filters)
    if not ids:
        return 0
    stmt = select(func.count()).select_from(Response).where(
        Response.run_id.in_(ids), Response.category_source == LabelSource.HUMAN.value
    )
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


# ---------------------------------------------------------------------------------------------- robustness


def _pair_counts(rows: Sequence[tuple[Any, ...]]) -> PairCounts:
    d = {(bool(a), bool(b)): int(n) for a, b, n in rows}
    return PairCounts(d.get((True, True), 0), d.get((True, False), 0), d.get((False, True), 0),
                      d.get((False, False), 0))


def _robust_pairs_stmt(models: Sequence[str]) -> tuple[Select[Any], Any, Any, Any]:
    rp, ro = aliased(Response), aliased(Response)
    run_p, run_o = aliased(Run), aliased(Run)
    pp = aliased(Problem)
    stmt = (
        select()
        .select_from(rp)
        .join(run_p, run_p.id == rp.run_id)
        .join(pp, pp.id == rp.problem_id)
        .join(ro, and_(ro.problem_id == pp.original_id, ro.sample_index == rp.sample_index))
        .join(run_o, and_(run_o.id == ro.run_id, run_o.model_id == run_p.model_id))
        .join(Model, Model.id == run_p.model_id)
        .where(pp.original_id.is_not(None), rp.correct.is_not(None), ro.correct.is_not(None))
    )
    if models:
        stmt = stmt.where(Model.name.in_(list(models)))
    return stmt, rp, ro, pp


def robustness_df(engine: Engine, filters: Filters = Filters()) -> pd.DataFrame:
    """Per model: original x perturbed verdict counts (graded pairs only) and memorized_original failures."""
    stmt, rp, ro, _ = _robust_pairs_stmt(filters.models)
    stmt = stmt.add_columns(
        Model.name.label("model"), Model.size_b, ro.correct.label("orig"), rp.correct.label("pert"),
        func.count().label("n"),
        func.sum(case((rp.category == Category.MEMORIZED_ORIGINAL.value, 1), else_=0)).label("memorized"),
    ).group_by(Model.name, Model.size_b, ro.correct, rp.correct)
    raw = _df(engine, stmt)
    cols = ["model", "size_b", "pairs", "both_right", "flipped", "fixed", "both_wrong", "memorized_original"]
    if raw.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (model, size_b), g in raw.groupby(["model", "size_b"], dropna=False, sort=False):
        pc = _pair_counts([(r.orig, r.pert, r.n) for r in g.itertuples()])
        rows.append({"model": model, "size_b": size_b, "pairs": pc.total, "both_right": pc.both_right,
                     "flipped": pc.a_only, "fixed": pc.b_only, "both_wrong": pc.both_wrong,
                     "memorized_original": int(g["memorized"].sum())})
    return pd.DataFrame(rows, columns=cols).sort_values(["size_b", "model"], na_position="last").reset_index(
        drop=True
    )


def robustness_pairs_df(engine: Engine, model: str, kind: str = "flipped", *, limit: int = 200) -> pd.DataFrame:
    """Drill-down: pairs of one model of a kind: flipped / fixed / both_wrong / both_right / memorized_original."""
    stmt, rp, ro, pp = _robust_pairs_stmt([model])
    orig_p = aliased(Problem)
    stmt = stmt.join(orig_p, orig_p.id == pp.original_id).add_columns(
        rp.id.label("response_id"), ro.id.label("original_response_id"), pp.key.label("problem"),
        orig_p.reference_answer.label("original_gold"), ro.extracted.label("original_answer"),
        pp.reference_answer.label("gold"), rp.extracted.label("answer"),
        func.coalesce(rp.category, literal("")).label("category"), func.substr(pp.question, 1, 140).label("question"),
    )
    where = {
        "flipped": and_(ro.correct == true(), rp.correct == false()),
        "fixed": and_(ro.correct == false(), rp.correct == true()),
        "both_wrong": and_(ro.correct == false(), rp.correct == false()),
        "both_right": and_(ro.correct == true(), rp.correct == true()),
        "memorized_original": rp.category == Category.MEMORIZED_ORIGINAL.value,
    }
    if kind not in where:
        raise ValueError(f"unknown pair kind {kind!r}; expected one of {sorted(where)}")
    return _df(engine, stmt.where(where[kind]).order_by(rp.id).limit(limit))


# ---------------------------------------------------------------------------------------------- compare


def compare_counts(engine: Engine, run_a: int, run_b: int) -> PairCounts:
    """Verdicts of two runs on the problems both answered (matching sample index)."""
    ra, rb = aliased(Response), aliased(Response)
    stmt = (
        select(ra.correct, rb.correct, func.count())
        .select_from(ra)
        .join(rb, and_(rb.problem_id == ra.problem_id, rb.sample_index == ra.sample_index))
        .where(ra.run_id == run_a, rb.run_id == run_b, ra.correct.is_not(None), rb.correct.is_not(None))
        .group_by(ra.correct, rb.correct)
    )
    with engine.connect() as conn:
        return _pair_counts([tuple(r) for r in conn.execute(stmt).all()])


def run_category_counts_df(engine: Engine, run_ids_: Sequence[int]) -> pd.DataFrame:
    stmt = (
        select(Response.run_id, func.coalesce(Response.category, literal(UNCATEGORIZED)).label("category"),
               func.count().label("failures"))
        .where(Response.run_id.in_(list(run_ids_)), Response.correct == false())
        .group_by(Response.run_id, Response.category)
    )
    return _df(engine, stmt)


def regressed_df(engine: Engine, run_a: int, run_b: int, *, limit: int = FAILURE_LIST_LIMIT) -> pd.DataFrame:
    """Problems right in run A and wrong in run B, with B's category."""
    ra, rb = aliased(Response), aliased(Response)
    stmt = (
        select(
            rb.id.label("response_id"), Problem.key.label("problem"), ra.extracted.label("answer_a"),
            rb.extracted.label("answer_b"), Problem.reference_answer.label("gold"),
            func.coalesce(rb.category, literal(UNCATEGORIZED)).label("category_b"),
            func.substr(Problem.question, 1, 140).label("question"),
        )
        .select_from(ra)
        .join(rb, and_(rb.problem_id == ra.problem_id, rb.sample_index == ra.sample_index))
        .join(Problem, Problem.id == ra.problem_id)
        .where(ra.run_id == run_a, rb.run_id == run_b, ra.correct == true(), rb.correct == false())
        .order_by(rb.id)
        .limit(limit)
    )
    return _df(engine, stmt)

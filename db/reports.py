"""Machine-readable reports over runs: accuracy (published vs regraded) and the disagreements behind it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, case, func, select
from sqlalchemy.orm import Session

from db.models import Benchmark, Model, Problem, Response, Run


def _pct(numerator: int | None, denominator: int | None) -> float | None:
    if not denominator or numerator is None:
        return None
    return round(100.0 * numerator / denominator, 2)


def _disagrees():  # type: ignore[no-untyped-def]
    return and_(
        Response.published_correct.is_not(None),
        Response.correct.is_not(None),
        Response.published_correct != Response.correct,
    )


def accuracy_report(engine: Engine) -> list[dict[str, Any]]:
    """One object per run: model, benchmark, n, published_accuracy, accuracy, disagreements (percent, 2 dp)."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                Run.id,
                Model.name,
                Benchmark.name,
                Run.source,
                func.count(Response.id),
                func.count(Response.published_correct),
                func.sum(case((Response.published_correct.is_(True), 1), else_=0)),
                func.count(Response.correct),
                func.sum(case((Response.correct.is_(True), 1), else_=0)),
                func.sum(case((_disagrees(), 1), else_=0)),
            )
            .join(Model, Model.id == Run.model_id)
            .join(Benchmark, Benchmark.id == Run.benchmark_id)
            .outerjoin(Response, Response.run_id == Run.id)
            .group_by(Run.id, Model.name, Model.size_b, Benchmark.name, Run.source)
            .order_by(Benchmark.name, Model.size_b, Model.name, Run.id)
        ).all()
    out = []
    for run_id, model, bench, source, n, n_pub, pub_ok, n_graded, ok, disagreements in rows:
        out.append(
            {
                "run_id": run_id,
                "model": model,
                "benchmark": bench,
                "source": source,
                "n": n,
                "published_accuracy": _pct(pub_ok, n_pub) if n_pub else None,
                "accuracy": _pct(ok, n_graded) if n_graded else None,
                "graded": n_graded,
                "disagreements": int(disagreements or 0),
            }
        )
    return out


def disagreements_report(engine: Engine, *, run_id: int | None = None) -> list[dict[str, Any]]:
    """Every response whose verdict differs from the published one, with the grader's reason."""
    with Session(engine) as session:
        q = (
            select(
                Model.name,
                Benchmark.name,
                Problem.key,
                Response.id,
                Response.published_extracted,
                Response.extracted,
                Problem.reference_answer,
                Response.published_correct,
                Response.status,
                Response.correct,
                Response.grade_reason,
            )
            .join(Run, Run.id == Response.run_id)
            .join(Model, Model.id == Run.model_id)
            .join(Benchmark, Benchmark.id == Run.benchmark_id)
            .join(Problem, Problem.id == Response.problem_id)
            .where(_disagrees())
            .order_by(Benchmark.name, Model.size_b, Model.name, Response.id)
        )
        if run_id is not None:
            q = q.where(Response.run_id == run_id)
        rows = session.execute(q).all()
    return [
        {
            "model": model,
            "benchmark": bench,
            "key": key,
            "response_id": rid,
            "published_extracted": pub_extracted,
            "extracted": extracted,
            "gold": gold,
            "published": pub,
            "verdict": status,
            "correct": correct,
            "reason": reason,
        }
        for model, bench, key, rid, pub_extracted, extracted, gold, pub, status, correct, reason in rows
    ]

"""Grading stored responses: every ungraded response (or one graded by an older grader) gets a verdict.

Idempotent and resumable: each batch is committed, and a graded response is not graded again unless the grader
version changes or `regrade=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, func, or_, select, update

from analysis.grading import GRADER_VERSION, grade_response
from db.models import Benchmark, Problem, Response, Run, utcnow
from db.session import session_scope

BATCH_SIZE = 1000


@dataclass(frozen=True)
class GradeSummary:
    graded: int
    correct: int
    pending_before: int


def _pending_filter(regrade: bool):  # type: ignore[no-untyped-def]
    if regrade:
        return True
    return or_(Response.status.is_(None), Response.grader_version != GRADER_VERSION)


def count_pending(engine: Engine, *, run_id: int | None = None, regrade: bool = False) -> int:
    with session_scope(engine) as session:
        q = select(func.count()).select_from(Response).where(_pending_filter(regrade))
        if run_id is not None:
            q = q.where(Response.run_id == run_id)
        return session.scalar(q) or 0


def grade_responses(
    engine: Engine,
    *,
    run_id: int | None = None,
    regrade: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> GradeSummary:
    """Grade pending responses in batches of BATCH_SIZE, committing each batch."""
    pending = count_pending(engine, run_id=run_id, regrade=regrade)
    graded = correct = 0
    last_id = 0
    while True:
        with session_scope(engine) as session:
            q = (
                select(
                    Response.id,
                    Response.text,
                    Problem.reference_answer,
                    Problem.choices,
                    Problem.meta,
                    Benchmark.answer_type,
                )
                .join(Problem, Problem.id == Response.problem_id)
                .join(Run, Run.id == Response.run_id)
                .join(Benchmark, Benchmark.id == Run.benchmark_id)
                .where(_pending_filter(regrade), Response.id > last_id)
                .order_by(Response.id)
                .limit(BATCH_SIZE)
            )
            if run_id is not None:
                q = q.where(Response.run_id == run_id)
            rows = session.execute(q).all()
            if not rows:
                break
            now = utcnow()
            updates = []
            for rid, text, gold, choices, meta, answer_type in rows:
                letters = tuple(c["letter"] for c in choices) if choices else None
                meta = meta or {}
                grade = grade_response(
                    text,
                    gold,
                    # A benchmark may mark single problems differently (e.g. GSM-Plus "None" golds are text).
                    answer_type=meta.get("answer_type") or answer_type,
                    choices=letters,
                    multiple_answers=bool(meta.get("multiple_answers", False)),
                )
                updates.append(
                    {
                        "b_rid": rid,
                        "b_extracted": grade.extracted,
                        "b_status": str(grade.status),
                        "b_correct": grade.correct,
                        "b_grade_reason": grade.reason,
                        "b_grader_version": GRADER_VERSION,
                        "b_graded_at": now,
                    }
                )
                correct += grade.correct
            session.connection().execute(
                update(Response.__table__)
                .where(Response.__table__.c.id == bindparam("b_rid"))
                .values(
                    extracted=bindparam("b_extracted"),
                    status=bindparam("b_status"),
                    correct=bindparam("b_correct"),
                    grade_reason=bindparam("b_grade_reason"),
                    grader_version=bindparam("b_grader_version"),
                    graded_at=bindparam("b_graded_at"),
                ),
                updates,
            )
            graded += len(rows)
            last_id = rows[-1][0]
        if on_progress:
            on_progress(graded, pending)
    return GradeSummary(graded=graded, correct=correct, pending_before=pending)


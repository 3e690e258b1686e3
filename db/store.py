"""Writing domain records (`analysis.types`) into the database, idempotently.

Every function here takes a Session and leaves committing to the caller, so a command can commit in batches
and a kill loses at most the batch in flight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from analysis.types import AnswerType, Domain
from analysis.types import Problem as ProblemRecord
from db.models import Benchmark, Model, Problem


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def ensure_benchmark(
    session: Session,
    name: str,
    *,
    domain: Domain | str,
    answer_type: AnswerType | str,
    description: str = "",
    synthetic: bool = False,
) -> Benchmark:
    """Get or create the benchmark row; an existing row keeps its id and gets the given descriptors."""
    bench = session.scalar(select(Benchmark).where(Benchmark.name == name))
    if bench is None:
        bench = Benchmark(
            name=name, domain=str(domain), answer_type=str(answer_type), description=description,
            synthetic=synthetic,
        )
        session.add(bench)
        session.flush()
    else:
        bench.domain = str(domain)
        bench.answer_type = str(answer_type)
        if description:
            bench.description = description
    return bench


def ensure_model(
    session: Session,
    name: str,
    *,
    hf_id: str | None = None,
    family: str = "",
    size: str = "",
    size_b: float | None = None,
    generation: str = "",
    synthetic: bool = False,
) -> Model:
    model = session.scalar(select(Model).where(Model.name == name))
    if model is None:
        model = Model(
            name=name, hf_id=hf_id, family=family, size=size, size_b=size_b, generation=generation,
            synthetic=synthetic,
        )
        session.add(model)
        session.flush()
    return model


def _problem_fields(p: ProblemRecord) -> dict[str, object]:
    return {
        "question": p.question,
        "choices": [{"letter": c.letter, "text": c.text} for c in p.choices] or None,
        "reference_solution": p.solution,
        "reference_answer": p.answer,
        "meta": dict(p.metadata),
        "original_benchmark": p.original.benchmark if p.original else None,
        "original_key": p.original.key if p.original else None,
    }


def upsert_problems(
    session: Session, benchmark: Benchmark, problems: Iterable[ProblemRecord], *, overwrite: bool = True
) -> UpsertCounts:
    """Insert new problems and (with `overwrite`) refresh changed ones, keyed by (benchmark, key).

    `overwrite=False` keeps what is stored: used when problems are only inferred (e.g. from prompts) and must
    not replace richer records loaded from the benchmark file.
    """
    existing = {
        row.key: row
        for row in session.scalars(select(Problem).where(Problem.benchmark_id == benchmark.id))
    }
    inserted = updated = unchanged = 0
    seen: set[str] = set()
    for p in problems:
        if p.key in seen:
            raise ValueError(f"duplicate problem key {p.key!r} in benchmark {benchmark.name}")
        seen.add(p.key)
        fields = _problem_fields(p)
        row = existing.get(p.key)
        if row is None:
            row = Problem(benchmark_id=benchmark.id, key=p.key, **fields)
            session.add(row)
            existing[p.key] = row
            inserted += 1
            continue
        changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
        if changed and overwrite:
            for k, v in changed.items():
                setattr(row, k, v)
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return UpsertCounts(inserted, updated, unchanged)


def resolve_original_links(session: Session) -> int:
    """Point `original_id` at the original problem wherever both sides are now stored. Returns links set."""
    orig = aliased(Problem)
    orig_bench = aliased(Benchmark)
    pending = session.execute(
        select(Problem.id, orig.id)
        .join(orig_bench, orig_bench.name == Problem.original_benchmark)
        .join(orig, (orig.benchmark_id == orig_bench.id) & (orig.key == Problem.original_key))
        .where(Problem.original_key.is_not(None))
        .where((Problem.original_id.is_(None)) | (Problem.original_id != orig.id))
    ).all()
    for problem_id, original_id in pending:
        session.execute(update(Problem).where(Problem.id == problem_id).values(original_id=original_id))
    return len(pending)


def problem_ids_by_key(session: Session, benchmark: Benchmark) -> dict[str, int]:
    return dict(
        session.execute(select(Problem.key, Problem.id).where(Problem.benchmark_id == benchmark.id)).all()
    )

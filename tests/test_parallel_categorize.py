"""The categorizer's worker processes give exactly the labels the single-process path gives."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.categorize import PARALLEL_MIN_FAILURES, categorize
from db.grading import grade_responses
from db.importer import import_abel_outputs
from db.models import CategoryLabel
from db.session import make_engine


def _labels(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return [(lab.response_id, lab.category, lab.first_error_step, lab.confidence, lab.evidence)
                for lab in s.scalars(select(CategoryLabel).order_by(CategoryLabel.response_id))]


def test_workers_give_the_same_labels_as_one_process(abel_outputs: Path, benchmarks_dir: Path, tmp_path: Path) -> None:
    engines = {}
    for workers in (1, 2):
        engine = make_engine(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        import_abel_outputs(engine, abel_outputs, benchmarks_dir=benchmarks_dir)
        grade_responses(engine)
        summary = categorize(engine, workers=workers, flags=False)
        assert summary["categorized"] > PARALLEL_MIN_FAILURES  # so workers=2 really used the process pool
        engines[workers] = engine
    try:
        one, two = _labels(engines[1]), _labels(engines[2])
        assert len(one) == summary["categorized"] and one == two
    finally:
        for engine in engines.values():
            engine.dispose()

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


def test_workers_do_not_rerun_the_callers_script(tmp_path: Path) -> None:
    """Regression: spawned workers re-ran the caller's __main__ file (a Streamlit script under AppTest crashed)."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    script = tmp_path / "caller.py"
    marker = tmp_path / "ran.txt"
    script.write_text(
        "import os, sys\n"
        "with open(os.environ['MARKER'], 'a') as fh:\n"
        "    fh.write('ran\\n')\n"
        "from analysis.categorize import FailureInput\n"
        "from db.categorize import _submit, _worker_pool\n"
        "pool = _worker_pool(2, 1000)\n"
        "inp = FailureInput(question='Tom has 3 apples and buys 4. How many?', response='1. 3 + 4 = 8 #### 8', "
        "gold='7')\n"
        "print(len(_submit(pool, [inp] * 20)()))\n"
        "pool.shutdown()\n"
    )
    env = dict(os.environ, MARKER=str(marker), PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "20"
    assert marker.read_text().splitlines() == ["ran"]

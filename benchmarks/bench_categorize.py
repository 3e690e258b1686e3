"""Time the categorizer on Abel's published failures: the pure rule path, and the database path.

    .venv/bin/python benchmarks/bench_categorize.py [--db /tmp/bench_cat.db] [--data ../shared/data]

Imports and grades Abel's 9,914 published responses into a fresh SQLite file (not timed), then times
(1) `categorize_failure` over every failure, in memory, and (2) `db.categorize.categorize` (load, categorize,
store labels, refresh the effective category, recompute flags) from scratch, and (3) a second, idempotent run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="/tmp/bench_categorize.db")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args()

    from sqlalchemy import delete, select

    from analysis.categorize import categorize_failure
    from db.categorize import categorize, failure_condition, failure_input_from_row, input_query
    from db.grading import grade_responses
    from db.importer import import_abel_outputs
    from db.models import CategoryLabel, Response, ResponseFlag
    from db.session import make_engine, session_scope

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(args.db + suffix):
            os.remove(args.db + suffix)
    engine = make_engine(args.db)
    data = Path(args.data)
    import_abel_outputs(engine, data / "abel-outputs", benchmarks_dir=data / "benchmarks")
    grade_responses(engine)

    with session_scope(engine) as session:
        ids = list(session.scalars(select(Response.id).where(failure_condition())))
        rows = list(session.execute(input_query(ids)))
    inputs = [failure_input_from_row(r) for r in rows]
    t0, c0 = time.perf_counter(), time.process_time()
    for inp in inputs:
        categorize_failure(inp)
    pure, pure_cpu = time.perf_counter() - t0, time.process_time() - c0

    with session_scope(engine) as session:
        session.execute(delete(CategoryLabel))
        session.execute(delete(ResponseFlag))
    t0, c0 = time.perf_counter(), time.process_time()
    summary = categorize(engine)
    full, full_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    again = categorize(engine)
    rerun = time.perf_counter() - t0
    print(f"failures: {len(inputs)} (cores: {os.cpu_count()})")
    print(f"load average: {os.getloadavg()[0]:.2f} (other work on the machine inflates wall time)")
    print(f"categorize_failure, in memory: {pure:.2f} s wall, {pure_cpu:.2f} s CPU "
          f"({1000 * pure_cpu / max(len(inputs), 1):.2f} ms CPU each)")
    print(f"db.categorize from scratch (labels + flags): {full:.2f} s wall, {full_cpu:.2f} s CPU, "
          f"categorized {summary['categorized']}")
    print(f"db.categorize again (idempotent): {rerun:.2f} s, categorized {again['categorized']}")


if __name__ == "__main__":
    main()

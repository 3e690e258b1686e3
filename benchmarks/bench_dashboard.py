"""Time the dashboard's queries on synthetic databases of growing size.

    .venv/bin/python benchmarks/bench_dashboard.py --sizes 10000 100000 1000000 --dir /tmp/abel-bench

For each size: write a fresh SQLite file with `db.synth.generate_synthetic` (as `abel-triage dev synth`
does), then time (a) the overview query set (what the Overview page asks for: filter options, tiles,
accuracy, failures by category, run summary) and (b) a filtered Failures page (list + count for one model,
one benchmark and one category, plus the selected failure's detail and the same problem for other models),
and (c) a free-text failure search. Each is run once cold (fresh engine) and then `--repeat` times; the
median of the warm runs is reported. Prints a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine  # noqa: E402

from db import queries as q  # noqa: E402
from db.session import make_engine  # noqa: E402
from db.synth import generate_synthetic  # noqa: E402


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    start = time.perf_counter()
    fn()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm)


def overview(engine: Engine) -> None:
    """What the Overview page asks for (the same calls as dashboard/data.py, without Streamlit's cache)."""
    f = q.Filters()
    q.filter_options(engine)
    runs = q.runs_df(engine, f)
    breakdown = q.run_breakdown_df(engine, f)
    summary = q.summarize_runs(runs, breakdown)
    q.tiles_from(summary, q.needs_review_from(engine, breakdown))
    q.accuracy_from_summary(summary)
    q.category_counts_from(breakdown)


def failures_page(engine: Engine) -> None:
    """A Failures page narrowed to one model, benchmark and category, with the first failure opened."""
    narrow = q.Filters(models=("synth-Abel-7B",), benchmarks=("synth-gsm8k",))
    ff = q.FailureFilters(categories=("arithmetic",))
    rows_df = q.failures_df(engine, narrow, ff)
    q.count_failures(engine, narrow, ff)
    rid = int(rows_df["response_id"].iloc[0])
    d = q.response_detail(engine, rid)
    assert d is not None
    q.same_problem_df(engine, d.problem_id, exclude_response=rid)


def text_search(engine: Engine) -> None:
    q.failures_df(engine, q.Filters(), q.FailureFilters(text="Aisha has 7 boxes"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/abel-bench"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="reuse an existing database of the same size")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        path = args.dir / f"synth-{n}.db"
        synth_s = float("nan")
        if not (args.reuse and path.exists()):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            engine = make_engine(f"sqlite:///{path}")
            start = time.perf_counter()
            generate_synthetic(engine, n)
            synth_s = time.perf_counter() - start
            engine.dispose()
        engine = make_engine(f"sqlite:///{path}")
        o_cold, o_warm = _timed(lambda e=engine: overview(e), args.repeat)
        f_cold, f_warm = _timed(lambda e=engine: failures_page(e), args.repeat)
        t_cold, t_warm = _timed(lambda e=engine: text_search(e), args.repeat)
        size_mb = path.stat().st_size / 1e6
        engine.dispose()
        rows.append((n, synth_s, size_mb, o_cold, o_warm, f_cold, f_warm, t_cold, t_warm))
        print(f"{n:>9,} responses: synth {synth_s:.1f} s, {size_mb:.0f} MB; overview {o_cold * 1000:.0f}/"
              f"{o_warm * 1000:.0f} ms; failures {f_cold * 1000:.0f}/{f_warm * 1000:.0f} ms; "
              f"text search {t_cold * 1000:.0f}/{t_warm * 1000:.0f} ms (cold/warm)", flush=True)
    print()
    print("| responses | synth (s) | DB (MB) | overview cold / warm (ms) | filtered failures cold / warm (ms) "
          "| text search cold / warm (ms) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, s, mb, oc, ow, fc, fw, tc, tw in rows:
        print(f"| {n:,} | {s:.1f} | {mb:.0f} | {oc * 1000:.0f} / {ow * 1000:.0f} | {fc * 1000:.0f} / {fw * 1000:.0f} "
              f"| {tc * 1000:.0f} / {tw * 1000:.0f} |")


if __name__ == "__main__":
    main()

"""Grading speed on Abel's 9,914 published responses, with the pure functions (no database).

    .venv/bin/python benchmarks/bench_grade.py [--data DIR] [--repeat N]

Files are read and parsed before the clock starts; the timed loop does what grading an imported response does:
option letters from the prompt (TAL-SCQ5K-EN), extraction, normalization, comparison. Prints items, seconds,
items/s and ms/item (the best of --repeat runs), and how many verdicts differ from the published `result`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # runnable as a plain script from any directory
    sys.path.insert(0, str(REPO_ROOT))

from analysis.grading.abel import ABEL_ANSWER_TYPES, grade_abel_record  # noqa: E402


def load(data: Path) -> list[tuple[str, dict]]:
    items = []
    for folder in sorted(ABEL_ANSWER_TYPES):
        for path in sorted((data / folder).glob("*.jsonl")):
            with path.open(encoding="utf-8") as fh:
                items.extend((folder, json.loads(line)) for line in fh if line.strip())
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "abel-outputs",
                        help="Abel's outputs folder (<benchmark>/<size>.jsonl); default ../shared/data/abel-outputs")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best one is reported")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: no such directory: {args.data}", file=sys.stderr)
        return 1
    items = load(args.data)
    if not items:
        print(f"error: no <benchmark>/<size>.jsonl files under {args.data}", file=sys.stderr)
        return 1

    best = float("inf")
    disagreements = 0
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        grades = [grade_abel_record(folder, record) for folder, record in items]
        best = min(best, time.perf_counter() - started)
        disagreements = sum(g.correct != bool(r.get("result")) for g, (_, r) in zip(grades, items, strict=True))

    n = len(items)
    print(f"items:          {n}")
    print(f"seconds:        {best:.4f}")
    print(f"items/s:        {n / best:,.0f}")
    print(f"ms/item:        {1000 * best / n:.4f}")
    print(f"disagreements:  {disagreements} (verdicts that differ from the published result)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Agreement of the rule categorizer with careful hand labels of Abel's failures (a development measure).

    .venv/bin/python benchmarks/measure_dev_labels.py [--db /tmp/cat.db]
        [--split dev|holdout|tuning|test2|old|test3|all] [--show]

`tests/data/categorize_dev_labels.jsonl` holds 350 failures, each labelled by reading the question, the reference
solution and the response, before looking at the categorizer's output: primary category, first wrong step,
rationale. 150 drawn with seed 3229 (90 gsm8k 7B/13B/70B, 40 gsm8k_robust, 20 tal_scq5k_en): 100 `dev` and 50
`holdout` (`tuning` = both, used while tuning version 3); 100 more drawn with seed 20261127 from the remaining
failures (60 gsm8k, 25 gsm8k_robust, 15 tal_scq5k_en) are `test2`: blind for version 3 (measured once before and
once after tuning it), tuned on for version 4. 100 more drawn with seed 20261203 (same mix) are the blind `test3`
split, labelled before version 4's changes and measured once before and once after them (`old` = the first 250,
the labels version 4 was tuned on). Do not use `--show` on test3 while changing rules.

The database must hold Abel's imported and graded outputs (`abel-triage --db PATH setup`); with no `--db` a
fresh one is built in a temporary file. Categories come from `categorize_failure` (the pure path, the same as
`abel-triage categorize`). Prints accuracy, per-category precision/recall and a confusion table; `--show` also
prints every disagreement with the hand rationale and the categorizer's evidence.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LABELS = ROOT / "tests" / "data" / "categorize_dev_labels.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=None, help="an imported and graded database (default: build one)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--split", default="dev",
                        choices=["dev", "holdout", "tuning", "test2", "old", "test3", "test4", "all"])
    parser.add_argument("--show", action="store_true", help="print every disagreement")
    args = parser.parse_args()

    from analysis.categorize import categorize_failure
    from analysis.categorize.agreement import Prediction, format_agreement, load_hand_labels, measure_agreement
    from db.categorize import hand_labelled_inputs
    from db.session import make_engine

    if args.db is None:
        from db.grading import grade_responses
        from db.importer import import_abel_outputs

        path = Path(tempfile.mkdtemp()) / "dev_labels.db"
        engine = make_engine(str(path))
        data = Path(args.data)
        import_abel_outputs(engine, data / "abel-outputs", benchmarks_dir=data / "benchmarks")
        grade_responses(engine)
    else:
        engine = make_engine(args.db)

    groups = {"tuning": ("dev", "holdout"), "old": ("dev", "holdout", "test2"),
              "all": ("dev", "holdout", "test2", "test3", "test4")}
    wanted = groups.get(args.split, (args.split,))
    labels = [lab for lab in load_hand_labels(LABELS) if lab.split in wanted]
    inputs = hand_labelled_inputs(engine, [(lab.run, lab.key) for lab in labels])
    missing = [lab for lab in labels if (lab.run, lab.key) not in inputs]
    if missing:
        sys.exit(f"{len(missing)} labelled failures not found in the database, e.g. {missing[0].run} {missing[0].key}")
    pairs = []
    for lab in labels:
        result = categorize_failure(inputs[(lab.run, lab.key)])
        category = result.category.value if result.category else "correct"
        pairs.append((lab, Prediction(category, result.first_error_step)))
        if args.show and category != lab.category:
            print(f"--- {lab.run} {lab.key}: hand {lab.category}@{lab.first_error_step}, "
                  f"rule {category}@{result.first_error_step}\n    hand: {lab.rationale}\n    rule: {result.evidence}")
    print(format_agreement(measure_agreement(pairs), f"split: {args.split} ({len(labels)} failures)"))


if __name__ == "__main__":
    main()

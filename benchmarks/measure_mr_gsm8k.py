"""Agreement of the categorizer's first-error step with MR-GSM8K's human labels (a development measure).

    .venv/bin/python benchmarks/measure_mr_gsm8k.py [--data ../shared/data] [--json]

Every item of `benchmarks/mr_gsm8k/mr_gsm8k_labeled_errors_subset.jsonl` is a model solution a person marked
wrong, with the first wrong step. Each solution is categorized as a failure (its final answer may even be right:
the reasoning is what was marked), and `first_error_step` is compared with the label: overall, per question
type, and for the items whose primary category is `arithmetic`. `reasoning` has no step, so it never agrees;
the table also shows how often any step is given at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from analysis.categorize import FailureInput, categorize_failure, split_steps
    from analysis.grading import extract_answer

    path = Path(args.data) / "benchmarks" / "mr_gsm8k" / "mr_gsm8k_labeled_errors_subset.jsonl"
    items = [json.loads(line) for line in path.open()]
    stats: dict[str, Counter[str]] = defaultdict(Counter)
    categories: Counter[str] = Counter()
    aligned = 0
    for item in items:
        steps = item["model_output_steps"]
        response = "\n".join(s.strip() for s in steps)
        if len(split_steps(response)) == len(steps):
            aligned += 1
        result = categorize_failure(FailureInput(
            question=item["question"], response=response, gold=str(item["ground_truth_answer"]),
            extracted=extract_answer(response), grade_status="incorrect", correct=False,
            reference_solution=item["ground_truth_solution"],
        ))
        label = int(item["model_output_solution_first_error_step"])
        step = result.first_error_step
        cat = result.category.value if result.category else "none"
        categories[cat] += 1
        for group in ("all", f"type:{item['question_type']}", f"category:{cat}"):
            stats[group]["n"] += 1
            stats[group]["with_step"] += step is not None
            stats[group]["agree"] += step == label
            stats[group]["within_1"] += step is not None and abs(step - label) <= 1
    report = {
        "items": len(items),
        "steps_aligned": aligned,
        "categories": dict(categories.most_common()),
        "groups": {g: dict(c) for g, c in sorted(stats.items())},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{len(items)} labelled wrong solutions; our step split matches theirs on {aligned}")
    print(f"categories: {dict(categories.most_common())}")
    print(f"{'group':28s} {'n':>5s} {'step given':>10s} {'agree':>12s} {'agree|given':>12s} {'within 1':>9s}")
    for group, c in sorted(stats.items()):
        n, given, agree = c["n"], c["with_step"], c["agree"]
        print(f"{group:28s} {n:5d} {given:10d} {agree:5d} ({100 * agree / n:4.1f}%) "
              f"{(100 * agree / given if given else 0):11.1f}% {c['within_1']:9d}")


if __name__ == "__main__":
    main()

"""Agreement of the categorizer with hand labels (`tests/data/categorize_dev_labels.jsonl`).

Each hand label names a failure by run ("gsm8k/7b") and problem key, with the primary category a careful reader
gave it, the first wrong step and a one-sentence rationale. `measure_agreement` compares predictions with them:
category accuracy, per-category precision and recall, a confusion count, and first-error-step agreement.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class HandLabel:
    run: str  # "<benchmark>/<size>", e.g. "gsm8k/7b"
    key: str
    category: str
    first_error_step: int | None
    rationale: str
    split: str  # "dev" (used while tuning) or "holdout" (measured at the end only)


@dataclass(frozen=True)
class Prediction:
    category: str
    first_error_step: int | None


@dataclass(frozen=True)
class Agreement:
    n: int
    correct: int
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (hand, predicted) -> count
    step_both: int = 0  # category agrees and both give a step
    step_agree: int = 0  # ... and the steps are equal

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def precision(self, category: str) -> tuple[int, int]:
        """(right, predicted) for `category`."""
        predicted = sum(n for (_, p), n in self.confusion.items() if p == category)
        return self.confusion[(category, category)], predicted

    def recall(self, category: str) -> tuple[int, int]:
        """(found, labelled) for `category`."""
        labelled = sum(n for (h, _), n in self.confusion.items() if h == category)
        return self.confusion[(category, category)], labelled

    def categories(self) -> list[str]:
        seen = Counter[str]()
        for (h, p), n in self.confusion.items():
            seen[h] += n
            seen[p] += 0
        return [c for c, _ in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))]


def load_hand_labels(path: Path | str) -> list[HandLabel]:
    out: list[HandLabel] = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            raw = json.loads(line)
            out.append(HandLabel(raw["run"], str(raw["key"]), raw["category"], raw.get("first_error_step"),
                                 raw.get("rationale", ""), raw.get("split", "dev")))
    return out


def measure_agreement(pairs: Iterable[tuple[HandLabel, Prediction]]) -> Agreement:
    confusion: Counter[tuple[str, str]] = Counter()
    n = correct = step_both = step_agree = 0
    for label, pred in pairs:
        n += 1
        confusion[(label.category, pred.category)] += 1
        if label.category == pred.category:
            correct += 1
            if label.first_error_step is not None and pred.first_error_step is not None:
                step_both += 1
                step_agree += label.first_error_step == pred.first_error_step
    return Agreement(n, correct, confusion, step_both, step_agree)


def format_agreement(agreement: Agreement, title: str = "", predicted: str = "categorizer") -> str:
    """A plain-text report: accuracy, per-category precision/recall, the confusion table (rows: hand labels,
    columns: `predicted`, what is compared with them)."""
    cats = agreement.categories()
    short = {c: c[:8] for c in cats}
    lines = []
    if title:
        lines.append(title)
    lines.append(f"category agreement: {agreement.correct}/{agreement.n} = {agreement.accuracy:.1%}")
    lines.append(f"first-error step (category agrees, both give a step): {agreement.step_agree}/"
                 f"{agreement.step_both}")
    lines.append(f"{'category':<18} {'precision':>12} {'recall':>12}")
    for c in cats:
        pr, pn = agreement.precision(c)
        rr, rn = agreement.recall(c)
        lines.append(f"{c:<18} {f'{pr}/{pn}':>12} {f'{rr}/{rn}':>12}")
    lines.append(f"confusion (rows: hand label, columns: {predicted})")
    lines.append(f"{'':<18}" + "".join(f"{short[c]:>9}" for c in cats))
    for h in cats:
        row = [agreement.confusion[(h, p)] for p in cats]
        if sum(row):
            lines.append(f"{h:<18}" + "".join(f"{v or '.':>9}" for v in row))
    return "\n".join(lines)


__all__ = ["Agreement", "HandLabel", "Prediction", "format_agreement", "load_hand_labels", "measure_agreement"]

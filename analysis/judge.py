"""An optional model-based judge that confirms or refines the rule categorizer's `reasoning` fallback.

The rule path never needs it. A judge is anything with `judge(inp, rule) -> JudgeVerdict | None`; the one here
(`PromptJudge`) fills `judge_prompt.md` and asks any prompt -> text callable, e.g. a wrapper around an engine
from `analysis.engines` (`lambda p: engine.generate([p], settings)[0].text`). Unparseable answers give None:
a judge that cannot be read is not a label.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from analysis.categorize import CategoryResult, FailureInput
from analysis.types import Category

PROMPT_PATH = Path(__file__).with_name("judge_prompt.md")
# Categories a judge may give: what a reader can tell from the text (output-level ones are the rules' job).
JUDGE_CATEGORIES: frozenset[Category] = frozenset({
    Category.ARITHMETIC, Category.MISREAD_QUANTITY, Category.UNIT_CONVERSION, Category.MISSING_STEP,
    Category.MEMORIZED_ORIGINAL, Category.OPTION_MAPPING, Category.REASONING, Category.GOLD_SUSPECT,
})
_MAX_RESPONSE_CHARS = 6000


@dataclass(frozen=True)
class JudgeVerdict:
    category: Category
    confidence: float
    rationale: str


class Judge(Protocol):
    def __call__(self, inp: FailureInput, rule: CategoryResult) -> JudgeVerdict | None: ...


def build_prompt(inp: FailureInput, rule: CategoryResult, template: str | None = None) -> str:
    template = template if template is not None else PROMPT_PATH.read_text(encoding="utf-8")
    response = inp.response if len(inp.response) <= _MAX_RESPONSE_CHARS else inp.response[:_MAX_RESPONSE_CHARS] + "…"
    values = {
        "question": inp.question, "gold": inp.gold, "response": response,
        "rule_category": rule.category.value if rule.category else "none",
        "rule_evidence": json.dumps(rule.evidence, ensure_ascii=False, default=str)[:300],
    }
    # str.format would trip over braces in LaTeX; replace only our own placeholders.
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), template)


_LINE = re.compile(r"(?im)^\s*(CATEGORY|CONFIDENCE|RATIONALE)\s*:\s*(.+?)\s*$")


def parse_verdict(text: str) -> JudgeVerdict | None:
    fields = {m.group(1).upper(): m.group(2) for m in _LINE.finditer(text or "")}
    name = fields.get("CATEGORY", "").strip().strip("`*.").lower()
    try:
        category = Category(name)
    except ValueError:
        return None
    if category not in JUDGE_CATEGORIES:
        return None
    try:
        confidence = min(1.0, max(0.0, float(fields.get("CONFIDENCE", "0.5").strip().rstrip("."))))
    except ValueError:
        confidence = 0.5
    return JudgeVerdict(category, confidence, fields.get("RATIONALE", "").strip())


class PromptJudge:
    """A judge over any prompt -> text callable (an engine wrapper, an HTTP client, a fake in tests)."""

    def __init__(self, complete: Callable[[str], str], template: str | None = None) -> None:
        self._complete = complete
        self._template = template

    def __call__(self, inp: FailureInput, rule: CategoryResult) -> JudgeVerdict | None:
        return parse_verdict(self._complete(build_prompt(inp, rule, self._template)))

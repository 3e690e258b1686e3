"""Grading Abel's published records (`outputs/<folder>/<size>.jsonl` in GAIR-NLP/abel) with the right options.

`gsm8k` and `gsm8k_robust` are numbers; `mathgpt` (TAL-SCQ5K-EN) is single choice with the options embedded in the
prompt; `math` is LaTeX.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.grading.choices import split_embedded_choices
from analysis.grading.grade import grade_response
from analysis.types import AnswerType, Grade

ABEL_ANSWER_TYPES: dict[str, AnswerType] = {
    "gsm8k": AnswerType.NUMBER,
    "gsm8k_robust": AnswerType.NUMBER,
    "mathgpt": AnswerType.CHOICE,
    "math": AnswerType.LATEX,
}


def _question(prompt: str) -> str:
    start = prompt.find("Question:\n")
    start = 0 if start < 0 else start + len("Question:\n")
    end = prompt.rfind("\nAnswer:")
    return prompt[start : end if end >= start else len(prompt)]


def grade_abel_record(folder: str, record: Mapping[str, Any], *, timeout_s: float = 5.0) -> Grade:
    """Grade one published record of Abel's `folder` (gsm8k, gsm8k_robust, mathgpt, math)."""
    answer_type = ABEL_ANSWER_TYPES[folder]
    letters: tuple[str, ...] | None = None
    if answer_type is AnswerType.CHOICE:
        _, choices = split_embedded_choices(_question(str(record.get("prompt", ""))))
        letters = tuple(c.letter for c in choices) or None
    return grade_response(
        str(record.get("response") or ""),
        str(record.get("gold", "")),
        answer_type=answer_type,
        choices=letters,
        timeout_s=timeout_s,
    )

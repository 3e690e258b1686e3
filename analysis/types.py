"""Core domain records shared by every part of Abel Triage.

Everything here is a frozen dataclass or a string enum: no database, no Streamlit. The database layer
(`db/`) maps these to rows; the dashboard only ever sees what `db/` queries return.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Domain(StrEnum):
    IN_DOMAIN = "in_domain"
    OUT_OF_DOMAIN = "out_of_domain"
    ROBUSTNESS = "robustness"


class AnswerType(StrEnum):
    NUMBER = "number"  # exact rational comparison after normalization
    LATEX = "latex"  # symbolic comparison (math-verify) under a time limit
    CHOICE = "choice"  # a set of option letters
    TEXT = "text"  # normalized string comparison (e.g. GSM-Plus "None")


class GradeStatus(StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"
    NO_ANSWER = "no_answer"
    INVALID = "invalid"
    TIMEOUT = "timeout"


class Category(StrEnum):
    """Primary failure categories, in the order of DESIGN.md's "Failure taxonomy" table."""

    TRUNCATED = "truncated"
    REPETITION = "repetition"
    NO_FINAL_ANSWER = "no_final_answer"
    INVALID_ANSWER = "invalid_answer"
    ARITHMETIC = "arithmetic"
    MISREAD_QUANTITY = "misread_quantity"
    MEMORIZED_ORIGINAL = "memorized_original"
    UNIT_CONVERSION = "unit_conversion"
    MISSING_STEP = "missing_step"
    OPTION_MAPPING = "option_mapping"
    REASONING = "reasoning"
    GOLD_SUSPECT = "gold_suspect"
    GRADER_MISS = "grader_miss"


class Flag(StrEnum):
    """Cross-run flags; a response may carry several."""

    ROBUSTNESS_FLIP = "robustness_flip"
    SCALE_REGRESSION = "scale_regression"
    REGRESSION = "regression"
    UNSTABLE = "unstable"
    CONSENSUS_AGAINST_GOLD = "consensus_against_gold"


class LabelSource(StrEnum):
    RULE = "rule"
    JUDGE = "judge"
    HUMAN = "human"


@dataclass(frozen=True)
class Choice:
    letter: str
    text: str


@dataclass(frozen=True)
class ProblemRef:
    """A pointer to a problem in another benchmark (e.g. a perturbed item's GSM8K original)."""

    benchmark: str
    key: str


@dataclass(frozen=True)
class Problem:
    benchmark: str
    key: str  # stable: the benchmark's own id where it has one, else the 0-based line index
    question: str
    answer: str  # the reference (gold) final answer, as the benchmark states it
    solution: str | None = None  # reference solution (GSM8K keeps its <<a*b=c>> annotations)
    choices: tuple[Choice, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    original: ProblemRef | None = None  # the problem this one perturbs


@dataclass(frozen=True)
class Grade:
    status: GradeStatus
    extracted: str | None  # the answer as the model wrote it (after extraction, before normalization)
    gold: str
    reason: str = ""  # how the verdict was reached, e.g. "trailing period removed: '10.' == '10'"

    @property
    def correct(self) -> bool:
        return self.status is GradeStatus.CORRECT


@dataclass(frozen=True)
class LineError:
    """A record that could not be read: where it is and why. Lenient ingest collects these."""

    path: str
    line: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

"""The failure categorizer: one primary category per failed response, earned by evidence (DESIGN.md
"Failure taxonomy").

    categorize_failure(FailureInput(question=..., response=..., gold=...)) -> CategoryResult
"""

from analysis.categorize.arith import Calculation, find_calculations
from analysis.categorize.core import (
    CATEGORIZER_VERSION,
    PRECEDENCE,
    CategoryResult,
    FailureInput,
    Finding,
    categorize_failure,
)
from analysis.steps import Step, split_steps

__all__ = [
    "CATEGORIZER_VERSION",
    "PRECEDENCE",
    "Calculation",
    "CategoryResult",
    "FailureInput",
    "Finding",
    "Step",
    "categorize_failure",
    "find_calculations",
    "split_steps",
]

"""The rule categorizer: golden real cases, arithmetic near misses, precedence, output-level rules."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from analysis.categorize import CATEGORIZER_VERSION, PRECEDENCE, FailureInput, categorize_failure, find_calculations
from analysis.categorize.core import Finding
from analysis.types import Category, Choice

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "categorize_cases.jsonl").open()]
_FIELDS = ("question", "response", "gold", "reference_solution", "original_question", "original_gold",
           "finish_reason", "published_correct")


def _input(case: dict) -> FailureInput:
    from analysis.grading import split_embedded_choices

    question, choices = split_embedded_choices(case["question"])
    kwargs = {k: case[k] for k in _FIELDS if k in case}
    kwargs["question"] = question
    return FailureInput(**kwargs, choices=choices, answer_type="choice" if choices else "number")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_cases(case: dict) -> None:
    result = categorize_failure(_input(case))
    expected = case["expected"]
    assert (result.category.value if result.category else None) == expected, case["why"]
    assert result.first_error_step == case["step"], case["why"]
    if expected == "arithmetic":
        assert result.evidence["claimed"] == case["claimed"]
        assert result.evidence["actual"] == case["actual"]
        assert result.evidence["step"] == case["step"]


def _wrong(text: str) -> list[tuple[str, str]]:
    return [(c.expression, c.claimed) for c in find_calculations(text) if not c.correct]


@pytest.mark.parametrize(
    "text",
    [
        "2 + 3 = 5 apples",  # units after the value
        "$1,200 + 300 = $1500",  # thousands separator vs none
        "3/4 = 0.75",  # fraction vs decimal
        "20% of 50 = 10",  # percent of
        "50 / 200 * 100 = 25%",  # a percentage written as a number
        "100 - 20% = 80%",  # percent notation meant as percentage points
        "10/3 = 3.33",  # rounding shown by fewer decimals
        "50 / 3 = 16 people",  # truncation to a whole number
        "10 / 3 ≈ 3.3",  # stated approximation
        "the speed is about 100 / 7 = 14.3 mph",  # stated rounding word
        "she has 5 + 3 = 8",  # fully captured left side
        "A - 3 = 9",  # left side not captured: never checked
        "half of 10 = 5",  # ditto
        "2x + 5 = 15",  # an equation being solved
        "x = 5",
        "At 3:00 + 2 = 5 hours later",  # a clock time
        "60 * 2 = 120 minutes = 2 hours",  # unit conversion in a chain
        "5 + 3 = 8 + 2 = 10",  # running total
        "4 + 4 * 2 = 16",  # left-to-right reading the writer meant
        "2 * 12 * 3/4 = 24/4 = 18",  # garbled middle term, right result
        "The ratio is 3/6 = 23/x.",  # a proportion, not a claimed value
        "$3.5 - $140 = $136.5 saved",  # operand-order slip
        "20 miles/hour * 3 hours = 60 miles",  # a unit with a slash
        "$5 per hour * 8 hours = $40",
    ],
)
def test_arithmetic_near_misses_are_not_errors(text: str) -> None:
    assert _wrong(text) == []


@pytest.mark.parametrize(
    ("text", "expression", "claimed"),
    [
        ("12 * 15 = 170 square feet", "12 * 15", "170"),
        ("16 eggs - 3 eggs = 12 eggs", "16 eggs - 3", "12"),
        ("20% * 50 = 12", "20% * 50", "12"),
        ("10/3 = 3.2", "10/3", "3.2"),
        ("Step 1: 75 / 55 = <<75/55=1.5>>1.5 hours", "75 / 55", "1.5"),  # MR-GSM8K style annotations
        ("$20 * 1500 * 0.25 = $3000.", "20 * 1500 * 0.25", "3000"),
    ],
)
def test_arithmetic_errors_are_found(text: str, expression: str, claimed: str) -> None:
    assert _wrong(text) == [(expression, claimed)]


def test_calculation_values_are_exact() -> None:
    (calc,) = find_calculations("(150/100) * $80,000 = $120,000")
    assert calc.actual == Fraction(120000) and calc.correct


def test_earliest_step_wins_then_table_order() -> None:
    # Step 2 has a wrong calculation; the answer is also off by a unit factor (found at step 3).
    inp = FailureInput(
        question="A trip takes 2 hours and costs $5 per hour. How many hours?",
        response="1. The problem states the trip.\n2. The cost is 2 * 5 = 12 dollars.\n3. In minutes: 2 * 60 = 120."
                 "\n4. [Final solution] #### 120",
        gold="2",
    )
    result = categorize_failure(inp)
    assert result.category is Category.ARITHMETIC and result.first_error_step == 2
    assert {f.category for f in result.fired} >= {Category.ARITHMETIC, Category.UNIT_CONVERSION}
    # Same step: the taxonomy table's order decides.
    a = Finding(Category.MISSING_STEP, 3, 0.7)
    b = Finding(Category.ARITHMETIC, 3, 0.9)
    assert sorted([a, b], key=Finding.sort_key)[0] is b
    assert PRECEDENCE.index(Category.TRUNCATED) < PRECEDENCE.index(Category.ARITHMETIC) < PRECEDENCE.index(
        Category.REASONING)


def test_output_level_only_without_a_usable_answer() -> None:
    # A usable answer: a finish reason of "length" does not make it truncated.
    inp = FailureInput(question="2 + 2?", response="1. 2 + 2 = 4.\n2. So #### 5", gold="4", finish_reason="length")
    assert categorize_failure(inp).category is not Category.TRUNCATED
    # No answer: the arithmetic slip inside does not count, the missing answer does.
    inp = FailureInput(question="2 + 2?", response="1. 2 + 2 = 5.\n2. So the answer is five.", gold="4")
    result = categorize_failure(inp)
    assert result.category is Category.NO_FINAL_ANSWER
    assert Category.ARITHMETIC not in {f.category for f in result.fired}


def test_letter_not_among_options_is_invalid() -> None:
    inp = FailureInput(question="Pick one", response="1. It is E. #### E", gold="A", answer_type="choice",
                       choices=(Choice("A", "1"), Choice("B", "2")))
    assert categorize_failure(inp).category is Category.INVALID_ANSWER


def test_quoted_option_equations_are_not_the_solvers_arithmetic() -> None:
    # TAL-SCQ5K options hold equations; the model restating one is not an arithmetic slip.
    question = "Which is true?"
    choices = (Choice("A", "$21 \\times (55 + 20) = 1175$"), Choice("B", "$1575 = 21 \\times 75$"))
    inp = FailureInput(question=question + "\nA. $21 \\times (55 + 20) = 1175$", response=(
        "1. Option A states that $21 \\times (55 + 20) = 1175$.\n2. So our selection is option A. #### A"),
        gold="B", answer_type="choice", choices=choices)
    assert categorize_failure(inp).category is not Category.ARITHMETIC


def test_version_is_a_string() -> None:
    assert isinstance(CATEGORIZER_VERSION, str) and CATEGORIZER_VERSION


@pytest.mark.parametrize(
    "text",
    [
        # Regression: place-value words read as units (TAL id 998).
        "we combine all the place values: 9 millions + 7 ten thousands + 5 thousands + 3 ones = 975823.",
        # Regression: mixed units in one sum are a conversion, not a plain sum (GSM8K 7B id 1288, TAL id 1599).
        "840 minutes + 20 hours = 1410 minutes.",
        "the cost of two erasers is $3.80 - 240 cents = 80 cents.",
        "1210 - 640 - 540 = 3x",  # a term with a variable (MR-GSM8K)
    ],
)
def test_found_false_positives_stay_fixed(text: str) -> None:
    assert _wrong(text) == []

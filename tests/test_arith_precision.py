"""Arithmetic labels must name a calculation that is really wrong: false positives found reading real labels."""

from __future__ import annotations

from analysis.categorize import FailureInput, categorize_failure
from analysis.categorize.arith import numbers_in
from analysis.types import Choice


def test_a_rounded_operand_carries_its_rounding() -> None:
    """Abel-70B TAL: 8/15 s written 0.5333, then `5 * 0.5333 = 2.6667`: right to the writer's precision."""
    inp = FailureInput(question="A car decelerates for 8/15 s.", gold="30",
                       response="1. t = 0.5333 s.\n2. Final speed = 30 + (5 * 0.5333) = 30 + 2.6667 = 32.6667 m/s."
                                "\n#### 32.6667")
    assert categorize_failure(inp).category != "arithmetic"
    # near miss: three decimals that are exact are no licence: 0.125 * 8 is 1
    wrong = FailureInput(question="Tom has 3 apples.", response="1. 0.125 * 8 = 2 apples.\n#### 2", gold="1")
    result = categorize_failure(wrong)
    assert result.category == "arithmetic" and result.evidence["actual"] == "1"


def test_restating_an_equation_the_problem_gives_is_not_a_calculation() -> None:
    """Abel-70B TAL: "Option B states that 21 × (55 + 20) = 1175" quotes (and garbles) the problem's equation."""
    question = "Given that $$(21\\times55) + 20=1175$$, one of the following is incorrect."
    inp = FailureInput(question=question, gold="A", answer_type="choice",
                       choices=(Choice("A", "x"), Choice("B", "y")),
                       response="1. Option B states that $21 \\times (55 + 20) = 1175$.\n#### B")
    assert categorize_failure(inp).category != "arithmetic"
    # near miss: the model's own wrong product is still caught
    own = FailureInput(question=question, gold="A", answer_type="choice", choices=(Choice("A", "x"), Choice("B", "y")),
                       response="1. We compute 21 * 56 = 1166.\n#### B")
    assert categorize_failure(own).category == "arithmetic"


def test_numbers_after_latex_operators_are_read() -> None:
    values = [int(v) for v, _ in numbers_in(r"(21\times55) + 3\div4 + 2\cdot7, but not x2")]
    assert values == [21, 55, 3, 4, 2, 7]


def test_a_target_the_problem_gives_does_not_excuse_the_models_own_wrong_step() -> None:
    """Abel-70B TAL: the puzzle asks for "... = 0"; "Continuing to simplify, we get 2-5+6-7=0" is a real slip."""
    question = "In the calculation, 1 2 3 4 5 6 7=0, fill in + - x / in each gap. Which choice is correct?"
    inp = FailureInput(question=question, gold="B", answer_type="choice", choices=(Choice("A", "x"), Choice("B", "y")),
                       response="1. We fill in the gaps.\n2. Continuing to simplify, we get $2-5+6-7=0$.\n#### A")
    result = categorize_failure(inp)
    assert result.category == "arithmetic" and result.evidence["actual"] == "-4"


def test_a_statement_named_before_it_is_checked_is_not_a_calculation() -> None:
    """Abel-70B TAL: "c. $21\\times(55+20)=1175$: Evaluating this calculation, we get 1575" (it checks the option)."""
    question = "Given that $$(21\\times55) + 20=1175$$, one of the following is incorrect."
    response = ("1. Let's evaluate each option:\n   c. $21\\times(55+20)=1175$: Evaluating this calculation, we get "
                "$21\\times75=1575$, which is different from 1175.\n#### C")
    inp = FailureInput(question=question, gold="A", answer_type="choice", choices=(Choice("A", "x"), Choice("C", "y")),
                       response=response)
    assert categorize_failure(inp).category != "arithmetic"

"""The categorizer rules added against the hand-labelled dev set (CATEGORIZER_VERSION 2, 3 and 4): each on real
Abel responses (`tests/data/categorize_rule_cases.jsonl`) and on near misses that must not fire; and the
agreement with the hand labels of `tests/data/categorize_dev_labels.jsonl` (dev, holdout, test2 and the blind
test3, test4 and test5 splits), so that a regression fails the build."""

from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from analysis.categorize import FailureInput, categorize_failure, find_calculations
from analysis.categorize.agreement import (
    HandLabel,
    Prediction,
    format_agreement,
    load_hand_labels,
    measure_agreement,
)
from analysis.categorize.algebra import declared_variables, find_algebra_slips, linear
from analysis.categorize.align import annotations, derived_reference, first_off_reference
from analysis.categorize.core import Context, Finding
from analysis.categorize.describe import describe_evidence
from analysis.categorize.detectors import (
    _before_last_reference_operation,
    detect_misread_quantity,
    detect_missing_step,
)
from analysis.categorize.quantities import corruption_of, percents_in
from analysis.types import Category

DATA = Path(__file__).parent / "data"
CASES = [json.loads(line) for line in (DATA / "categorize_rule_cases.jsonl").open()]
LABELS = DATA / "categorize_dev_labels.jsonl"

# (accuracy, arithmetic precision) floors per split: what version 6 reached (docs/QUALITY.md) minus a couple of
# items. Reached: dev 78/100, arithmetic 10 of 10 predicted right; holdout 41/50, 9 of 9; test2 60/100, 13 of 14;
# test3 67/100, 20 of 23; test4 (blind: measured once, 51/100, before it was read) 56/100, 7 of 10; test5 (labelled
# after version 6 was final, measured once, never read item by item) 63/100, 11 of 11.
FLOORS = {"dev": (0.76, 0.85), "holdout": (0.78, 0.85), "test2": (0.58, 0.85), "test3": (0.65, 0.80),
          "test4": (0.54, 0.60), "test5": (0.61, 0.85)}


def _inp(case: dict) -> FailureInput:
    return FailureInput(
        question=case["question"], response=case["response"], gold=case["gold"],
        reference_solution=case.get("reference_solution"), original_question=case.get("original_question"),
        original_gold=case.get("original_gold"), original_reference_solution=case.get("original_reference_solution"),
    )


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_real_cases(case: dict) -> None:
    result = categorize_failure(_inp(case))
    assert result.category is not None
    assert result.category.value == case["expected"], case["why"]
    assert result.first_error_step == case["step"], case["why"]
    assert case["evidence_key"] in result.evidence, result.evidence


def _case(cid: str) -> dict:
    return next(c for c in CASES if c["id"] == cid)


# ----------------------------------------------------------------------------------------------- arithmetic


def _wrong(text: str) -> list[tuple[str, str]]:
    return [(c.expression, c.claimed) for c in find_calculations(text) if not c.correct and not c.mixed_units]


def test_chain_link_between_two_expressions_is_checked() -> None:
    assert _wrong("the total is 8 + 16 + 6 = 20 + 6 = 26 years.") == [("8 + 16 + 6", "20 + 6")]


def test_compound_quantities_are_not_read_as_plain_numbers() -> None:
    # "7 hours 55 minutes - 23 minutes = 7 hours 32 minutes" is right; read as "55 - 23 = 7" it looked wrong.
    assert find_calculations("we get 7 hours 55 minutes - 23 minutes = 7 hours 32 minutes.") == []
    assert find_calculations("so it costs 5 + 3 = 8 dollars 50 cents.") == []
    # near miss: a plain result followed by its unit is still checked
    assert _wrong("so 3 hours + 2 hours = 6 hours.") == [("3 hours + 2", "6")]


def test_a_final_answer_written_as_a_chain_is_one_answer() -> None:
    response = ("1. She slept on her bed.\n2. [Final solution] Thus, she slept. #### 7 \\frac{32}{60} "
                "= \\boxed{7 \\frac{32}{60}} minutes on her bed.  #### 7 \\frac{32}{60}")
    result = categorize_failure(FailureInput(question="How many minutes did she sleep?", response=response,
                                             gold="452"))
    assert result.category is Category.UNIT_CONVERSION, result.evidence
    assert result.evidence["factor"] == 60
    # near miss: two different numbers after #### are two answers
    two = categorize_failure(FailureInput(question="How many minutes did she sleep?", gold="452",
                                          response="1. Slept.\n2. #### 7.5\n#### 450"))
    assert two.category is Category.INVALID_ANSWER


def test_chain_link_is_checked_when_the_chain_ends_in_a_rounded_result() -> None:
    # 2315 / 255 is 9.078..., shown as 9.07: the link still carries the chain's result, so it is checked.
    text = "we get (5/255) * 459 = (5 * 459) / 255 = 2315 / 255 = 9.07 minutes."
    assert _wrong(text) == [("(5 * 459) / 255", "2315 / 255")]
    # near miss: the same chain done right, rounded the same way
    assert _wrong("we get (5/255) * 460 = (5 * 460) / 255 = 2300 / 255 = 9.02 minutes.") == []
    assert _wrong("Crista needs 4 * 1/2 + 8 + 2 = 4 + 8 + 2 = 14 cups.") == [("4 * 1/2 + 8 + 2", "4 + 8 + 2")]


@pytest.mark.parametrize("text", [
    "5 + 3 = 8 + 2 = 10",  # a running total
    "2 * 12 * 3/4 = 24/4 = 18",  # a garbled middle term, but the chain ends right
    "8 + 16 + 6 = 24 + 6 = 30",  # every link right
    "20 pizzas * 70% = 20 * 70% = 14 pizzas",  # the same expression restated
])
def test_chain_link_near_misses(text: str) -> None:
    assert _wrong(text) == []


def test_ordinal_claim_is_a_number() -> None:
    assert _wrong("his new floor is 4 * 3 + 6 = 16th floor.") == [("4 * 3 + 6", "16")]
    assert _wrong("his new floor is 4 * 3 + 6 = 18th floor.") == []


def test_a_blank_quoted_from_the_problem_is_not_a_calculation() -> None:
    inp = FailureInput(question="$$86-3\\square=48$$  What is the missing digit?",
                       response="1. The problem states that we have the equation $86-3=48$ to read.\n"
                                "2. So the digit is 2. #### 2", gold="8")
    assert categorize_failure(inp).category is not Category.ARITHMETIC


# ------------------------------------------------------------------------------------------ unit conversion


def test_mixed_units_added_as_plain_numbers() -> None:
    calcs = find_calculations("we add them: 210 minutes + 5 hours = 210 + 5 = 315 minutes.")
    assert [c.mixed_units for c in calcs] == [True, True]  # the sum that follows inherits the unit error
    assert not any(c.mixed_units for c in find_calculations("30 minutes/day * 7 days/week = 30 * 7 = 210 minutes."))
    assert not any(c.mixed_units for c in find_calculations("840 minutes + 20 hours = 2040 minutes"))


@pytest.mark.parametrize("response, fires", [
    ("1. He mows.\n2. It takes 2 hours, which is equal to 80 minutes.\n3. So 80 + 40 = 120. #### 120", True),
    ("1. He mows.\n2. It takes 2 hours, which is equal to 120 minutes.\n3. So 120 + 40 = 160. #### 160", False),
    ("1. He mows.\n2. He spent 2 hours * 40 weeks = 80 hours.\n3. So 80 + 40 = 120. #### 120", False),  # a product
    ("1. He mows.\n2. It took 2 hours and 40 minutes = 2 hours and 80 minutes.\n3. #### 200", False),  # compound
])
def test_stated_conversion(response: str, fires: bool) -> None:
    inp = FailureInput(question="He mows for 2 hours and 40 minutes more. How long in minutes did it take?",
                       response=response, gold="1000")
    result = categorize_failure(inp)
    assert (result.category is Category.UNIT_CONVERSION and "stated" in result.evidence) is fires


# ----------------------------------------------------------------------------------------- misread quantity


def test_seven_day_week_needs_a_reference_that_never_counts_seven_days() -> None:
    case = dict(_case("seven-day-week-builder"))
    case["reference_solution"] = case["reference_solution"].replace("6*4=24", "6*7=42")  # the reference counts 7
    result = categorize_failure(_inp(case))
    assert result.category is not Category.MISREAD_QUANTITY


# ------------------------------------------------------------------------------------ missing step, detours


_PROFIT_QUESTION = ("He buys a phone for $20 and sells it for twice that. He bought 2 phones on Monday and 4 on "
                    "Tuesday. What is his profit?")
_PROFIT_REFERENCE = ("2*20=<<2*20=40>>40\n4*20=<<4*20=80>>80\n80+40=<<80+40=120>>120\n20*2=<<20*2=40>>40\n"
                     "40*6=<<40*6=240>>240\n240-120=<<240-120=120>>120\n#### 120")


def test_answer_that_is_a_reference_intermediate_reached_the_same_way_is_a_missing_step() -> None:
    response = ("1. Monday: 2 * 20 = 40 dollars.\n2. Tuesday: 4 * 20 = 80 dollars.\n"
                "3. [Final solution] He spent 80 dollars on Tuesday. #### 80")
    result = categorize_failure(FailureInput(question=_PROFIT_QUESTION, response=response, gold="120",
                                             reference_solution=_PROFIT_REFERENCE))
    assert result.category is Category.MISSING_STEP
    assert result.evidence["reference_intermediate"] == "4*20=80"


def test_near_miss_the_same_number_reached_another_way_is_no_missing_step() -> None:
    # 80 is also the reference's 4*20, but here it is 120 - 40, a profit computed with one phone's price.
    response = ("1. Cost: 20 * 6 = 120 dollars.\n2. Price: 20 * 2 = 40 dollars.\n"
                "3. Profit: 120 - 40 = 80 dollars. #### 80")
    result = categorize_failure(FailureInput(question=_PROFIT_QUESTION, response=response, gold="120",
                                             reference_solution=_PROFIT_REFERENCE))
    assert "reference_intermediate" not in result.evidence, result.evidence


def test_skipped_step_near_miss_valid_detour() -> None:
    """150 * 3 = 450, then 450 + 150 = 600: the reference's 4*150=600 is reached another way."""
    inp = FailureInput(
        question="Alex invites 150 people and each invites 3 friends. How many people come if 50 do not come?",
        response="1. Each of the 150 people invites 3 friends: 150 * 3 = 450 people.\n"
                 "2. With the invited people: 450 + 150 = 600 people.\n3. Then 600 - 50 = 540. #### 540",
        gold="550", reference_solution="1+3=<<1+3=4>>4\n4*150=<<4*150=600>>600\n600-50=<<600-50=550>>550\n#### 550")
    result = categorize_failure(inp)
    assert result.category is not Category.MISSING_STEP
    # 450 is a value the reference never writes, so the response leaves the reference's path at step 1; but
    # correcting step 3's slip gives the gold answer, so the detour was valid and the slip is the first error.
    assert (result.category, result.first_error_step) == (Category.ARITHMETIC, 3)
    assert result.evidence["repaired_answer"] == "550"


def test_dropped_term_near_miss_added_later() -> None:
    """3 + 4 = 7 leaves Helene's 10 out of the reference's 10+3+4, but the response adds it in the next step."""
    inp = FailureInput(
        question="Helene is 10, Akbar is 3 and Alessandro is 4. The four children are 20 in total. How old is Wilfred?",
        response="1. Akbar and Alessandro: 3 + 4 = 7.\n2. With Helene: 7 + 10 = 17.\n3. Wilfred: 20 - 17 = 4. #### 4",
        gold="3", reference_solution="10+3+4=<<10+3+4=17>>17\n20-17=<<20-17=3>>3\n#### 3")
    result = categorize_failure(inp)
    assert result.category is not Category.MISSING_STEP
    assert "left_out" not in result.evidence


def test_unused_quantity_near_miss_number_used() -> None:
    case = dict(_case("unused-quantity-district-c"))
    case["response"] = case["response"].replace("600 - 198 = 402", "600 - 198 - 209 = 402")
    result = categorize_failure(_inp(case))
    assert result.category is Category.ARITHMETIC  # now 209 is used, and the subtraction is wrong


# ------------------------------------------------------------------------------------------------ alignment


def test_off_reference_only_before_the_first_wrong_calculation() -> None:
    calcs = find_calculations("1. 3 * 4 = 13.\n2. 13 * 2 = 26.")
    assert first_off_reference(calcs, [1, 2], frozenset({Fraction(12), Fraction(24)})) is None
    calcs = find_calculations("1. 3 * 5 = 15.\n2. 15 * 2 = 31.")
    off = first_off_reference(calcs, [1, 2], frozenset({Fraction(12), Fraction(24)}))
    assert off is not None and off.step == 1 and off.calculation.claimed == "15"


def test_derived_reference_needs_the_variants_gold() -> None:
    original_q = "Tom has 3 boxes of 4 pens and buys 5 more pens. How many pens?"
    original_ref = "3*4=<<3*4=12>>12\n12+5=<<12+5=17>>17\n#### 17"
    variant_q = "Tom has 6 boxes of 7 pens and buys 2 more pens. How many pens?"
    assert derived_reference(original_ref, original_q, variant_q, Fraction(44)) == "<<6*7=42>>\n<<42+2=44>>"
    assert derived_reference(original_ref, original_q, variant_q, Fraction(45)) is None  # does not reach gold
    assert derived_reference(original_ref, original_q, "Tom has 6 boxes of pens.", Fraction(44)) is None


# -------------------------------------------------------------------------------------------------- repetition


_WORDS = ["once", "twice", "again", "anew", "still", "more", "further"]


def _loop(times: int) -> str:
    """Two alternating steps, one of them worded differently each time: no span repeats back to back, the
    other step comes back word for word (numbers aside)."""
    head = "1. The problem states the cost.\n2. Let x be the cost of travel and set up the equation.\n"
    body = "".join(f"{3 + 2 * i}. By problem, the total cost is $500 + 0.75x; we substitute it {_WORDS[i]}.\n"
                   f"{4 + 2 * i}. By steps {1 + 2 * i} and {2 + 2 * i}, we simplify: 0.25x = total cost - $500.\n"
                   for i in range(times))
    return head + body + f"{3 + 2 * times}. By problem, we know that the total"


def test_loop_of_two_steps_is_repetition() -> None:
    inp = FailureInput(question="How much does travel cost?", response=_loop(5), gold="875")
    result = categorize_failure(inp)
    assert result.category is Category.REPETITION and result.first_error_step == 4
    assert result.evidence["steps"][:4] == [4, 6, 8, 10]
    near = categorize_failure(FailureInput(question="How much does travel cost?", response=_loop(2), gold="875"))
    assert near.category is not Category.REPETITION


# ------------------------------------------------------------------------------- algebra (version 3)


def test_linear_sides_are_read_exactly() -> None:
    assert linear("(1 - 1/3)x * 1.5", "x") == (Fraction(1), Fraction(0))
    assert linear("1/2x + x + x", "x") == (Fraction(5, 2), Fraction(0))
    assert linear("2(x + 5) - 3", "x") == (Fraction(2), Fraction(7))
    assert linear("x * x", "x") is None  # not linear: not checked
    assert linear("(x + 1", "x") is None


def _slips(text: str) -> list[tuple[str, str, str]]:
    return [(s.kind, s.before, s.after) for s in find_algebra_slips(text)]


def test_wrong_transformation_between_equations() -> None:
    text = ("2. Let x be the number of cases for the second house.\n"
            "4. Therefore, we can set up the equation: 1/2x + x + x = 250.\n"
            "5. By step 4, we can simplify the equation: 3x = 250.\n")
    assert _slips(text) == [("transformation", "1/2x + x + x = 250", "3x = 250")]
    assert _slips(text.replace("3x = 250", "5/2x = 250")) == []


def test_wrong_simplification_in_a_chain() -> None:
    text = "2. Let's assume that Kenny started with x cards.\n4. He makes 2 * (3/4x) = 6/4x = 3x dollars.\n"
    assert _slips(text) == [("simplification", "6/4x", "3x")]
    assert _slips(text.replace("= 3x dollars", "= 1.5x dollars")) == []
    text = "2. Let x be the number of bandages.\n3. So, they had x - 28 + 40 = x - 28 bandages left.\n"
    assert _slips(text) == [("simplification", "x - 28 + 40", "x - 28")]


@pytest.mark.parametrize("text", [
    # "x" written for times: no variable
    "2. Let x be the cost. 3. So 36 x 2 = 72 and x = 72 / 4 = 18.\n4. Simplifying, we get x = 19.",
    # two unknowns: equations in two variables are not checked
    "2. Let A and B represent the digits. 3. We have A + B = 13.\n4. Simplifying, we get A + B = 9.",
    # an equation the response sets up (wrong, but a modelling error, not a slip in the algebra)
    "2. Let y be his age. 3. So, we can set up the equation 6y + 48 = 6y + 8.",
    "2. Let x be the gold. 3. We need to solve the equation: x - 20 + 11 - 15 = x.",
    # a new relation is not a rewriting of the previous equation
    "2. Let x be the price. 3. So 2x + 3 = 11.\n4. We can set up another equation: 3x = 30.",
    # a silent rounding of a non-whole solution is not counted (as for number calculations)
    "2. Let x be the age. 3. So 3x = 37.\n4. Dividing both sides by 3, we find x = 12.",
    # a stated rounding
    "2. Let x be the cases. 3. So 3x = 250.\n4. Dividing both sides by 3, we get x = 83, rounded.",
    # a list bullet is not a minus sign
    "2. Let x be the smallest angle.\n3. The equation:\n   - x + 3x + 4x = 180\n4. Simplifying gives 8x = 180.",
    # a repeating decimal in LaTeX is not "x = 0"
    "2. Let's denote the decimal as $x = 0.\\dot{2}1$.\n4. Multiplying by 100, we get $100x = 21.\\dot{0}$.",
    # right algebra
    "2. Let x be John's age. 3. x + (x + 15) + (2x + 15) = 150.\n4. Simplifying, we get 4x + 30 = 150.\n"
    "5. Subtracting 30 from both sides, we have 4x = 120.\n6. Dividing by 4, x = 30.",
])
def test_algebra_near_misses(text: str) -> None:
    assert _slips(text) == []


def test_declared_variables() -> None:
    assert declared_variables("Let's assume the number of cows is c. Then 3c = 60.") == ["c"]
    assert declared_variables("Let x be the cost, and 5 x 4 = 20.") == []
    assert declared_variables("Let the price be p. Let the tax be t.") == []  # two unknowns


def test_algebra_slip_is_an_arithmetic_finding_at_its_step() -> None:
    result = categorize_failure(_inp(_case("algebra-combine-shingles")))
    assert result.category is Category.ARITHMETIC and result.first_error_step == 5
    assert result.evidence["algebra"] == "transformation" and result.evidence["claimed"] == "3x = 250"


# --------------------------------------------------------------------------- partial sums of a reference sum


def test_partial_sum_completed_later_is_on_the_reference_path() -> None:
    calcs = find_calculations("1. 50 + 20 = 70 animals.\n2. 20 * 21 = 420.\n3. 70 + 420 + 210 = 700.")
    known = frozenset(Fraction(v) for v in (50, 20, 21, 420, 210, 700))
    sums = ((Fraction(20), Fraction(50), Fraction(210), Fraction(420)),)
    assert first_off_reference(calcs, [1, 2, 3], known, sums) is None
    off = first_off_reference(calcs, [1, 2, 3], known)  # without the reference sums: 70 leaves the path
    assert off is not None and off.calculation.claimed == "70"


def test_partial_sum_never_completed_is_a_left_out_term() -> None:
    """Aiden's 12 + 7 = 19 (the reference adds 1 + 12 + 7): the 1 never follows, so it stays a missing step,
    even when 19 is later divided by 1 (a later calculation must add the rest)."""
    result = categorize_failure(_inp(_case("dropped-term-aiden")))
    assert result.category is Category.MISSING_STEP and "left_out" in result.evidence
    calcs = find_calculations("1. 12 + 7 = 19 friends.\n2. 19 / 1 = 19 seats.")
    off = first_off_reference(calcs, [1, 2], frozenset(Fraction(v) for v in (1, 12, 7, 20)),
                              ((Fraction(1), Fraction(7), Fraction(12)),))
    assert off is not None and off.calculation.claimed == "19"


# ------------------------------------------------------------------------- version 4: before the last operation


def _missing_step(case: dict, **changes: str) -> Finding | None:
    """The version-4 check alone (the older missing-step checks have their own tests)."""
    inp = _inp({**case, **changes})
    ctx = Context(inp, "incorrect", inp.response.rsplit("####", 1)[1].strip())
    return _before_last_reference_operation(ctx, annotations(inp.reference_solution))


def test_answer_before_the_references_last_operation() -> None:
    alex = _case("before-last-sum-alex-seat")
    found = _missing_step(alex)
    assert found is not None and found.evidence["left_out"] == "+ 1"
    assert found.evidence["reference_last"] == "300+18+1=319"
    butter = _missing_step(_case("before-last-product-butter"))
    assert butter is not None and butter.evidence["left_out"] == "* 3"
    # Through the whole detector and categorizer, at the step where the answer was computed.
    result = categorize_failure(_inp(alex))
    assert result.category is Category.MISSING_STEP and result.evidence.get("reference_last") == "300+18+1=319"
    assert detect_missing_step(Context(_inp(alex), "incorrect", "318")) is not None


def test_before_last_operation_near_misses() -> None:
    # A question number answered as such is no intermediate (Bernice's 1955 km, gsm8k/7b 1050: wrong plan).
    bernice = {
        "question": "It is approximately 1955 kilometers from San Diego, California to New York City, New York. If "
                    "Bernice drove 325 kilometers for 4 days, how many kilometers will she still need to drive?",
        "reference_solution": "325 * 4 = <<325*4=1300>>1300 km\n1955 - 1300 = <<1955-1300=655>>655 km\n#### 655",
        "gold": "655",
        "response": "1. The problem states the distance is 1955 kilometers.\n2. The ratio of the total distance to "
                    "the distance driven is 1955 : 325.\n3. We multiply: (1955 / 325) * 325 = 1955.\n4. [Final "
                    "solution] Thus, Bernice will still need to drive 1955 kilometers. #### 1955",
    }
    assert _missing_step(bernice) is None
    # A product whose remaining factor is a question number, not an earlier result (popsicles, gsm8k/7b 505).
    popsicles = {
        "question": "He can get 200 sticks from a 2 x 4 piece of wood and 400 sticks from a 2 x 8 piece of wood. He "
                    "has $24. A 2 x 4 costs $4. A 2 x 8 costs $6. What is the most popsicle sticks he can make?",
        "reference_solution": "24 / 4 = <<24/4=6>>6\n6 x 200 = <<6*200=1200>>1200\n24 / 6 = <<24/6=4>>4\n"
                              "4 x 400 = <<4*400=1600>>1600\n#### 1,600",
        "gold": "1,600",
        "response": "1. The problem states the prices.\n2. He buys 1 piece: 400 sticks * 1 piece = 400 * 1 = 400 "
                    "sticks.\n3. [Final solution] Thus, 400 sticks. #### 400",
    }
    assert _missing_step(popsicles) is None
    # A sum with all the reference's terms, one of them wrong, leaves nothing out (Teddy's puzzles: 300 + 300).
    teddy = {
        "question": "Teddy finished half of a 600 piece puzzle, and then started and finished another 600 piece "
                    "puzzle within an hour. How many puzzle pieces did Teddy place during that hour?",
        "reference_solution": "1/2 * 600 = <<600/2=300>>300 pieces.\n300 + 600 = <<300+600=900>>900\n#### 900",
        "gold": "900",
        "response": "1. The problem states the puzzles.\n2. Half of the first: 600 / 2 = 300 pieces.\n3. The second, "
                    "halved too: 600 / 2 = 300 pieces.\n4. In total 300 + 300 = 600 pieces.\n5. [Final solution] "
                    "Thus, 600. #### 600",
    }
    assert _missing_step(teddy) is None
    # The same answer reached by leaving the 300 out of the sum fires.
    left_out = teddy["response"].replace("In total 300 + 300 = 600", "In total 0 + 600 = 600")
    assert _missing_step({**teddy, "response": left_out}) is not None
    alex = _case("before-last-sum-alex-seat")
    assert _missing_step(alex, gold="320") is None  # the reference's last value must be the gold


# ------------------------------------------------------------------ version 4: a question number changed


def test_corruption_of_question_numbers() -> None:
    f = Fraction
    assert corruption_of(f(61), [f(16)]) == (f(16), "digits swapped")
    assert corruption_of(f(1, 4), [f(5, 2)]) == (f(5, 2), "a tenth of the question's number")
    assert corruption_of(f("0.25"), [f(25)]) == (f(25), "decimal point moved")
    assert corruption_of(f(12), [f(125)]) == (f(125), "a digit dropped")
    assert corruption_of(f("0.15"), [], percents_in("a 150% raise")) == (f(150), "150% read as 0.15")
    assert corruption_of(f("1.15"), [], percents_in("150 percent more")) == (f(150), "150% read as 1.15")
    assert corruption_of(f(7), [f(16), f(5)]) is None
    assert corruption_of(f(5), [f(6)]) is None  # single digits: no digit evidence


_SWAP_QUESTION = "Janet's ducks lay 16 eggs per day. She sells each egg for $2. How much does she make a day?"


def test_swapped_question_number_is_a_misread() -> None:
    response = ("1. The problem states that Janet's ducks lay eggs.\n2. By problem, she sells each egg for $2: "
                "61 eggs * $2 = $122.\n3. [Final solution] Thus, $122. #### 122")
    result = categorize_failure(FailureInput(question=_SWAP_QUESTION, response=response, gold="32"))
    assert result.category is Category.MISREAD_QUANTITY and result.first_error_step == 2
    assert result.evidence["question_number"] == "16" and result.evidence["how"] == "digits swapped"


def test_swapped_number_near_miss_right_number_written_before() -> None:
    # 16 is written first and 61 comes later as a value of its own: not a misreading of the 16.
    response = ("1. The problem states that Janet's ducks lay 16 eggs per day.\n2. She sells 16 eggs * $2 = $32."
                "\n3. Then 61 eggs * $2 = $122.\n4. [Final solution] Thus, $122. #### 122")
    found = detect_misread_quantity(Context(FailureInput(question=_SWAP_QUESTION, response=response, gold="32"),
                                            "incorrect", "122"))
    assert found is None or "question_number" not in found.evidence


def test_describe_new_evidence_shapes() -> None:
    alex = categorize_failure(_inp(_case("before-last-sum-alex-seat")))
    sentence = describe_evidence("missing_step", alex.evidence)
    assert "318" in sentence and "300+18+1=319" in sentence and "+ 1" in sentence
    misread = describe_evidence("misread_quantity", {"quantity": "61", "question_number": "16",
                                                     "how": "digits swapped"})
    assert misread == "uses 61 where the question gives 16 (digits swapped)"


# --------------------------------------------------------------------------------------- dev-label agreement


def test_hand_labels_are_well_formed() -> None:
    labels = load_hand_labels(LABELS)
    assert len(labels) == 550
    assert Counter(lab.split for lab in labels) == {"dev": 100, "holdout": 50, "test2": 100, "test3": 100,
                                                    "test4": 100, "test5": 100}
    assert len({(lab.run, lab.key) for lab in labels}) == 550
    assert {lab.category for lab in labels} <= {c.value for c in Category}
    assert all(lab.rationale for lab in labels)
    for split in ("test2", "test3", "test4", "test5"):
        drawn = Counter(lab.run.split("/")[0] for lab in labels if lab.split == split)
        assert drawn == {"gsm8k": 60, "gsm8k_robust": 25, "tal_scq5k_en": 15}, split


def test_measure_agreement_counts() -> None:
    lab = [HandLabel("gsm8k/7b", str(i), c, 2, "", "dev") for i, c in enumerate(["arithmetic", "reasoning"] * 2)]
    preds = [Prediction("arithmetic", 2), Prediction("arithmetic", 3), Prediction("reasoning", None),
             Prediction("reasoning", None)]
    agreement = measure_agreement(zip(lab, preds, strict=True))
    assert (agreement.correct, agreement.n) == (2, 4)
    assert agreement.precision("arithmetic") == (1, 2) and agreement.recall("arithmetic") == (1, 2)
    assert (agreement.step_agree, agreement.step_both) == (1, 1)
    assert "2/4" in format_agreement(agreement)


@pytest.fixture(scope="module")
def real_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.conftest import ABEL_OUTPUTS, BENCHMARKS, require_path

    require_path(ABEL_OUTPUTS)
    require_path(BENCHMARKS)
    from db.grading import grade_responses
    from db.importer import import_abel_outputs
    from db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('dev') / 'abel.db'}")
    import_abel_outputs(engine, ABEL_OUTPUTS, benchmarks_dir=BENCHMARKS)
    grade_responses(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("split", sorted(FLOORS))
def test_agreement_with_hand_labels_does_not_regress(real_engine, split: str) -> None:  # type: ignore[no-untyped-def]
    from db.categorize import hand_labelled_inputs

    labels = [lab for lab in load_hand_labels(LABELS) if lab.split == split]
    inputs = hand_labelled_inputs(real_engine, [(lab.run, lab.key) for lab in labels])
    assert len(inputs) == len(labels)
    pairs = []
    for lab in labels:
        result = categorize_failure(inputs[(lab.run, lab.key)])
        pairs.append((lab, Prediction(result.category.value if result.category else "correct",
                                      result.first_error_step)))
    agreement = measure_agreement(pairs)
    report = format_agreement(agreement, split)
    accuracy_floor, arithmetic_floor = FLOORS[split]
    assert agreement.accuracy >= accuracy_floor, report
    right, predicted = agreement.precision("arithmetic")
    assert predicted and right / predicted >= arithmetic_floor, report

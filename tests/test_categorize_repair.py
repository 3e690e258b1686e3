"""Correcting a response's slips and carrying the corrections forward (`analysis.categorize.repair`, version 6),
and what the categorizer makes of it: a slip whose correction gives the gold answer is the first error even after
a detour from the reference; a slip whose true value is off the reference's path too is a wrong plan."""

from __future__ import annotations

from fractions import Fraction

from analysis.categorize import FailureInput, categorize_failure, find_calculations
from analysis.categorize.describe import describe_evidence
from analysis.categorize.repair import repair, repair_reaches
from analysis.types import Category

F = Fraction


def test_a_slip_is_carried_through_the_lines_that_use_it() -> None:
    text = ("1. Per room: 2 + 1 + 4 + 8 = 16 pieces.\n2. For 80 rooms: 16 * 80 = 1280 pieces.\n"
            "3. Minus the 200 already washed: 1280 - 200 = 1080. #### 1080")
    fixed = repair(find_calculations(text), F(1080))
    assert fixed is not None
    assert fixed.slip.expression == "2 + 1 + 4 + 8"
    assert fixed.answer == 1000  # 15 * 80 - 200
    assert fixed.carried == ((16, 15), (1280, 1200), (1080, 1000))
    assert fixed.evidence() == {"repaired_answer": "1000", "carried": "16→15 -> 1280→1200 -> 1080→1000"}
    assert repair_reaches(find_calculations(text), F(1080), F(1000)) is not None
    assert repair_reaches(find_calculations(text), F(1080), F(999)) is None


def test_every_slip_is_corrected_not_only_the_first() -> None:
    text = "1. 3 * 4 = 13 apples.\n2. 13 + 5 = 19 apples.\n3. 19 * 2 = 36 apples. #### 36"
    fixed = repair(find_calculations(text), F(36))
    assert fixed is not None and fixed.slip.claimed == "13"
    assert fixed.answer == 34  # (12 + 5) * 2: both slips corrected


def test_near_miss_a_slip_that_does_not_feed_the_answer_is_no_repair() -> None:
    text = "1. An idle remark: 7 + 8 = 16.\n2. The answer: 6 * 5 = 30. #### 30"
    assert repair(find_calculations(text), F(30)) is None


def test_near_miss_no_slip_no_repair() -> None:
    text = "1. 6 * 5 = 30.\n2. 30 + 2 = 32. #### 32"
    assert repair(find_calculations(text), F(32)) is None
    assert repair(find_calculations(text), None) is None


def test_near_miss_a_mixed_unit_sum_is_a_unit_error_not_a_repairable_slip() -> None:
    text = "1. She worked 210 minutes + 5 hours = 215 minutes. #### 215"
    calcs = find_calculations(text)
    assert calcs and calcs[0].mixed_units
    assert repair(calcs, F(215)) is None


def test_the_answer_may_carry_the_rounding_the_response_wrote() -> None:
    # 200 / 4.167 is 47.996...; the response writes 47.74. Corrected, it rounds to the gold 48.
    text = "1. Each lap takes 4.167 minutes.\n2. Laps: 200 / 4.167 = 47.74. #### 47.74"
    assert repair_reaches(find_calculations(text), F("47.74"), F(48)) is not None


_DETOUR_QUESTION = "A hotel room has 2 sheets, 1 comforter, 4 pillow cases and 8 towels. How many pieces in 80 rooms?"
_DETOUR_REFERENCE = "2+1+4+8=<<2+1+4+8=15>>15\n15*80=<<15*80=1200>>1200\n#### 1200"


def test_detour_then_slip_is_arithmetic_with_the_repair_as_evidence() -> None:
    response = ("1. Sheets: 2 * 80 = 160.\n2. Comforters: 1 * 80 = 80.\n3. Pillow cases: 4 * 80 = 320.\n"
                "4. Towels: 8 * 80 = 640.\n5. Total: 160 + 80 + 320 + 640 = 1100. #### 1100")
    result = categorize_failure(FailureInput(question=_DETOUR_QUESTION, response=response, gold="1200",
                                             reference_solution=_DETOUR_REFERENCE))
    assert (result.category, result.first_error_step) == (Category.ARITHMETIC, 5)
    assert result.evidence["repaired_answer"] == "1200"
    sentence = describe_evidence("arithmetic", result.evidence)
    assert "correcting it gives 1200, the gold answer" in sentence


def test_near_miss_detour_then_slip_that_does_not_explain_the_answer_stays_reasoning() -> None:
    # The same detour, but the comforters are left out as well: correcting the slip gives 1120, not 1200, so
    # where the response left the reference's path (step 1) stays the first error.
    response = ("1. Sheets: 2 * 80 = 160.\n2. Pillow cases: 4 * 80 = 320.\n3. Towels: 8 * 80 = 640.\n"
                "4. Total: 160 + 320 + 640 = 1100. #### 1100")
    result = categorize_failure(FailureInput(question=_DETOUR_QUESTION, response=response, gold="1200",
                                             reference_solution=_DETOUR_REFERENCE))
    assert result.category is Category.REASONING
    assert result.first_error_step == 1


_SHOP_QUESTION = "A shirt costs $12 and a hat costs $8. Tom buys 3 shirts and 2 hats. How much does he pay?"
_SHOP_REFERENCE = "3*12=<<3*12=36>>36\n2*8=<<2*8=16>>16\n36+16=<<36+16=52>>52\n#### 52"


def test_slip_off_the_reference_path_whose_correction_misses_gold_is_the_plan() -> None:
    # Step 1 prices the shirts at the hat's price and slips in the same line (3 * 8 is 24): the true value 24 is
    # no value of the reference, and correcting it gives 40, not 52: the plan went wrong first.
    response = "1. Shirts: 3 * 8 = 26 dollars.\n2. Hats: 2 * 8 = 16 dollars.\n3. Total: 26 + 16 = 42. #### 42"
    result = categorize_failure(FailureInput(question=_SHOP_QUESTION, response=response, gold="52",
                                             reference_solution=_SHOP_REFERENCE))
    assert (result.category, result.first_error_step) == (Category.REASONING, 1)
    assert result.evidence["expression"] == "3 * 8"
    assert "true value" in describe_evidence("reasoning", result.evidence)


def test_near_miss_slip_on_the_reference_path_stays_arithmetic() -> None:
    # The same slip with the right plan (3 * 12 written 38), and a second, later error (the hats left out): the
    # true value 36 is a reference value, so the slip is the first error although correcting it misses gold.
    response = "1. Shirts: 3 * 12 = 38 dollars.\n2. Total: 38 dollars. #### 38"
    result = categorize_failure(FailureInput(question=_SHOP_QUESTION, response=response, gold="52",
                                             reference_solution=_SHOP_REFERENCE))
    assert (result.category, result.first_error_step) == (Category.ARITHMETIC, 1)
    assert "repaired_answer" not in result.evidence


def test_without_a_reference_a_slip_stays_arithmetic() -> None:
    response = "1. Shirts: 3 * 8 = 26 dollars.\n2. Hats: 2 * 8 = 16 dollars.\n3. Total: 26 + 16 = 42. #### 42"
    result = categorize_failure(FailureInput(question=_SHOP_QUESTION, response=response, gold="52"))
    assert (result.category, result.first_error_step) == (Category.ARITHMETIC, 1)


def test_a_number_that_also_means_something_else_is_corrected_once() -> None:
    # 22 red fish are right; the 22 blue fish are a slip (44 * 5/11 is 20). "22 + 22" carries the correction into
    # one of its terms only: 42, the gold answer (correcting both would give 40).
    text = ("1. Red: 66 * 1/3 = 22 fish.\n2. Others: 66 - 22 = 44 fish.\n3. Blue: 44 * 5/11 = 22 fish.\n"
            "4. Both: 22 + 22 = 44 fish. #### 44")
    fixed = repair(find_calculations(text), F(44))
    assert fixed is not None and fixed.answer == 42


def test_near_miss_a_repair_by_coincidence_of_values_is_not_made() -> None:
    # Month 2 pays 880000 (right); month 3 slips (200 + 20 * 3 is 260, written 220) and also pays "880000".
    # Only the slip's copy of 880000 is corrected: 2720000, not the 2880000 that correcting both would give.
    text = ("1. Month 1: 200 * 4000 = 800000.\n2. Month 2: 220 * 4000 = 880000.\n"
            "3. Month 3: 200 + 20 * 3 = 220 people, 220 * 4000 = 880000.\n"
            "4. Total: 800000 + 880000 + 880000 = 2560000. #### 2560000")
    fixed = repair(find_calculations(text), F(2560000))
    assert fixed is not None and fixed.answer == 2720000
    assert repair_reaches(find_calculations(text), F(2560000), F(2880000)) is None


_OVEN_QUESTION = ("The house is 40 degrees. The oven runs 3 hours and raises the temperature 5 degrees every hour. "
                  "How warm is the house then?")
_OVEN_REFERENCE = "3*5=<<3*5=15>>15\n40+15=<<40+15=55>>55\n#### 55"


def test_a_unit_conversion_keeps_the_response_on_the_reference_path() -> None:
    # "3 hours * 60 minutes/hour = 180" is the reference's 3 hours in minutes: the slip after it is the first error,
    # although a later error (an invented window) keeps its correction from reaching the gold answer.
    response = ("1. In minutes: 3 hours * 60 minutes/hour = 3 * 60 = 180 minutes.\n"
                "2. The rise: 180 / 60 * 5 = 30 degrees.\n3. Then 40 + 30 = 70 degrees.\n"
                "4. The window: 70 - 5 = 65 degrees. #### 65")
    result = categorize_failure(FailureInput(question=_OVEN_QUESTION, response=response, gold="55",
                                             reference_solution=_OVEN_REFERENCE))
    assert (result.category, result.first_error_step) == (Category.ARITHMETIC, 2)
    assert "repaired_answer" not in result.evidence


def test_near_miss_a_quantity_of_the_problem_is_no_unit_factor() -> None:
    # "3 hours * 60 mph": 60 is a speed, not minutes per hour; 180 leaves the reference's path at step 1.
    question = "He drives 1.5 hours at 60 mph after 3 hours of rest. How far does he drive?"
    response = "1. He drives 3 hours * 60 mph = 3 * 60 = 180 miles.\n2. Plus 10: 180 + 10 = 200. #### 200"
    result = categorize_failure(FailureInput(question=question, response=response, gold="90",
                                             reference_solution="1.5*60=<<1.5*60=90>>90\n#### 90"))
    assert (result.category, result.first_error_step) == (Category.REASONING, 1)


_PARTY_QUESTION = "Ann has some cookies, Bob has half as many and Cy as many as Ann. They have 250. How many has Ann?"


def test_an_equation_slip_whose_correction_gives_gold_is_arithmetic() -> None:
    response = ("1. Let x be the number of cookies Ann has.\n2. Then x + (1/2)x + x = 250.\n"
                "3. Combining like terms, we get (3/2)x = 250.\n"
                "4. x = 250 / (3/2) = 166.67.\n5. [Final solution] Ann has 167 cookies. #### 167")
    result = categorize_failure(FailureInput(question=_PARTY_QUESTION, response=response, gold="100"))
    assert (result.category, result.first_error_step) == (Category.ARITHMETIC, 3), result.evidence
    assert result.evidence["algebra"] and result.evidence["repaired_answer"] == "100"


def test_near_miss_an_equation_slip_that_does_not_explain_the_answer_is_left_to_the_set_up() -> None:
    # The same slip after a set-up that leaves Cy out: correcting it gives 166.67, not 100.
    response = ("1. Let x be the number of cookies Ann has.\n2. Then x + (1/2)x = 250.\n"
                "3. Combining like terms, we get (3/2)x = 200.\n"
                "4. x = 200 / (3/2) = 133.33.\n5. [Final solution] Ann has 133 cookies. #### 133")
    result = categorize_failure(FailureInput(question=_PARTY_QUESTION, response=response, gold="100"))
    assert (result.category, result.first_error_step) == (Category.REASONING, 3), result.evidence
    assert "set-up may be what went wrong first" in describe_evidence("reasoning", result.evidence)

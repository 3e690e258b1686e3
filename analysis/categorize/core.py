"""`categorize_failure`: one failed response -> its primary category, the step where it went wrong, evidence.

Every detector looks at the response on its own terms and returns a `Finding` (category, step, confidence,
evidence) or nothing. The primary category is the finding at the earliest step; at the same step the order of
DESIGN.md's taxonomy table decides (`PRECEDENCE`). Output-level categories (truncated, repetition, no final
answer, invalid answer) are only considered when there is no usable final answer, and content detectors only
when there is one. `reasoning` is the low-confidence fallback when nothing fires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any

from analysis.categorize.align import (
    OffReference,
    derived_reference,
    first_off_reference,
    reference_sums,
    reference_values,
)
from analysis.categorize.arith import Calculation, find_calculations
from analysis.categorize.quantities import stated_quantities
from analysis.categorize.repair import Repair, repair_reaches
from analysis.steps import Step, split_steps, step_at
from analysis.types import Category, Choice, GradeStatus

# Bump when a category for some input can change; stored on every rule label (older ones are replaced).
CATEGORIZER_VERSION = "6"

PRECEDENCE: tuple[Category, ...] = tuple(Category)  # DESIGN.md table order
_RANK = {c: i for i, c in enumerate(PRECEDENCE)}
OUTPUT_LEVEL = frozenset({Category.TRUNCATED, Category.REPETITION, Category.NO_FINAL_ANSWER,
                          Category.INVALID_ANSWER})
_USABLE = frozenset({GradeStatus.CORRECT.value, GradeStatus.INCORRECT.value, GradeStatus.TIMEOUT.value})


@dataclass(frozen=True)
class FailureInput:
    question: str
    response: str
    gold: str
    answer_type: str = "number"
    extracted: str | None = None
    grade_status: str | None = None  # None: grade here with analysis.grading
    choices: tuple[Choice, ...] = ()
    reference_solution: str | None = None
    original_question: str | None = None
    original_gold: str | None = None
    original_reference_solution: str | None = None  # the original problem's reference (perturbed variants)
    finish_reason: str | None = None
    published_correct: bool | None = None
    correct: bool | None = None
    grade_reason: str | None = None


@dataclass(frozen=True)
class Finding:
    category: Category
    step: int | None
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[float, int]:
        return (self.step if self.step is not None else float("inf"), _RANK[self.category])


@dataclass(frozen=True)
class CategoryResult:
    """`category` is None when the response is not a failure (graded correct and not a published-verdict miss)."""

    category: Category | None
    first_error_step: int | None
    confidence: float
    evidence: dict[str, Any]
    fired: tuple[Finding, ...] = ()
    correct: bool = False
    grade_status: str | None = None
    extracted: str | None = None


class Context:
    """What the detectors share, computed once per response."""

    def __init__(self, inp: FailureInput, status: str, extracted: str | None) -> None:
        self.inp = inp
        self.status = status
        self.extracted = extracted

    @cached_property
    def steps(self) -> list[Step]:
        return split_steps(self.inp.response)

    def step_of(self, offset: int) -> int | None:
        return step_at(self.steps, offset)

    @cached_property
    def calculations(self) -> list[Calculation]:
        return find_calculations(self.inp.response)

    @cached_property
    def question_quantities(self) -> set[Fraction]:
        return stated_quantities(self.inp.question)

    @cached_property
    def choice_quantities(self) -> set[Fraction]:
        return stated_quantities("\n".join(c.text for c in self.inp.choices)) if self.inp.choices else set()

    @cached_property
    def answer_value(self) -> Fraction | None:
        return _number(self.extracted)

    @cached_property
    def gold_value(self) -> Fraction | None:
        return _number(self.inp.gold)

    @cached_property
    def reference_text(self) -> str | None:
        """A reference solution with `<<expr=value>>` annotations: the problem's own, or for a perturbed variant
        the original's annotations recomputed with the variant's numbers (kept only when they reach its gold)."""
        ref = self.inp.reference_solution
        if ref and "<<" in ref:
            return ref
        inp = self.inp
        if inp.original_reference_solution and inp.original_question and self.gold_value is not None:
            return derived_reference(inp.original_reference_solution, inp.original_question, inp.question,
                                     self.gold_value)
        return None

    @cached_property
    def off_reference(self) -> OffReference | None:
        """Where the response leaves the reference solution's path (GSM8K annotations), when it has one."""
        ref = self.reference_text
        if not ref:
            return None
        calcs = self.calculations
        return first_off_reference(calcs, [self.step_of(c.start) for c in calcs], self.path_values,
                                   reference_sums(ref), self.inp.response)

    @cached_property
    def path_values(self) -> frozenset[Fraction]:
        """The values on the reference solution's path: every value it writes, the gold answer, the question's
        quantities (empty without a reference)."""
        ref = self.reference_text
        return reference_values(ref, self.gold_value) | self.question_quantities if ref else frozenset()

    @cached_property
    def repair(self) -> Repair | None:
        """Correcting the response's wrong calculations, carried forward, turns its answer into the gold answer."""
        return repair_reaches(self.calculations, self.answer_value, self.gold_value)

    @property
    def last_step(self) -> int | None:
        return self.steps[-1].number if self.steps else None

    def first_step_with_value(self, value: Fraction) -> int | None:
        """The step of the first calculation that yields `value`, else None."""
        for calc in self.calculations:
            if calc.claimed_value == value:
                return self.step_of(calc.start)
        return None


def _equation_repair(ctx: Context, equation: Finding) -> Repair | None:
    """Correcting an equation slip (its solution `written` -> `actual`) and carrying it forward gives gold."""
    ev = equation.evidence
    written, actual, offset = _number(str(ev.get("written"))), _number(str(ev.get("actual"))), ev.get("offset")
    if written is None or actual is None or not isinstance(offset, int):
        return None
    return repair_reaches(ctx.calculations, ctx.answer_value, ctx.gold_value, (offset, written, actual))


def _unexplained_equation_slip(ctx: Context, equation: Finding) -> Finding:
    return Finding(Category.REASONING, equation.step, 0.35,
                   {**equation.evidence, "unexplained": "correcting the equation does not give the gold answer: "
                    "its set-up may be what went wrong first", "extracted": ctx.extracted, "gold": ctx.inp.gold})


def _off_path_slip(ctx: Context, slip: Finding) -> Finding | None:
    """A wrong calculation whose true value the reference never reaches either, and whose correction does not
    give the gold answer: the plan had already left the reference when the slip happened ("89 + 71 + 92 + 100 + 86
    = 448" summing the score the problem drops), so the plan, not the slip, is the first error."""
    offset = slip.evidence.get("offset")
    if not ctx.reference_text or offset is None or "algebra" in slip.evidence:
        return None  # an equation's unknown is often not a quantity the reference names: no path to compare
    calc = next((c for c in ctx.calculations if c.start == offset), None)
    if calc is None:
        return None
    known = ctx.path_values
    if calc.actual in known or -calc.actual in known:
        return None
    return Finding(Category.REASONING, slip.step, 0.4,
                   {**slip.evidence, "off_reference": "a calculation whose true value the reference never reaches "
                    "either, and whose correction does not give the gold answer", "extracted": ctx.extracted,
                    "gold": ctx.inp.gold})


def _number(text: str | None) -> Fraction | None:
    if text is None:
        return None
    from analysis.grading import parse_number

    try:
        return parse_number(text)
    except (ValueError, ZeroDivisionError):
        return None


def _grade(inp: FailureInput) -> tuple[str, str | None, bool, str]:
    if inp.grade_status is not None:
        correct = inp.correct if inp.correct is not None else inp.grade_status == GradeStatus.CORRECT.value
        return inp.grade_status, inp.extracted, correct, inp.grade_reason or ""
    from analysis.grading import grade_response

    letters = [c.letter for c in inp.choices] or None
    grade = grade_response(inp.response, inp.gold, answer_type=inp.answer_type, choices=letters)
    return grade.status.value, grade.extracted, grade.correct, grade.reason


def categorize_failure(inp: FailureInput) -> CategoryResult:
    """The primary category of a failed response, with the first wrong step and checkable evidence."""
    from analysis.categorize import detectors

    status, extracted, correct, reason = _grade(inp)
    if correct:
        if inp.published_correct is False:
            evidence = {"published_correct": False, "our_grade": status, "extracted": extracted,
                        "gold": inp.gold, "reason": reason}
            finding = Finding(Category.GRADER_MISS, None, 0.95, evidence)
            return CategoryResult(Category.GRADER_MISS, None, 0.95, evidence, (finding,), True, status, extracted)
        return CategoryResult(None, None, 1.0, {}, (), True, status, extracted)

    ctx = Context(inp, status, extracted)
    usable = status in _USABLE and not detectors.several_final_answers(ctx)
    chosen = detectors.OUTPUT_DETECTORS if not usable else detectors.CONTENT_DETECTORS
    fired: list[Finding] = []
    for detect in chosen:
        finding = detect(ctx)
        if finding is not None:
            fired.append(finding)
    off = ctx.off_reference if usable else None
    equation = next((f for f in fired if f.category is Category.ARITHMETIC and "algebra" in f.evidence), None)
    fix = None if not usable else ctx.repair if equation is None else _equation_repair(ctx, equation)
    if equation is not None and fix is None:
        # An equation solved wrong, whose correction does not give the gold answer either: how the equation
        # was set up, which no rule checks, may be what went wrong first (read on the hand labels: 6 of 10
        # such slips came after a wrong set-up).
        fired = [_unexplained_equation_slip(ctx, f) if f is equation else f for f in fired]
    if fix is not None:
        # Correcting the slips alone gives the gold answer: the slip is the error, and wherever else the response
        # left the reference's path was a valid detour.
        slip = next((f for f in fired if f.category is Category.ARITHMETIC
                     and f.evidence.get("offset") == fix.start), None)
        if slip is not None:
            fired = [Finding(slip.category, slip.step, max(slip.confidence, 0.95), {**slip.evidence, **fix.evidence()})]
            off = None
    if off is not None:
        # The response left the reference's path at a correct calculation before any wrong one: a wrong
        # calculation further down is a consequence, not the first error.
        fired = [f for f in fired if not (f.category is Category.ARITHMETIC and f.step is not None
                                          and f.step > off.step)]
    elif usable and fix is None:
        fired = [_off_path_slip(ctx, f) or f if f.category is Category.ARITHMETIC else f for f in fired]
    if not fired:
        if not usable:
            fallback = Finding(Category.NO_FINAL_ANSWER, ctx.last_step, 0.6,
                               {"reason": reason or "no usable final answer"})
        elif off is not None:
            fallback = Finding(Category.REASONING, off.step, 0.4,
                               {**off.evidence(), "extracted": extracted, "gold": inp.gold})
        else:
            fallback = Finding(Category.REASONING, None, 0.3, {"note": "no rule detector fired", "extracted": extracted,
                                                                "gold": inp.gold})
        fired.append(fallback)
    fired.sort(key=Finding.sort_key)
    best = fired[0]
    if best.category is Category.TRUNCATED:
        # A loop that ran into the length limit: the repetition is the cause, the cut-off its symptom.
        best = next((f for f in fired if f.category is Category.REPETITION), best)
    evidence = dict(best.evidence)
    if best.step is not None:
        evidence.setdefault("step", best.step)
    if inp.published_correct is True:
        evidence["published_correct"] = True  # the publisher counted it right; our grader does not
    return CategoryResult(best.category, best.step, best.confidence, evidence, tuple(fired), False, status,
                          extracted)

"""Rule detectors. Each takes the shared `Context` and returns a `Finding` or None.

A detector that fires too often is as wrong as one that never fires, so each one asks for evidence a reader
can check in the response itself: the recomputed calculation, the number that appears nowhere in the problem,
the original problem's answer, the unit factor, the reference solution's intermediate value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction

from analysis.categorize.algebra import declared_variables, find_algebra_slips
from analysis.categorize.align import plain_number, skipped_reference_step
from analysis.categorize.arith import evaluate_expression, format_number, numbers_in
from analysis.categorize.core import Context, Finding
from analysis.categorize.quantities import CONSTANTS, corruption_of, derivable, percents_in, stated_quantities
from analysis.types import Category, GradeStatus

_HASH_ANSWER = re.compile(r"####\s*([^\n#]*)")
_TERMINAL = re.compile(r"[.!?)\]}$*]\s*$")


# ---------------------------------------------------------------------------------------------- output level


def several_final_answers(ctx: Context) -> bool:
    return len(_distinct_final_answers(ctx)) > 1


def _distinct_final_answers(ctx: Context) -> list[str]:
    from analysis.grading import parse_number

    seen: dict[object, str] = {}
    for m in _HASH_ANSWER.finditer(ctx.inp.response):
        raw = m.group(1).strip().rstrip(".").strip()
        if not raw:
            continue
        key = _answer_value(raw, parse_number)
        seen.setdefault(key if key is not None else raw.casefold(), raw)
    return list(seen.values())


def _answer_value(raw: str, parse_number: Callable[[str], Fraction | None]) -> Fraction | None:
    """The number a `####` answer states, also when it is written as a chain ending in a boxed value
    ("7 \\frac{32}{60} = \\boxed{7 \\frac{32}{60}} minutes"): the boxed value, else the last side of the chain."""
    candidates = [raw]
    start = raw.rfind("\\boxed{")
    if start >= 0:
        depth, i = 0, start + len("\\boxed")
        for j in range(i, len(raw)):
            depth += {"{": 1, "}": -1}.get(raw[j], 0)
            if depth == 0:
                candidates.append(raw[i + 1 : j])
                break
    if "=" in raw:
        candidates.append(re.sub(r"\s+[A-Za-z][A-Za-z\s.,']*$", "", raw.rsplit("=", 1)[1]).strip())
    for text in candidates:
        try:
            value = parse_number(text)
        except (ValueError, ZeroDivisionError):
            value = None
        if value is not None:
            return value
    return None


_NUMBER_RUN = re.compile(r"\d+(?:[.,]\d+)*")


def detect_repetition(ctx: Context) -> Finding | None:
    text = ctx.inp.response
    # Numbers change while a loop repeats ("+ 120 feet = 15470 inches + 120 feet = 15590 inches …"), so compare
    # the text with every number collapsed to one symbol.
    norm = _NUMBER_RUN.sub("0", text)
    for m in re.finditer(r"(.{12,200}?)\1{3,}", norm, re.DOTALL):
        unit = m.group(1)
        if len(set(unit)) < 5 or not re.search(r"[A-Za-z=+*/]", unit):
            continue
        start = _original_offset(text, m.start())
        end = _original_offset(text, m.start() + len(unit))
        repeats = (m.end() - m.start()) // len(unit)
        return Finding(Category.REPETITION, ctx.step_of(start), 0.9,
                       {"repeated": text[start:end][:200], "times": repeats, "offset": start})
    return _repeated_steps(ctx)


def _repeated_steps(ctx: Context) -> Finding | None:
    """Loops longer than one span: the same step (numbers collapsed) written four times or more among the
    response's steps, e.g. two alternating steps repeated until the length limit."""
    seen: dict[str, list[int]] = {}
    for step in ctx.steps:
        body = _NUMBER_RUN.sub("0", step.text.strip())
        if len(body) >= 30:
            seen.setdefault(body, []).append(step.number)
    loops = [numbers for numbers in seen.values() if len(numbers) >= 4]
    if not loops:
        return None
    first = min(loops, key=lambda numbers: numbers[0])
    step = ctx.steps[first[0] - 1]
    return Finding(Category.REPETITION, first[0], 0.85,
                   {"repeated": step.text[:200], "times": len(first), "steps": first[:10], "offset": step.start})


def _original_offset(text: str, norm_offset: int) -> int:
    """Map an offset in the number-collapsed text back to `text`."""
    shift = 0
    for m in _NUMBER_RUN.finditer(text):
        collapsed_start = m.start() - shift
        if collapsed_start >= norm_offset:
            break
        if collapsed_start + 1 > norm_offset:
            return m.start()
        shift += len(m.group(0)) - 1
    return norm_offset + shift


def detect_truncated(ctx: Context) -> Finding | None:
    text = ctx.inp.response.rstrip()
    if ctx.inp.finish_reason == "length":
        return Finding(Category.TRUNCATED, ctx.last_step, 0.95,
                       {"finish_reason": "length", "tail": text[-120:]})
    if ctx.status == GradeStatus.NO_ANSWER.value and text and not _TERMINAL.search(text):
        return Finding(Category.TRUNCATED, ctx.last_step, 0.8,
                       {"cut_off": "the response stops mid-sentence without a final answer", "tail": text[-120:]})
    return None


def detect_invalid_answer(ctx: Context) -> Finding | None:
    answers = _distinct_final_answers(ctx)
    if len(answers) > 1:
        return Finding(Category.INVALID_ANSWER, ctx.last_step, 0.9,
                       {"reason": "two different final answers", "answers": answers})
    if ctx.status == GradeStatus.INVALID.value:
        return Finding(Category.INVALID_ANSWER, ctx.last_step, 0.9,
                       {"reason": ctx.inp.grade_reason or "invalid answer form", "extracted": ctx.extracted})
    return None


def detect_no_final_answer(ctx: Context) -> Finding | None:
    if ctx.status == GradeStatus.NO_ANSWER.value:
        return Finding(Category.NO_FINAL_ANSWER, ctx.last_step, 0.7,
                       {"reason": "no answer in the expected form (#### …)", "tail": ctx.inp.response[-120:]})
    return None


# ---------------------------------------------------------------------------------------------- content


def _squash(text: str) -> str:
    return re.sub(r"[\s$,]", "", text)


# Words that introduce a quotation of the problem or of an option rather than the solver's own calculation.
_QUOTING = re.compile(r"\b(?:states?|says?|given|reads?|options?|choices?)\b(?![^.\n]*\b(?:so|then|thus)\b)",
                      re.IGNORECASE)


_LABEL_AFTER = re.compile(r"\$*\s*:")


def detect_arithmetic(ctx: Context) -> Finding | None:
    # A blank in the problem ("86-3\\square=48") is dropped, so the response quoting it is seen as a quote.
    question = _squash(re.sub(r"\\square|\\Box|□|\\_|_", "", ctx.inp.question))
    for calc in ctx.calculations:
        if calc.correct or calc.mixed_units:
            continue
        if _squash(f"{calc.expression}={calc.claimed}") in question or _squash(calc.expression) in question \
                and len(_squash(calc.expression)) > 6:
            continue  # quoted from the problem (an option to check), not the solver's own calculation
        if re.search("=" + re.escape(_squash(calc.claimed)) + r"(?![\d.])", question) and (
                _QUOTING.search(ctx.inp.response[max(0, calc.start - 60) : calc.start])
                or _LABEL_AFTER.match(ctx.inp.response, calc.end)):
            # Restating (even garbled) an equation the problem gives: "Option B states that ... = 1175", or
            # naming the statement about to be checked: "c. $21\times(55+20)=1175$: evaluating it, we get 1575".
            continue
        step = ctx.step_of(calc.start)
        found = Finding(
            Category.ARITHMETIC, step, 0.9 if not calc.approx else 0.7,
            {"step": step, "expression": calc.expression, "claimed": calc.claimed,
             "actual": format_number(calc.actual), "offset": calc.start},
        )
        break
    else:
        found = None
    slip = _algebra_slip(ctx)
    if slip is not None and (found is None or slip.sort_key() < found.sort_key()):
        return slip
    return found


def _algebra_slip(ctx: Context) -> Finding | None:
    """A wrong simplification or transformation of a linear equation in a declared unknown (see `algebra`)."""
    variables = declared_variables(ctx.inp.response)
    if not variables:
        return None
    slips = find_algebra_slips(ctx.inp.response, ctx.step_of, variables)
    if not slips:
        return None
    slip = slips[0]
    step = ctx.step_of(slip.start)
    return Finding(Category.ARITHMETIC, step, 0.75,
                   {"step": step, "algebra": slip.kind, "variable": slip.variable, "expression": slip.before,
                    "claimed": slip.after, "actual": slip.expected, "written": slip.written,
                    "offset": slip.start})


_INTRO = re.compile(r"(?i)\bthe problem states\b|\bby problem\b|\bwe know that\b|\bgiven that\b|\baccording to\b")


_SMALL = frozenset(Fraction(v) for v in (*range(11), 12, 100))  # too common to point at the original


def _original_only(ctx: Context) -> set[Fraction]:
    if not ctx.inp.original_question:
        return set()
    variant = ctx.question_quantities
    return {v for v, _ in numbers_in(ctx.inp.original_question)} - variant - _SMALL


# A unit fact the solver brings in ("1 cup is equal to 250 ml", "128 ounces in a gallon"): not a misread.
_UNIT_FACT = re.compile(r"(?i)\bin an? \w+|\b(?:1|one) \w+ (?:is equal to|=|equals|is)\b")


def _restated(ctx: Context) -> list[tuple[Fraction, int]]:
    """Numbers the response restates from the problem: in step 1, or in "By problem, …" sentences before any
    `=`, leaving out clock times and unit facts the solver brings in."""
    out: list[tuple[Fraction, int]] = []
    for step in ctx.steps:
        for sentence in re.finditer(r"(?:[^.\n]|\.(?=\d))+", step.text):
            s_text = sentence.group(0)
            if step.number != 1 and not _INTRO.search(s_text) or _UNIT_FACT.search(s_text):
                continue
            cut = s_text.find("=")
            head = s_text if cut < 0 else s_text[:cut]
            for value, off in numbers_in(head):
                if head[max(0, off - 1) : off] == ":" or head[off:].split(" ", 1)[0].rstrip(".,").endswith(
                        ("am", "pm")):
                    continue  # a clock time (8:30)
                out.append((value, step.start + sentence.start() + off))
    return out


_WORD_DIGITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_DAYS_A_WEEK = re.compile(r"(?i)\b(\d|one|two|three|four|five|six)(?:-| )days?(?: (?:a|every|per|each|in a|of the))?"
                          r"(?:-| )(?:work(?:ing)? )?week\b")
_SEVEN_DAYS = re.compile(r"(?i)\b7 days\b|\b7 days?/week|\bdays in a week\b")


def _week_of_seven_days(ctx: Context) -> Finding | None:
    """The question fixes a week of N working days ("6 days every week", "a 5-day week"), the reference never
    counts 7 days, and the response multiplies by 7 days: a question number overridden by a default."""
    m = _DAYS_A_WEEK.search(ctx.inp.question)
    if m is None:
        return None
    word = m.group(1)
    n = int(word) if word.isdigit() else _WORD_DIGITS[word.lower()]
    ref = ctx.reference_text
    if n == 7 or _SEVEN_DAYS.search(ctx.inp.question) or not ref:
        return None
    if any(v == 7 for expr, _ in _ANNOTATION.findall(ref) for v, _ in numbers_in(expr)):
        return None  # the reference itself counts a 7-day week (something else happens every day)
    if any(v == 7 for v, _ in numbers_in(ctx.inp.question)):
        return None
    for calc in ctx.calculations:
        for value, off in calc.operands:
            if value == 7:
                step = ctx.step_of(off)
                return Finding(Category.MISREAD_QUANTITY, step, 0.7,
                               {"step": step, "quantity": "7 days", "question_says": m.group(0),
                                "expression": calc.expression, "offset": off})
    return None


def detect_misread_quantity(ctx: Context) -> Finding | None:
    week = _week_of_seven_days(ctx)
    if week is not None:
        return week
    return _unexplained_operand(ctx)


def _unexplained_operand(ctx: Context) -> Finding | None:
    """An operand that the problem does not state and no earlier text explains, or a restated problem number
    that differs from the problem's (16 -> 61)."""
    if not ctx.steps:
        return None
    stated = ctx.question_quantities | ctx.choice_quantities
    text = ctx.inp.response
    restate = not ctx.inp.choices  # option texts and figures make restatements of choice problems unreliable
    digits_stated = {v for v, _ in numbers_in(ctx.inp.question)} | {Fraction(1)}
    first_seen: dict[Fraction, int] = {}
    for v, o in numbers_in(text):
        first_seen.setdefault(v, o)
    skip = _original_only(ctx)  # memorized_original explains those
    base = stated | CONSTANTS
    candidates: list[tuple[Fraction, int, str]] = [(v, o, "restated") for v, o in _restated(ctx)] if restate else []
    for calc in ctx.calculations:
        for value, off in calc.operands:
            candidates.append((value, off, "operand"))
    candidates.sort(key=lambda c: c[1])
    percents = percents_in(ctx.inp.question)
    for value, off, kind in candidates:
        if value in skip or first_seen.get(value, off) < off:
            continue
        changed = None
        if value not in stated:
            changed = corruption_of(value, digits_stated - {Fraction(1)}, percents)
            if changed is not None and first_seen.get(changed[0], off) < off:
                changed = None  # the response wrote the right number before: not a misreading of it
        strong = changed is not None and changed[1] in _STRONG_CHANGES or changed is not None and "%" in changed[1]
        if not strong:
            if value in base:
                continue
            earlier = {v for v, o in first_seen.items() if o < off}
            # An operand may be one step of mental arithmetic away from what is known; a restated number one sum
            # or difference of the problem's own numbers ("52 WPM, then 5 more: 57").
            if kind == "operand" and derivable(value, base | earlier):
                continue
            if kind == "restated" and derivable(value, digits_stated, products=False):
                continue
        step = ctx.step_of(off)
        literal = text[off : off + len(format_number(value)) + 4].split()[0].rstrip(".,;:")
        evidence: dict[str, object] = {
            "step": step, "quantity": literal, "value": format_number(value), "how": kind,
            "question_numbers": sorted(format_number(v) for v in {v for v, _ in numbers_in(ctx.inp.question)}),
            "offset": off}
        if changed is not None:
            evidence.update(question_number=format_number(changed[0]), how=changed[1], use=kind)
        return Finding(Category.MISREAD_QUANTITY, step, 0.7 if strong else 0.6, evidence)
    return None


# Changes of a question number too specific to be a coincidence: they count even when the changed number is
# one operation away from known numbers (the check every other unexplained operand must pass).
_STRONG_CHANGES = frozenset({"digits swapped", "decimal point moved"})


def detect_memorized_original(ctx: Context) -> Finding | None:
    """On a perturbed problem: the answer is the original's answer, or the response uses a number that only
    the original states. The step is where the original first shows."""
    inp = ctx.inp
    if not inp.original_question:
        return None
    from analysis.grading import parse_number

    orig_gold = parse_number(inp.original_gold) if inp.original_gold else None
    evidence: dict[str, object] = {}
    steps: list[int] = []
    if orig_gold is not None and ctx.answer_value is not None and ctx.answer_value == orig_gold \
            and orig_gold != ctx.gold_value:
        evidence.update(reason="the answer is the original problem's answer", answer=ctx.extracted,
                        original_gold=inp.original_gold, gold=inp.gold)
        steps.append(ctx.first_step_with_value(orig_gold) or ctx.last_step or 0)
    only = _original_only(ctx)
    variant_digits = {v for v, _ in numbers_in(inp.question)}
    for value, off in _restated(ctx) if only else ():
        if value in only and not derivable(value, variant_digits, products=False):
            evidence.update(quantity=format_number(value), offset=off,
                            uses="a number of the original problem, not of this one")
            evidence.setdefault("reason", "uses the original problem's numbers")
            steps.append(ctx.step_of(off) or 0)
            break
    if not steps:
        return None
    step = min(steps)
    confidence = 0.9 if "answer" in evidence else 0.75
    return Finding(Category.MEMORIZED_ORIGINAL, step, confidence, {"step": step, **evidence})


_UNIT_FACTORS: tuple[tuple[int, str], ...] = (
    (60, r"minute|hour|second|min\b|hr"),
    (100, r"percent|%|cent|meter|centimet|century"),
    (1000, r"kilo|thousand|gram|lit|millil|meter|km|\bkg\b|\bml\b"),
    (12, r"month|year|inch|foot|feet|dozen"),
    (24, r"hour|day"),
    (7, r"day|week"),
    (3600, r"second|hour"),
    (52, r"week|year"),
    (365, r"day|year"),
    (16, r"ounce|pound"),
    (1440, r"minute|day"),
    (36, r"inch|yard"),
)


# Sizes of units in a base unit of their kind, for stated conversions ("2 hours, which is 80 minutes").
_UNIT_SIZES: dict[str, tuple[str, int]] = {
    "second": ("time", 1), "minute": ("time", 60), "hour": ("time", 3600), "day": ("time", 86400),
    "week": ("time", 604800), "inch": ("length", 1), "inche": ("length", 1), "foot": ("length", 12),
    "feet": ("length", 12), "yard": ("length", 36), "cent": ("money", 1), "dollar": ("money", 100),
    "millimeter": ("metric length", 1), "centimeter": ("metric length", 10), "meter": ("metric length", 1000),
    "kilometer": ("metric length", 1_000_000), "gram": ("metric mass", 1), "kilogram": ("metric mass", 1000),
    "ounce": ("mass", 1), "pound": ("mass", 16), "milliliter": ("volume", 1), "liter": ("volume", 1000),
}
_UNIT_WORD = r"(seconds?|minutes?|hours?|days?|weeks?|inch(?:es)?|foot|feet|yards?|cents?|dollars?|" \
             r"millimeters?|centimeters?|meters?|kilometers?|grams?|kilograms?|ounces?|pounds?|milliliters?|liters?)"
_STATED_CONVERSION = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*" + _UNIT_WORD + r"\b,?(?: which)?\s*(?:=|is equal to|equals|is the same as|"
    r"is equivalent to|are equal to)\s*(\d+(?:\.\d+)?)\s*" + _UNIT_WORD + r"\b",
    re.IGNORECASE,
)


def _unit(word: str) -> tuple[str, int] | None:
    w = word.lower()
    return _UNIT_SIZES.get(w) or _UNIT_SIZES.get(w[:-1] if w.endswith("s") else w)


def _wrong_stated_conversion(ctx: Context) -> Finding | None:
    """A conversion the response states between two units of one kind, and gets wrong ("2 hours, which is
    equal to 80 minutes")."""
    text = ctx.inp.response
    for m in _STATED_CONVERSION.finditer(text):
        if re.search(r"(?:[-+*/×÷x]|\band)\s*\$?$", text[max(0, m.start() - 5) : m.start()]) \
                or re.match(r"\s*(?:[-+*/×÷]|and\b)", text[m.end() : m.end() + 6]):
            continue  # part of a product or a compound ("6 hours * 10 weeks = 60 hours", "2 hours and 45 min")
        u1, u2 = _unit(m.group(2)), _unit(m.group(4))
        if u1 is None or u2 is None or u1[0] != u2[0] or u1[1] == u2[1]:
            continue
        v1, v2 = Fraction(m.group(1)), Fraction(m.group(3))
        right = v1 * u1[1] / u2[1]
        if v2 == right or abs(v2 - right) < Fraction(1, 10 ** max(0, len(m.group(3).partition(".")[2]))):
            continue
        step = ctx.step_of(m.start())
        return Finding(Category.UNIT_CONVERSION, step, 0.8,
                       {"step": step, "stated": m.group(0), "correct": f"{format_number(right)} {m.group(4)}",
                        "offset": m.start()})
    return None


def _mixed_unit_sum(ctx: Context) -> Finding | None:
    """Quantities of one kind in different units added as plain numbers ("210 minutes + 5 hours = 210 + 5")."""
    for calc in ctx.calculations:
        if calc.mixed_units:
            step = ctx.step_of(calc.start)
            return Finding(Category.UNIT_CONVERSION, step, 0.8,
                           {"step": step, "expression": ctx.inp.response[calc.start : calc.end],
                            "reason": "quantities in different units added as plain numbers", "offset": calc.start})
        if not calc.correct:
            return None  # an arithmetic error comes first
    return None


def detect_unit_conversion(ctx: Context) -> Finding | None:
    found = [f for f in (_wrong_stated_conversion(ctx), _mixed_unit_sum(ctx), _answer_off_by_unit(ctx))
             if f is not None]
    return min(found, key=lambda f: f.step if f.step is not None else 10**6) if found else None


def _answer_off_by_unit(ctx: Context) -> Finding | None:
    a, g = ctx.answer_value, ctx.gold_value
    if a is None or g is None or a == 0 or g == 0 or abs(a) == 1 or abs(g) == 1:
        return None  # an answer of 1 is a factor away from too much by chance
    words = f"{ctx.inp.question}\n{ctx.inp.response}".lower()
    for factor, pattern in _UNIT_FACTORS:
        for ratio, direction in ((a / g, "answer = gold × {f}"), (g / a, "answer = gold ÷ {f}")):
            if ratio == factor and re.search(pattern, words):
                step = ctx.first_step_with_value(a) or ctx.last_step
                return Finding(Category.UNIT_CONVERSION, step, 0.7,
                               {"step": step, "answer": ctx.extracted, "gold": ctx.inp.gold, "factor": factor,
                                "relation": direction.format(f=factor)})
    return None


_ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")


def detect_missing_step(ctx: Context) -> Finding | None:
    a, g = ctx.answer_value, ctx.gold_value
    if a is None or a == g:
        return None
    stated = {v for v, _ in numbers_in(ctx.inp.question)}
    if ctx.reference_text:
        annotations = _ANNOTATION.findall(ctx.reference_text)
        for expr, val in annotations[:-1] if annotations else []:
            value = plain_number(val)
            if value is not None and value == a and value != g and value not in stated \
                    and _reaches_as_the_reference(ctx, a, expr):
                step = ctx.first_step_with_value(a) or ctx.last_step
                return Finding(Category.MISSING_STEP, step, 0.7,
                               {"step": step, "answer": ctx.extracted, "gold": ctx.inp.gold,
                                "reference_intermediate": f"{expr}={val}"})
        before_last = _before_last_reference_operation(ctx, annotations)
        if before_last is not None:
            return before_last
    unused = _unused_question_quantity(ctx)
    if unused is not None:
        return unused
    # The response's own work: it computed the answer, went on to other values, then answered the earlier one.
    calcs = ctx.calculations
    for i, calc in enumerate(calcs):
        if calc.claimed_value != a or a in stated:
            continue
        later = [c for c in calcs[i + 1 :] if c.claimed_value != a]
        if later and calcs[-1].claimed_value != a and ctx.step_of(later[-1].start) != ctx.step_of(calc.start):
            step = ctx.step_of(calc.start)
            return Finding(Category.MISSING_STEP, ctx.last_step, 0.5,
                           {"step": ctx.last_step, "answer": ctx.extracted, "gold": ctx.inp.gold,
                            "intermediate_step": step, "later_value": later[-1].claimed,
                            "reason": "the final answer is a value computed earlier, not the last one"})
        break
    return None


def _reaches_as_the_reference(ctx: Context, value: Fraction, expression: str) -> bool:
    """The response computes `value` from the same numbers as the reference's `expression` does: it took the
    reference's path to that intermediate and stopped there. The same number reached another way is as often a
    wrong plan that lands on it (read on the hand labels: 5 of 12 matched the reference's numbers, against 11 of
    13 real missing steps)."""
    wanted = sorted(v for v, _ in numbers_in(expression))
    return any(c.claimed_value == value and sorted(v for v, _ in c.operands) == wanted for c in ctx.calculations)


_LAST_OPERATION = re.compile(r"^(.*[\d)])\s*([-+*/])\s*\(?\s*(\d+(?:\.\d+)?|\.\d+)\s*\)?\s*$")


def _before_last_reference_operation(ctx: Context, annotations: list[tuple[str, str]]) -> Finding | None:
    """The answer is the reference's value just before its last operation, which the response never applies.

    Two shapes, each read on failures: the reference ends with a sum and the answer is that sum without one of its
    terms, reached by a sum that leaves the term out ("30 + 90 + 120 + 60 + 15 = 315" where the response adds
    30 + 120 + 60 + 15: the second period's 90 left out); or the reference's last annotation applies one more
    operation to an earlier result ("280 * 2 = 560" for the round trip, answer 280; "18/2*3 = 27", answer 9).
    A question number answered as such ("1955 - 1300", answer 1955) is not an intermediate and does not count."""
    a, g = ctx.answer_value, ctx.gold_value
    if a is None or g is None or a == 0 or not annotations:
        return None
    expr, val = annotations[-1]
    if plain_number(val) != g:
        return None
    expr = expr.replace(" ", "")
    evidence: dict[str, object] | None = None
    if re.fullmatch(r"\d+(?:\.\d+)?(?:\+\d+(?:\.\d+)?)+", expr):
        terms = [Fraction(t) for t in expr.split("+")]
        left_out = g - a
        if left_out in terms:
            mine = next((c for c in reversed(ctx.calculations) if c.claimed_value == a), None)
            if mine is not None and "+" in mine.expression:
                operands = [v for v, _ in mine.operands]
                if len(operands) != len(terms) or left_out not in operands:
                    evidence = {"left_out": f"+ {format_number(left_out)}"}
    else:
        m = _LAST_OPERATION.match(expr)
        if m is not None:
            head, op, q = m.group(1), m.group(2), Fraction(m.group(3))
            earlier = {plain_number(v) for _, v in annotations[:-1]} - {None}
            combined = re.search(r"\d\s*[-+*/]", head) is not None
            head_value = evaluate_expression(head)
            if q not in (0, 1) and head_value == a and (combined or a in earlier):
                evidence = {"left_out": f"{op} {format_number(q)}"}
    if evidence is None:
        return None
    step = ctx.first_step_with_value(a) or ctx.last_step
    return Finding(Category.MISSING_STEP, step, 0.6,
                   {"step": step, "answer": ctx.extracted, "gold": ctx.inp.gold, "reference_last": f"{expr}={val}",
                    **evidence, "reason": "the answer is the reference's value before its last operation"})


def _unused_question_quantity(ctx: Context) -> Finding | None:
    """The answer is one operation with a question number away from gold, and the response never uses that number
    after restating the problem: it left out a needed step ("600 - 198 = 402", gold 600 - 198 - 209 = 193)."""
    a, g = ctx.answer_value, ctx.gold_value
    if a is None or g is None or a == g or ctx.inp.choices:
        return None
    used = {v for c in ctx.calculations for v, _ in c.operands}
    restated_end = ctx.steps[1].start if len(ctx.steps) > 1 else len(ctx.inp.response)
    written_later = {v for v, off in numbers_in(ctx.inp.response) if off >= restated_end}
    for q, _ in numbers_in(ctx.inp.question):
        if q.denominator != 1 or q < 2 or q in used or q in written_later:
            continue
        for op, result in (("+", a + q), ("-", a - q), ("×", a * q), ("÷", a / q)):
            if result == g:
                step = ctx.first_step_with_value(a) or ctx.last_step
                return Finding(Category.MISSING_STEP, step, 0.6,
                               {"step": step, "answer": ctx.extracted, "gold": ctx.inp.gold,
                                "left_out": format_number(q), "relation": f"answer {op} {format_number(q)} = gold",
                                "reason": "a number of the question the response never uses"})
    return None


def detect_skipped_reference_step(ctx: Context) -> Finding | None:
    """Where the response leaves the reference solution, it does the reference's calculation with one of the
    reference's steps skipped (see `align.skipped_reference_step`): a missing step at that step."""
    off = ctx.off_reference
    if off is None or not ctx.reference_text:
        return None
    calcs = ctx.calculations
    before = frozenset(c.claimed_value for c in calcs if c.start < off.calculation.start)
    reached = frozenset(c.claimed_value for c in calcs) | ({ctx.answer_value} if ctx.answer_value is not None
                                                           else set())
    later = frozenset(v for c in calcs if c.start > off.calculation.start for v, _ in c.operands)
    found = skipped_reference_step(off, ctx.reference_text, before, reached, later)
    if found is None:
        return None
    return Finding(Category.MISSING_STEP, off.step, 0.7,
                   {"step": off.step, "expression": off.calculation.expression, "value": off.calculation.claimed,
                    **found, "offset": off.calculation.start})


_LATEX_WORDS = frozenset({"frac", "dfrac", "tfrac", "text", "textbf", "mathrm", "left", "right", "cdot", "times"})


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]{2,}", text.lower()) if w not in _LATEX_WORDS]


_FINAL_RESULT = re.compile(r"(?i)final (?:result|answer) is[:\s]*(.+?)(?:\.\s|\n|$)")


def detect_option_mapping(ctx: Context) -> Finding | None:
    inp = ctx.inp
    if not inp.choices or not ctx.extracted:
        return None
    from analysis.grading import parse_choice_letters, parse_number

    gold_letters = parse_choice_letters(inp.gold).letters
    chosen = parse_choice_letters(ctx.extracted).letters
    gold_choice = next((c for c in inp.choices if c.letter in gold_letters), None)
    if gold_choice is None or not chosen or set(chosen) == set(gold_letters):
        return None
    body = inp.response.rsplit("####", 1)[0]
    finals = _FINAL_RESULT.findall(body)
    computed = finals[-1].strip() if finals else None
    if computed is None and ctx.calculations:
        computed = ctx.calculations[-1].claimed
    if not computed:
        return None

    def same(x: str, y: str) -> bool:
        try:
            vx, vy = parse_number(x), parse_number(y)
        except (ValueError, ZeroDivisionError):
            vx = vy = None
        if vx is not None and vy is not None:
            wx, wy = _words(x), _words(y)
            return vx == vy and (not wx or not wy or wx == wy)  # "7 tens" is not "7 thousands"
        return _squash(x).strip(".").casefold() == _squash(y).strip(".").casefold() and bool(_squash(x))

    if same(computed, gold_choice.text):
        step = ctx.last_step
        return Finding(Category.OPTION_MAPPING, step, 0.85,
                       {"step": step, "computed": computed, "gold_option": f"{gold_choice.letter}. {gold_choice.text}",
                        "chosen": ",".join(chosen)})
    return None


Detector = Callable[[Context], Finding | None]
OUTPUT_DETECTORS: tuple[Detector, ...] = (detect_truncated, detect_repetition, detect_invalid_answer,
                                          detect_no_final_answer)
CONTENT_DETECTORS: tuple[Detector, ...] = (detect_arithmetic, detect_misread_quantity, detect_memorized_original,
                                           detect_unit_conversion, detect_missing_step, detect_option_mapping,
                                           detect_skipped_reference_step)

__all__ = ["CONTENT_DETECTORS", "OUTPUT_DETECTORS", "several_final_answers", "stated_quantities"]

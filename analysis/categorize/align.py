"""Align a response with the reference solution: where does it leave the reference's path?

GSM8K's reference solutions carry calculator annotations `<<48/2=24>>`, so the true intermediate values of a
problem are known. Reading the response's calculations from the top, the first one that is *correct as written*
but yields a value that the reference never reaches (and that is not a number of the question, nor a sum or
difference the reference writes) is where the response left the reference's path: the first error, and not an
arithmetic one. A wrong calculation found later is then a consequence, not the first thing that went wrong.

The test is deliberately narrow on what counts as "on the path" for products and quotients: a response that
multiplies two question numbers the reference never multiplies ("4200 bottles * 20% = 840" where the reference
computes 100 / 20 = 5) has left the path; sums and differences of known numbers are allowed because valid
solutions often group terms differently.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from analysis.categorize.arith import Calculation, format_number, numbers_in

_ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")


@dataclass(frozen=True)
class OffReference:
    step: int
    calculation: Calculation

    def evidence(self) -> dict[str, object]:
        return {"step": self.step, "expression": self.calculation.expression, "value": self.calculation.claimed,
                "off_reference": "the first correct calculation whose value the reference solution never reaches"}


def annotations(reference_solution: str | None) -> list[tuple[str, str]]:
    """The `(expression, value)` pairs of GSM8K-style `<<expression=value>>` annotations."""
    return _ANNOTATION.findall(reference_solution) if reference_solution else []


_PLAIN = re.compile(r"\s*\$?\s*(-?(?:\d+(?:\.\d*)?|\.\d+))\s*")


def plain_number(text: str) -> Fraction | None:
    """An annotation's value ("24", "1,200", "$5.00", "-9") as a Fraction, else None (fast: no grading)."""
    m = _PLAIN.fullmatch(text.replace(",", ""))
    return Fraction(m.group(1)) if m else None


@lru_cache(maxsize=4096)
def reference_values(reference_solution: str, gold: Fraction | None) -> frozenset[Fraction]:
    """Every number the reference solution writes (annotation results included) and the gold answer."""
    values = {v for v, _ in numbers_in(reference_solution)}
    for _, val in annotations(reference_solution):
        value = plain_number(val)
        if value is not None:
            values.add(value)
    if gold is not None:
        values.add(gold)
    return frozenset(values)


def first_off_reference(calculations: list[Calculation], steps_of: list[int | None], known: frozenset[Fraction],
                        reference_sums: tuple[tuple[Fraction, ...], ...] = (), text: str = "") -> OffReference | None:
    """The first correct calculation (before any wrong one) whose value is not in `known` (reference values and
    question quantities), not its negation, and not a partial sum of one reference sum (`reference_sums`, the
    operands of each all-`+` annotation: "50 + 20 = 70" where the reference adds 50+20+210+420 at once)."""
    converted: set[Fraction] = set()  # values on the path in another unit ("3 hours * 60 = 180 minutes")
    for i, (calc, step) in enumerate(zip(calculations, steps_of, strict=True)):
        if not calc.correct:
            return None  # a wrong calculation comes first: that is the first error
        value = calc.claimed_value
        if value in known or -value in known or value in converted or step is None:
            continue
        if _unit_conversion(calc, known | converted, text[max(0, calc.start - 60) : calc.end + 20]):
            converted.add(value)
            continue
        if reference_sums and _ops_of(calc.expression) == "+" \
                and _partial_sum(calc, reference_sums, calculations[i + 1:]):
            continue
        return OffReference(step, calc)
    return None


# A unit factor written with the unit it counts: "60 minutes" (per hour), "24 hours", "100 cents", "1000 grams".
_CONVERSIONS: dict[Fraction, str] = {Fraction(f): units for f, units in (
    (60, r"minutes?|mins?|seconds?|secs?"), (24, r"hours?|hrs?"), (7, r"days?"), (12, r"months?|inch(?:es)?"),
    (52, r"weeks?"), (365, r"days?"), (16, r"ounces?|oz"), (36, r"inch(?:es)?"), (3600, r"seconds?"),
    (1440, r"minutes?"), (100, r"cents?|centimet(?:er|re)s?|cm"),
    (1000, r"grams?|g|met(?:er|re)s?|m|millilit(?:er|re)s?|ml|milligrams?|mg"),
)}
_CONVERT_WORD = re.compile(r"(?i)\bconver(?:t|ts|ting|sion)\b")


def _unit_conversion(calc: Calculation, known: frozenset[Fraction] | set[Fraction], window: str) -> bool:
    """`calc` converts a value on the reference's path to another unit: a known value times or over a unit factor
    that is written with its unit or called a conversion ("3 hours * 60 minutes/hour = 180 minutes" stays on the
    path, in minutes). A factor that is a quantity of the problem ("3 hours * 60 mph") is no conversion."""
    if len(calc.operands) != 2 or _ops_of(calc.expression) not in ("*", "/"):
        return False
    (a, _), (b, _) = calc.operands
    factor = a if a in _CONVERSIONS and b in known else b if b in _CONVERSIONS and a in known else None
    if factor is None:
        return False
    if _CONVERT_WORD.search(window):
        return True
    written = re.escape(format_number(factor))
    return re.search(rf"(?i)(?<![\d.,]){written}\s*(?:{_CONVERSIONS[factor]})\b", window) is not None


def _partial_sum(calc: Calculation, reference_sums: tuple[tuple[Fraction, ...], ...],
                 later: list[Calculation]) -> bool:
    """`calc` adds some of one reference sum's terms, and a later calculation adds its result to all the rest
    (a sum in two goes). A partial sum whose other terms never follow is a term left out (Aiden's 12 + 7)."""
    mine = Counter(v for v, _ in calc.operands)
    if sum(mine.values()) < 2:
        return False
    for operands in reference_sums:
        rest = Counter(operands) - mine
        if mine - Counter(operands) or not rest:
            continue
        need = rest + Counter([calc.claimed_value])
        if any(_ops_of(c.expression) == "+" and not need - Counter(v for v, _ in c.operands) for c in later):
            return True
    return False


@lru_cache(maxsize=2048)
def reference_sums(reference_solution: str) -> tuple[tuple[Fraction, ...], ...]:
    """The operands of every reference annotation that only adds (three terms or more)."""
    return tuple(operands for _, operands, ops, _ in _parsed_annotations(reference_solution)
                 if ops == "+" and len(operands) >= 3)


_NUMBER_TOKEN = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
_WORD_VALUE = {w: i for i, w in enumerate(_WORDS)} | {w: 10 * i for i, w in enumerate(
    ["", "", "", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]) if w}
_QUESTION_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\b(?:"
                              + "|".join(_WORD_VALUE) + r")\b", re.IGNORECASE)


def _ordered_numbers(text: str) -> list[Fraction]:
    """The numbers of a question in reading order, digits and number words ("two drinks") alike."""
    out = []
    for m in _QUESTION_NUMBER.finditer(text):
        token = m.group(0).lower()
        out.append(Fraction(_WORD_VALUE[token]) if token in _WORD_VALUE else Fraction(token.replace(",", "")))
    return out


@lru_cache(maxsize=2048)
def derived_reference(original_reference: str, original_question: str, question: str,
                      gold: Fraction) -> str | None:
    """The original problem's annotations recomputed with a perturbed variant's numbers, or None.

    The variant changes the original's numbers in place (gsm8k_robust), so the i-th number of one question
    maps to the i-th of the other. Each annotation is re-evaluated with question numbers mapped and earlier
    results replaced by their recomputed values; the derivation is kept only when its last value is the
    variant's gold, which checks the mapping."""
    from analysis.categorize.arith import evaluate_expression

    before, after = _ordered_numbers(original_question), _ordered_numbers(question)
    if len(before) != len(after) or not before:
        return None
    mapping: dict[Fraction, Fraction] = {}
    for b, a in zip(before, after, strict=True):
        if mapping.setdefault(b, a) != a:
            return None  # one original number became two different ones: no safe mapping
    results: dict[Fraction, Fraction] = {}
    lines: list[str] = []
    value: Fraction | None = None
    for expr, val in annotations(original_reference):
        original_value = plain_number(val)
        if original_value is None:
            return None

        def swap(m: re.Match[str]) -> str:
            n = Fraction(m.group(0))
            return format_number(results.get(n, mapping.get(n, n)))

        new_expr = _NUMBER_TOKEN.sub(swap, expr.replace(",", ""))
        value = evaluate_expression(new_expr)
        if value is None:
            return None
        results[original_value] = value
        lines.append(f"<<{new_expr}={format_number(value)}>>")
    if value is None or value != gold:
        return None
    return "\n".join(lines)


@lru_cache(maxsize=4096)
def _parsed_annotations(reference_solution: str) -> list[tuple[str, tuple[Fraction, ...], str, Fraction]]:
    """(expression, operands sorted, operators, result) of each annotation that parses."""
    out: list[tuple[str, tuple[Fraction, ...], str, Fraction]] = []
    for expr, val in annotations(reference_solution):
        result = plain_number(val)
        if result is None:
            continue
        operands = tuple(sorted(v for v, _ in numbers_in(expr)))
        ops = "".join(sorted(set(re.findall(r"[-+*/]", expr))))
        if operands and ops:
            out.append((expr, operands, ops, result))
    return out


def _ops_of(expression: str) -> str:
    return "".join(sorted(set(re.findall(r"[-+*/]", expression.replace("×", "*").replace("÷", "/")
                                         .replace(" x ", "*")))))


def skipped_reference_step(off: OffReference, reference_solution: str, computed: frozenset[Fraction],
                           reached: frozenset[Fraction] = frozenset(),
                           used_later: frozenset[Fraction] = frozenset()) -> dict[str, str] | None:
    """The calculation where the response left the reference is a reference calculation with one of its steps
    skipped: either it uses a number where the reference first adds or takes one and uses the result ("8 * 80 =
    640" where the reference has 8+1=9 and 9*80=720: Jack and 8 other adults), or it is a reference sum with a
    term left out ("12 + 7 = 19" where the reference has 1+12+7=20). Returns evidence, or None.

    Only "one more" counts for the first form: read on the dev labels, other skipped reference steps were as
    often valid detours (a discount per item instead of on the total) as real omissions.

    `computed` are the values the response reached before this calculation, `reached` all values it reaches,
    `used_later` the operands of its later calculations: a reference result the response reaches anyway, or a
    left-out term it adds later, is a detour (3 + 4 first, Helene's 10 later), not a missing step."""
    calc = off.calculation
    mine = tuple(sorted(v for v, _ in calc.operands))
    my_ops = _ops_of(calc.expression)
    anns = _parsed_annotations(reference_solution)
    by_result = {}
    for expr, operands, _ops, result in anns:
        by_result.setdefault(result, (expr, operands))
    for expr, operands, ops, result in anns:
        if ops != my_ops or len(operands) != len(mine) or result in reached:
            continue
        for i, y in enumerate(operands):
            if y not in by_result or y in computed or y in mine:
                continue
            inner_expr, inner_operands = by_result[y]
            for x in set(inner_operands):
                if abs(y - x) != 1:
                    continue  # only "one more": the person or item the response forgot to count (8 others + Jack)
                if tuple(sorted((*operands[:i], x, *operands[i + 1 :]))) == mine:
                    return {"skipped": f"{inner_expr}={format_number(y)}",
                            "reference": f"{expr}={format_number(result)}",
                            "used": f"{format_number(x)} where the reference uses {format_number(y)}"}
    if my_ops == "+" and len(mine) >= 2:
        for expr, operands, ops, result in anns:
            if ops != "+" or len(operands) != len(mine) + 1 or result in reached:
                continue
            for i, dropped in enumerate(operands):
                if operands[:i] + operands[i + 1 :] == mine and (dropped == 1 or dropped not in used_later):
                    return {"reference": f"{expr}={format_number(result)}", "left_out": format_number(dropped)}
    return None


__all__ = ["OffReference", "annotations", "derived_reference", "first_off_reference", "plain_number",
           "reference_sums", "reference_values", "skipped_reference_step"]

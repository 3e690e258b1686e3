"""Check the algebra of a response that solves a linear equation in one declared variable.

`arith` checks calculations with numbers only; a response that writes "Let x be the number of cards" and then
"(1 - 1/3)x * 1.5 = 150 … simplify it: (3/3)x * 1.5 = 150" makes a slip the number checks cannot see. Each side
of a written equation is read as a linear expression `a*x + b` (exactly, by evaluating it at x = 0, 1, 2 with
`arith.evaluate_expression`), and two slips are reported:

- a **wrong simplification** inside one chain: two linked sides that are meant to be the same expression but are
  not ("6/4x = 3x", "x - 28 + 40 = x - 28": equal x-coefficients with different constants, or two bare multiples
  of x with different coefficients);
- a **wrong transformation** between equations: an equation announced as a rewriting of the previous one
  ("simplify", "combine", "subtract … from both sides", "we get") whose solution differs from the previous
  equation's ("1/2x + x + x = 250" then "3x = 250"; "x - 16 = 2x - 64" then "x = 80").

Precision guards: the letter must be declared as an unknown ("let x be", "assume … is c", "represent … as c");
`x` is not read as a variable in a response that also writes `x` for times ("36 x 2"); an equation introduced as
a new relation ("set up", "write") is never compared with the one before; a stated rounding near either equation
and solutions within 1% count as agreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from analysis.categorize.arith import _APPROX_WORDS, evaluate_expression, format_number

_DECLARE_WORD = re.compile(r"(?i)\b(?:let(?:'s|\s+us)?|assume|suppose|call|denote|represent(?:s|ed)?|variable)\b")
_DECLARE_HINTS = ("Let", "let", "ssum", "uppos", "Call", "call", "enot", "epresent", "ariabl")
_LETTER = re.compile(r"(?<![A-Za-z'’\\])([b-zB-HJ-Z])(?![A-Za-z'’])")
_TIMES_X = re.compile(r"\d\s+x\s+\$?\d")
_CUE = re.compile(
    r"(?i)simplif|combin|rearrang|both sides|subtract|divid|multiply|isolat|solv|we get|we have|gives|becomes"
    r"|distribut|expand|like terms|cross-multipl|results? in|leaves us"
)
_EQUATION_INTRO = re.compile(r"(?i)equation|equal|:\s*$")
_NEW_RELATION = re.compile(r"(?i)set(?:ting)? up|\bwrite\b|\bform\b|another equation|second equation|new equation")


@dataclass(frozen=True)
class AlgebraSlip:
    start: int  # offset of the wrong equation or side in the response
    before: str  # the expression or equation it came from
    after: str  # what the response wrote
    variable: str
    kind: str  # "simplification" or "transformation"
    expected: str  # the solution (transformation) or the right expression value at x = 1 (simplification)
    written: str


def declared_variables(text: str) -> list[str]:
    """The letters the response declares as unknowns; none when it declares several (equations in two unknowns
    are not checked)."""
    letters: list[str] = []
    if not any(w in text for w in _DECLARE_HINTS):
        return letters  # a cheap test first: the categorizer's time budget is tight
    for m in _DECLARE_WORD.finditer(text):
        window = text[m.end():m.end() + 80]
        cut = min((i for i in (window.find("."), window.find("\n")) if i >= 0), default=len(window))
        found = _LETTER.search(window, 0, cut)
        if found and found.group(1) not in letters:
            letters.append(found.group(1))
    if "x" in letters and _TIMES_X.search(text):
        letters.remove("x")
    return letters if len(letters) == 1 else []


def _runs(text: str, var: str) -> list[tuple[int, str]]:
    """Maximal runs of numbers, the variable, operators, brackets and `=` that hold `=` and the variable."""
    v = re.escape(var)
    token = r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+|(?<![A-Za-z'’])" + v + r"(?![A-Za-z'’])|[-+*/×÷−()=$])"
    run = re.compile(token + r"(?:" + token + r"|[ \t])*")
    out = []
    var_re = re.compile(r"(?<![A-Za-z'’])" + v + r"(?![A-Za-z'’])")
    for m in run.finditer(text):
        chunk = m.group(0)
        if "=" not in chunk or not var_re.search(chunk):
            continue
        start = m.start()
        if chunk.lstrip().startswith("-") and not text[_line_start(text, start):start].strip():
            # a list bullet ("   - x + 3x = 180"), not a minus sign
            cut = chunk.index("-") + 1
            chunk, start = chunk[cut:], start + cut
        before = text[max(0, start - 20):start].rstrip()
        if re.search(r"(?<![A-Za-z'’])[A-Za-z]$", before) or chunk.lstrip()[:1] in ("+", "*", "/", "=", "×", "÷"):
            # the left side is not all there ("A + B = 13" read for B, "… = 5 + x")
            cut = chunk.find("=") + 1
            start += cut
            chunk = chunk[cut:]
        tail = text[start + len(chunk):start + len(chunk) + 2]
        if tail[:1] in ("\\", "{", "^", "_", "!") or (tail[:1] == "." and tail[1:2] not in ("", " ", "\n")):
            chunk = chunk[: chunk.rfind("=")]  # "x = 0.\\dot{2}1": the last side is not all there
        if "=" in chunk and var_re.search(chunk):
            out.append((start, chunk))
    return out


def _prepare(side: str, var: str, value: int) -> str:
    s = side.replace("$", "").replace("−", "-").replace("×", "*").replace("÷", "/").strip()
    s = re.sub(r"(?<=\d),(?=\d{3})", "", s)
    s = re.sub(r"(?<![A-Za-z])" + re.escape(var) + r"(?![A-Za-z])", f"({value})", s)
    s = re.sub(r"(?<=[\d)])\s*\(", "*(", s)  # implicit products: 3(…), (…)(…), 2(1)
    s = re.sub(r"\)\s*(?=[\d.])", ")*", s)
    return s


def _balanced(side: str) -> bool:
    depth = 0
    for ch in side:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


@lru_cache(maxsize=4096)
def linear(side: str, var: str) -> tuple[Fraction, Fraction] | None:
    """(a, b) with side == a*var + b, or None when the side does not parse or is not linear in `var`."""
    side = side.strip()
    if not side or not _balanced(side) or not re.search(r"[\d" + re.escape(var) + "]", side):
        return None
    if not re.search(r"(?<![A-Za-z])" + re.escape(var) + r"(?![A-Za-z])", side):
        try:
            constant = evaluate_expression(_prepare(side, var, 0))
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        return None if constant is None else (Fraction(0), constant)
    values = []
    for x in (0, 1, 2):
        try:
            val = evaluate_expression(_prepare(side, var, x))
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        if val is None:
            return None
        values.append(val)
    f0, f1, f2 = values
    if f2 - f1 != f1 - f0:
        return None
    return f1 - f0, f0


def _is_monomial(side: str, var: str) -> bool:
    """A bare multiple of the variable ("3x", "6/4x", "(3/3)x"): no `+`/`-` outside brackets."""
    depth = 0
    for ch in side.strip().lstrip("-"):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and ch in "+-−":
            return False
    return var in side


def _close(a: Fraction, b: Fraction) -> bool:
    return abs(a - b) <= Fraction(1, 100) * max(abs(a), abs(b), Fraction(1))


@dataclass(frozen=True)
class _Equation:
    start: int
    end: int
    text: str
    solution: Fraction


def find_algebra_slips(text: str, step_of: Callable[[int], int | None] | None = None,
                       variables: list[str] | None = None) -> list[AlgebraSlip]:
    """Every wrong simplification or transformation of a linear equation in a declared variable, in reading
    order. `step_of(offset) -> int | None` limits transformations to equations at most two steps apart;
    `variables` are the declared ones when already known."""
    out: list[AlgebraSlip] = []
    for var in declared_variables(text) if variables is None else variables:
        prev: _Equation | None = None
        for start, chunk in _runs(text, var):
            sides_raw = chunk.split("=")
            offsets = []
            pos = start
            for raw in sides_raw:
                offsets.append(pos + len(raw) - len(raw.lstrip()))
                pos += len(raw) + 1
            sides = [s.strip().strip("$").strip() for s in sides_raw]
            parsed = [linear(s, var) for s in sides]
            window = text[max(0, start - 60): start + len(chunk) + 30]
            approx = bool(_APPROX_WORDS.search(window))
            eq_here: _Equation | None = None
            for k in range(len(sides) - 1):
                left, right = parsed[k], parsed[k + 1]
                if left is None or right is None or (left[0] == 0 and right[0] == 0):
                    continue
                da, db = left[0] - right[0], left[1] - right[1]
                if da == 0 and db == 0:
                    continue  # a right simplification
                shorter = len(sides[k + 1].replace(" ", "")) < len(sides[k].replace(" ", ""))
                both_monomial = left[1] == right[1] == 0 and _is_monomial(sides[k], var) \
                    and _is_monomial(sides[k + 1], var)
                intro = text[max(_line_start(text, start), start - 60):start]
                stated = k == 0 and bool(_EQUATION_INTRO.search(intro))  # an equation the response sets up
                if not approx and not stated and left[0] != 0 and right[0] != 0 \
                        and ((da == 0 and shorter) or both_monomial):
                    out.append(AlgebraSlip(offsets[k + 1], sides[k], sides[k + 1], var, "simplification",
                                           format_number(left[0] + left[1]), format_number(right[0] + right[1])))
                    break
                if da != 0 and eq_here is None:
                    eq_here = _Equation(offsets[k], offsets[k + 1] + len(sides[k + 1]),
                                        f"{sides[k]} = {sides[k + 1]}", -db / da)
            if eq_here is None:
                continue
            if prev is not None and not approx:
                lead = text[max(prev.end, _line_start(text, eq_here.start)): eq_here.start]
                near = True
                if step_of is not None:
                    s_prev, s_here = step_of(prev.start), step_of(eq_here.start)
                    near = s_prev is not None and s_here is not None and 0 <= s_here - s_prev <= 2
                if near and _CUE.search(lead) and not _NEW_RELATION.search(lead) \
                        and not _close(prev.solution, eq_here.solution) \
                        and not _rounded(prev.solution, eq_here.solution) \
                        and not _APPROX_WORDS.search(text[max(0, prev.start - 60): prev.end + 30]):
                    out.append(AlgebraSlip(eq_here.start, prev.text, eq_here.text, var, "transformation",
                                           format_number(prev.solution), format_number(eq_here.solution)))
            prev = eq_here
    out.sort(key=lambda s: s.start)
    return out


def _rounded(exact: Fraction, written: Fraction) -> bool:
    """A whole number written for a non-whole solution ("3x = 37 … x = 12"): a silent rounding, which the
    number checks do not count as a slip either (read on all failures, such roundings were as often meant)."""
    import math

    return exact.denominator != 1 and written.denominator == 1 and written in (math.floor(exact), math.ceil(exact))


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


__all__ = ["AlgebraSlip", "declared_variables", "find_algebra_slips", "linear"]

"""Find the written calculations in a text (`expr = value`) and re-evaluate them exactly.

The tokenizer reads numbers (`$1,200`, `0.75`, `20%`), operators (`+ - * / × x ÷ ^`, `\\times`), brackets,
`=`/`≈`, and words. A calculation is a maximal run of such tokens holding `=`; unit words between a number and
the next operator are dropped (`16 eggs - 3 = 13`), `N% of M` means `N% * M`, and `miles/hour` is a unit, not
a division. Each segment of a chain `a = b = c` is parsed with a small recursive-descent parser over
`fractions.Fraction`, so `3/4 = 0.75` is exact.

Precision matters more than recall here: a calculation is only *checked* when its left side is certainly
fully captured (at least one operator, not preceded by an operator or by `of`/`times`/`by`…), its right side is
a plain number, and a claimed value is only *wrong* when it is off beyond rounding (the claimed value may
round or truncate the true one to the decimals it shows), beyond a stated approximation (`≈`, "about",
"rounded"), and beyond two notational slips models make on purpose (`100 - 20% = 80%`; `4 + 4 * 2 = 16` read
left to right).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from analysis.grading.numbers import format_number as exact_number

_TOKEN = re.compile(
    r"""
    (?P<ann><<[^<>\n]*>>)
  | (?P<latexop>\\times|\\cdot|\\div)
  | (?P<num>(?:\d{1,3}(?:,\d{3})+(?![\d,]\d)|\d+)(?:\.\d+)?|\.\d+)(?P<pct>\s?%|\s?percent\b)?
  | (?P<op>\*\*|[-+*/×÷−–·⋅^✕])
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<eq>~=|=|≈|≅)
  | (?P<word>[A-Za-z][A-Za-z'’]*)
  | (?P<skip>[\s$€£\\])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_OP_NORMAL = {"×": "*", "✕": "*", "·": "*", "⋅": "*", "÷": "/", "−": "-", "–": "-", "\\times": "*", "\\cdot": "*",
              "\\div": "/", "**": "^"}

# Words that end a calculation instead of being read as a unit ("5 and 3", "6 of them", "x in 2x + 3").
_STOPWORDS = frozenset(
    [
    "and", "or", "but", "is", "are", "was", "were", "be", "been", "being", "the", "a", "an", "to", "so", "then",
    "than", "that", "which", "who", "whom", "of", "for", "from", "in", "on", "at", "by", "with", "as", "if", "it",
    "its", "this", "these", "those", "we", "you", "he", "she", "they", "his", "her", "their", "them", "our", "has",
    "have", "had", "will", "would", "can", "could", "should", "each", "every", "plus", "minus", "times", "divided",
    "multiplied", "over", "into", "equals", "equal", "gives", "get", "gets", "got", "not", "no", "also", "when",
    "where", "while", "since", "because", "thus", "therefore", "hence", "now", "let", "total", "sum", "difference",
    "product", "quotient", "remaining", "there", "here", "all", "ten", "tens", "hundred", "hundreds", "thousand",
    "thousands", "million", "millions", "billion", "billions", "ones", "dozen", "dozens", "half", "third", "quarter"
]
)
# A word just before a run that means the run's left side is not all there ("half of 10 = 5", "by 4 = 3").
_LEFT_CUT_WORDS = frozenset([
    "of", "times", "by", "plus", "minus", "over", "than", "divided", "multiplied", "and", "into", "per"
])
_APPROX_WORDS = re.compile(
    r"≈|~|\babout\b|\bapprox|\broughly\b|\bround(?:ed|ing|s)?\b|\bnearest\b|\baround\b|\bestimat|\bnearly\b"
    r"|\balmost\b|\bclose to\b",
    re.IGNORECASE,
)


class Token(NamedTuple):  # a NamedTuple: tokenizing is the categorizer's hot loop
    kind: str  # num / op / lp / rp / eq / word / other
    text: str
    start: int
    end: int
    value: Fraction | None = None
    pct: bool = False
    approx: bool = False  # for eq: ≈


@dataclass(frozen=True)
class Calculation:
    """One checked `expression = claimed` pair."""

    start: int  # offset of the expression in the text
    end: int  # offset just after the claimed value
    expression: str
    claimed: str
    claimed_value: Fraction
    actual: Fraction
    correct: bool
    approx: bool  # a rounding was stated
    operands: tuple[tuple[Fraction, int], ...] = field(default=())  # (value, offset) of each number used
    # Operands of one kind with different units added as plain numbers ("210 minutes + 5 hours = 210 + 5"), or a
    # later link of a chain that started so: a unit error, not an arithmetic one (`correct` is then False).
    mixed_units: bool = False
    # The left side's tokens, to re-evaluate it with other operand values (`with_operands`).
    terms: tuple[Token, ...] = field(default=(), compare=False, repr=False)

    def with_operands(self, values: dict[Fraction, Fraction],
                      once: frozenset[Fraction] = frozenset()) -> Fraction | None:
        """The left side's value when each operand equal to a key of `values` takes that key's value instead
        (a corrected earlier result carried forward); a value in `once` is replaced at its last occurrence only
        (the same number also stands for something else). None when it does not re-evaluate."""
        if not self.terms:
            return None
        last = {t.value: i for i, t in enumerate(self.terms) if t.kind == "num"}
        seg = [t._replace(value=values[t.value])
               if t.kind == "num" and t.value in values and (t.value not in once or last[t.value] == i) else t
               for i, t in enumerate(self.terms)]
        return _evaluate(seg)


def _to_fraction(text: str) -> Fraction:
    # Fraction(str) parses slowly; integers and plain decimals are most of what we see.
    text = text.replace(",", "")
    whole, dot, frac = text.partition(".")
    if not dot:
        return Fraction(int(text))
    return Fraction(int((whole or "0") + frac), 10 ** len(frac))


def _blank_annotations(text: str) -> str:
    """GSM8K-style `<<a*b=c>>` calculator annotations duplicate the visible text: blank them, keep offsets."""
    return re.sub(r"<<[^<>\n]*>>", lambda m: " " * len(m.group(0)), text)


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Tokens of `text`; offsets are shifted by `offset` (the position of `text` in a larger text)."""
    tokens: list[Token] = []
    if "<<" in text:
        text = _blank_annotations(text)
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "pct":
            kind = "num"
        if kind == "skip" or kind == "ann":
            continue
        s = m.group(0)
        start, end = m.start() + offset, m.end() + offset
        if kind == "num":
            tokens.append(Token("num", s, start, end, _to_fraction(m.group("num")), bool(m.group("pct"))))
        elif kind == "op" or kind == "latexop":
            tokens.append(Token("op", _OP_NORMAL.get(s, s), start, end))
        elif kind == "eq":
            tokens.append(Token("eq", s, start, end, None, False, s in ("≈", "~=", "≅")))
        else:
            tokens.append(Token(kind or "other", s, start, end))
    return tokens


def _is_operand_end(tok: Token | None) -> bool:
    return tok is not None and tok.kind in ("num", "rp")


def _runs(tokens: list[Token]) -> list[tuple[int, list[Token]]]:
    """Maximal runs of arithmetic tokens; returns (index of the run's first raw token, kept tokens)."""
    runs: list[tuple[int, list[Token]]] = []
    cur: list[Token] = []
    cur_start = 0
    i = 0
    n = len(tokens)

    def close() -> None:
        nonlocal cur
        if cur:
            runs.append((cur_start, cur))
        cur = []

    while i < n:
        tok = tokens[i]
        prev = cur[-1] if cur else None
        nxt = tokens[i + 1] if i + 1 < n else None
        if tok.kind == "word":
            low = tok.text.lower()
            if low == "x" and _is_operand_end(prev) and nxt is not None and nxt.kind in ("num", "lp"):
                cur.append(Token("op", "*", tok.start, tok.end))
                i += 1
                continue
            if low == "of" and prev is not None and prev.kind == "num" and prev.pct and nxt is not None \
                    and nxt.kind == "num":
                cur.append(Token("op", "*", tok.start, tok.end))
                i += 1
                continue
            if _is_operand_end(prev):
                # Unit words ("16 eggs - 3", "$5 per hour * 8") between an operand and an operator or `=`.
                j = i
                words = 0
                while j < n and words < 3 and tokens[j].kind == "word" and len(tokens[j].text) > 1 \
                        and tokens[j].text.lower() not in _STOPWORDS:
                    j += 1
                    words += 1
                    if j + 1 < n and tokens[j].text == "/" and tokens[j + 1].kind == "word":
                        j += 1  # "miles/hour"
                if j > i and j < n and tokens[j].kind in ("op", "eq") and tokens[j].text != "/":
                    i = j
                    continue
            close()
            i += 1
            continue
        if tok.kind == "op" and tok.text == "/" and _is_operand_end(prev) and nxt is not None and nxt.kind == "word":
            # "miles/hour", "$/kg": a unit, not a division. Drop the slash and the unit word.
            i += 2
            continue
        if tok.kind == "num" and prev is not None and prev.kind in ("num", "rp"):
            close()
        if tok.kind in ("num", "op", "lp", "rp", "eq"):
            if not cur:
                cur_start = i
            cur.append(tok)
            i += 1
            continue
        close()
        i += 1
    close()
    return runs


class _ParseError(Exception):
    pass


class _Parser:
    """expr := term (+|- term)*; term := unary (*|/ unary | implicit (…))*; unary := -unary | power;
    power := atom (^ unary)?; atom := number | ( expr ). `pct_scale` says what `%` means (1/100 or 1)."""

    def __init__(self, tokens: list[Token], pct_scale: Fraction, left_to_right: bool = False) -> None:
        self.toks = tokens
        self.i = 0
        self.pct_scale = pct_scale
        self.ltr = left_to_right

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise _ParseError("unexpected end")
        self.i += 1
        return tok

    def parse(self) -> Fraction:
        value = self.expr()
        if self.peek() is not None:
            raise _ParseError("trailing tokens")
        return value

    def expr(self) -> Fraction:
        if self.ltr:
            return self._flat()
        value = self.term()
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text in "+-":
            self.take()
            rhs = self.term()
            value = value + rhs if tok.text == "+" else value - rhs
        return value

    def _flat(self) -> Fraction:
        """Left to right, ignoring precedence (brackets still count): how sloppy notation is often meant."""
        value = self.unary()
        while (tok := self.peek()) is not None and tok.kind in ("op", "lp"):
            if tok.kind == "lp":
                value = value * self.unary()
                continue
            if tok.text not in "+-*/":
                raise _ParseError("operator")
            self.take()
            rhs = self.unary()
            value = _apply(tok.text, value, rhs)
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while (tok := self.peek()) is not None and (
            (tok.kind == "op" and tok.text in "*/") or tok.kind == "lp"
        ):
            if tok.kind == "lp":  # implicit multiplication: 2(3 + 4)
                value = value * self.unary()
                continue
            self.take()
            value = _apply(tok.text, value, self.unary())
        return value

    def unary(self) -> Fraction:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text in "+-":
            self.take()
            inner = self.unary()
            return -inner if tok.text == "-" else inner
        return self.power()

    def power(self) -> Fraction:
        base = self.atom()
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text == "^":
            self.take()
            exp = self.unary()
            if exp.denominator != 1 or abs(exp) > 12:
                raise _ParseError("exponent")
            if base == 0 and exp < 0:
                raise _ParseError("zero power")
            return base ** int(exp)
        return base

    def atom(self) -> Fraction:
        tok = self.take()
        if tok.kind == "num":
            assert tok.value is not None
            return tok.value * self.pct_scale if tok.pct else tok.value
        if tok.kind == "lp":
            value = self.expr()
            close = self.take()
            if close.kind != "rp":
                raise _ParseError("unbalanced")
            return value
        raise _ParseError(f"unexpected {tok.text!r}")


def _apply(op: str, a: Fraction, b: Fraction) -> Fraction:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise _ParseError("division by zero")
    return a / b


_UNIT_STEMS = {
    "second": "time", "minute": "time", "hour": "time", "day": "time", "week": "time", "month": "time",
    "year": "time", "inch": "length", "inche": "length", "foot": "length", "feet": "length", "yard": "length",
    "mile": "length", "meter": "length", "centimeter": "length", "kilometer": "length", "cm": "length",
    "km": "length", "cent": "money", "dollar": "money", "gram": "mass", "kilogram": "mass", "kg": "mass",
    "pound": "mass", "ounce": "mass", "liter": "volume", "milliliter": "volume", "ml": "volume", "gallon": "volume",
    "cup": "volume", "quart": "volume", "pint": "volume",
}


def _mixed_units(text: str, tokens: list[Token], seg: list[Token], index: dict[int, int] | None = None) -> bool:
    """Two operands of the segment carry different units of one kind (minutes and hours, feet and inches).
    `index` maps a token's start offset to its position in `tokens` (built once per clause by the caller)."""
    if len(seg) < 3:
        return False
    if index is None:
        index = {t.start: i for i, t in enumerate(tokens)}
    units: dict[str, set[str]] = {}
    for t in seg:
        if t.kind != "num":
            continue
        i = index.get(t.start)
        if i is None or i + 1 >= len(tokens) or tokens[i + 1].kind != "word":
            continue
        word = tokens[i + 1].text.lower().rstrip("s")
        kind = _UNIT_STEMS.get(word)
        if kind:
            units.setdefault(kind, set()).add(word)
    dollars = any(t.kind == "num" and text[max(0, t.start - 2) : t.start].strip().endswith("$") for t in seg)
    if dollars and "cent" in units.get("money", set()):
        return True  # "$3.80 - 240 cents"
    return any(len(v) > 1 for v in units.values())


def _strip_brackets(seg: list[Token]) -> list[Token]:
    """Drop a leading `(` or trailing `)` that has no partner inside the segment ("(5 + 3 = 8)")."""
    seg = list(seg)
    while True:
        depth = 0
        bad_close = False
        for t in seg:
            if t.kind == "lp":
                depth += 1
            elif t.kind == "rp":
                depth -= 1
                if depth < 0:
                    bad_close = True
                    break
        if bad_close and seg and seg[-1].kind == "rp":
            seg = seg[:-1]
            continue
        if depth > 0 and seg and seg[0].kind == "lp":
            seg = seg[1:]
            continue
        return seg


def _evaluate(seg: list[Token], pct_scale: Fraction = Fraction(1, 100), ltr: bool = False) -> Fraction | None:
    try:
        return _Parser(seg, pct_scale, ltr).parse()
    except (_ParseError, ZeroDivisionError, OverflowError):
        return None


_PLAIN_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?|\.\d+)|([-+*/^])|(\()|(\)))")


def evaluate_expression(text: str) -> Fraction | None:
    """The exact value of a plain arithmetic expression ("12*(3/4)+2"), or None when it does not parse."""
    tokens: list[Token] = []
    pos, text = 0, text.rstrip()
    while pos < len(text):
        m = _PLAIN_TOKEN.match(text, pos)
        if m is None:
            return None
        num, op, lp, _rp = m.groups()
        if num is not None:
            tokens.append(Token("num", num, m.start(1), m.end(1), _to_fraction(num)))
        else:
            tokens.append(Token("op" if op else "lp" if lp else "rp", m.group(0).strip(), m.start(), m.end()))
        pos = m.end()
    return _evaluate(tokens)


def _is_literal(seg: list[Token]) -> bool:
    kinds = [t.kind for t in seg]
    return kinds == ["num"] or (kinds == ["op", "num"] and seg[0].text in "+-")


def _decimals(text: str) -> int:
    m = re.search(r"\.(\d+)", text)
    return len(m.group(1)) if m else 0


def _within_rounding(
    claimed: Fraction, claimed_text: str, actual: Fraction, approx: bool, rounded_operands: bool = False
) -> bool:
    if claimed == actual:
        return True
    diff = abs(claimed - actual)
    # The shown value rounds or truncates the true one to the decimals it shows (10/3 = 3.33, 50/3 = 16).
    if diff < Fraction(1, 10 ** _decimals(claimed_text)):
        return True
    # An operand that is itself a rounded value (8/15 written 0.5333) carries its error into the result:
    # "5 * 0.5333 = 2.6667" is right to the precision the writer has.
    if rounded_operands and actual != 0 and diff / abs(actual) <= Fraction(1, 1000):
        return True
    return bool(approx and actual != 0 and diff / abs(actual) <= Fraction(5, 100))


def _claimed_candidates(tok_seg: list[Token]) -> list[Fraction]:
    value = _evaluate(tok_seg)
    raw = _evaluate(tok_seg, Fraction(1))
    return [v for v in dict.fromkeys((value, raw)) if v is not None]


_CLAUSE_BREAK = re.compile(r"(?<=[.?!;])\s+|\n+")
# What may follow a claimed value and shows that it is not a plain number: "23/x", "10:17", "7!", "5^2".
_NOT_PLAIN_AFTER = re.compile(r"\s*(?:[/^*×!π√(\\]|:\d|\d)|[A-Za-z]")  # "= 3x", "= 2π", "= 7!"


_ORDINAL_AFTER = re.compile(r"(?:st|nd|rd|th)\b")  # "= 16th floor" is the number 16
# The larger unit of a compound quantity ("7 hours 32 minutes", "5 feet 3 inches", "2 pounds 4 ounces").
_COMPOUND_UNIT = r"(?:hours?|hrs?|feet|foot|ft|pounds?|lbs?|dollars?|years?|weeks?|days?|minutes?|mins?)"
_COMPOUND_AFTER = re.compile(r"\s*" + _COMPOUND_UNIT + r",?\s+(?:and\s+)?\d", re.IGNORECASE)
_COMPOUND_WORD = re.compile(_COMPOUND_UNIT, re.IGNORECASE)


def _chain_link(text: str, tokens: list[Token], segments: list[list[Token]], eq_tokens: list[Token],
                k: int, end_value: Fraction | None, index: dict[int, int]) -> Calculation | None:
    """The link `left = right` between two expressions of a chain whose later links are consistent with `right`
    ("8 + 16 + 6 = 20 + 6 = 26"): wrong when `left` has another value than `right` under every notational
    reading. Only links that carry the chain's result are checked, so a garbled middle term whose chain still
    ends right ("2 * 12 * 3/4 = 24/4 = 18") is not a calculation error."""
    left, right = segments[k], segments[k + 1]
    if not any(t.kind == "op" for t in left) or not any(t.kind == "op" for t in right):
        return None
    if _mixed_units(text, tokens, left, index):
        mixed = _mixed_unit_calculation(text, left, right)
        return mixed if mixed is not None and mixed.claimed_value == mixed.actual else None
    if _mixed_units(text, tokens, right, index):
        return None
    final = segments[-1]
    if end_value is None:
        return None
    shown = _evaluate(right)
    # The link carries the chain's result: exactly, or to the decimals the result shows ("2315 / 255 = 9.07").
    if shown is None or not _within_rounding(end_value, final[-1].text, shown, False):
        return None
    actual = _evaluate(left)
    if actual is None or actual == end_value:
        return None
    if right[0].kind == "num" and right[0].value == actual:
        return None  # a running total, "5 + 3 = 8 + 2 = 10": the next term is added to the sum so far
    window = text[max(0, left[0].start - 40) : final[-1].end + 25]
    approx = any(e.approx for e in eq_tokens) or bool(_APPROX_WORDS.search(window))
    if approx or _mixed_units(text, tokens, left, index):
        return None
    alternatives = [actual, -actual]
    for alt in (_evaluate(left, Fraction(1)), _evaluate(left, ltr=True), _evaluate(left, Fraction(1), True)):
        if alt is not None:
            alternatives.append(alt)
    rounded = any(t.kind == "num" and _decimals(t.text) >= 3 for t in left)
    if any(_within_rounding(shown, final[-1].text, a, False, rounded) for a in alternatives):
        return None
    operands = tuple((t.value, t.start) for t in left if t.kind == "num" and t.value is not None)
    return Calculation(start=left[0].start, end=right[-1].end, expression=text[left[0].start : left[-1].end],
                       claimed=text[right[0].start : right[-1].end].strip(), claimed_value=shown, actual=actual,
                       correct=False, approx=False, operands=operands,
                       terms=tuple(left))


def _mixed_unit_calculation(text: str, left: list[Token], right: list[Token]) -> Calculation | None:
    """`left` adds quantities of one kind in different units; `right` is what the writer made of it."""
    if any(t.kind == "op" and t.text not in "+-" for t in left):
        return None  # "30 minutes/day * 7 days": a rate times a time is no sum of mixed units
    actual, shown = _evaluate(left), _evaluate(right)
    if actual is None or shown is None:
        return None
    operands = tuple((t.value, t.start) for t in left if t.kind == "num" and t.value is not None)
    return Calculation(start=left[0].start, end=right[-1].end, expression=text[left[0].start : left[-1].end],
                       claimed=text[right[0].start : right[-1].end].strip(), claimed_value=shown, actual=actual,
                       correct=False, approx=False, operands=operands, mixed_units=True,
                       terms=tuple(left))


def find_calculations(text: str) -> list[Calculation]:
    """Every checkable `expression = number` in `text`, in reading order, each marked correct or not."""
    out: list[Calculation] = []
    start = 0
    # Only clauses holding `=` can hold a calculation; tokenizing just those keeps this fast.
    for m in [*_CLAUSE_BREAK.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        clause = text[start:end]
        if "=" in clause or "≈" in clause or "≅" in clause:
            out.extend(_clause_calculations(text, start, end))
        if m is not None:
            start = m.end()
    return out


def _clause_calculations(text: str, offset: int, stop: int) -> list[Calculation]:
    tokens = tokenize(text[offset:stop], offset)
    index = {t.start: i for i, t in enumerate(tokens)}
    out: list[Calculation] = []
    for raw_start, run in _runs(tokens):
        if not any(t.kind == "eq" for t in run):
            continue
        segments: list[list[Token]] = [[]]
        eq_tokens: list[Token] = []
        for t in run:
            if t.kind == "eq":
                segments.append([])
                eq_tokens.append(t)
            else:
                segments[-1].append(t)
        segments = [_strip_brackets(s) for s in segments]
        before = tokens[raw_start - 1] if raw_start > 0 else None
        before2 = tokens[raw_start - 2] if raw_start > 1 else None
        left_cut = before is not None and (
            (before.kind == "word" and before.text.lower() in _LEFT_CUT_WORDS)
            or before.kind == "op"
            # a time or ratio "3:00 + 2", "1:2 = ..."
            or (before.text == ":" and before2 is not None and before2.kind == "num" and before2.end == before.start
                and tokens[raw_start].start == before.end)
            # the smaller part of a compound quantity: "7 hours 55 minutes - 23 minutes"
            or (before.kind == "word" and before2 is not None and before2.kind == "num"
                and _COMPOUND_WORD.fullmatch(before.text) is not None)
        )
        first = segments[0]
        if first and (first[0].kind == "op" or left_cut):
            segments[0] = []  # the left side is not all there: "A - 3 = 9", "half of 10 = 5"
        end_value: Fraction | None = None  # the chain's result, for links between two expressions
        final = segments[-1]
        if len(segments) > 2 and final and _is_literal(final) and not _NOT_PLAIN_AFTER.match(text, final[-1].end):
            end_value = _evaluate(final)
        for k in range(len(segments) - 1):
            left, right = segments[k], segments[k + 1]
            if left and right and not _is_literal(left) and not _is_literal(right):
                link = _chain_link(text, tokens, segments, eq_tokens, k, end_value, index)
                if link is not None:
                    out.append(link)
                continue
            if not left or not right or _is_literal(left) or not _is_literal(right):
                continue
            if not any(t.kind == "op" for t in left):
                continue
            actual = _evaluate(left)
            if actual is None:
                continue
            claimed_tok = right[-1]
            if _NOT_PLAIN_AFTER.match(text, claimed_tok.end) and not _ORDINAL_AFTER.match(text, claimed_tok.end):
                continue
            if _COMPOUND_AFTER.match(text, claimed_tok.end):
                continue  # "= 7 hours 32 minutes": a compound quantity, not the number 7
            claimed_vals = _claimed_candidates(right)
            if not claimed_vals:
                continue
            window_start = max(0, left[0].start - 40)
            window = text[window_start : claimed_tok.end + 25]
            approx = eq_tokens[k].approx or bool(_APPROX_WORDS.search(window))
            claimed_text = text[right[0].start : claimed_tok.end]
            rounded = any(t.kind == "num" and _decimals(t.text) >= 3 for t in left)
            correct = any(_within_rounding(c, claimed_tok.text, actual, approx, rounded) for c in claimed_vals)
            if not correct:
                # Notation the writer did not mean literally: "%" as a plain number, left-to-right reading
                # ("4 + 4 * 2 = 16"), and a sign flip ("$3.5 - $140 = $136.5", an operand-order slip).
                alternatives = [-actual]
                for alt in (_evaluate(left, Fraction(1)), _evaluate(left, ltr=True),
                            _evaluate(left, Fraction(1), True)):
                    if alt is not None:
                        alternatives.append(alt)
                correct = any(
                    _within_rounding(c, claimed_tok.text, a, approx) for c in claimed_vals for a in alternatives
                )
            # "2 * 12 * 3/4 = 24/4 = 18": a garbled middle term, but the chain's result is right.
            if not correct and k > 0 and segments[k - 1] and not _is_literal(segments[k - 1]):
                earlier = _evaluate(segments[k - 1])
                if earlier is not None and any(_within_rounding(c, claimed_tok.text, earlier, False)
                                               for c in claimed_vals):
                    continue
            if _mixed_units(text, tokens, left, index):
                # "840 minutes + 20 hours = 1410 minutes" may be a silent conversion; written as a plain sum
                # ("210 minutes + 5 hours = 215") it is a unit error.
                mixed = _mixed_unit_calculation(text, left, right) if correct else None
                if mixed is not None:
                    out.append(mixed)
                continue
            if not correct and out and out[-1].mixed_units and out[-1].end >= left[0].start - 2:
                # a later link of a chain that began by adding mixed units: the units went wrong first
                out.append(Calculation(start=left[0].start, end=right[-1].end,
                                       expression=text[left[0].start : left[-1].end], claimed=claimed_text.strip(),
                                       claimed_value=claimed_vals[0], actual=actual, correct=False, approx=approx,
                                       operands=(), mixed_units=True))
                continue
            operands = tuple((t.value, t.start) for t in left if t.kind == "num" and t.value is not None)
            out.append(
                Calculation(
                    start=left[0].start,
                    end=claimed_tok.end,
                    expression=text[left[0].start : left[-1].end],
                    claimed=claimed_text.strip(),
                    claimed_value=claimed_vals[0],
                    actual=actual,
                    correct=correct,
                    approx=approx,
                    operands=operands,
                    terms=tuple(left),
                )
            )
    return out


def format_number(value: Fraction) -> str:
    """A Fraction as a person writes it: 180, 0.75, 3.3333 (rounded to 4 places when it does not end).

    The exact forms are the grader's (`analysis.grading.format_number`); only a value with no terminating
    decimal, which the grader writes as a fraction, is shown rounded here, as evidence reads better that way.
    """
    exact = exact_number(value)
    return f"{float(value):.4f}" if "/" in exact else exact


_NUMBER_IN_TEXT = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+(?![\d,]\d)|\d+)(?:\.\d+)?(?!\.\d)|(?<![\w.])\.\d+")


_LATEX_OP_BEFORE_DIGIT = re.compile(r"\\(?:times|div|cdot|pm)(?=\d)")


@lru_cache(maxsize=4096)
def _numbers_in(text: str) -> tuple[tuple[Fraction, int], ...]:
    clean = _blank_annotations(text) if "<<" in text else text
    if "\\" in clean:  # "21\times55": the command's last letter becomes a space, so 55 is read (offsets kept)
        clean = _LATEX_OP_BEFORE_DIGIT.sub(lambda m: m.group(0)[:-1] + " ", clean)
    return tuple((_to_fraction(m.group(0)), m.start()) for m in _NUMBER_IN_TEXT.finditer(clean))


def numbers_in(text: str) -> list[tuple[Fraction, int]]:
    """Every number written with digits in `text`, with its offset (annotations `<<…>>` ignored)."""
    return list(_numbers_in(text))

"""The quantities a problem states (digits and number words) and whether a number can be explained by them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction
from functools import lru_cache

from analysis.categorize.arith import format_number, numbers_in

_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORD_VALUES: dict[str, tuple[Fraction, ...]] = {w: (Fraction(i),) for i, w in enumerate(_UNITS)}
_WORD_VALUES.update({w: (Fraction(20 + 10 * i),) for i, w in enumerate(_TENS)})
_WORD_VALUES.update({
    "half": (Fraction(1, 2), Fraction(2)), "halves": (Fraction(1, 2), Fraction(2)), "twice": (Fraction(2),),
    "double": (Fraction(2),), "doubles": (Fraction(2),), "triple": (Fraction(3),), "thrice": (Fraction(3),),
    "quarter": (Fraction(1, 4), Fraction(4)), "quarters": (Fraction(1, 4), Fraction(4)),
    "third": (Fraction(1, 3), Fraction(3)), "thirds": (Fraction(1, 3), Fraction(3)),
    "fourth": (Fraction(1, 4), Fraction(4)), "fifth": (Fraction(1, 5), Fraction(5)),
    "sixth": (Fraction(1, 6), Fraction(6)), "tenth": (Fraction(1, 10), Fraction(10)),
    "dozen": (Fraction(12),), "dozens": (Fraction(12),), "hundred": (Fraction(100),),
    "thousand": (Fraction(1000),), "million": (Fraction(1_000_000),), "pair": (Fraction(2),),
    "pairs": (Fraction(2),), "score": (Fraction(20),), "once": (Fraction(1),), "quadruple": (Fraction(4),),
    "percent": (Fraction(100),), "weekly": (Fraction(7),), "daily": (Fraction(1),),
})
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")

# Numbers a solution may bring in without the problem stating them: units of time, money, measure, counting.
CONSTANTS: frozenset[Fraction] = frozenset(
    Fraction(v) for v in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 20, 24, 30, 31, 36, 48, 50, 52, 60, 100, 360,
                          365, 366, 1000, 3600, 1440, 10080, 8760, 1_000_000)
) | frozenset({Fraction(1, 2), Fraction(1, 4), Fraction(3, 4), Fraction(1, 3), Fraction(1, 100), Fraction(1, 10),
                Fraction(1, 20)})  # coins: a cent, a dime, a nickel, a quarter


def word_numbers(text: str) -> set[Fraction]:
    out: set[Fraction] = set()
    for m in _WORD.finditer(text.lower()):
        word = m.group(0)
        if "-" in word:  # twenty-five
            a, _, b = word.partition("-")
            if a in _TENS and b in _UNITS[1:10]:
                out.add(Fraction(20 + 10 * _TENS.index(a) + _UNITS.index(b)))
                continue
            for part in (a, b):
                out.update(_WORD_VALUES.get(part, ()))
            continue
        out.update(_WORD_VALUES.get(word, ()))
    return out


@lru_cache(maxsize=2048)
def stated_quantities(text: str) -> frozenset[Fraction]:
    """Every number a text states, with digits or words, plus the forms a reader derives at once
    (20% -> 0.2, 1/4 -> 4)."""
    values = {v for v, _ in numbers_in(text)} | word_numbers(text)
    for m in re.finditer(r"\d{1,3}(?: \d{3})+(?!\d)", text):  # "$400 000"
        values.add(Fraction(m.group(0).replace(" ", "")))
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s?k\b", text, re.IGNORECASE):  # "30k"
        values.add(Fraction(m.group(1)) * 1000)
    for m in re.finditer(r"\b(\w+) and a half\b", text, re.IGNORECASE):  # "two and a half"
        for v in word_numbers(m.group(1)) | {v for v, _ in numbers_in(m.group(1))}:
            values.add(v + Fraction(1, 2))
    for m in re.finditer(r"(\d+)\.(\d+)", text):  # "8.30 a.m." read as 8:30; "26.73" has digits 26 and 73
        values.update((Fraction(m.group(1)), Fraction(m.group(2))))
    derived: set[Fraction] = set()
    for v in values:
        derived.add(v / 100)
        derived.add(v * 100)
        if v != 0:
            derived.add(1 / v)
        derived.add(1 - v / 100)  # 20% off -> 0.8
        derived.add(1 + v / 100)  # 50% more -> 1.5
        derived.add(100 - v)
    for m in re.finditer(r"(\d+)\s*/\s*(\d+)", text):
        a, b = int(m.group(1)), int(m.group(2))
        if b:
            derived.add(Fraction(a, b))
    return frozenset(values | derived)


def derivable(value: Fraction, known: Iterable[Fraction], *, products: bool = True) -> bool:
    """`value` is one operation away from two known numbers (a sum or difference; with `products` also a
    product or quotient)."""
    ks = list(dict.fromkeys(known))
    kset = set(ks)
    for a in ks:
        if value - a in kset or a - value in kset or value + a in kset:
            return True
        if products and (value * a in kset or (a != 0 and (value / a in kset or (value != 0 and a / value in kset)))):
            return True
    return False


def _digits(value: Fraction) -> str | None:
    """The decimal digits of a terminating number ("12.5"), else None."""
    if value <= 0:
        return None
    for places in range(7):
        scaled = value * 10**places
        if scaled.denominator == 1:
            text = str(scaled.numerator).rjust(places + 1, "0")
            return f"{text[:-places]}.{text[-places:]}" if places else text
    return None


def corruption_of(value: Fraction, question_numbers: Iterable[Fraction],
                  percents: Iterable[Fraction] = ()) -> tuple[Fraction, str] | None:
    """The question number `value` is a corrupted copy of, and how: its digits swapped (16 -> 61), a digit dropped or
    added (125 -> 12, 1250), a zero added or dropped (x10, /10), its decimal point moved (2.5 -> 0.25), or a
    percent read wrongly (150% as 0.15 or 1.15). None when it is no such copy."""
    mine = _digits(value)
    if mine is None:
        return None
    for q in sorted(set(question_numbers)):
        theirs = _digits(q)
        if theirs is None or q == value:
            continue
        if value == q * 10 or value * 10 == q:
            return q, "ten times the question's number" if value == q * 10 else "a tenth of the question's number"
        a, b = mine.replace(".", "").lstrip("0"), theirs.replace(".", "").lstrip("0")
        if a == b:
            return q, "decimal point moved"
        if "." in mine or "." in theirs:
            continue
        if len(mine) == len(theirs) >= 2 and sorted(mine) == sorted(theirs):
            return q, "digits swapped"
        if min(len(mine), len(theirs)) >= 2 and abs(len(mine) - len(theirs)) == 1:
            short, long_ = sorted((mine, theirs), key=len)
            if any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_))):
                return q, "a digit dropped" if len(mine) < len(theirs) else "a digit added"
    for p in percents:
        if p >= 10 and value in (p / 1000, 1 + p / 1000, 1 - p / 1000):
            return p, f"{format_number(p)}% read as {format_number(value)}"
    return None


def percents_in(text: str) -> list[Fraction]:
    """The percentages a text states ("150%", "40 percent")."""
    return [Fraction(m.group(1)) for m in re.finditer(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b)", text)]

"""Numbers as exact rationals: `parse_number("1,200.50") == Fraction(2401, 2)`.

Normalization, in order, each recorded as a note so a verdict can say which one mattered:

- `$`, `\\$`, `€`, `£`, `**` emphasis, `\\text{...}`/`\\mathrm{...}` wrappers and LaTeX spacing (`\\,`, `{,}`)
  go;
- `%` / `\\%` goes (GSM8K golds state percentages as plain numbers: "25%" is 25, not 1/4);
- a degree sign (`^\\circ`, `°`) goes;
- thousands separators go, but only in proper groups of three (`1,200`, `-38,000`, `1,750,000`);
- a trailing period (`10.`) or ellipsis (`0.6666...`, read as the digits written) goes;
- words after the number are units and go (`5 days`, `$10/hour`, `3 cm^2`).

What is *not* one number, by decision (documented in the tests' golden table):

- `1,2`, `125,96` (commas not in groups of three), `5 and 6`, `3 days 4 hours`: more than one number. The grader calls
  these invalid ("two answers") rather than guessing which one was meant; a European decimal comma is not supported.
- `62 + 3x`, `12:00`, `5!`: an expression, not a number.
- `x = 5`, `about 5`: words before the number. Abel's `#### <answer>` format puts the number first.

Accepted number shapes: integers and decimals (`.5`, `-3.25`), `a/b`, `\\frac{a}{b}` (also `\\dfrac`, `\\tfrac`,
`\\frac12`), mixed numbers (`7 \\frac{32}{60}`, `3 1/2`), and powers of ten (`1.5e6`, `1.5 \\times 10^{6}`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_UNIT_WRAPPER = re.compile(r"\\(?:text|textbf|textrm|mathrm|mbox|operatorname)\s*\{([^{}]*)\}")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree")
_LATEX_SPACE = re.compile(r"\\[,!;: ]|\\quad|\\qquad|~")
_PERCENT = re.compile(r"\\?%|\\percent")
_DOLLAR = re.compile(r"\\\$|\$|\\dollar")
_CURRENCY = re.compile(r"[€£¥]")

_DECIMAL = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_LEADING = re.compile(
    r"""\s*(?P<sign>[-+]?)\s*
    (?:
        \\[dt]?frac\s*(?:\{\s*(?P<fn>\d+(?:\.\d+)?)\s*\}|(?P<fn1>\d))\s*(?:\{\s*(?P<fd>\d+(?:\.\d+)?)\s*\}|(?P<fd1>\d))
      | (?P<num>""" + _DECIMAL + r""")
        (?:
            \s+\\[dt]?frac\s*\{\s*(?P<mn>\d+)\s*\}\s*\{\s*(?P<md>\d+)\s*\}   # mixed: 7 \frac{32}{60}
          | \s+(?P<mn2>\d+)\s*/\s*(?P<md2>\d+)(?![\d.,/])                  # mixed: 3 1/2
          | \s*/\s*(?P<den>\d+(?:\.\d+)?)(?![\d,])                         # fraction: 3/4
        )?
        (?:
            [eE](?P<exp>[-+]?\d+)
          | \s*(?:\\times|\\cdot|×|\*)\s*10\s*\^\s*\{?\s*(?P<exp2>[-+]?\d+)\s*\}?
        )?
    )
    """,
    re.VERBOSE,
)
_EXPONENT_IN_UNIT = re.compile(r"\^\s*\{?\s*[23]\s*\}?|[²³]")
# After the number: an operator makes an expression ("62 + 3x", "12:00", "5!"); "-year" and "/hour" are units.
_OPERATOR_START = re.compile(
    r"\s*(?:[-/](?![A-Za-z])|[+*×÷=<>:^!_]|\\(?:times|cdot|div|pm|le|ge|neq|approx|sqrt|pi)\b)"
)
_DIGIT = re.compile(r"\d")
# Bounds that keep bad model output cheap (Python also refuses int() of more than 4,300 digits).
_MAX_DIGITS = 1000
_MAX_EXPONENT = 1000
_TOO_MANY_DIGITS = re.compile(rf"\d{{{_MAX_DIGITS + 1}}}")


@dataclass(frozen=True)
class NumberParse:
    """The outcome of reading a text as one number.

    `value` is None when the text is not one number; `problem` then says why and `several` is True when the text
    holds more than one number (a list such as "1,2" or "5 and 6"). `notes` are the normalizations that were applied.
    """

    text: str
    value: Fraction | None
    notes: tuple[str, ...] = ()
    problem: str | None = None
    several: bool = False


def parse_number(text: str) -> Fraction | None:
    """The exact rational `text` denotes after normalization, or None when it is not one number."""
    return read_number(text).value


def read_number(text: str) -> NumberParse:
    """Like `parse_number`, but says which normalizations applied and, when it fails, why."""
    notes: list[str] = []
    s = text.strip()
    if not s:
        return NumberParse(text, None, problem="empty")
    s = s.replace("\u2212", "-").replace("\u2009", "").replace("\u202f", "").replace("{,}", ",")
    if s.startswith("**") or s.endswith("**"):
        s = s.strip("*").strip()
        notes.append("'**' emphasis removed")
    if "\\" in s:
        unwrapped = _UNIT_WRAPPER.sub(r" \1", s)
        if unwrapped != s:
            s = unwrapped
        s = _LATEX_SPACE.sub(" ", s)
    if "$" in s or "\\dollar" in s:
        s = _DOLLAR.sub("", s)
        notes.append("'$' removed")
    if _CURRENCY.search(s):
        s = _CURRENCY.sub("", s)
        notes.append("currency sign removed")
    if "%" in s or "\\percent" in s:
        s = _PERCENT.sub("", s)
        notes.append("'%' removed")
    if "circ" in s or "°" in s or "degree" in s:
        degree_free = _DEGREE.sub("", s)
        if degree_free != s:
            s = degree_free
            notes.append("degree sign removed")
    s = s.strip()
    if not s:
        return NumberParse(text, None, tuple(notes), problem="no number left after removing symbols")

    if _TOO_MANY_DIGITS.search(s):
        return NumberParse(text, None, tuple(notes), problem=f"more than {_MAX_DIGITS} digits in a row")
    m = _LEADING.match(s)
    if m is None:
        why = "text before the number" if _DIGIT.search(s) else "no digits"
        return NumberParse(text, None, tuple(notes), problem=f"not a number ({why})")

    g = m.group
    try:
        if g("num") is None:  # \frac{a}{b}
            value = Fraction(g("fn") or g("fn1")) / Fraction(g("fd") or g("fd1"))
            notes.append("\\frac read as a fraction")
        else:
            num = g("num")
            if "," in num:
                notes.append("thousands separators removed")
                num = num.replace(",", "")
            value = Fraction(num)
            if g("den") is not None:
                value /= Fraction(g("den"))
                notes.append("fraction a/b")
            elif g("mn") is not None or g("mn2") is not None:
                value += Fraction(int(g("mn") or g("mn2")), int(g("md") or g("md2")))
                notes.append("mixed number")
            exp = g("exp") or g("exp2")
            if exp is not None:
                if abs(int(exp)) > _MAX_EXPONENT:  # 10**huge would hang on bad model output
                    return NumberParse(text, None, tuple(notes), problem=f"power of ten beyond 10^{_MAX_EXPONENT}")
                value *= Fraction(10) ** int(exp)
                notes.append("power of ten")
    except ZeroDivisionError:
        return NumberParse(text, None, tuple(notes), problem="division by zero")
    if g("sign") == "-":
        value = -value

    rest = s[m.end() :]
    if rest:
        stripped = rest.lstrip()
        if stripped.startswith("."):
            dots = len(stripped) - len(stripped.lstrip("."))
            notes.append("trailing period removed" if dots == 1 else "trailing '...' ignored (digits as written)")
            stripped = stripped[dots:].lstrip()
        if stripped:
            if stripped[0] == "," and _DIGIT.search(stripped):
                return NumberParse(
                    text, None, tuple(notes), several=True,
                    problem="more than one number (the comma does not separate thousands)",
                )
            if _OPERATOR_START.match(stripped):
                what = "a time or ratio" if stripped[0] == ":" else "an expression"
                return NumberParse(text, None, tuple(notes), problem=f"{what}, not a number")
            if _DIGIT.search(_EXPONENT_IN_UNIT.sub("", stripped)):
                return NumberParse(text, None, tuple(notes), several=True, problem="more than one number")
            words = stripped.rstrip(". ")
            if words:
                notes.append(f"words after the number ignored ({words[:40]!r})")
    return NumberParse(text, value, tuple(notes))


def format_number(value: Fraction) -> str:
    """A Fraction as a person writes it: `10`, `0.75`, `-38000`, `2/3` (decimals only when they terminate)."""
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1:
        return f"{value.numerator}/{value.denominator}"
    # A terminating decimal: scale to an integer and place the point.
    places = 0
    scaled = value
    while scaled.denominator != 1:
        scaled *= 10
        places += 1
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"

"""Small, pure helpers the adapters share: reading gold answers and options out of benchmark records."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from analysis.types import Choice


class RecordError(ValueError):
    """One record cannot be turned into a problem; lenient ingest turns it into a `LineError`."""


def require(record: Mapping[str, Any], field: str) -> Any:
    """The value of a required field; missing, null or blank values are record errors."""
    if field not in record or record[field] is None:
        raise RecordError(f"missing required field {field!r}")
    value = record[field]
    if isinstance(value, str) and not value.strip():
        raise RecordError(f"empty {field!r}")
    if isinstance(value, list | tuple | dict) and not value:
        raise RecordError(f"empty {field!r}")
    return value


def require_text(record: Mapping[str, Any], field: str) -> str:
    value = require(record, field)
    if not isinstance(value, str):
        raise RecordError(f"field {field!r} should be a string, got {type(value).__name__}")
    return value


def format_number(value: float | int | str) -> str:
    """A gold number as a clean string: 27.0 -> "27", -9867630.0 -> "-9867630", 3244047.0999999996 -> "3244047.1".

    Floats computed by programs (GSM-Hard) carry binary noise; 12 significant digits remove it without
    touching real decimals. Strings are returned stripped.
    """
    if isinstance(value, bool):
        raise RecordError(f"expected a number, got {value!r}")
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise RecordError(f"gold answer is not a finite number: {value!r}")
    if value.is_integer():
        return str(int(value))
    text = repr(float(f"{value:.12g}"))
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def gsm8k_final_answer(solution: str) -> str:
    """The final answer after the last `####` of a GSM8K-style rationale."""
    if "####" not in solution:
        raise RecordError("solution has no '#### <answer>' line")
    answer = solution.rsplit("####", 1)[1].strip()
    if not answer:
        raise RecordError("nothing after '####' in the solution")
    return answer


_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


def last_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` (or `\\fbox{...}`) in `text`, matching nested braces; None if absent."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    for start in reversed(starts):
        depth = 1
        i = start
        while i < len(text):
            ch = text[i]
            if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
                i += 2  # an escaped brace does not open or close a group
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start:i]
            i += 1
    return None


def strip_math_delimiters(answer: str) -> str:
    """`$10-4 n$` -> `10-4 n`; left alone when the dollars do not wrap the whole answer (`$a$ or $b$`)."""
    text = answer.strip()
    if len(text) >= 2 and text.startswith("$") and text.endswith("$"):
        inner = text[1:-1]
        if re.search(r"(?<!\\)\$", inner) is None:
            return inner.strip()
    return text


_LETTER_OPTION = re.compile(r"^\s*([A-Z])\s*\)\s*(.*)$", re.S)


def parse_letter_option(option: str) -> Choice:
    """AQuA's `A)5(√3 + 1)` -> Choice("A", "5(√3 + 1)")."""
    m = _LETTER_OPTION.match(option)
    if m is None:
        raise RecordError(f"option does not start with a letter and ')': {option[:40]!r}")
    return Choice(m.group(1), m.group(2).strip())


def split_inline_options(options: str) -> tuple[Choice, ...]:
    """SAT's one-string options `A) x B) y C) z D) w` (or `A. x B. y ...`) -> choices A..D in order.

    Letters are looked for in sequence (A, then B after it, ...) and only at the start or after whitespace,
    with the delimiter the first option used, so a letter inside an option's text is not taken for a new option.
    """
    first = re.match(r"\s*A\s*([).])\s", options)
    if first is None:
        raise RecordError(f"options do not start with 'A)' or 'A.': {options[:40]!r}")
    delim = re.escape(first.group(1))
    starts: list[tuple[str, int, int]] = [("A", first.start(), first.end())]
    pos = first.end()
    for letter in "BCDEFGHIJ":
        m = re.compile(rf"(?<=\s){letter}{delim}\s").search(options, pos)
        if m is None:
            break
        starts.append((letter, m.start(), m.end()))
        pos = m.end()
    choices = []
    for i, (letter, _start, content_start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else len(options)
        choices.append(Choice(letter, options[content_start:end].strip()))
    if len(choices) < 2:
        raise RecordError(f"fewer than two options found in {options[:60]!r}")
    return tuple(choices)


def index_to_letter(index: int, n_choices: int) -> str:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n_choices:
        raise RecordError(f"answer index {index!r} is not in 0..{n_choices - 1}")
    return chr(ord("A") + index)


_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:\s*/\s*\d+(?:\.\d+)?)?%?")


def looks_numeric(answer: str) -> bool:
    """True for `9`, `-2.5`, `1,000`, `3/7`, `40%`; False for `3:4`, `Yes`, `February 3rd`."""
    return _NUMBER.fullmatch(answer.strip()) is not None


def normalize_space(text: str) -> str:
    """Collapse runs of whitespace, for matching the same question across files."""
    return " ".join(text.split())

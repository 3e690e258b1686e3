"""`grade_response`: one response against one gold answer, as data (a `Grade`), never an exception for bad output.

Answer types (DESIGN.md "Grading"):

- number: the last `####`; exact rationals after normalization (see `numbers`). A list ("1,2", "5 and 6") is
  invalid, anything else that is not a number is incorrect. A gold answer that is not a number (GSM-Plus "None")
  is compared as text.
- latex: the last `####`, else the last `\\boxed{}`; two plain numbers compare exactly, anything else with math-verify
  in a worker thread under `timeout_s` (status timeout when it overruns).
- choice: a set of option letters. A letter outside `choices` is invalid; two letters on a single-choice question
  are invalid (never correct); otherwise the sets must be equal.
- text: case-insensitive comparison after removing `$`, `\\text{}`, a trailing period and extra spaces.

`Grade.reason` says how the verdict was reached and which normalization mattered; it is shown next to disagreements
with a published verdict, so it names the values compared.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from fractions import Fraction

from analysis.grading.choices import parse_choice_letters
from analysis.grading.extract import Extraction, extract_hash_answer, extract_latex_answer
from analysis.grading.latex import SymbolicTimeout, symbolic_equal
from analysis.grading.numbers import NumberParse, format_number, read_number
from analysis.types import AnswerType, Grade, GradeStatus

logger = logging.getLogger(__name__)

# Bump whenever a verdict (status) for some input can change; stored beside every grade.
GRADER_VERSION = "1"

_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")
_SPACES = re.compile(r"\s+")


def grade_response(
    response: str,
    gold: str,
    *,
    answer_type: AnswerType | str = "number",
    choices: Sequence[str] | None = None,
    multiple_answers: bool = False,
    timeout_s: float = 5.0,
) -> Grade:
    """Grade `response` against `gold`. Raises only for a bad `answer_type` (a caller's error), never for output."""
    kind = AnswerType(answer_type)
    response = response if isinstance(response, str) else ("" if response is None else str(response))
    gold = "" if gold is None else str(gold).strip()
    extracted: str | None = None
    try:
        if kind is AnswerType.LATEX:
            found = extract_latex_answer(response)
            extracted = found.answer
            return _grade_latex(found, gold, timeout_s)
        found = extract_hash_answer(response)
        extracted = found.answer
        if kind is AnswerType.NUMBER:
            return _grade_number(found, gold)
        if kind is AnswerType.CHOICE:
            return _grade_choice(found, gold, choices, multiple_answers)
        return _grade_text(found, gold)
    except Exception as exc:  # a grader bug must not stop a batch; the reason makes it visible
        logger.exception("grader error on extracted answer %r (gold %r)", extracted, gold)
        return Grade(GradeStatus.INVALID, extracted, gold, f"grader error: {type(exc).__name__}: {exc}")


def _with_notes(notes: Sequence[str], core: str) -> str:
    return "; ".join([*notes, core]) if notes else core


def _no_answer(found: Extraction, gold: str) -> Grade:
    return Grade(GradeStatus.NO_ANSWER, None, gold, _with_notes(found.notes, found.missing))


def _number_verdict(found: Extraction, pred: NumberParse, gold: NumberParse, gold_text: str) -> Grade:
    assert found.answer is not None and pred.value is not None and gold.value is not None
    equal = pred.value == gold.value
    notes = [*found.notes, *pred.notes, *(f"gold: {n}" for n in gold.notes)]
    if equal and notes:
        reason = f"{'; '.join(notes)}: {found.answer!r} == {_fmt(gold.value)}"
    else:
        op = "==" if equal else "!="
        shown = _fmt(pred.value)
        if found.answer != shown and not notes:  # e.g. '55.50' == 55.5: show what was written
            shown = f"{found.answer!r}"
        reason = _with_notes(notes, f"numeric: {shown} {op} {_fmt(gold.value)}")
    status = GradeStatus.CORRECT if equal else GradeStatus.INCORRECT
    return Grade(status, found.answer, gold_text, reason)


def _fmt(value: Fraction) -> str:
    return format_number(value)


def _grade_number(found: Extraction, gold: str) -> Grade:
    if found.answer is None:
        return _no_answer(found, gold)
    gold_number = read_number(gold)
    if gold_number.value is None:
        return _grade_text(found, gold, lead=f"gold {gold!r} is not a number, compared as text")
    pred = read_number(found.answer)
    if pred.value is None:
        status = GradeStatus.INVALID if pred.several else GradeStatus.INCORRECT
        core = f"{pred.problem}: {found.answer!r} vs gold {_fmt(gold_number.value)}"
        return Grade(status, found.answer, gold, _with_notes(found.notes, core))
    return _number_verdict(found, pred, gold_number, gold)


def _normalize_text(text: str) -> str:
    s = text.replace("$", "")
    if "\\" in s:
        s = _TEXT_WRAPPER.sub(r"\1", s)
    s = _SPACES.sub(" ", s).strip().rstrip(".").strip()
    return s.casefold()


def _grade_text(found: Extraction, gold: str, *, lead: str = "") -> Grade:
    if found.answer is None:
        return _no_answer(found, gold)
    pred_norm, gold_norm = _normalize_text(found.answer), _normalize_text(gold)
    equal = pred_norm == gold_norm
    notes = [*found.notes, *([lead] if lead else [])]
    op = "==" if equal else "!="
    core = f"text: {pred_norm!r} {op} {gold_norm!r}"
    if equal and found.answer.strip() != gold.strip():
        core += " (case, spacing, '$' or a trailing period ignored)"
    status = GradeStatus.CORRECT if equal else GradeStatus.INCORRECT
    return Grade(status, found.answer, gold, _with_notes(notes, core))


def _letters_of(choices: Sequence[str] | None) -> tuple[str, ...] | None:
    if not choices:
        return None
    # Tolerate Choice objects as well as letters.
    return tuple(str(getattr(c, "letter", c)).strip().upper() for c in choices)


def _grade_choice(
    found: Extraction, gold: str, choices: Sequence[str] | None, multiple_answers: bool
) -> Grade:
    if found.answer is None:
        return _no_answer(found, gold)
    gold_letters = parse_choice_letters(gold).letters
    if not gold_letters:
        return _grade_text(found, gold, lead=f"gold {gold!r} is not an option letter, compared as text")
    valid = _letters_of(choices)
    pred = parse_choice_letters(found.answer)
    notes = [*found.notes, *pred.notes]
    if not pred.letters:
        return Grade(GradeStatus.INVALID, found.answer, gold, _with_notes(notes, pred.problem or "no option letter"))
    shown = ",".join(pred.letters)
    if valid is not None:
        unknown = [letter for letter in pred.letters if letter not in valid]
        if unknown:
            core = f"{'letters' if len(unknown) > 1 else 'letter'} {','.join(unknown)!r} not among the options " \
                   f"{''.join(valid)}"
            return Grade(GradeStatus.INVALID, found.answer, gold, _with_notes(notes, core))
    if len(pred.letters) > 1 and not multiple_answers:
        count = "two" if len(pred.letters) == 2 else str(len(pred.letters))
        core = f"{count} options {shown!r} on a single-choice question (gold {','.join(gold_letters)})"
        return Grade(GradeStatus.INVALID, found.answer, gold, _with_notes(notes, core))
    equal = set(pred.letters) == set(gold_letters)
    op = "==" if equal else "!="
    core = f"options: {','.join(sorted(pred.letters))} {op} {','.join(sorted(gold_letters))}"
    if found.answer.strip() != shown:
        core += f" (read from {found.answer.strip()[:40]!r})"
    status = GradeStatus.CORRECT if equal else GradeStatus.INCORRECT
    return Grade(status, found.answer, gold, _with_notes(notes, core))


def _plain_number(parsed: NumberParse) -> bool:
    """A number with no words after it: safe to compare exactly in LaTeX mode ("5x" is an expression there)."""
    return parsed.value is not None and not any(n.startswith("words after") for n in parsed.notes)


def _grade_latex(found: Extraction, gold: str, timeout_s: float) -> Grade:
    if found.answer is None:
        return _no_answer(found, gold)
    pred_number, gold_number = read_number(found.answer), read_number(gold)
    if _plain_number(pred_number) and _plain_number(gold_number):
        return _number_verdict(found, pred_number, gold_number, gold)
    try:
        result = symbolic_equal(gold, found.answer, timeout_s)
    except SymbolicTimeout as exc:
        return Grade(GradeStatus.TIMEOUT, found.answer, gold, _with_notes(found.notes, str(exc)))
    except ValueError as exc:  # the gold answer itself is not parseable LaTeX
        return _grade_text(found, gold, lead=f"{exc}, compared as text")
    status = GradeStatus.CORRECT if result.equal else GradeStatus.INCORRECT
    return Grade(status, found.answer, gold, _with_notes(found.notes, result.detail))

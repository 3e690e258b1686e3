"""Record parsers for multiple-choice sets: AQuA, TAL-SCQ5K-EN, MMLU-STEM, SAT math. Gold is an option letter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.benchmarks.gsm import own_key
from analysis.benchmarks.parsing import (
    RecordError,
    index_to_letter,
    parse_letter_option,
    require,
    require_text,
    split_inline_options,
)
from analysis.benchmarks.spec import ParseContext
from analysis.types import Choice, Problem


def _checked_letter(answer: Any, choices: Sequence[Choice]) -> str:
    letter = str(answer).strip().upper()
    letters = [c.letter for c in choices]
    if letter not in letters:
        raise RecordError(f"gold option {answer!r} is not one of the options {''.join(letters)}")
    return letter


def parse_aqua(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    options = require(record, "options")
    if not isinstance(options, list):
        raise RecordError("'options' should be a list of strings like 'A)5'")
    choices = tuple(parse_letter_option(str(o)) for o in options)
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "question"),
        _checked_letter(require(record, "correct"), choices), solution=record.get("rationale"), choices=choices,
    )


def parse_tal_scq5k(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    """Key = 0-based line index, because Abel's published outputs (`mathgpt/70b.jsonl`) number items by line.

    Option texts are kept byte for byte (trailing spaces included): Abel's prompts embed them verbatim.
    """
    groups = require(record, "answer_option_list")
    try:
        choices = tuple(Choice(str(o["aoVal"]), str(o["content"])) for group in groups for o in group)
    except (KeyError, TypeError) as exc:
        raise RecordError(f"malformed 'answer_option_list': {exc!r}") from exc
    if not choices:
        raise RecordError("empty 'answer_option_list'")
    analysis = record.get("answer_analysis")
    solution = "\n".join(str(s) for s in analysis) if isinstance(analysis, list) else analysis
    metadata = {
        k: record[k]
        for k in ("qid", "queId", "difficulty", "knowledge_point_routes", "competition_source_list")
        if record.get(k) is not None
    }
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "problem"),
        _checked_letter(require(record, "answer_value"), choices), solution=solution or None, choices=choices,
        metadata=metadata,
    )


def parse_mmlu_stem(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    texts = require(record, "choices")
    if not isinstance(texts, list):
        raise RecordError("'choices' should be a list")
    choices = tuple(Choice(chr(ord("A") + i), str(t)) for i, t in enumerate(texts))
    subject = record.get("type") or record.get("subject")
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "question"),
        index_to_letter(require(record, "answer"), len(choices)), choices=choices,
        metadata={"type": subject} if subject else {},
    )


def parse_sat_math(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    choices = split_inline_options(require_text(record, "options"))
    return Problem(
        ctx.benchmark, own_key(record, "id", ctx), require_text(record, "question"),
        _checked_letter(require(record, "Answer"), choices), choices=choices,
    )

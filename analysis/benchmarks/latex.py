"""Record parsers for competition and college math with LaTeX answers (MATH, Minerva, OlympiadBench, ...) and the
AIME/AMC sets, whose gold is a number."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from analysis.benchmarks.gsm import own_key
from analysis.benchmarks.parsing import (
    RecordError,
    format_number,
    last_boxed,
    require,
    require_text,
    strip_math_delimiters,
)
from analysis.benchmarks.spec import ParseContext
from analysis.types import Problem


def _level(value: Any) -> int | str | None:
    """MATH levels as integers: 3 and "Level 3" -> 3; "Level ?" stays as written."""
    if value is None or isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(?:Level\s*)?(\d+)\s*", str(value))
    return int(m.group(1)) if m else str(value)


def _boxed_answer(solution: str) -> str:
    answer = last_boxed(solution)
    if answer is None or not answer.strip():
        raise RecordError("no \\boxed{...} answer in the solution")
    return answer.strip()


def parse_math(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    """MATH-500 and the full MATH test set: key `unique_id`, level and subject kept."""
    solution = record.get("solution")
    answer = record.get("answer")
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        if not solution:
            raise RecordError("no 'answer' and no 'solution' to read a \\boxed{} answer from")
        answer = _boxed_answer(solution)
    metadata: dict[str, Any] = {"level": _level(record.get("level")), "subject": record.get("subject")}
    if record.get("type") is not None:
        metadata["type"] = record["type"]
    return Problem(
        ctx.benchmark, own_key(record, "unique_id", ctx), require_text(record, "problem"), str(answer).strip(),
        solution=solution, metadata=metadata,
    )


def parse_minerva(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    solution = require_text(record, "solution")
    return Problem(
        ctx.benchmark, own_key(record, "idx", ctx), require_text(record, "problem"), _boxed_answer(solution),
        solution=solution, metadata={"type": record["type"]} if record.get("type") else {},
    )


def parse_college_math(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    raw = require_text(record, "answer")
    metadata = {
        k: record[k] for k in ("data_source", "question_number", "data_topic", "license") if record.get(k) is not None
    }
    metadata["answer_raw"] = raw
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "question"), strip_math_delimiters(raw),
        metadata=metadata,
    )


def parse_gaokao(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    metadata = {k: record[k] for k in ("source", "sourcename", "id") if record.get(k) is not None}
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "question"), require_text(record, "answer").strip(),
        metadata=metadata,
    )


def parse_carp_en(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "content"), require_text(record, "answer").strip(),
        solution=record.get("steps"),
    )


def parse_olympiadbench(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    finals = require(record, "final_answer")
    finals = [str(a).strip() for a in (finals if isinstance(finals, list) else [finals])]
    if not all(finals):
        raise RecordError("empty entry in 'final_answer'")
    question = require_text(record, "question")
    if record.get("context"):
        question = f"{record['context']}\n{question}"
    solutions = record.get("solution") or []
    if isinstance(solutions, str):
        solutions = [solutions]
    metadata: dict[str, Any] = {
        "final_answers": finals,
        "is_multiple_answer": bool(record.get("is_multiple_answer")) or len(finals) > 1,
        "subfield": record.get("subfield"),
        "unit": record.get("unit"),
        "final_answer_type": record.get("answer_type"),
        "error": record.get("error"),
    }
    if len(solutions) > 1:
        metadata["other_solutions"] = list(solutions[1:])
    return Problem(
        ctx.benchmark, own_key(record, "id", ctx), question, ", ".join(finals),
        solution=solutions[0] if solutions else None, metadata=metadata,
    )


def parse_aime_amc(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    """AIME 2024 (`answer` "204") and AMC 2023 (`answer` 27.0 -> "27"); question from `problem` or `question`."""
    question = record.get("problem") or record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise RecordError("missing required field 'problem'")
    metadata = {"url": record["url"]} if record.get("url") else {}
    return Problem(
        ctx.benchmark, own_key(record, "id", ctx), question, format_number(require(record, "answer")),
        solution=record.get("solution"), metadata=metadata,
    )

"""Record parsers for grade-school word problems: GSM8K, its perturbed variants, SVAMP, ASDiv, MAWPS."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from analysis.benchmarks.parsing import (
    RecordError,
    format_number,
    gsm8k_final_answer,
    looks_numeric,
    normalize_space,
    require,
    require_text,
)
from analysis.benchmarks.spec import ParseContext
from analysis.types import Problem, ProblemRef


def own_key(record: Mapping[str, Any], field: str, ctx: ParseContext) -> str:
    """The record's own id when it has one, else the 0-based line (row) index."""
    value = record.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return str(ctx.index)
    return str(value)


def _link(ctx: ParseContext, question: str | None) -> ProblemRef | None:
    if ctx.originals is None or question is None:
        return None
    key = ctx.originals.get(normalize_space(question))
    return ProblemRef("gsm8k", key) if key is not None else None


def parse_gsm8k(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    question = require_text(record, "question")
    solution = require_text(record, "answer")
    return Problem(
        ctx.benchmark, own_key(record, "idx", ctx), question, gsm8k_final_answer(solution), solution=solution
    )


def parse_gsm8k_robust(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    key = own_key(record, "idx", ctx)
    return Problem(
        ctx.benchmark, key, require_text(record, "question"), format_number(require(record, "answer")),
        original=ProblemRef("gsm8k", key),
    )


_DOCSTRING = re.compile(r'"""(.*?)"""|\'\'\'(.*?)\'\'\'', re.S)


def parse_gsm_hard(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    code = require_text(record, "code")
    target = require(record, "target")
    if not isinstance(target, int | float) or isinstance(target, bool):
        raise RecordError(f"'target' should be a number, got {target!r}")
    m = _DOCSTRING.search(code)
    original_question = None
    if m is not None:
        original_question = (m.group(1) if m.group(1) is not None else m.group(2)).strip() or None
    metadata: dict[str, Any] = {"target": target}
    if original_question is not None:
        metadata["original_question"] = original_question
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "input"), format_number(target), solution=code,
        metadata=metadata, original=_link(ctx, original_question),
    )


def parse_gsm_plus(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    answer = format_number(require(record, "answer"))
    seed_question = record.get("seed_question")
    metadata: dict[str, Any] = {
        "perturbation_type": require_text(record, "perturbation_type"),
        "seed_question": seed_question,
        "seed_solution": record.get("seed_solution"),
        "seed_answer": record.get("seed_answer"),
    }
    if not looks_numeric(answer):
        metadata["answer_type"] = "text"  # critical-thinking items: the gold is "None" (unanswerable)
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "question"), answer, solution=record.get("solution"),
        metadata=metadata, original=_link(ctx, seed_question),
    )


def parse_gsm_symbolic(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    solution = require_text(record, "answer")
    original_id = require(record, "original_id")
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "question"), gsm8k_final_answer(solution),
        solution=solution,
        metadata={"template_id": record.get("id"), "instance": record.get("instance"), "original_id": original_id},
        original=ProblemRef("gsm8k", str(original_id)),
    )


def parse_gsm_ic(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    metadata = {"n_steps": record["n_steps"]} if record.get("n_steps") is not None else {}
    return Problem(
        ctx.benchmark, str(ctx.index), require_text(record, "question"), format_number(require(record, "answer")),
        metadata=metadata,
    )


def parse_svamp(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    body = require_text(record, "Body").strip()
    question = require_text(record, "Question").strip()
    return Problem(
        ctx.benchmark, own_key(record, "ID", ctx), f"{body} {question}", format_number(require(record, "Answer")),
        metadata={k: record[k] for k in ("Equation", "Type", "idx") if record.get(k) is not None},
    )


_UNIT = re.compile(r"^(?P<value>.*?)\s*\((?P<unit>[^()]*)\)\s*$", re.S)


def parse_asdiv(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    body = require_text(record, "body").strip()
    question = require_text(record, "question").strip()
    raw = require_text(record, "answer").strip()
    m = _UNIT.match(raw)
    answer, unit = (m.group("value").strip(), m.group("unit").strip()) if m else (raw, None)
    if not answer:
        raise RecordError(f"no answer before the unit in {raw!r}")
    metadata: dict[str, Any] = {
        k: record[k] for k in ("solution_type", "formula") if record.get(k) is not None
    }
    if unit:
        metadata["unit"] = unit
    if not looks_numeric(answer):
        metadata["answer_type"] = "text"  # names, ratios like 3:4, clock times, yes/no
    return Problem(
        ctx.benchmark, own_key(record, "idx", ctx), f"{body} {question}", answer, solution=record.get("formula"),
        metadata=metadata,
    )


MAWPS_SUBSETS = ("addsub", "multiarith", "singleeq", "singleop")


def parse_mawps(record: Mapping[str, Any], ctx: ParseContext) -> Problem:
    """`test.jsonl` (the union, with `type` and `idx`) or one of the subset files (`addsub.jsonl`, ...)."""
    subset = record.get("type") or (ctx.source if ctx.source in MAWPS_SUBSETS else None)
    if record.get("idx") is not None:
        key = str(record["idx"])
    elif ctx.source in MAWPS_SUBSETS:
        key = f"{ctx.source}/{ctx.index}"  # subset files have no ids; keep them apart from test.jsonl's
    else:
        key = str(ctx.index)
    return Problem(
        ctx.benchmark, key, require_text(record, "input"), format_number(require(record, "target")),
        metadata={"type": subset} if subset else {},
    )

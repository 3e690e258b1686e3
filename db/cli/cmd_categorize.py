"""Categorizing failures: `categorize`, `categorize-file`, `report failures`, `report flags`.

`categorize-file IN.jsonl [--out OUT.jsonl]` needs no database. Each line is an object with "question",
"response", "gold" and optionally "reference_solution", "original_question", "original_gold",
"original_reference_solution" (a perturbed problem's original reference, for the derived reference), "choices"
(letters, or {"letter", "text"} objects; or embedded in the question TAL-SCQ5K-EN style), "finish_reason",
"answer_type" and "published_correct". It is written back with "correct", "category" (null when correct),
"first_error_step", "confidence" and "evidence". A malformed line is reported as `IN.jsonl:LINE: message` on
stderr and left out; the others are still written, and the command exits with code 1 at the end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from analysis.categorize import FailureInput, categorize_failure
from analysis.grading import split_embedded_choices
from analysis.grading.choices import OPTIONS_MARKER
from analysis.jsonl import iter_json_file
from analysis.types import AnswerType, Choice, LineError
from db.cli import app, report_app
from db.cli.common import emit_json, open_engine


class BadRecord(ValueError):
    pass


def _choices(raw: Any) -> tuple[Choice, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise BadRecord('"choices" must be a non-empty list of letters or of {"letter", "text"} objects')
    out = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("letter"), str):
            out.append(Choice(item["letter"].strip().upper(), str(item.get("text", ""))))
        elif isinstance(item, str) and item.strip():
            out.append(Choice(item.strip().upper(), ""))
        else:
            raise BadRecord(f'"choices" has an entry without a letter: {item!r}')
    return tuple(out)


def failure_input_from_record(record: Any) -> FailureInput:
    """A `FailureInput` from one categorize-file line; raises BadRecord with a one-line reason."""
    if not isinstance(record, dict):
        raise BadRecord(f"expected a JSON object, got {type(record).__name__}")
    for name in ("question", "response", "gold"):
        if name not in record:
            raise BadRecord(f'missing "{name}"')
    question, response, gold = record["question"], record["response"], record["gold"]
    if not isinstance(question, str) or not isinstance(response, str):
        raise BadRecord('"question" and "response" must be strings')
    if not isinstance(gold, str | int | float) or isinstance(gold, bool):
        raise BadRecord('"gold" must be a string or a number')
    for name in ("reference_solution", "original_question", "original_reference_solution", "finish_reason"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise BadRecord(f'"{name}" must be a string')
    choices = _choices(record.get("choices"))
    if not choices and OPTIONS_MARKER in question:
        question, choices = split_embedded_choices(question)
    answer_type = record.get("answer_type") or (AnswerType.CHOICE.value if choices else AnswerType.NUMBER.value)
    try:
        answer_type = AnswerType(answer_type).value
    except ValueError:
        allowed = ", ".join(t.value for t in AnswerType)
        raise BadRecord(f'unknown "answer_type" {answer_type!r} (expected one of: {allowed})') from None
    published = record.get("published_correct")
    if published is not None and not isinstance(published, bool):
        raise BadRecord('"published_correct" must be true or false')
    original_gold = record.get("original_gold")
    return FailureInput(
        question=question, response=response, gold=str(gold), answer_type=answer_type, choices=choices,
        reference_solution=record.get("reference_solution"), original_question=record.get("original_question"),
        original_gold=None if original_gold is None else str(original_gold),
        original_reference_solution=record.get("original_reference_solution"),
        finish_reason=record.get("finish_reason"), published_correct=published,
    )


def categorize_record(record: Any) -> dict[str, Any]:
    result = categorize_failure(failure_input_from_record(record))
    return {
        **record,
        "correct": result.correct,
        "category": result.category.value if result.category else None,
        "first_error_step": result.first_error_step,
        "confidence": result.confidence if result.category else None,
        "evidence": result.evidence if result.category else None,
    }


@app.command("categorize")
def categorize_cmd(
    run: int | None = typer.Option(None, "--run", help="Only this run id."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Processes for the rules (default: the CPU count, at most 4)."
    ),
) -> None:
    """Give every failed response a rule category with evidence (idempotent; resumes where it stopped)."""
    from db.categorize import categorize

    summary = categorize(open_engine(), run_id=run, progress=sys.stderr.isatty(), workers=workers)
    if as_json:
        emit_json(summary)
        return
    typer.echo(
        f"{summary['failures']} failure(s): {summary['categorized']} categorized now, "
        f"{summary['already_current']} already current (categorizer v{summary['version']}), "
        f"{summary['rule_labels_removed']} stale rule label(s) removed"
    )
    for name, n in summary["categories"].items():
        typer.echo(f"  {name:20s} {n}")
    if summary.get("flags"):
        typer.echo("flags: " + ", ".join(f"{k} {v}" for k, v in summary["flags"].items()))


@app.command("categorize-file")
def categorize_file_cmd(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="JSONL of responses."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
) -> None:
    """Categorize a JSONL file of responses, no database needed."""
    errors: list[LineError] = []
    sink = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        for number, record in iter_json_file(path):
            if isinstance(record, LineError):
                errors.append(record)
                continue
            try:
                written = categorize_record(record)
            except BadRecord as exc:
                errors.append(LineError(str(path), number, str(exc)))
                continue
            sink.write(json.dumps(written, ensure_ascii=False) + "\n")
    finally:
        if out:
            sink.close()
    for err in errors:
        typer.echo(str(err), err=True)
    if errors:
        raise typer.Exit(1)


@report_app.command("failures")
def report_failures(as_json: bool = typer.Option(False, "--json")) -> None:
    """Per run: failures, their categories and flags."""
    from db.categorize import failures_report

    rows = failures_report(open_engine())
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        cats = ", ".join(f"{k} {v}" for k, v in r["categories"].items())
        typer.echo(f"{r['model']:14s} {r['benchmark']:14s} {r['failures']:5d} failures: {cats}")


@report_app.command("flags")
def report_flags(
    as_json: bool = typer.Option(False, "--json"),
    flag: str | None = typer.Option(None, "--flag", help="Only this flag (e.g. consensus_against_gold)."),
) -> None:
    """One line per flagged response (e.g. every consensus_against_gold item, for a person to check)."""
    from db.flags import flags_report

    rows = flags_report(open_engine(), flag)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['flag']:24s} {r['model']:14s} {r['benchmark']:14s} {r['key']}")

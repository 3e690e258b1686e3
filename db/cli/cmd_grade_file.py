"""`abel-triage grade-file IN.jsonl [--out OUT.jsonl]`: grade a JSONL file of responses, no database.

Each input line is an object with "response" and "gold", and optionally "answer_type" (number, latex, choice, text),
"choices" (letters, or objects with a "letter"), "multiple_answers" (bool). Without "answer_type", a line with
choices (or with a "question"/"prompt" that embeds TAL-SCQ5K-style options) is graded as multiple choice, any other
line as a number. Each line is written back with "extracted", "status", "correct" and "reason" added. A malformed
line is reported as `IN.jsonl:LINE: message` on stderr and left out; the command then exits with code 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import typer

from analysis.grading import grade_response, split_embedded_choices
from analysis.grading.choices import OPTIONS_MARKER
from analysis.jsonl import iter_json_lines
from analysis.types import AnswerType, LineError
from db.cli import app
from db.cli.common import CliError


class _BadLine(ValueError):
    pass


def _letters(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise _BadLine('"choices" must be a non-empty list of letters or of {"letter", "text"} objects')
    letters = []
    for item in raw:
        letter = item.get("letter") if isinstance(item, dict) else item
        if not isinstance(letter, str) or not letter.strip():
            raise _BadLine(f'"choices" has an entry without a letter: {item!r}')
        letters.append(letter.strip().upper())
    return tuple(letters)


def _grade_line(record: Any, timeout_s: float) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _BadLine(f"expected a JSON object, got {type(record).__name__}")
    for field in ("response", "gold"):
        if field not in record:
            raise _BadLine(f'missing "{field}"')
    response, gold = record["response"], record["gold"]
    if not isinstance(response, str):
        raise _BadLine('"response" must be a string')
    if not isinstance(gold, str | int | float) or isinstance(gold, bool):
        raise _BadLine('"gold" must be a string or a number')
    choices = _letters(record["choices"]) if record.get("choices") is not None else None
    answer_type = record.get("answer_type")
    if answer_type is None:
        if choices is None:
            embedded = next((record[k] for k in ("question", "prompt") if isinstance(record.get(k), str)), "")
            if OPTIONS_MARKER in embedded:
                choices = tuple(c.letter for c in split_embedded_choices(embedded)[1]) or None
        answer_type = AnswerType.CHOICE if choices else AnswerType.NUMBER
    try:
        kind = AnswerType(answer_type)
    except ValueError:
        allowed = ", ".join(t.value for t in AnswerType)
        raise _BadLine(f'unknown "answer_type" {answer_type!r} (expected one of: {allowed})') from None
    multiple = record.get("multiple_answers", False)
    if not isinstance(multiple, bool):
        raise _BadLine('"multiple_answers" must be true or false')
    grade = grade_response(
        response, str(gold), answer_type=kind, choices=choices, multiple_answers=multiple, timeout_s=timeout_s
    )
    return {**record, "extracted": grade.extracted, "status": str(grade.status), "correct": grade.correct,
            "reason": grade.reason}


def grade_lines(lines: Iterator[str], path: str, timeout_s: float) -> Iterator[dict[str, Any] | LineError]:
    """Graded records and line errors, in file order; blank lines are skipped."""
    for number, record in iter_json_lines(lines, path):
        if isinstance(record, LineError):
            yield record
            continue
        try:
            yield _grade_line(record, timeout_s)
        except _BadLine as exc:
            yield LineError(path, number, str(exc))


def _write_all(source: TextIO, name: str, sink: TextIO | None, timeout_s: float) -> tuple[int, int]:
    written = failed = 0
    for item in grade_lines(iter(source), name, timeout_s):
        if isinstance(item, LineError):
            failed += 1
            typer.echo(str(item), err=True)
            continue
        text = json.dumps(item, ensure_ascii=False)
        if sink is None:
            typer.echo(text)
        else:
            sink.write(text + "\n")
        written += 1
    return written, failed


@app.command("grade-file")
def grade_file(
    path: Path = typer.Argument(..., help="JSONL file: one {response, gold[, answer_type, choices]} per line."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write graded lines here instead of stdout."),
    timeout_s: float = typer.Option(5.0, "--timeout", help="Seconds allowed per symbolic (LaTeX) comparison."),
) -> None:
    """Grade responses in a JSONL file (no database): adds extracted, status, correct and reason to each line."""
    if not path.exists():
        raise CliError(f"no such file: {path}")
    if not path.is_file():
        raise CliError(f"not a file: {path}")
    with path.open(encoding="utf-8") as source:
        if out is None:
            written, failed = _write_all(source, str(path), None, timeout_s)
        else:
            with out.open("w", encoding="utf-8") as sink:
                written, failed = _write_all(source, str(path), sink, timeout_s)
    if out is not None:
        typer.echo(f"graded {written} lines into {out}" + (f"; {failed} malformed" if failed else ""), err=True)
    if failed:
        raise typer.Exit(code=1)

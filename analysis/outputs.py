"""Reading model outputs that other tools wrote: one JSON object per line, field names given by the user.

The counterpart of `analysis.abel_outputs` for everything that is not Abel's own layout, e.g. the JSONL an
evaluation harness or a `vllm serve` client wrote. Pure: records and line errors; `db.importer` stores them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.types import LineError


@dataclass(frozen=True)
class OutputFields:
    """Which field of each line holds what. Empty optional names mean "not in the file"."""

    key: str = "id"  # the problem's key in its benchmark (e.g. GSM8K's test index)
    response: str = "response"
    prompt: str = "prompt"  # optional
    pred: str = ""  # optional: the answer the producer extracted
    correct: str = ""  # optional: the producer's own verdict (true/false), kept as the "published" verdict


@dataclass(frozen=True)
class OutputRecord:
    line: int  # 1-based
    key: str
    prompt: str
    response: str
    pred: str | None
    result: bool | None  # the producer's verdict, if the file has one


def _field(obj: dict[str, Any], name: str, *, required: bool) -> Any:
    if not name:
        return None
    if name not in obj:
        if required:
            raise ValueError(f"missing field {name!r}")
        return None
    return obj[name]


def parse_output_line(line_no: int, text: str, fields: OutputFields) -> OutputRecord:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    key = _field(obj, fields.key, required=True)
    if not isinstance(key, str | int) or isinstance(key, bool) or str(key).strip() == "":
        raise ValueError(f"{fields.key!r} must be a non-empty string or integer, got {key!r}")
    response = _field(obj, fields.response, required=True)
    if not isinstance(response, str):
        raise ValueError(f"{fields.response!r} must be a string, got {type(response).__name__}")
    prompt = _field(obj, fields.prompt, required=False)
    result = _field(obj, fields.correct, required=bool(fields.correct))
    if result is not None and not isinstance(result, bool):
        raise ValueError(f"{fields.correct!r} must be true or false, got {result!r}")
    pred = _field(obj, fields.pred, required=False)
    return OutputRecord(
        line=line_no,
        key=str(key).strip(),
        prompt=prompt if isinstance(prompt, str) else "",
        response=response,
        pred=None if pred is None else str(pred),
        result=result,
    )


def read_output_jsonl(
    path: Path, fields: OutputFields = OutputFields(), *, strict: bool = False
) -> tuple[list[OutputRecord], list[LineError]]:
    """Every well-formed record, plus one LineError per bad line or repeated key (strict: raise at the first)."""
    records: list[OutputRecord] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for line_no, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                rec = parse_output_line(line_no, text, fields)
                if rec.key in seen:
                    raise ValueError(f"duplicate key {rec.key!r} (first seen on line {seen[rec.key]})")
            except ValueError as exc:
                err = LineError(str(path), line_no, str(exc))
                if strict:
                    raise ValueError(str(err)) from None
                errors.append(err)
                continue
            seen[rec.key] = line_no
            records.append(rec)
    return records, errors

"""Reading model outputs that other tools wrote: one JSON object per line, field names given by the user.

The counterpart of `analysis.abel_outputs` for everything that is not Abel's own layout, e.g. the JSONL an
evaluation harness or a `vllm serve` client wrote. Pure: records and line errors; `db.importer` stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.jsonl import read_json_objects
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


def parse_output_object(line_no: int, obj: dict[str, Any], fields: OutputFields) -> OutputRecord:
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
    return read_json_objects(path, lambda n, obj: parse_output_object(n, obj, fields), lambda rec: repr(rec.key),
                             strict=strict)

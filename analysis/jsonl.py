"""Reading JSON Lines leniently: the one place a line becomes a value or a `LineError`.

Every reader of user files (benchmark files, Abel's outputs, other tools' outputs, `grade-file`,
`categorize-file`) goes through here, so a bad line reads the same everywhere:
`FILE:LINE: invalid JSON: <reason> (column N)`, and the other lines are still read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from analysis.types import LineError

R = TypeVar("R")


def iter_json_lines(lines: Iterable[str], source: str) -> Iterator[tuple[int, Any]]:
    """(1-based line number, parsed value or a LineError for invalid JSON); blank lines are skipped."""
    for line_no, line in enumerate(lines, start=1):
        if line_no == 1:
            line = line.removeprefix("\ufeff")  # a byte-order mark some editors write
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, LineError(source, line_no, f"invalid JSON: {exc.msg} (column {exc.colno})")


def iter_json_file(path: Path) -> Iterator[tuple[int, Any]]:
    """`iter_json_lines` over a file (FileNotFoundError names it when it is missing)."""
    with open(path, encoding="utf-8") as fh:
        yield from iter_json_lines(fh, str(path))


def read_json_objects(
    path: Path,
    parse: Callable[[int, dict[str, Any]], R],
    key_of: Callable[[R], str],
    *,
    what: str = "key",
    strict: bool = False,
) -> tuple[list[R], list[LineError]]:
    """Parse every JSON object line with `parse` (which raises ValueError for a bad record); a repeated
    `key_of` is an error too. Returns (records, errors); `strict=True` raises ValueError at the first error."""
    records: list[R] = []
    errors: list[LineError] = []
    first_line: dict[str, int] = {}
    for line_no, value in iter_json_file(path):
        try:
            if isinstance(value, LineError):
                raise ValueError(value.message)
            if not isinstance(value, dict):
                raise ValueError(f"expected a JSON object, got {type(value).__name__}")
            record = parse(line_no, value)
            key = key_of(record)
            if key in first_line:
                raise ValueError(f"duplicate {what} {key} (first seen on line {first_line[key]})")
        except ValueError as exc:
            error = LineError(str(path), line_no, str(exc))
            if strict:
                raise ValueError(str(error)) from None
            errors.append(error)
            continue
        first_line[key] = line_no
        records.append(record)
    return records, errors

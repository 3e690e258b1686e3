"""The one lenient JSON Lines reader: bad lines become errors with their line numbers, the rest is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.jsonl import iter_json_lines, read_json_objects
from analysis.types import LineError


def test_lines_values_and_errors() -> None:
    got = list(iter_json_lines(['\ufeff{"a": 1}\n', "\n", "[1, 2]\n", '{"a": \n'], "f.jsonl"))
    assert got[:2] == [(1, {"a": 1}), (3, [1, 2])]
    line_no, err = got[2]
    assert line_no == 4 and isinstance(err, LineError) and str(err).startswith("f.jsonl:4: invalid JSON: ")


def test_objects_duplicates_and_strict(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"k": "a"}\n"text"\n{"k": "b"}\n{"k": "a"}\n{"nok": 1}\n')

    def parse(line_no: int, obj: dict) -> str:
        if "k" not in obj:
            raise ValueError("missing field 'k'")
        return str(obj["k"])

    records, errors = read_json_objects(path, parse, lambda k: k)
    assert records == ["a", "b"]
    assert [(e.line, e.message) for e in errors] == [
        (2, "expected a JSON object, got str"),
        (4, "duplicate key a (first seen on line 1)"),
        (5, "missing field 'k'"),
    ]
    with pytest.raises(ValueError, match=r"x\.jsonl:2: expected a JSON object"):
        read_json_objects(path, parse, lambda k: k, strict=True)
    with pytest.raises(FileNotFoundError):
        read_json_objects(tmp_path / "missing.jsonl", parse, lambda k: k)

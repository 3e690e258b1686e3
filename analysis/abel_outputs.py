"""Reading Abel's published generations (the `outputs/` folder of GAIR-NLP/abel).

Layout: `<dir>/<benchmark>/<size>.jsonl`, one JSON object per line with `id`, `prompt`, `response`, `pred`, `gold`
and `result` (the published verdict). Pure: turns files into records and line errors; storing them is `db.importer`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.jsonl import read_json_objects
from analysis.models import ModelInfo, parse_model_name
from analysis.types import LineError, Problem, ProblemRef

PUBLISHED_COMMIT = "3a24ef24e9ea32708fe4fa4c36bf504a74b4bdf0"
ABEL_PROMPT_TEMPLATE = "Question:\n{question}\nAnswer:\nLet's think step by step.\n"

# Abel's folder name -> our benchmark name.
ABEL_BENCHMARKS: dict[str, str] = {
    "gsm8k": "gsm8k",
    "gsm8k_robust": "gsm8k_robust",
    "mathgpt": "tal_scq5k_en",
    "math": "math_full_test",
}


ABEL_MODELS: dict[str, ModelInfo] = {
    "7b": parse_model_name("Abel-7B-001"),
    "13b": parse_model_name("Abel-13B-001"),
    "70b": parse_model_name("Abel-70B-001"),
}

# How the published outputs were generated (GAIR-NLP/abel evaluation/eval.sh: vLLM, greedy).
PUBLISHED_SETTINGS: dict[str, Any] = {
    "engine": "vllm",
    "template": ABEL_PROMPT_TEMPLATE,
    "temperature": 0.0,
    "top_p": 1.0,
    "max_tokens": 2048,
    "stop": None,
    "seed": None,
    "n": 1,
    "published_commit": PUBLISHED_COMMIT,
}

# Full SHA-256 of the seven published files at PUBLISHED_COMMIT, for `--from-github` downloads.
PUBLISHED_SHA256: dict[str, str] = {
    "gsm8k/7b.jsonl": "7a262e37425799300720db1b947e9a7f06b53b4820a355323f5ac297331c783a",
    "gsm8k/13b.jsonl": "468ca9dd156162a08afcfab64a8b064b3e72b7784938e7178ecf02c88ca53b1c",
    "gsm8k/70b.jsonl": "65824961215beab1dd7fb2a648a04a47333d4acb102c7187ecd1c360e2299cea",
    "gsm8k_robust/7b.jsonl": "576798df3ef89d6eec656c353b3de8da0573e22af7d6699831f27c2ab90c2a11",
    "gsm8k_robust/13b.jsonl": "d0b49f8cdd8e8aafcaa1e3105d06ac5c40622d50e20530844ec325d38b55d45f",
    "gsm8k_robust/70b.jsonl": "28f8f7e89a12b5981989c6f065fcf9e1231e2c4ea9c1b9b89a6d356766fcf444",
    "mathgpt/70b.jsonl": "83e801e5ce664026b9df53e8dacb4fc3a39003db8d0198bc4a8969a179eae372",
}

_REQUIRED = ("id", "prompt", "response")


class AbelLayoutError(ValueError):
    """The directory is not laid out like Abel's `outputs/` folder."""


@dataclass(frozen=True)
class AbelFile:
    folder: str  # Abel's benchmark folder name, e.g. "mathgpt"
    size: str  # "7b", "13b", "70b"
    path: Path

    @property
    def benchmark(self) -> str:
        return ABEL_BENCHMARKS[self.folder]

    @property
    def model(self) -> ModelInfo:
        return ABEL_MODELS[self.size]

    @property
    def run_key(self) -> str:
        return f"import:abel:{self.folder}/{self.size}"


@dataclass(frozen=True)
class AbelRecord:
    line: int  # 1-based line number in the file
    id: int
    prompt: str
    response: str
    pred: str | None
    gold: str | None
    result: bool | None

    @property
    def key(self) -> str:
        return str(self.id)


def discover_files(directory: Path) -> list[AbelFile]:
    """Find `<benchmark>/<size>.jsonl` files; raise AbelLayoutError when there are none."""
    directory = Path(directory)
    if not directory.exists():
        raise FileNotFoundError(f"Abel outputs directory not found: {directory}")
    if not directory.is_dir():
        raise NotADirectoryError(f"not a directory: {directory}")
    found: list[AbelFile] = []
    for folder in ABEL_BENCHMARKS:
        for size in ABEL_MODELS:
            path = directory / folder / f"{size}.jsonl"
            if path.is_file():
                found.append(AbelFile(folder, size, path))
    if not found:
        expected = ", ".join(f"{f}/{{7b,13b,70b}}.jsonl" for f in ABEL_BENCHMARKS)
        raise AbelLayoutError(
            f"no Abel output files under {directory}: expected {expected} "
            "(the layout of outputs/ in GAIR-NLP/abel)"
        )
    return found


def unrecognized_entries(directory: Path) -> list[Path]:
    """Folders or .jsonl files that look like outputs but that the importer does not know (reported, not read)."""
    out: list[Path] = []
    for child in sorted(Path(directory).iterdir()):
        if child.is_dir() and child.name not in ABEL_BENCHMARKS and any(child.glob("*.jsonl")):
            out.append(child)
        elif child.is_dir() and child.name in ABEL_BENCHMARKS:
            out.extend(p for p in sorted(child.glob("*.jsonl")) if p.stem not in ABEL_MODELS)
    return out


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    raise ValueError(f"'result' must be true or false, got {value!r}")


def parse_record(line_no: int, obj: dict[str, Any]) -> AbelRecord:
    """One line of an Abel output file (already parsed JSON); ValueError says what is wrong with it."""
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    try:
        rid = int(obj["id"])
    except (TypeError, ValueError):
        raise ValueError(f"'id' must be an integer, got {obj['id']!r}") from None
    if not isinstance(obj["prompt"], str) or not isinstance(obj["response"], str):
        raise ValueError("'prompt' and 'response' must be strings")
    gold = obj.get("gold")
    pred = obj.get("pred")
    return AbelRecord(
        line=line_no,
        id=rid,
        prompt=obj["prompt"],
        response=obj["response"],
        pred=None if pred is None else str(pred),
        gold=None if gold is None else str(gold),
        result=_as_bool(obj.get("result")),
    )


def read_abel_file(path: Path, *, strict: bool = False) -> tuple[list[AbelRecord], list[LineError]]:
    """Every well-formed record, plus one LineError per bad line (strict: raise at the first)."""
    return read_json_objects(path, parse_record, lambda rec: str(rec.id), what="id", strict=strict)


def problem_from_record(benchmark: str, record: AbelRecord) -> Problem:
    """A problem inferred from the prompt alone (used when the benchmark file is not given).

    Raises ValueError (NotAnAbelPrompt) when the prompt is not in Abel's format."""
    from analysis.grading import split_embedded_choices
    from analysis.prompts import question_from_abel_prompt

    question = question_from_abel_prompt(record.prompt)
    choices: tuple = ()
    if benchmark == "tal_scq5k_en":
        question, choices = split_embedded_choices(question)
    original = ProblemRef("gsm8k", record.key) if benchmark == "gsm8k_robust" else None
    return Problem(
        benchmark=benchmark,
        key=record.key,
        question=question,
        answer=record.gold or "",
        choices=choices,
        metadata={"inferred_from": "abel-prompt"},
        original=original,
    )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

"""What a benchmark is to the rest of the system: a `BenchmarkSpec` that turns its file (or its Hugging Face
dataset) into `Problem`s, with lenient ingest (bad records become `LineError`s, the rest is kept)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.benchmarks.parsing import RecordError, normalize_space
from analysis.jsonl import iter_json_file
from analysis.types import AnswerType, Domain, LineError, Problem

logger = logging.getLogger(__name__)


class UnknownBenchmark(ValueError):
    """A benchmark name that is not in the registry."""


class BenchmarkFormatError(ValueError):
    """Raised in strict mode at the first record that cannot be read."""

    def __init__(self, error: LineError) -> None:
        super().__init__(str(error))
        self.error = error


class HuggingFaceUnavailable(RuntimeError):
    """A Hugging Face dataset could not be loaded: `datasets` missing, offline, or an unknown dataset id."""


@dataclass(frozen=True)
class ParseContext:
    """What a record parser knows besides the record itself."""

    benchmark: str
    index: int  # 0-based line index in the file (or row index in a Hugging Face split)
    source: str  # the file's stem ("test", "addsub", ...) or "hf"
    originals: Mapping[str, str] | None = None  # whitespace-normalized original question -> its key


RecordParser = Callable[[Mapping[str, Any], ParseContext], Problem]


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    domain: Domain
    answer_type: AnswerType
    description: str
    default_file: str  # relative to a benchmarks data dir, e.g. "gsm8k/test.jsonl"
    hf_dataset: str | None  # Hugging Face id used by `load_hf` when no other is given
    hf_config: str | None = None
    hf_split: str = "test"
    multiple_answers: bool = False
    # Benchmark whose problems this one perturbs and that must be matched by question text (gsm_hard,
    # gsm_plus); its file is looked for beside this one's folder, i.e. `<file's folder>/../<its default_file>`.
    originals_from: str | None = None
    parse: RecordParser = field(kw_only=True, repr=False, compare=False)

    def load(self, path: Path, *, strict: bool = False) -> tuple[list[Problem], list[LineError]]:
        """Read a JSONL file of this benchmark. Missing file -> FileNotFoundError naming it."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{self.name}: benchmark file not found: {path}")
        originals = self._originals_beside(path)
        return self._parse_all(_read_jsonl(path), str(path), path.stem, originals, strict=strict)

    def load_hf(
        self,
        dataset: str | None = None,
        split: str | None = None,
        *,
        config: str | None = None,
        strict: bool = False,
    ) -> tuple[list[Problem], list[LineError]]:
        """Load through Hugging Face `datasets` (install extra `.[hf]`); rows go through the file parser."""
        dataset = dataset or self.hf_dataset
        if dataset is None:
            raise HuggingFaceUnavailable(
                f"no Hugging Face dataset is registered for {self.name}; give one explicitly (--hf DATASET)"
            )
        split = split or self.hf_split
        config = config if config is not None else (self.hf_config if dataset == self.hf_dataset else None)
        try:
            import datasets  # optional dependency, imported only here
        except ImportError as exc:
            raise HuggingFaceUnavailable(
                f"Hugging Face dataset {dataset} could not be loaded: the `datasets` package is not installed "
                "(pip install 'abel-triage[hf]')"
            ) from exc
        try:
            rows = datasets.load_dataset(dataset, config, split=split)
        except Exception as exc:  # datasets raises many types (ConnectionError, DatasetNotFoundError, ...)
            raise HuggingFaceUnavailable(
                f"Hugging Face dataset {dataset} could not be loaded (offline?): {type(exc).__name__}: {exc}"
            ) from exc
        source = f"hf:{dataset}" + (f":{config}" if config else "") + f"[{split}]"
        if self.originals_from:
            logger.warning(
                "%s loaded from Hugging Face: no %s file to match originals against; `original` left empty",
                self.name, self.originals_from,
            )
        records = ((i + 1, dict(row)) for i, row in enumerate(rows))
        return self._parse_all(records, source, "hf", None, strict=strict)

    def _originals_beside(self, path: Path) -> Mapping[str, str] | None:
        if self.originals_from is None:
            return None
        from analysis.benchmarks.registry import get_benchmark

        original = get_benchmark(self.originals_from)
        candidate = path.resolve().parent.parent / original.default_file
        if not candidate.is_file():
            logger.warning(
                "%s: %s not found beside %s; problems are not linked to their %s originals",
                self.name, candidate, path, self.originals_from,
            )
            return None
        problems, _errors = original.load(candidate)
        return {normalize_space(p.question): p.key for p in problems}

    def _parse_all(
        self,
        records: Iterable[tuple[int, Any]],
        source: str,
        stem: str,
        originals: Mapping[str, str] | None,
        *,
        strict: bool,
    ) -> tuple[list[Problem], list[LineError]]:
        problems: list[Problem] = []
        errors: list[LineError] = []
        first_line: dict[str, int] = {}
        for line_no, record in records:
            try:
                if isinstance(record, LineError):
                    raise RecordError(record.message)
                if not isinstance(record, Mapping):
                    raise RecordError(f"expected a JSON object, got {type(record).__name__}")
                ctx = ParseContext(self.name, line_no - 1, stem, originals)
                problem = self.parse(record, ctx)
                if problem.key in first_line:
                    raise RecordError(f"duplicate key {problem.key!r} (first at line {first_line[problem.key]})")
            except (ValueError, KeyError, TypeError) as exc:  # RecordError is a ValueError
                message = str(exc) if isinstance(exc, RecordError) else f"{type(exc).__name__}: {exc}"
                error = LineError(source, line_no, message)
                if strict:
                    raise BenchmarkFormatError(error) from exc
                errors.append(error)
                continue
            first_line[problem.key] = line_no
            problems.append(problem)
        if errors:
            logger.info("%s: %d record(s) skipped in %s", self.name, len(errors), source)
        return problems, errors


def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(1-based line number, parsed object or a LineError for bad JSON); blank lines are skipped."""
    return iter_json_file(path)

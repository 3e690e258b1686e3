"""Importing Abel's published outputs into the database: one run per file, idempotent and resumable.

Each file is committed in batches, so a kill loses at most the batch in flight; running the import again
inserts only what is missing (the unique key run x problem x sample makes duplicates impossible).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from analysis.abel_outputs import (
    PUBLISHED_SETTINGS,
    AbelFile,
    discover_files,
    problem_from_record,
    read_abel_file,
    sha256_file,
    unrecognized_entries,
)
from analysis.benchmarks import get_benchmark, load_benchmark_file
from analysis.models import ModelInfo, parse_model_name
from analysis.outputs import OutputFields, read_output_jsonl
from analysis.types import LineError
from analysis.types import Problem as ProblemRecord
from db.models import Benchmark, Problem, Response, Run, utcnow
from db.session import session_scope
from db.store import (
    ensure_benchmark,
    ensure_model,
    problem_ids_by_key,
    resolve_original_links,
    upsert_problems,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class FileReport:
    path: str
    run_id: int
    model: str
    benchmark: str
    lines: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[LineError] = field(default_factory=list)


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)  # benchmark-file errors and per-line errors
    warnings: list[str] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return sum(f.inserted for f in self.files)

    @property
    def all_errors(self) -> list[LineError]:
        return self.errors + [e for f in self.files for e in f.errors]


def _load_benchmark_problems(session: Session, name: str, benchmarks_dir: Path, report: ImportReport) -> bool:
    """Store the problems of benchmark `name` from its file under `benchmarks_dir`. False when absent."""
    spec = get_benchmark(name)
    path = benchmarks_dir / spec.default_file
    if not path.is_file():
        report.warnings.append(f"benchmark file for {name} not found at {path}; questions taken from the prompts")
        return False
    problems, errors = load_benchmark_file(name, path)
    report.errors.extend(errors)
    bench = ensure_benchmark(
        session, name, domain=spec.domain, answer_type=spec.answer_type, description=spec.description
    )
    upsert_problems(session, bench, problems)
    return True


def import_abel_outputs(
    engine: Engine,
    directory: Path,
    *,
    benchmarks_dir: Path | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Import every `<benchmark>/<size>.jsonl` under `directory`. See the module docstring."""
    files = discover_files(Path(directory))
    report = ImportReport()
    for extra in unrecognized_entries(Path(directory)):
        report.warnings.append(f"not an Abel output this importer knows, skipped: {extra}")

    loaded_from_file: set[str] = set()
    if benchmarks_dir is not None:
        if not Path(benchmarks_dir).is_dir():
            raise NotADirectoryError(f"benchmarks directory not found: {benchmarks_dir}")
        # gsm8k first: perturbed sets link to it.
        names = sorted({f.benchmark for f in files} | {"gsm8k"}, key=lambda n: n != "gsm8k")
        for name in names:
            with session_scope(engine) as session:
                if _load_benchmark_problems(session, name, Path(benchmarks_dir), report):
                    loaded_from_file.add(name)

    for abel_file in files:
        report.files.append(_import_file(engine, abel_file, abel_file.benchmark in loaded_from_file, on_progress))

    with session_scope(engine) as session:
        resolve_original_links(session)
    return report


@dataclass(frozen=True)
class _RunSource:
    """One imported run: where its records come from, and who produced them with which settings."""

    path: Path
    run_key: str
    model: ModelInfo
    benchmark: str
    settings: dict[str, Any]
    # How to make a problem from a record when the benchmark file was not given (None: must be stored already).
    infer_problem: Callable[[Any], ProblemRecord] | None


def _import_file(
    engine: Engine,
    abel_file: AbelFile,
    problems_from_benchmark: bool,
    on_progress: Callable[[str, int, int], None] | None,
) -> FileReport:
    records, errors = read_abel_file(abel_file.path)
    bench = abel_file.benchmark
    source = _RunSource(
        path=abel_file.path,
        run_key=abel_file.run_key,
        model=abel_file.model,
        benchmark=bench,
        settings=dict(PUBLISHED_SETTINGS),
        infer_problem=None if problems_from_benchmark else (lambda rec: problem_from_record(bench, rec)),
    )
    return _import_records(engine, source, records, errors, on_progress)


def import_output_jsonl(
    engine: Engine,
    path: Path,
    *,
    model: str,
    benchmark: str,
    fields: OutputFields = OutputFields(),
    benchmarks_dir: Path | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Import one JSONL file of another tool's outputs as a run of `model` on `benchmark` (idempotent).

    The benchmark's problems come from `benchmarks_dir` when given, else they must already be stored
    (`abel-triage benchmarks load`); a line whose key is not a problem of the benchmark is a line error.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"outputs file not found: {path}")
    spec = get_benchmark(benchmark)
    report = ImportReport()
    with session_scope(engine) as session:
        if benchmarks_dir is not None:
            if not Path(benchmarks_dir).is_dir():
                raise NotADirectoryError(f"benchmarks directory not found: {benchmarks_dir}")
            _load_benchmark_problems(session, spec.name, Path(benchmarks_dir), report)
        stored = session.scalar(
            select(func.count()).select_from(Problem).join(Benchmark).where(Benchmark.name == spec.name)
        )
    if not stored:
        raise ValueError(
            f"no problems of {spec.name} are stored: load them first (abel-triage benchmarks load {spec.name} "
            "--path FILE) or pass --benchmarks DIR"
        )
    records, errors = read_output_jsonl(path, fields)
    source = _RunSource(
        path=path,
        run_key=f"import:jsonl:{model}:{spec.name}:{path.name}",
        model=parse_model_name(model),
        benchmark=spec.name,
        settings={"source_file": path.name, "fields": asdict(fields)},
        infer_problem=None,
    )
    report.files.append(_import_records(engine, source, records, errors, on_progress))
    with session_scope(engine) as session:
        resolve_original_links(session)
    return report


def _import_records(
    engine: Engine,
    src: _RunSource,
    records: list[Any],
    errors: list[LineError],
    on_progress: Callable[[str, int, int], None] | None,
) -> FileReport:
    """Store `records` (each with line, key, prompt, response, pred, result) as the run `src.run_key`."""
    spec = get_benchmark(src.benchmark)
    digest = sha256_file(src.path)
    with session_scope(engine) as session:
        bench = ensure_benchmark(
            session, spec.name, domain=spec.domain, answer_type=spec.answer_type, description=spec.description
        )
        m = src.model
        model = ensure_model(
            session, m.name, hf_id=m.hf_id, family=m.family, size=m.size, size_b=m.size_b, generation=m.generation
        )
        if src.infer_problem is not None:
            # Inferred problems never overwrite richer ones loaded from the benchmark file.
            inferred, readable = [], []
            for rec in records:
                try:
                    inferred.append(src.infer_problem(rec))
                    readable.append(rec)
                except ValueError as exc:
                    errors.append(LineError(str(src.path), rec.line, str(exc)))
            records = readable
            upsert_problems(session, bench, inferred, overwrite=False)
        run = session.scalar(select(Run).where(Run.run_key == src.run_key))
        if run is None:
            run = Run(
                run_key=src.run_key,
                model_id=model.id,
                benchmark_id=bench.id,
                source="import",
                settings=dict(src.settings),
                status="running",
                code_version=_code_version(),
                source_path=str(src.path),
                source_sha256=digest,
            )
            session.add(run)
            session.flush()
        run_id, bench_id = run.id, bench.id
        report = FileReport(str(src.path), run_id, m.name, spec.name, lines=len(records) + len(errors))
        report.errors.extend(errors)
        if run.status == "finished" and run.source_sha256 == digest:
            stored = session.scalar(select(func.count()).select_from(Response).where(Response.run_id == run_id))
            if stored == len(records):
                report.unchanged = len(records)
                return report
        key_to_problem = problem_ids_by_key(session, bench)

    existing: dict[int, str] = {}
    with Session(engine) as session:
        for pid, text in session.execute(
            select(Response.problem_id, Response.text).where(Response.run_id == run_id, Response.sample_index == 0)
        ):
            existing[pid] = text

    total = len(records)
    for start in range(0, total, BATCH_SIZE):
        batch = records[start : start + BATCH_SIZE]
        with session_scope(engine) as session:
            new_rows = []
            for rec in batch:
                pid = key_to_problem.get(rec.key)
                if pid is None:
                    report.errors.append(
                        LineError(str(src.path), rec.line, f"key {rec.key!r} is not a problem of {spec.name}")
                    )
                    continue
                old = existing.get(pid)
                if old is None:
                    new_rows.append(
                        {
                            "run_id": run_id,
                            "problem_id": pid,
                            "sample_index": 0,
                            "prompt": rec.prompt,
                            "text": rec.response,
                            "finish_reason": None,
                            "published_extracted": rec.pred,
                            "published_correct": rec.result,
                            "created_at": utcnow(),
                        }
                    )
                    existing[pid] = rec.response
                elif old != rec.response:
                    session.execute(
                        update(Response)
                        .where(Response.run_id == run_id, Response.problem_id == pid, Response.sample_index == 0)
                        .values(
                            prompt=rec.prompt,
                            text=rec.response,
                            published_extracted=rec.pred,
                            published_correct=rec.result,
                            status=None,
                            correct=None,
                            extracted=None,
                            grade_reason=None,
                            grader_version=None,
                        )
                    )
                    existing[pid] = rec.response
                    report.updated += 1
                else:
                    report.unchanged += 1
            if new_rows:
                session.execute(Response.__table__.insert(), new_rows)
                report.inserted += len(new_rows)
        if on_progress:
            on_progress(str(src.path), min(start + BATCH_SIZE, total), total)

    with session_scope(engine) as session:
        session.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status="finished", finished_at=utcnow(), source_sha256=digest, benchmark_id=bench_id)
        )
    log.info("imported %s: %d new, %d updated, %d unchanged", src.path, report.inserted, report.updated,
             report.unchanged)
    return report


def _code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("abel-triage")
    except PackageNotFoundError:
        return "dev"

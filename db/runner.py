"""Running a model on a benchmark: a resumable run whose responses are committed batch by batch.

The run's identity (`Run.run_key`) is a hash of the model, the benchmark, the prompt template and the
engine-independent generation settings, so the same command finds the same run again and only generates the
(problem, sample) pairs that are not stored yet. Storage is kept off the generation path: a writer thread
commits batch i while the engine generates batch i+1, so the engine never waits on the database (unless the
database is slower than generation, when the one-slot queue applies back-pressure). A SIGKILL loses at most the
batches returned but not yet committed (the one in the queue and the one being written, in practice none: a
commit takes milliseconds). At the end the run is graded (`db.grading`) and categorized (`db.categorize`, when
installed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from analysis.engines.base import Completion, Prompt, SamplingSettings
from analysis.engines.base import Engine as LlmEngine
from analysis.models import KNOWN_HF_IDS, ModelInfo, parse_model_name  # noqa: F401 - re-exported
from analysis.types import Choice, LineError, ProblemRef
from analysis.types import Problem as ProblemRecord
from db.models import Benchmark, Problem, Response, Run, utcnow
from db.session import session_scope
from db.store import ensure_benchmark, ensure_model, resolve_original_links, upsert_problems

log = logging.getLogger(__name__)

BENCHMARKS_DIR_ENV = "ABEL_TRIAGE_BENCHMARKS"
DEFAULT_BATCH_SIZE = 64

class RunnerError(ValueError):
    """A run cannot start (no problems, unknown template, ...): the CLI prints it as one line."""


@dataclass(frozen=True)
class RunRequest:
    """What `abel-triage run` asks for. `sampling.n` is the number of samples per problem."""

    model: str
    benchmark: str
    engine: str  # "vllm" / "openai": recorded as the run's source
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    template: str = "abel"
    limit: int | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    served_model: str | None = None
    base_url: str | None = None
    model_path: str | None = None
    benchmark_path: Path | None = None  # an explicit benchmark file
    benchmarks_dir: Path | None = None  # else <dir>/<spec.default_file>


@dataclass
class RunTimings:
    """Where the wall time went (seconds): the overhead benchmark reads these."""

    generate_s: float = 0.0  # inside engine.generate
    render_s: float = 0.0  # building prompts and rows
    handoff_s: float = 0.0  # the generation loop blocked on the writer (back-pressure)
    store_s: float = 0.0  # the writer inserting and committing (overlaps generation)
    grade_s: float = 0.0
    categorize_s: float = 0.0
    total_s: float = 0.0


@dataclass
class RunResult:
    run_id: int
    run_key: str
    resumed: bool
    total: int  # (problem, sample) pairs in scope
    already_done: int  # of those, stored before this invocation
    generated: int  # stored by this invocation
    responses: int  # stored for the run in all
    correct: int | None = None
    accuracy: float | None = None  # percent of graded responses that are correct
    categorized: bool = False
    load_errors: list[LineError] = field(default_factory=list)
    timings: RunTimings = field(default_factory=RunTimings)


Progress = Callable[[int, int], None]  # (pairs stored, pairs in scope)


# -- settings and identity -------------------------------------------------------------------------------


def _template_text(template: Any) -> str:
    """The template as text, whatever shape `analysis.prompts.get_template` returns."""
    if isinstance(template, str):
        return template
    for attr in ("template", "text"):
        value = getattr(template, attr, None)
        if isinstance(value, str):
            return value
    return repr(template)


def _template_identity(template: Any) -> str:
    """Everything about the template that changes what the model sees (text, kind, system message)."""
    to_dict = getattr(template, "to_dict", None)
    if callable(to_dict):
        data = dict(to_dict())
        data.pop("name", None)  # renaming a template does not change a prompt
        return json.dumps(data, sort_keys=True)
    return _template_text(template)


def run_key_for(model: str, benchmark: str, template: Any, sampling: SamplingSettings) -> str:
    """Stable identity of a run: independent of the engine, the server, the batch size and the limit."""
    identity = {
        "model": model,
        "benchmark": benchmark,
        "template": _template_identity(template),
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "stop": list(sampling.stop),
        "seed": sampling.seed,
        "samples": sampling.n,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return f"gen:{model}:{benchmark}:{digest}"


def code_version() -> str:
    """The package version, plus the git commit when run from a checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        base = version("abel-triage")
    except PackageNotFoundError:
        base = "dev"
    repo = Path(__file__).resolve().parent.parent
    if (repo / ".git").exists():
        try:
            sha = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=5
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            sha = ""
        if sha:
            return f"{base}+g{sha}"
    return base


def default_benchmarks_dir() -> Path | None:
    """`ABEL_TRIAGE_BENCHMARKS`, else `../shared/data/benchmarks` when it exists."""
    env = os.environ.get(BENCHMARKS_DIR_ENV)
    if env:
        return Path(env)
    candidate = Path("..") / "shared" / "data" / "benchmarks"
    return candidate if candidate.is_dir() else None


# -- problems --------------------------------------------------------------------------------------------


def _record_from_row(row: Problem, benchmark: str) -> ProblemRecord:
    original = (
        ProblemRef(row.original_benchmark, row.original_key)
        if row.original_benchmark and row.original_key
        else None
    )
    return ProblemRecord(
        benchmark=benchmark,
        key=row.key,
        question=row.question,
        answer=row.reference_answer,
        solution=row.reference_solution,
        choices=tuple(Choice(c["letter"], c["text"]) for c in (row.choices or [])),
        metadata=dict(row.meta or {}),
        original=original,
    )


def _ensure_problems(session: Session, request: RunRequest, load_errors: list[LineError]) -> Benchmark:
    """The benchmark row, with its problems loaded from the benchmark file first when none are stored."""
    from analysis.benchmarks import get_benchmark

    bench = session.scalar(select(Benchmark).where(Benchmark.name == request.benchmark))
    if bench is not None:
        stored = session.scalar(select(func.count()).select_from(Problem).where(Problem.benchmark_id == bench.id))
        if stored:
            return bench
    spec = get_benchmark(request.benchmark)
    path = request.benchmark_path
    if path is None:
        data_dir = request.benchmarks_dir or default_benchmarks_dir()
        if data_dir is None:
            raise RunnerError(
                f"benchmark {request.benchmark} is not loaded and no benchmark file was given "
                f"(use --path FILE or --data DIR, or set {BENCHMARKS_DIR_ENV})"
            )
        path = Path(data_dir) / spec.default_file
    problems, errors = spec.load(Path(path))
    load_errors.extend(errors)
    if not problems:
        raise RunnerError(f"no problems could be read from {path} ({len(errors)} bad records)")
    bench = ensure_benchmark(
        session, spec.name, domain=spec.domain, answer_type=spec.answer_type,
        description=getattr(spec, "description", ""),
    )
    upsert_problems(session, bench, problems)
    resolve_original_links(session)
    log.info("loaded %d problems of %s from %s (%d bad records)", len(problems), spec.name, path, len(errors))
    return bench


# -- storage off the generation path ----------------------------------------------------------------------


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert responses; a (run, problem, sample) already stored (e.g. by a concurrent resume) is skipped."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        session.execute(insert(Response), rows)
        return
    stmt = dialect_insert(Response).on_conflict_do_nothing(index_elements=["run_id", "problem_id", "sample_index"])
    session.execute(stmt, rows)


class _Writer:
    """Commits batches of response rows on its own thread; `put` hands a batch over, `close` drains."""

    def __init__(self, engine: Engine, on_committed: Callable[[int], None]) -> None:
        self._engine = engine
        self._on_committed = on_committed
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.busy_s = 0.0
        self._thread = threading.Thread(target=self._loop, name="run-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            rows = self._queue.get()
            if rows is None:
                return
            if self.error is not None:
                continue  # keep draining so `put` never blocks forever
            started = time.perf_counter()
            try:
                with session_scope(self._engine) as session:
                    _insert_ignoring_duplicates(session, rows)
            except BaseException as exc:  # surfaced to the generation loop by `put`/`close`
                log.exception("storing a batch of %d responses failed", len(rows))
                self.error = exc
                continue
            self.busy_s += time.perf_counter() - started
            self._on_committed(len(rows))

    def put(self, rows: list[dict[str, Any]]) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(rows)

    def close(self) -> None:
        """Commit everything handed over so far, then stop. Raises the writer's error, if any."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


# -- the run ---------------------------------------------------------------------------------------------


def _open_run(
    session: Session, request: RunRequest, bench: Benchmark, key: str, template: Any, *, record_invocation: bool
) -> tuple[Run, bool]:
    """Get or create the run row. `record_invocation` appends how this invocation reached the model."""
    info = parse_model_name(request.model, hf_id=_hf_id_hint(request.model_path))
    model = ensure_model(
        session, info.name, hf_id=info.hf_id, family=info.family, size=info.size, size_b=info.size_b,
        generation=info.generation,
    )
    run = session.scalar(select(Run).where(Run.run_key == key))
    s = request.sampling
    current = {
        "engine": request.engine,
        "served_model": request.served_model,
        "base_url": request.base_url,
        "model_path": request.model_path,
        "limit": request.limit,
        "batch_size": request.batch_size,
    }
    if run is None:
        settings = {
            "template_name": request.template,
            "template": _template_text(template),
            "template_kind": getattr(template, "kind", "completion"),
            "template_system": getattr(template, "system", None),
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "stop": list(s.stop) or None,
            "seed": s.seed,
            "n": s.n,
            "samples": s.n,
            **current,
            "invocations": [current],
        }
        run = Run(
            run_key=key, model_id=model.id, benchmark_id=bench.id, source=request.engine, settings=settings,
            status="running", code_version=code_version(),
        )
        session.add(run)
        session.flush()
        return run, False
    if record_invocation:
        # A new dict, so the JSON column is written; the identity keys stay as they were.
        run.settings = {**run.settings, **current, "invocations": [*run.settings.get("invocations", []), current]}
    return run, True


def _hf_id_hint(model_path: str | None) -> str | None:
    """`--model-path` is a Hugging Face id when it looks like `org/name` and is not a local directory."""
    if model_path and re.fullmatch(r"[\w.-]+/[\w.-]+", model_path) and not Path(model_path).exists():
        return model_path
    return None


def execute_run(
    db: Engine,
    request: RunRequest,
    make_llm: Callable[[], LlmEngine],
    *,
    on_progress: Progress | None = None,
    grade: bool = True,
    categorize: bool = True,
) -> RunResult:
    """Create or resume the run, generate what is missing, grade and categorize. See the module docstring.

    `make_llm` is called only when something is left to generate, so a finished run never loads a model.
    """
    from analysis.prompts import get_template

    if request.batch_size < 1:
        raise RunnerError("batch size must be at least 1")
    started_all = time.perf_counter()
    template = get_template(request.template)  # an unknown name raises ValueError listing the known ones
    samples = request.sampling.n
    load_errors: list[LineError] = []

    with session_scope(db) as session:  # problems are committed even if the engine then fails
        bench = _ensure_problems(session, request, load_errors)
        bench_id, bench_name = bench.id, bench.name
    key = run_key_for(request.model, bench_name, template, request.sampling)
    with session_scope(db) as session:
        q = select(Problem).where(Problem.benchmark_id == bench_id).order_by(Problem.id)
        if request.limit is not None:
            q = q.limit(request.limit)
        rows = list(session.scalars(q))
        existing_id = session.scalar(select(Run.id).where(Run.run_key == key))
        done: set[tuple[int, int]] = set()
        if existing_id is not None:
            done = {
                (pid, idx)
                for pid, idx in session.execute(
                    select(Response.problem_id, Response.sample_index).where(Response.run_id == existing_id)
                )
            }
        in_scope = {row.id for row in rows}
        already = sum(1 for pid, idx in done if pid in in_scope and idx < samples)
        pending = [
            (row.id, _record_from_row(row, bench_name))
            for row in rows
            if any((row.id, i) not in done for i in range(samples))
        ]
    # The engine is built before the run row is written: an unknown model or an unreachable server leaves
    # no empty run behind, and a finished run never loads a model.
    llm = make_llm() if pending else None
    try:
        with session_scope(db) as session:
            bench = session.get(Benchmark, bench_id)
            assert bench is not None
            run, resumed = _open_run(session, request, bench, key, template, record_invocation=bool(pending))
            if pending and run.status != "running":
                run.status, run.finished_at = "running", None
            run_id = run.id
    except BaseException:
        if llm is not None:
            llm.close()
        raise
    total = len(rows) * samples
    result = RunResult(run_id, key, resumed, total, already, 0, 0, load_errors=load_errors)
    timings = result.timings
    log.info("run %d (%s): %d of %d pairs stored, %d problems to generate", run_id, key, already, total,
             len(pending))

    stored = already

    def committed(count: int) -> None:
        nonlocal stored
        stored += count
        if on_progress:
            on_progress(stored, total)

    if on_progress:
        on_progress(stored, total)
    if llm is not None:
        writer = _Writer(db, committed)
        try:
            for start in range(0, len(pending), request.batch_size):
                batch = pending[start : start + request.batch_size]
                t0 = time.perf_counter()
                prompts = [_render(template, problem) for _, problem in batch]
                t1 = time.perf_counter()
                completions = llm.generate(prompts, request.sampling)
                t2 = time.perf_counter()
                batch_rows = _rows(run_id, batch, prompts, completions, done, samples)
                t3 = time.perf_counter()
                writer.put(batch_rows)
                t4 = time.perf_counter()
                timings.render_s += (t1 - t0) + (t3 - t2)
                timings.generate_s += t2 - t1
                timings.handoff_s += t4 - t3
                result.generated += len(batch_rows)
        finally:
            try:
                writer.close()  # commits what was handed over, also on Ctrl-C
            finally:
                timings.store_s = writer.busy_s
                llm.close()

    with session_scope(db) as session:
        run = session.get(Run, run_id)
        assert run is not None
        if run.status != "finished":
            run.status, run.finished_at = "finished", utcnow()

    if grade:
        t0 = time.perf_counter()
        _grade(db, run_id)
        timings.grade_s = time.perf_counter() - t0
    if categorize:
        t0 = time.perf_counter()
        result.categorized = _categorize(db, run_id)
        timings.categorize_s = time.perf_counter() - t0

    with session_scope(db) as session:
        result.responses = session.scalar(select(func.count()).select_from(Response).where(Response.run_id == run_id))
        graded, correct = session.execute(
            select(func.count(Response.status), func.count().filter(Response.correct.is_(True))).where(
                Response.run_id == run_id
            )
        ).one()
    if graded:
        result.correct = correct
        result.accuracy = 100.0 * correct / graded
    timings.total_s = time.perf_counter() - started_all
    return result


def _render(template: Any, problem: ProblemRecord) -> Prompt:
    """A completion prompt, or for a chat template the list of chat messages."""
    from analysis.prompts import render_messages, render_prompt

    if getattr(template, "kind", "completion") == "chat":
        return render_messages(problem, template)
    return render_prompt(template, problem)


def _rows(
    run_id: int,
    batch: Sequence[tuple[int, ProblemRecord]],
    prompts: Sequence[Prompt],
    completions: Sequence[Sequence[Completion]],
    done: set[tuple[int, int]],
    samples: int,
) -> list[dict[str, Any]]:
    if len(completions) != len(batch):
        raise RunnerError(f"engine returned {len(completions)} results for {len(batch)} prompts")
    now = utcnow()
    rows = []
    for (problem_id, _), prompt, samples_out in zip(batch, prompts, completions, strict=True):
        for index, completion in enumerate(samples_out[:samples]):
            if (problem_id, index) in done:
                continue
            rows.append(
                {
                    "run_id": run_id,
                    "problem_id": problem_id,
                    "sample_index": index,
                    "prompt": prompt if isinstance(prompt, str) else json.dumps(prompt, ensure_ascii=False),
                    "text": completion.text,
                    "finish_reason": completion.finish_reason,
                    "prompt_tokens": completion.prompt_tokens,
                    "completion_tokens": completion.completion_tokens,
                    "latency_ms": completion.latency_s * 1000.0,
                    "created_at": now,
                }
            )
    return rows


def _grade(db: Engine, run_id: int) -> None:
    from db.grading import grade_responses

    summary = grade_responses(db, run_id=run_id)
    log.info("run %d: graded %d responses (%d correct)", run_id, summary.graded, summary.correct)


def _categorize(db: Engine, run_id: int) -> bool:
    try:
        from db.categorize import categorize
    except ImportError:
        log.warning("db.categorize is not available; run %d is graded but not categorized", run_id)
        return False
    categorize(db, run_id=run_id)
    return True

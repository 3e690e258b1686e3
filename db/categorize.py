"""Categorizing stored failures: every failed response gets a `rule` label of the current categorizer version.

A failure is a graded response that is wrong (`Response.correct` is False), or one the publisher marked wrong
that our grader counts right (the published verdict failed: `grader_miss`). Runs in batches, each committed, so
a kill loses at most one batch; running again does nothing once every failure has a current rule label. A
newer `CATEGORIZER_VERSION` replaces older rule labels only; human and judge labels are never touched (the
effective category prefers them, see `db.labels`). A response that is no longer a failure loses its rule label.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import types
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, or_, select
from sqlalchemy.orm import Session, aliased

from analysis.categorize import CATEGORIZER_VERSION, FailureInput, categorize_failure
from analysis.types import Choice, LabelSource
from db.labels import add_label, refresh_effective_category
from db.models import Benchmark, CategoryLabel, Problem, Response, Run, utcnow
from db.session import session_scope

log = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_WORKERS = 4
PARALLEL_MIN_FAILURES = 400  # below this, starting worker processes costs more than it saves


def _jsonable(evidence: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(evidence, default=str))


def failure_condition():  # type: ignore[no-untyped-def]
    """SQL condition for "this response is a failure" (see the module docstring)."""
    return and_(
        Response.status.is_not(None),
        or_(Response.correct.is_(False), and_(Response.correct.is_(True), Response.published_correct.is_(False))),
    )


def _choices(raw: Any) -> tuple[Choice, ...]:
    if not raw or not isinstance(raw, list):
        return ()
    return tuple(Choice(str(c.get("letter", "")), str(c.get("text", ""))) for c in raw if isinstance(c, dict))


def failure_input_from_row(row: Any) -> FailureInput:
    """Build the categorizer's input from a row of `_input_query` (also used by the judge path)."""
    return FailureInput(
        question=row.question,
        response=row.text,
        gold=row.reference_answer,
        answer_type=row.answer_type,
        extracted=row.extracted,
        grade_status=row.status,
        choices=_choices(row.choices),
        reference_solution=row.reference_solution,
        original_question=row.orig_question,
        original_gold=row.orig_answer,
        original_reference_solution=row.orig_solution,
        finish_reason=row.finish_reason,
        published_correct=row.published_correct,
        correct=row.correct,
        grade_reason=row.grade_reason,
    )


def input_query(ids: Iterable[int]):  # type: ignore[no-untyped-def]
    orig = aliased(Problem)
    return (
        select(
            Response.id, Response.text, Response.extracted, Response.status, Response.correct,
            Response.published_correct, Response.finish_reason, Response.grade_reason,
            Problem.question, Problem.reference_answer, Problem.reference_solution, Problem.choices,
            Benchmark.answer_type,
            orig.question.label("orig_question"), orig.reference_answer.label("orig_answer"),
            orig.reference_solution.label("orig_solution"),
        )
        .join(Problem, Problem.id == Response.problem_id)
        .join(Run, Run.id == Response.run_id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .outerjoin(orig, orig.id == Problem.original_id)
        .where(Response.id.in_(list(ids)))
        .order_by(Response.id)
    )


def _current_rule_ids(session: Session, run_id: int | None) -> set[int]:
    q = select(CategoryLabel.response_id).where(
        CategoryLabel.source == LabelSource.RULE.value, CategoryLabel.categorizer_version == CATEGORIZER_VERSION
    )
    if run_id is not None:
        q = q.join(Response, Response.id == CategoryLabel.response_id).where(Response.run_id == run_id)
    return set(session.scalars(q))


def _remove_stale(session: Session, run_id: int | None) -> int:
    """Drop the rule labels of responses that are no longer failures; returns how many responses changed."""
    q = (
        select(CategoryLabel.response_id)
        .join(Response, Response.id == CategoryLabel.response_id)
        .where(CategoryLabel.source == LabelSource.RULE.value, ~failure_condition())
    )
    if run_id is not None:
        q = q.where(Response.run_id == run_id)
    stale = sorted(set(session.scalars(q)))
    for start in range(0, len(stale), BATCH_SIZE):
        chunk = stale[start : start + BATCH_SIZE]
        session.execute(
            delete(CategoryLabel).where(
                CategoryLabel.response_id.in_(chunk), CategoryLabel.source == LabelSource.RULE.value
            )
        )
        refresh_effective_category(session, chunk)
    return len(stale)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _worker_pool(workers: int, pending: int) -> Executor | None:
    """Worker processes for the pure rule path, or None to run in this process.

    `spawn`, not `fork`: the callers (the CLI's progress bar, the runner's engine threads) may hold threads, and
    forking a process with threads can deadlock. A spawned worker imports only the categorizer (~50 ms).
    """
    if workers <= 1 or pending < PARALLEL_MIN_FAILURES:
        return None
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def _categorize_many(inputs: list[FailureInput]) -> list[Any]:
    return [categorize_failure(inp) for inp in inputs]


@contextmanager
def _caller_script_hidden() -> Iterator[None]:
    """Keep spawned workers from re-running the caller's `__main__` script.

    `spawn` starts each worker by importing the parent's main module again (as `__mp_main__`) when it has a
    file: harmless for `abel-triage`, but a Streamlit script or a test runner's module would run a second time in
    every worker. The workers need only this module, which they import by name; so while they are started the
    main module is a blank one. Workers start inside `submit`, which is the only place this is used.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _submit(pool: Executor | None, inputs: list[FailureInput]) -> Callable[[], list[Any]]:
    """Start categorizing `inputs`; the returned callable waits for (or, without a pool, computes) the results."""
    if pool is None:
        return lambda: _categorize_many(inputs)
    size = max(1, len(inputs) // 8)
    with _caller_script_hidden():
        futures = [pool.submit(_categorize_many, inputs[i : i + size]) for i in range(0, len(inputs), size)]
    return lambda: [result for future in futures for result in future.result()]


def categorize(
    engine: Engine,
    run_id: int | None = None,
    progress: bool = False,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    flags: bool = True,
    workers: int | None = None,
) -> dict[str, Any]:
    """Give every failure without a current rule label one; returns counts (and the flags, recomputed).

    The rules run in `workers` processes (default: the CPU count, at most MAX_WORKERS) when there are many
    failures; reading inputs and writing labels stay in this process, one committed batch at a time.
    """
    with session_scope(engine) as session:
        removed = _remove_stale(session, run_id)
        q = select(Response.id).where(failure_condition())
        if run_id is not None:
            q = q.where(Response.run_id == run_id)
        failures = list(session.scalars(q.order_by(Response.id)))
        done = _current_rule_ids(session, run_id)
    pending = [rid for rid in failures if rid not in done]
    counts: Counter[str] = Counter()

    def write(chunk: list[int], rows: list[Any], results: list[Any]) -> None:
        now = utcnow()
        labels: list[dict[str, Any]] = []
        for row, result in zip(rows, results, strict=True):
            if result.category is None:  # graded correct after all (should not happen for a failure)
                continue
            labels.append({
                "response_id": row.id, "category": result.category.value, "source": LabelSource.RULE.value,
                "confidence": result.confidence, "evidence": _jsonable(result.evidence),
                "first_error_step": result.first_error_step, "categorizer_version": CATEGORIZER_VERSION,
                "created_at": now,
            })
            counts[result.category.value] += 1
        with session_scope(engine) as session:
            # The same as db.labels.add_label(source="rule", refresh=False) per response (a new rule label
            # replaces the old rule labels, nothing else is touched), as one delete and one executemany:
            # add_label flushes once per label, which is most of the time for thousands of labels.
            session.execute(delete(CategoryLabel).where(
                CategoryLabel.response_id.in_(chunk), CategoryLabel.source == LabelSource.RULE.value))
            if labels:
                session.execute(insert(CategoryLabel), labels)
            refresh_effective_category(session, chunk)

    with ExitStack() as stack:
        pool = _worker_pool(default_workers() if workers is None else workers, len(pending))
        if pool is not None:
            stack.enter_context(pool)
        bar = _progress_bar(len(pending)) if progress else None
        # Pipelined: the workers categorize batch i+1 while this process writes batch i.
        in_flight: tuple[list[int], list[Any], Callable[[], list[Any]]] | None = None
        written = 0
        chunks = [pending[i : i + BATCH_SIZE] for i in range(0, len(pending), BATCH_SIZE)]
        for chunk in [*chunks, None]:
            submitted = None
            if chunk is not None:
                with session_scope(engine) as session:
                    rows = session.execute(input_query(chunk)).all()
                submitted = (chunk, rows, _submit(pool, [failure_input_from_row(row) for row in rows]))
            if in_flight is not None:
                done_chunk, done_rows, results = in_flight
                write(done_chunk, done_rows, results())
                written += len(done_chunk)
                if bar is not None:
                    bar.update(len(done_chunk))
                if on_progress is not None:
                    on_progress(written, len(pending))
            in_flight = submitted
        if bar is not None:
            bar.close()
    summary: dict[str, Any] = {
        "version": CATEGORIZER_VERSION,
        "failures": len(failures),
        "categorized": sum(counts.values()),
        "already_current": len(failures) - len(pending),
        "rule_labels_removed": removed,
        "categories": dict(counts.most_common()),
    }
    if flags:
        from db.flags import compute_flags

        summary["flags"] = compute_flags(engine)
    log.info("categorized %d of %d failures", summary["categorized"], len(failures))
    return summary


class _Bar:
    """A tiny rich progress bar on stderr (library code does not print to stdout)."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self._progress = Progress(console=Console(stderr=True), transient=True)
        self._progress.start()
        self._task = self._progress.add_task("categorizing", total=total)

    def update(self, n: int) -> None:
        self._progress.update(self._task, advance=n)

    def close(self) -> None:
        self._progress.stop()


def _progress_bar(total: int) -> _Bar | None:
    return _Bar(total) if total else None


def failures_report(engine: Engine) -> list[dict[str, Any]]:
    """One object per run: model, benchmark, failures, effective categories and flags of its failures.

    Every failure is counted once in `categories`; one not categorized yet is counted as "uncategorized".
    """
    from sqlalchemy import func

    from db.models import Model, ResponseFlag

    with session_scope(engine) as session:
        runs = session.execute(
            select(Run.id, Model.name, Benchmark.name)
            .join(Model, Model.id == Run.model_id)
            .join(Benchmark, Benchmark.id == Run.benchmark_id)
            .order_by(Run.id)
        ).all()
        cats = session.execute(
            select(Response.run_id, Response.category, func.count())
            .where(failure_condition())
            .group_by(Response.run_id, Response.category)
        ).all()
        flags = session.execute(
            select(Response.run_id, ResponseFlag.flag, func.count())
            .join(ResponseFlag, ResponseFlag.response_id == Response.id)
            .group_by(Response.run_id, ResponseFlag.flag)
        ).all()
    by_run_cat: dict[int, dict[str, int]] = {}
    for run_id, category, n in cats:
        by_run_cat.setdefault(run_id, {})[category or "uncategorized"] = n
    by_run_flag: dict[int, dict[str, int]] = {}
    for run_id, flag, n in flags:
        by_run_flag.setdefault(run_id, {})[flag] = n
    out = []
    for run_id, model, bench in runs:
        categories = dict(sorted(by_run_cat.get(run_id, {}).items(), key=lambda kv: (-kv[1], kv[0])))
        out.append({"run_id": run_id, "model": model, "benchmark": bench, "failures": sum(categories.values()),
                    "categories": categories, "flags": dict(sorted(by_run_flag.get(run_id, {}).items()))})
    return out


def judge_fallbacks(
    engine: Engine, judge: Any, run_id: int | None = None, limit: int | None = None, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Ask `judge` (see `analysis.judge.Judge`) about failures whose rule label is the `reasoning` fallback and
    that have no judge label yet; store each readable verdict as a `judge` label (with the judge's first wrong
    step). Human labels still win. Each chunk of `batch_size` failures goes to the judge as one batch
    (`analysis.judge.judge_batch`), with no database session open while the model works, and is committed
    before the next, so a killed run keeps what it finished and the same call resumes."""
    from analysis.categorize import CategoryResult
    from analysis.judge import judge_batch
    from analysis.types import Category

    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    with session_scope(engine) as session:
        judged = select(CategoryLabel.response_id).where(CategoryLabel.source == LabelSource.JUDGE.value)
        q = (
            select(CategoryLabel.response_id, CategoryLabel.confidence, CategoryLabel.evidence,
                   CategoryLabel.first_error_step)
            .join(Response, Response.id == CategoryLabel.response_id)
            .where(CategoryLabel.source == LabelSource.RULE.value, CategoryLabel.category == Category.REASONING.value,
                   CategoryLabel.response_id.not_in(judged))
            .order_by(CategoryLabel.response_id)
        )
        if run_id is not None:
            q = q.where(Response.run_id == run_id)
        if limit is not None:
            q = q.limit(limit)
        todo = {rid: (conf, ev, step) for rid, conf, ev, step in session.execute(q)}
    counts: Counter[str] = Counter()
    ids = list(todo)
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        with session_scope(engine) as session:
            rows = session.execute(input_query(chunk)).all()
        items = []
        for row in rows:
            conf, ev, step = todo[row.id]
            items.append((failure_input_from_row(row), CategoryResult(Category.REASONING, step, conf, dict(ev or {}))))
        verdicts = judge_batch(judge, items)
        with session_scope(engine) as session:
            for row, verdict in zip(rows, verdicts, strict=True):
                if verdict is None:
                    counts["unreadable"] += 1
                    continue
                add_label(session, row.id, verdict.category.value, source=LabelSource.JUDGE,
                          confidence=verdict.confidence, evidence={"rationale": verdict.rationale},
                          first_error_step=verdict.step, categorizer_version=CATEGORIZER_VERSION, refresh=False)
                counts[verdict.category.value] += 1
            refresh_effective_category(session, chunk)
    return dict(counts)


def hand_labelled_inputs(engine: Engine, runs_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], FailureInput]:
    """The categorizer's input for each failure named by ("<benchmark>/<size>", problem key), as in the hand
    labels of `tests/data/categorize_dev_labels.jsonl`; names that match no failure are left out."""
    from db.models import Model

    wanted = set(runs_keys)
    keys = {key for _, key in wanted}
    with session_scope(engine) as session:
        rows = session.execute(
            select(Response.id, Benchmark.name, Model.size, Problem.key)
            .join(Problem, Problem.id == Response.problem_id)
            .join(Run, Run.id == Response.run_id)
            .join(Model, Model.id == Run.model_id)
            .join(Benchmark, Benchmark.id == Run.benchmark_id)
            .where(failure_condition(), Problem.key.in_(sorted(keys)))
        ).all()
        ids = {rid: (f"{bench}/{size.lower()}", key) for rid, bench, size, key in rows
               if (f"{bench}/{size.lower()}", key) in wanted}
        return {ids[row.id]: failure_input_from_row(row) for row in session.execute(input_query(ids))}

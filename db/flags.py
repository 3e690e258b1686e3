"""Cross-run flags (DESIGN.md "Failure taxonomy"), recomputed from scratch and stored idempotently.

- robustness_flip: wrong on a perturbed problem whose original the same model answered right;
- scale_regression: wrong where a smaller model of the same family and generation is right (same benchmark);
- regression: wrong where the previous run of the same model and benchmark was right;
- unstable: samples of the same run and problem (sample_index > 0), or runs with the same settings, disagree;
- consensus_against_gold: at least two models answered, all with the same (normalized) answer, and it is not
  the gold answer: the candidates a person checks for `gold_suspect`.

`compute_flags` derives the full set, then inserts what is missing and deletes what no longer holds, so
running it twice changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select

from analysis.types import Flag
from db.models import Model, Response, ResponseFlag, Run
from db.session import session_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Row:
    id: int
    run_id: int
    problem_id: int
    sample_index: int
    correct: bool
    extracted: str | None
    status: str
    model_id: int
    model: str
    family: str
    generation: str
    size_b: float | None
    benchmark_id: int
    settings: str
    started: Any
    original_id: int | None


def _normalized(extracted: str | None) -> str | None:
    if extracted is None:
        return None
    from analysis.grading import parse_number

    try:
        value = parse_number(extracted)
    except (ValueError, ZeroDivisionError):
        value = None
    if value is not None:
        return f"n:{value}"
    text = " ".join(extracted.replace("$", "").split()).strip().rstrip(".").casefold()
    return f"t:{text}" if text else None


def _load(engine: Engine) -> list[_Row]:
    from db.models import Problem

    with session_scope(engine) as session:
        q = (
            select(
                Response.id, Response.run_id, Response.problem_id, Response.sample_index, Response.correct,
                Response.extracted, Response.status, Run.model_id, Model.name, Model.family, Model.generation,
                Model.size_b, Run.benchmark_id, Run.settings, Run.started_at, Problem.original_id,
            )
            .join(Run, Run.id == Response.run_id)
            .join(Model, Model.id == Run.model_id)
            .join(Problem, Problem.id == Response.problem_id)
            .where(Response.status.is_not(None), Response.correct.is_not(None))
        )
        return [
            _Row(r[0], r[1], r[2], r[3] or 0, bool(r[4]), r[5], r[6], r[7], r[8], r[9] or "", r[10] or "",
                 r[11], r[12], json.dumps(r[13] or {}, sort_keys=True), r[14], r[15])
            for r in session.execute(q)
        ]


def derive_flags(rows: list[_Row]) -> dict[tuple[int, str], dict[str, Any]]:
    """(response id, flag) -> detail, for every flag that holds."""
    out: dict[tuple[int, str], dict[str, Any]] = {}
    # Per (model, problem): is any response right? (used by flips and scale comparisons)
    right_by_model_problem: dict[tuple[int, int], int] = {}
    for r in rows:
        if r.correct:
            right_by_model_problem.setdefault((r.model_id, r.problem_id), r.id)

    for r in rows:
        if r.correct or r.original_id is None:
            continue
        hit = right_by_model_problem.get((r.model_id, r.original_id))
        if hit is not None:
            out[(r.id, Flag.ROBUSTNESS_FLIP.value)] = {"original_response_id": hit}

    by_group: dict[tuple[str, str, int, int], list[_Row]] = defaultdict(list)
    for r in rows:
        if r.family and r.size_b is not None:
            by_group[(r.family, r.generation, r.benchmark_id, r.problem_id)].append(r)
    for group in by_group.values():
        right = [g for g in group if g.correct]
        for r in group:
            if r.correct:
                continue
            smaller = [g for g in right if g.size_b is not None and r.size_b is not None and g.size_b < r.size_b]
            if smaller:
                best = min(smaller, key=lambda g: g.size_b or 0)
                out[(r.id, Flag.SCALE_REGRESSION.value)] = {"smaller_model": best.model, "right_response_id": best.id}

    # regression: previous run of the same model and benchmark.
    runs: dict[tuple[int, int], list[tuple[Any, int]]] = defaultdict(list)
    for r in rows:
        runs[(r.model_id, r.benchmark_id)].append((r.started, r.run_id))
    previous: dict[int, int] = {}
    for run_list in runs.values():
        ordered = sorted(set(run_list), key=lambda t: (str(t[0]), t[1]))
        for (_, prev_id), (_, cur_id) in zip(ordered, ordered[1:], strict=False):
            previous[cur_id] = prev_id
    right_in_run: dict[tuple[int, int], int] = {}
    for r in rows:
        if r.correct:
            right_in_run.setdefault((r.run_id, r.problem_id), r.id)
    for r in rows:
        prev = previous.get(r.run_id)
        if not r.correct and prev is not None and (prev, r.problem_id) in right_in_run:
            out[(r.id, Flag.REGRESSION.value)] = {"previous_run_id": prev,
                                                 "right_response_id": right_in_run[(prev, r.problem_id)]}

    # unstable: samples of one run, or runs with the same settings, disagree on the verdict.
    same_settings: dict[tuple[int, int, str, int], list[_Row]] = defaultdict(list)
    for r in rows:
        same_settings[(r.model_id, r.benchmark_id, r.settings, r.problem_id)].append(r)
    for group in same_settings.values():
        if len(group) > 1 and len({g.correct for g in group}) > 1:
            runs_in = sorted({g.run_id for g in group})
            for g in group:
                out[(g.id, Flag.UNSTABLE.value)] = {"responses": len(group), "right": sum(x.correct for x in group),
                                                    "runs": runs_in}

    # consensus_against_gold: per problem, one answer per model (its first sample in its latest run).
    per_problem: dict[int, dict[int, _Row]] = defaultdict(dict)
    for r in sorted(rows, key=lambda x: (str(x.started), x.run_id, -x.sample_index), reverse=True):
        per_problem[r.problem_id].setdefault(r.model_id, r)
    for by_model in per_problem.values():
        if len(by_model) < 2:
            continue
        answers = {_normalized(r.extracted) for r in by_model.values()}
        if len(answers) != 1 or None in answers:
            continue
        if any(r.correct or r.status != "incorrect" for r in by_model.values()):
            continue
        sample = next(iter(by_model.values()))
        for r in by_model.values():
            out[(r.id, Flag.CONSENSUS_AGAINST_GOLD.value)] = {"answer": sample.extracted, "models": len(by_model)}
    return out


def compute_flags(engine: Engine) -> dict[str, int]:
    """Recompute every flag; returns the number of flagged responses per flag."""
    desired = derive_flags(_load(engine))
    with session_scope(engine) as session:
        existing = {(f.response_id, f.flag): f for f in session.scalars(select(ResponseFlag))}
        stale = [f.id for key, f in existing.items() if key not in desired]
        for start in range(0, len(stale), 500):
            session.execute(delete(ResponseFlag).where(ResponseFlag.id.in_(stale[start : start + 500])))
        for key, detail in desired.items():
            row = existing.get(key)
            if row is None:
                session.add(ResponseFlag(response_id=key[0], flag=key[1], detail=detail))
            elif row.detail != detail:
                row.detail = detail
    counts: dict[str, int] = {f.value: 0 for f in Flag}
    for _, flag in desired:
        counts[flag] += 1
    log.info("flags: %s", counts)
    return counts


def flags_report(engine: Engine, flag: str | None = None) -> list[dict[str, Any]]:
    """One object per flagged response: model, benchmark, problem key, flag (and ids and detail to follow up)."""
    from db.models import Benchmark, Problem

    if flag is not None and flag not in {f.value for f in Flag}:
        raise ValueError(f"unknown flag {flag!r} (expected one of: {', '.join(f.value for f in Flag)})")
    with session_scope(engine) as session:
        q = (
            select(Model.name, Benchmark.name, Problem.key, ResponseFlag.flag, Response.id, Run.id,
                   ResponseFlag.detail)
            .join(Response, Response.id == ResponseFlag.response_id)
            .join(Run, Run.id == Response.run_id)
            .join(Model, Model.id == Run.model_id)
            .join(Benchmark, Benchmark.id == Run.benchmark_id)
            .join(Problem, Problem.id == Response.problem_id)
            .order_by(ResponseFlag.flag, Benchmark.name, Problem.id, Model.name, Response.id)
        )
        if flag is not None:
            q = q.where(ResponseFlag.flag == flag)
        return [
            {"model": m, "benchmark": b, "key": k, "flag": f, "response_id": rid, "run_id": run, "detail": d}
            for m, b, k, f, rid, run, d in session.execute(q)
        ]

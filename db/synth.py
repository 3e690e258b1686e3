"""Synthetic runs for load testing the dashboard (`abel-triage dev synth --responses N`).

Everything written here is marked `synthetic=True` (benchmarks, models, runs) and named with the `synth-`
prefix, so it can never be mistaken for a real evaluation and can be removed with `delete_synthetic`.
The data is shaped like Abel's: three sizes with rising accuracy, an in-domain, a robustness (perturbed, linked
to its originals) and an out-of-domain multiple-choice benchmark, rule labels with evidence for every failure,
some judge and low-confidence labels, grader disagreements and cross-run flags.

Rows are written with Core `executemany` in batches and explicit ids, not ORM objects one by one. The
effective category columns on `response` are written together with the single rule label of each failure, so
they agree with what `db.labels.refresh_effective_category` would compute.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, insert, select

from analysis.types import AnswerType, Category, Domain, Flag, LabelSource
from db.models import Benchmark, CategoryLabel, Model, Problem, Response, ResponseFlag, Run

log = logging.getLogger(__name__)

PREFIX = "synth-"
BATCH = 20_000
CATEGORIZER_VERSION = "synth-1"

_MODELS = (  # name, size, size_b, base accuracy
    ("synth-Abel-7B", "7B", 7.0, 0.60),
    ("synth-Abel-13B", "13B", 13.0, 0.66),
    ("synth-Abel-70B", "70B", 70.0, 0.83),
)
_BENCHMARKS = (  # name, domain, answer type, accuracy shift
    ("synth-gsm8k", Domain.IN_DOMAIN, AnswerType.NUMBER, 0.0),
    ("synth-gsm8k_robust", Domain.ROBUSTNESS, AnswerType.NUMBER, -0.03),
    ("synth-tal_scq5k_en", Domain.OUT_OF_DOMAIN, AnswerType.CHOICE, -0.25),
)
_CATEGORY_WEIGHTS = {
    Category.ARITHMETIC: 22, Category.REASONING: 30, Category.MISREAD_QUANTITY: 10, Category.MISSING_STEP: 8,
    Category.UNIT_CONVERSION: 4, Category.TRUNCATED: 4, Category.REPETITION: 2, Category.NO_FINAL_ANSWER: 3,
    Category.INVALID_ANSWER: 2, Category.GRADER_MISS: 1, Category.GOLD_SUSPECT: 1,
}
_NAMES = ("Tom", "Maria", "Wei", "Aisha", "Lukas", "Priya", "Kofi", "Sofia")
_THINGS = ("apples", "books", "marbles", "tickets", "cookies", "stamps", "shells", "pencils")


@dataclass(frozen=True)
class SynthCounts:
    benchmarks: int
    models: int
    runs: int
    problems: int
    responses: int
    labels: int
    flags: int


def delete_synthetic(engine: Engine) -> None:
    """Remove every synthetic benchmark and model (and, by cascade, their problems, runs and responses)."""
    with engine.begin() as conn:
        conn.execute(delete(Run).where(Run.synthetic.is_(True)))
        conn.execute(delete(Benchmark).where(Benchmark.synthetic.is_(True)))
        conn.execute(delete(Model).where(Model.synthetic.is_(True)))


def _next_id(conn, table) -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(select(func.coalesce(func.max(table.id), 0))).scalar_one()) + 1


def _question(rng: random.Random, a: int, b: int) -> str:
    name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
    return (
        f"{name} has {a} boxes of {thing} with {b} {thing} in each box. {name} gives away {b // 2 + 1} {thing}. "
        f"How many {thing} does {name} have left?"
    )


def _response_text(a: int, b: int, answer: str, *, wrong_step: int | None, claimed: int | None) -> str:
    total = a * b
    step1 = f"There are {a} boxes with {b} in each, so {a} * {b} = {claimed if wrong_step == 1 else total}."
    step2 = f"After giving some away, {claimed if wrong_step == 2 else total} - {b // 2 + 1} = {answer}."
    return f"{step1}\n{step2}\nSo the answer is {answer}.\n#### {answer}"


def generate_synthetic(
    engine: Engine,
    responses: int,
    *,
    seed: int = 0,
    replace: bool = True,
    progress: Callable[[int], None] | None = None,
) -> SynthCounts:
    """Write about `responses` synthetic responses (exactly that many) spread over 3 models x 3 benchmarks."""
    if responses <= 0:
        raise ValueError("--responses must be positive")
    if replace:
        delete_synthetic(engine)
    rng = random.Random(seed)
    n_runs = len(_MODELS) * len(_BENCHMARKS)
    per_run = math.ceil(responses / n_runs)
    now = datetime.now(UTC)
    labels = flags = 0
    with engine.begin() as conn:
        bench_ids: dict[str, int] = {}
        for name, domain, answer_type, _ in _BENCHMARKS:
            bench_ids[name] = int(conn.execute(
                insert(Benchmark).values(name=name, domain=str(domain), answer_type=str(answer_type),
                                         description="synthetic load-test data", synthetic=True)
            ).inserted_primary_key[0])
        model_ids: dict[str, int] = {}
        for name, size, size_b, _ in _MODELS:
            model_ids[name] = int(conn.execute(
                insert(Model).values(name=name, hf_id=None, family="synth", size=size, size_b=size_b,
                                     generation="synth", synthetic=True)
            ).inserted_primary_key[0])

        # Problems: the same P operand pairs for every benchmark; robust problems link to the gsm8k ones.
        operands = [(rng.randint(3, 40), rng.randint(4, 30)) for _ in range(per_run)]
        difficulty = [rng.random() for _ in range(per_run)]
        problem_ids: dict[str, list[int]] = {}
        next_pid = _next_id(conn, Problem)
        gsm_ids: list[int] = []
        for name, _domain, answer_type, _ in _BENCHMARKS:
            rows = []
            ids = list(range(next_pid, next_pid + per_run))
            next_pid += per_run
            for i, (a, b) in enumerate(operands):
                robust = name.endswith("_robust")
                aa = a + 1 if robust else a
                gold = aa * b - (b // 2 + 1)
                row = {
                    "id": ids[i], "benchmark_id": bench_ids[name], "key": str(i), "question": _question(rng, aa, b),
                    "choices": None, "reference_solution": f"{aa} * {b} = {aa * b}\n{aa * b} - {b // 2 + 1} = {gold}",
                    "reference_answer": str(gold), "metadata": {"synthetic": True}, "original_benchmark": None,
                    "original_key": None, "original_id": None,
                }
                if answer_type == AnswerType.CHOICE:
                    row["choices"] = [{"letter": L, "text": str(gold + d)} for L, d in zip("ABCD", (0, 3, -2, 7),
                                                                                          strict=True)]
                    row["reference_answer"] = "A"
                if robust:
                    row.update(original_benchmark="synth-gsm8k", original_key=str(i), original_id=gsm_ids[i])
                rows.append(row)
            for start in range(0, len(rows), BATCH):
                conn.execute(insert(Problem.__table__), rows[start:start + BATCH])
            problem_ids[name] = ids
            if name == "synth-gsm8k":
                gsm_ids = ids

        categories = list(_CATEGORY_WEIGHTS)
        weights = list(_CATEGORY_WEIGHTS.values())
        next_rid = _next_id(conn, Response)
        next_lid = _next_id(conn, CategoryLabel)
        written = 0
        gsm_correct: dict[str, list[bool]] = {}
        run_id = _next_id(conn, Run)
        runs_written = 0
        for mname, _size, _size_b, base in _MODELS:
            for bname, _domain, answer_type, shift in _BENCHMARKS:
                if written >= responses:
                    break
                conn.execute(insert(Run).values(
                    id=run_id, run_key=f"synth:{mname}:{bname}:{seed}", model_id=model_ids[mname],
                    benchmark_id=bench_ids[bname], source="synthetic", settings={"seed": seed}, status="finished",
                    started_at=now, finished_at=now, code_version="synth", synthetic=True,
                ))
                count = min(per_run, responses - written)
                resp_rows: list[dict[str, object]] = []
                label_rows: list[dict[str, object]] = []
                flag_rows: list[dict[str, object]] = []
                verdicts: list[bool] = []
                for i in range(count):
                    a, b = operands[i]
                    if bname.endswith("_robust"):
                        a += 1
                    gold = a * b - (b // 2 + 1)
                    correct = rng.random() < min(0.98, max(0.02, base + shift + (0.5 - difficulty[i]) * 0.6))
                    verdicts.append(correct)
                    rid = next_rid
                    next_rid += 1
                    category = confidence = source = None
                    if correct:
                        answer = str(gold)
                        text = _response_text(a, b, answer, wrong_step=None, claimed=None)
                    else:
                        category = rng.choices(categories, weights)[0]
                        if bname.endswith("_robust") and rng.random() < 0.15:
                            category = Category.MEMORIZED_ORIGINAL
                        claimed = a * b + rng.choice((-10, -1, 1, 10))
                        answer = str(claimed - (b // 2 + 1))
                        text = _response_text(a, b, answer, wrong_step=1, claimed=claimed)
                        source = LabelSource.JUDGE.value if rng.random() < 0.02 else LabelSource.RULE.value
                        confidence = round(rng.uniform(0.25, 0.6), 2) if category == Category.REASONING else 0.9
                        evidence = (
                            {"step": 1, "expression": f"{a} * {b}", "claimed": str(claimed), "actual": str(a * b)}
                            if category == Category.ARITHMETIC else {}
                        )
                        label_rows.append({
                            "id": next_lid, "response_id": rid, "category": str(category), "source": source,
                            "confidence": confidence, "first_error_step": 1, "evidence": evidence,
                            "categorizer_version": CATEGORIZER_VERSION, "author": None, "note": None,
                            "created_at": now,
                        })
                        next_lid += 1
                    extracted = answer
                    if answer_type == AnswerType.CHOICE:
                        extracted = "A" if correct else rng.choice("BCD")
                    published = correct if rng.random() > 0.02 else not correct
                    resp_rows.append({
                        "id": rid, "run_id": run_id, "problem_id": problem_ids[bname][i], "sample_index": 0,
                        "prompt": "", "text": text, "finish_reason": "stop", "prompt_tokens": None,
                        "completion_tokens": None, "latency_ms": None, "published_extracted": extracted,
                        "published_correct": published, "extracted": extracted,
                        "status": "correct" if correct else "incorrect", "correct": correct,
                        "grade_reason": "synthetic",
                        "grader_version": "synth", "graded_at": now,
                        "category": str(category) if category else None, "category_source": source,
                        "category_confidence": confidence, "created_at": now,
                    })
                    if bname.endswith("_robust") and not correct and gsm_correct.get(mname, [False] * count)[i]:
                        flag_rows.append({"response_id": rid, "flag": Flag.ROBUSTNESS_FLIP.value,
                                          "detail": {"original_problem_id": gsm_ids[i]}, "computed_at": now})
                    elif not correct and difficulty[i] > 0.995:
                        flag_rows.append({"response_id": rid, "flag": Flag.CONSENSUS_AGAINST_GOLD.value,
                                          "detail": {}, "computed_at": now})
                    if len(resp_rows) >= BATCH:
                        labels, flags = _flush(conn, resp_rows, label_rows, flag_rows, labels, flags)
                        resp_rows, label_rows, flag_rows = [], [], []
                labels, flags = _flush(conn, resp_rows, label_rows, flag_rows, labels, flags)
                if bname == "synth-gsm8k":
                    gsm_correct[mname] = verdicts
                written += count
                run_id += 1
                runs_written += 1
                if progress is not None:
                    progress(written)
    log.info("synthetic data: %d responses, %d labels, %d flags", written, labels, flags)
    return SynthCounts(
        benchmarks=len(_BENCHMARKS), models=len(_MODELS), runs=runs_written,
        problems=per_run * len(_BENCHMARKS), responses=written, labels=labels, flags=flags,
    )


def _flush(conn, resp_rows, label_rows, flag_rows, labels: int, flags: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    if resp_rows:
        conn.execute(insert(Response), resp_rows)
    if label_rows:
        conn.execute(insert(CategoryLabel), label_rows)
    if flag_rows:
        conn.execute(insert(ResponseFlag), flag_rows)
    return labels + len(label_rows), flags + len(flag_rows)

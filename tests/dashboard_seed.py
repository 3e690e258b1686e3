"""A small hand-made database with known numbers, shared by the query and dashboard tests.

Two models (7B, 70B) on gsm8k (in domain), gsm8k_robust (each problem linked to its gsm8k original) and a
tiny out-of-domain multiple-choice set. The expected figures below are worked out by hand.
"""

from __future__ import annotations

from sqlalchemy import Engine

from analysis.types import Flag, LabelSource
from db.labels import add_label
from db.models import Benchmark, Model, Problem, Response, ResponseFlag, Run
from db.session import session_scope

ARITH_TEXT = (
    "1. Tom has 12 boxes of 15 pens.\n2. 12 * 15 = 170 pens in all.\n3. He sells 5, so 170 - 5 = 165.\n#### 165"
)
ARITH_EVIDENCE = {"step": 2, "expression": "12 * 15", "claimed": "170", "actual": "180"}

# (model, benchmark) -> per problem index: (correct, published_correct)
VERDICTS = {
    ("M-7B", "gsm8k"): [(True, True), (False, False), (False, True), (True, True)],
    ("M-70B", "gsm8k"): [(True, True), (True, True), (False, False), (True, True)],
    ("M-7B", "gsm8k_robust"): [(False, False), (False, False), (False, False), (True, True)],
    ("M-70B", "gsm8k_robust"): [(True, True), (True, True), (True, True), (False, False)],
    ("M-70B", "tal_mc"): [(True, True), (False, False)],
}
# (model, benchmark, problem index) -> (category, source, confidence, evidence)
LABELS = {
    ("M-7B", "gsm8k", 1): ("arithmetic", LabelSource.RULE, 0.9, ARITH_EVIDENCE),
    ("M-7B", "gsm8k", 2): ("reasoning", LabelSource.RULE, 0.4, {}),
    ("M-70B", "gsm8k", 2): ("missing_step", LabelSource.RULE, 0.9, {}),
    ("M-7B", "gsm8k_robust", 0): ("memorized_original", LabelSource.RULE, 0.95, {}),
    ("M-7B", "gsm8k_robust", 1): ("misread_quantity", LabelSource.JUDGE, 0.7, {}),
    ("M-70B", "gsm8k_robust", 3): ("arithmetic", LabelSource.RULE, 0.3, {}),
    ("M-70B", "tal_mc", 1): ("option_mapping", LabelSource.RULE, 0.9, {}),
}
CONSENSUS = ("M-70B", "gsm8k", 2)

EXPECTED_FAILURES = 8
EXPECTED_NEEDS_REVIEW = 4  # M-7B gsm8k #2 (reasoning + disagreement), M-70B gsm8k #2 (consensus),
#                            M-7B robust #2 (uncategorized), M-70B robust #3 (confidence 0.3)
EXPECTED_RESPONSES = 18


def seed(engine: Engine) -> dict[tuple[str, str, int], int]:
    """Fill the database; returns response ids by (model, benchmark, problem index)."""
    ids: dict[tuple[str, str, int], int] = {}
    with session_scope(engine) as s:
        benches = {
            "gsm8k": Benchmark(name="gsm8k", domain="in_domain", answer_type="number"),
            "gsm8k_robust": Benchmark(name="gsm8k_robust", domain="robustness", answer_type="number"),
            "tal_mc": Benchmark(name="tal_mc", domain="out_of_domain", answer_type="choice"),
        }
        models = {
            "M-7B": Model(name="M-7B", family="M", size="7B", size_b=7.0, generation="M-1"),
            "M-70B": Model(name="M-70B", family="M", size="70B", size_b=70.0, generation="M-1"),
        }
        s.add_all([*benches.values(), *models.values()])
        s.flush()
        problems: dict[str, list[Problem]] = {}
        for name in ("gsm8k", "gsm8k_robust"):
            problems[name] = []
            for i in range(4):
                p = Problem(
                    benchmark_id=benches[name].id, key=str(i),
                    question=f"Tom has {12 + i} boxes of 15 pens ({name} question {i}). How many pens are left?",
                    reference_solution=f"{12 + i} * 15 = {(12 + i) * 15}", reference_answer=str(175 + i), meta={},
                )
                if name == "gsm8k_robust":
                    p.original_benchmark, p.original_key = "gsm8k", str(i)
                    p.original_id = problems["gsm8k"][i].id
                s.add(p)
                s.flush()
                problems[name].append(p)
        problems["tal_mc"] = []
        for i in range(2):
            p = Problem(benchmark_id=benches["tal_mc"].id, key=str(i), question=f"Pick the prime ({i}).",
                        choices=[{"letter": "A", "text": "4"}, {"letter": "B", "text": "7"}], reference_answer="B",
                        meta={})
            s.add(p)
            s.flush()
            problems["tal_mc"].append(p)
        for (mname, bname), verdicts in VERDICTS.items():
            run = Run(run_key=f"test:{mname}:{bname}", model_id=models[mname].id, benchmark_id=benches[bname].id,
                      source="import", status="finished")
            s.add(run)
            s.flush()
            for i, (correct, published) in enumerate(verdicts):
                prob = problems[bname][i]
                answer = prob.reference_answer if correct else "165"
                text = ARITH_TEXT if (mname, bname, i) == ("M-7B", "gsm8k", 1) else f"1. Work.\n2. Done.\n#### {answer}"
                r = Response(run_id=run.id, problem_id=prob.id, text=text, finish_reason="stop", extracted=answer,
                             status="correct" if correct else "incorrect", correct=correct,
                             published_correct=published, published_extracted=answer)
                s.add(r)
                s.flush()
                ids[(mname, bname, i)] = r.id
        for key, (cat, source, conf, evidence) in LABELS.items():
            add_label(s, ids[key], cat, source=source, confidence=conf, evidence=evidence,
                      first_error_step=evidence.get("step"), categorizer_version="test")
        s.add(ResponseFlag(response_id=ids[CONSENSUS], flag=Flag.CONSENSUS_AGAINST_GOLD.value, detail={}))
    return ids

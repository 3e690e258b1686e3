"""Evidence in words: each detector's evidence shape reads as one sentence; GitHub bodies keep it escaped."""

from __future__ import annotations

import re

import pytest

from analysis.categorize.describe import describe_evidence
from analysis.limitations import CandidateFix, Example, LimitationReport, LimitationSpec, render_block


def _code(v: str) -> str:
    return f"`{v}`"


@pytest.mark.parametrize(
    ("category", "evidence", "expected"),
    [
        ("arithmetic", {"step": 2, "expression": "68 * 3", "claimed": "194", "actual": "204"},
         "`68 * 3` is written as `194`; it is `204`"),
        ("arithmetic", {"algebra": "transformation", "variable": "x", "expression": "36 - x + 15 = 0",
                        "claimed": "36 - x = 0", "actual": "51", "written": "36"},
         "the equation `36 - x + 15 = 0` is rewritten as `36 - x = 0`, which changes its solution from x = `51` "
         "to x = `36`"),
        ("missing_step", {"answer": "12", "gold": "13", "reference_intermediate": "90/7.5=12"},
         "answers `12`, an intermediate value of the reference solution (`90/7.5=12`), not the asked quantity "
         "(`13`)"),
        ("misread_quantity", {"quantity": "7 days", "question_says": "6 days every week", "expression": "4 * 7"},
         "uses `7 days` in `4 * 7` where the question says `6 days every week`"),
        ("misread_quantity", {"quantity": "2000", "question_numbers": ["200", "40"]},
         "uses `2000`, which neither the question nor an earlier step gives (it gives `200`, `40`)"),
        ("unit_conversion", {"answer": "5700", "gold": "95", "factor": 60, "relation": "answer = gold × 60"},
         "the answer `5700` is off from gold `95` by a unit factor (answer = gold × 60)"),
        ("memorized_original", {"answer": "4", "original_gold": "4", "gold": "7"},
         "answers `4`, the original problem's answer (this variant's is `7`)"),
        ("option_mapping", {"computed": "80,000", "gold_option": "D. $$80000$$ ", "chosen": "C"},
         "computes `80,000`, which is option `D. $$80000$$`, but chooses `C`"),
        ("reasoning", {"note": "no rule detector fired", "extracted": "1", "gold": "7"},
         "no rule detector fired (answer `1`, gold `7`)"),
        ("reasoning", {"some_future_key": "x = 3", "step": 4}, "some_future_key: `x = 3`"),
        ("reasoning", {}, "no evidence recorded"),
    ],
)
def test_each_evidence_shape_reads_as_a_sentence(category: str, evidence: dict, expected: str) -> None:
    assert describe_evidence(category, evidence, code=_code) == expected


def test_issue_bodies_describe_evidence_and_escape_model_text() -> None:
    nasty = "@octocat #12 <script>alert(1)</script> | `x`"
    example = Example(response_id=7, model="Abel-7B-001", benchmark="gsm8k", problem_key="3", question="q",
                      category="misread_quantity", answer="5", gold="6", first_error_step=2,
                      evidence={"quantity": nasty, "question_says": nasty, "expression": "2 * 3"})
    spec = LimitationSpec(slug="problem-understanding", title="Problem understanding", description="d",
                          categories=("misread_quantity",), candidate_fixes=(CandidateFix("fix"),))
    body = render_block(LimitationReport(spec=spec, examples=(example,)))
    line = next(ln for ln in body.splitlines() if "first error" in ln)
    assert line.startswith("  - first error: step 2: uses ")
    assert "where the question says" in line
    outside_code = re.sub(r"(`+)(.+?)\1", "", line)  # GitHub renders code spans literally
    assert nasty not in outside_code
    for fragment in ("@octocat", "#12", "<script>"):
        assert fragment not in outside_code

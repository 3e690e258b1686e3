"""The optional judge hook: prompt building, verdict parsing (with the first wrong step), batches, and judge labels
stored by db.categorize."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Engine, select

from analysis.categorize import FailureInput, categorize_failure, split_steps
from analysis.judge import (
    JUDGE_CATEGORIES,
    JudgeVerdict,
    PromptJudge,
    build_prompt,
    fill_template,
    judge_batch,
    numbered_response,
    parse_verdict,
)
from analysis.types import Category, Choice
from db.categorize import categorize, judge_fallbacks
from db.models import CategoryLabel, Response
from db.session import session_scope
from tests.test_categorize_db import _seed

_INP = FailureInput(question="Tom has 5 apples and buys 3 more. How many? Use {braces} and {choices}", gold="8",
                    response="1. Tom has 5 apples.\n2. 5 - 3 = 2. #### 2")
_ANSWER = "STEP: 2\nCATEGORY: misread_quantity\nCONFIDENCE: 0.7\nRATIONALE: Step 2 subtracts the 3 bought apples."


def test_prompt_holds_the_case_and_the_rule_note() -> None:
    rule = categorize_failure(_INP)
    prompt = build_prompt(_INP, rule)
    assert "Tom has 5 apples and buys 3 more" in prompt
    assert "{braces} and {choices}" in prompt  # LaTeX-like braces and placeholder names in values stay literal
    assert "Reference answer: 8" in prompt and "no rule detector fired (answer 2, gold 8)" in prompt
    assert "[1] 1. Tom has 5 apples.\n[2] 2. 5 - 3 = 2. #### 2" in prompt
    assert "STEP:" in prompt and "CATEGORY:" in prompt
    # Absent parts leave no trace: no reference solution, no options, no original problem.
    for header in ("Reference solution", "Options:", "The original problem was", "{#", "{/"):
        assert header not in prompt, header


def test_prompt_gives_reference_options_and_the_original_when_there_are_some() -> None:
    inp = FailureInput(
        question=r"Which is $\frac{1}{2}$ of 10?", gold="B", response="1. Half of 10 is 4.\n2. So A. #### A",
        extracted="A", choices=(Choice("A", "4"), Choice("B", "5")),
        reference_solution="10 / 2 = <<10/2=5>>5\n#### 5",
        original_question="Which is half of 12?", original_gold="6", original_reference_solution="N/A",
    )
    prompt = build_prompt(inp, categorize_failure(inp))
    assert r"$\frac{1}{2}$ of 10" in prompt
    assert "Options:\nA. 4\nB. 5\n" in prompt and "Reference answer: B (5)" in prompt
    assert "final answer: A (4)" in prompt
    assert "10 / 2 = <<10/2=5>>5" in prompt
    assert "Which is half of 12?" in prompt and "The original's answer: 6" in prompt
    assert "original's reference solution" not in prompt  # "N/A" is no reference


def test_template_sections_nest_and_only_named_placeholders_are_filled() -> None:
    template = "A{#x}\n<{x}{#y}\n[{y}]{/y}>\n{/x}B {z} {unknown}"
    assert fill_template(template, {"x": "1", "y": "2", "z": "{y}"}) == "A<1[2]>\nB {y} {unknown}"
    assert fill_template(template, {"x": "1", "y": "", "z": "3"}) == "A<1>\nB 3 {unknown}"
    assert fill_template(template, {"x": "", "y": "2", "z": "3"}) == "AB 3 {unknown}"


def test_long_responses_are_cut_between_steps_with_a_note() -> None:
    response = "\n".join(f"{i}. " + "word " * 50 for i in range(1, 11))
    text = numbered_response(response, limit=600)
    assert text.startswith("[1] 1. word") and "[3] 3. word" in text and "[4]" not in text
    assert text.endswith("(the last 7 steps are cut)")


def test_verdicts_are_parsed_strictly_in_category_and_leniently_in_form() -> None:
    v = parse_verdict("CATEGORY: misread_quantity\nCONFIDENCE: 0.8\nRATIONALE: step 1 subtracts what was bought.")
    assert v is not None and v.category is Category.MISREAD_QUANTITY and v.confidence == 0.8 and v.step is None
    assert parse_verdict("CATEGORY: truncated\nCONFIDENCE: 1") is None  # output-level: the rules' job
    assert parse_verdict("I think it is arithmetic") is None
    assert parse_verdict("CATEGORY: arithmetic\nCONFIDENCE: lots").confidence == 0.5  # type: ignore[union-attr]
    fancy = parse_verdict("**STEP:** [3]\n**CATEGORY:** Missing step\n- Confidence: 85%\nRationale: leaves Jack out")
    assert fancy == JudgeVerdict(Category.MISSING_STEP, 0.85, "leaves Jack out", 3)


@pytest.mark.parametrize(("line", "step"), [
    ("STEP: 4", 4), ("STEP: Step 4.", 4), ("step: 4 (where the round trip is dropped)", 4), ("STEP: [12]", 12),
    ("STEP: none", None), ("STEP: N/A", None), ("STEP: 0", None), ("STEP: 5 * 4 = 20", None), ("", None),
])
def test_the_step_line_is_read_leniently(line: str, step: int | None) -> None:
    verdict = parse_verdict(f"{line}\nCATEGORY: reasoning\nCONFIDENCE: 0.6\nRATIONALE: r")
    assert verdict is not None and verdict.step == step


def test_notes_before_the_verdict_lines_do_not_count() -> None:
    text = ("Step 1: restates the problem, fine.\nStep 2: 5 - 3 = 2 is right as a calculation.\n"
            "Category: arithmetic? No, the plan is wrong.\n\n" + _ANSWER)
    verdict = parse_verdict(text)
    assert verdict is not None and verdict.category is Category.MISREAD_QUANTITY and verdict.step == 2


def test_a_batch_is_one_call_and_steps_beyond_the_response_are_dropped() -> None:
    calls: list[list[str]] = []

    def complete_many(prompts: list[str]) -> list[str]:
        calls.append(prompts)
        return [_ANSWER, _ANSWER.replace("STEP: 2", "STEP: 9"), "no idea"]

    judge = PromptJudge(complete_many=complete_many)
    rule = categorize_failure(_INP)
    verdicts = judge_batch(judge, [(_INP, rule)] * 3)
    assert len(calls) == 1 and len(calls[0]) == 3 and all("Tom has 5 apples" in p for p in calls[0])
    assert [v.step if v else "unreadable" for v in verdicts] == [2, None, "unreadable"]  # _INP has 2 steps
    assert len(split_steps(_INP.response)) == 2


def test_a_model_that_answers_too_few_prompts_is_an_error_not_a_shift() -> None:
    judge = PromptJudge(complete_many=lambda prompts: [_ANSWER])
    with pytest.raises(ValueError, match="answered 1 of 2"):
        judge.judge_many([(_INP, categorize_failure(_INP))] * 2)
    with pytest.raises(ValueError, match="exactly one"):
        PromptJudge()


def test_single_prompt_judges_and_plain_callables_still_work() -> None:
    rule = categorize_failure(_INP)
    single = PromptJudge(lambda prompt: _ANSWER)
    assert single(_INP, rule) == JudgeVerdict(Category.MISREAD_QUANTITY, 0.7, "Step 2 subtracts the 3 bought apples.",
                                              2)

    def plain(inp: FailureInput, rule: object) -> JudgeVerdict:
        return JudgeVerdict(Category.REASONING, 0.5, inp.gold)

    assert [v.rationale for v in judge_batch(plain, [(_INP, rule)] * 2) if v] == ["8", "8"]
    assert Category.REASONING in JUDGE_CATEGORIES and Category.TRUNCATED not in JUDGE_CATEGORIES


def test_judge_labels_refine_the_fallback_once_and_keep_the_step(engine: Engine) -> None:
    ids = _seed(engine)
    categorize(engine)
    prompts: list[str] = []

    def fake_model(prompt: str) -> str:
        prompts.append(prompt)
        return _ANSWER

    counts = judge_fallbacks(engine, PromptJudge(fake_model))
    assert counts == {"misread_quantity": 1}  # only the one `reasoning` fallback is judged
    rid = ids["reasoning-fallback"]
    with session_scope(engine) as s:
        assert s.scalar(select(Response.category).where(Response.id == rid)) == "misread_quantity"
        assert s.scalar(select(Response.category_source).where(Response.id == rid)) == "judge"
        sources = sorted(s.scalars(select(CategoryLabel.source).where(CategoryLabel.response_id == rid)))
        judge_label = s.scalars(select(CategoryLabel).where(CategoryLabel.source == "judge")).one()
        assert (judge_label.first_error_step, judge_label.confidence) == (2, 0.7)
        assert judge_label.evidence == {"rationale": "Step 2 subtracts the 3 bought apples."}
    assert sources == ["judge", "rule"]
    assert judge_fallbacks(engine, PromptJudge(fake_model)) == {}  # already judged
    assert len(prompts) == 1


class _CountingJudge:
    """A batch judge that records the batches it is given; says `reasoning` (confirms) without a step."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, inp: FailureInput, rule: object) -> JudgeVerdict | None:
        raise AssertionError("judge_fallbacks must send batches")

    def judge_many(self, items: Sequence[tuple[FailureInput, object]]) -> list[JudgeVerdict | None]:
        self.batches.append(len(items))
        return [JudgeVerdict(Category.REASONING, 0.6, "wrong plan") if i % 2 == 0 else None
                for i in range(len(items))]


def test_judge_fallbacks_sends_each_chunk_as_one_batch(tmp_path, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from tests.test_cli_judge import _fill

    fallbacks = _fill(tmp_path, engine, copies=3)  # 6 `reasoning` fallbacks
    assert len(fallbacks) == 6
    judge = _CountingJudge()
    counts = judge_fallbacks(engine, judge, batch_size=4)
    assert judge.batches == [4, 2]
    assert counts == {"reasoning": 3, "unreadable": 3}  # every other verdict unreadable: 2 + 1
    # Unreadable answers leave no label, so the next call asks about those 3 again, in one batch.
    assert judge_fallbacks(engine, judge, batch_size=4) == {"reasoning": 2, "unreadable": 1}
    assert judge.batches == [4, 2, 3]
    with session_scope(engine) as s:
        steps = s.execute(select(CategoryLabel.first_error_step).where(CategoryLabel.source == "judge")).all()
    assert len(steps) == 5 and all(step is None for (step,) in steps)  # no STEP given, none stored
    with pytest.raises(ValueError):
        judge_fallbacks(engine, judge, batch_size=0)

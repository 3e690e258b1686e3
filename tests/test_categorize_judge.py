"""The optional judge hook: prompt building, verdict parsing, and judge labels stored by db.categorize."""

from __future__ import annotations

from sqlalchemy import Engine, select

from analysis.categorize import FailureInput, categorize_failure
from analysis.judge import PromptJudge, build_prompt, parse_verdict
from analysis.types import Category
from db.categorize import categorize, judge_fallbacks
from db.models import CategoryLabel, Response
from db.session import session_scope
from tests.test_categorize_db import _seed

_INP = FailureInput(question="Tom has 5 apples and buys 3 more. How many? Use {braces}", gold="8",
                    response="1. 5 - 3 = 2. #### 2")


def test_prompt_holds_the_case_and_the_rule_suggestion() -> None:
    rule = categorize_failure(_INP)
    prompt = build_prompt(_INP, rule)
    assert "Tom has 5 apples" in prompt and "{braces}" in prompt
    assert "Reference answer: 8" in prompt and "suggested: reasoning" in prompt


def test_verdicts_are_parsed_strictly() -> None:
    v = parse_verdict("CATEGORY: misread_quantity\nCONFIDENCE: 0.8\nRATIONALE: step 1 subtracts what was bought.")
    assert v is not None and v.category is Category.MISREAD_QUANTITY and v.confidence == 0.8
    assert parse_verdict("CATEGORY: truncated\nCONFIDENCE: 1") is None  # output-level: the rules' job
    assert parse_verdict("I think it is arithmetic") is None
    assert parse_verdict("CATEGORY: arithmetic\nCONFIDENCE: lots").confidence == 0.5  # type: ignore[union-attr]


def test_judge_labels_refine_the_fallback_once(engine: Engine) -> None:
    ids = _seed(engine)
    categorize(engine)
    prompts: list[str] = []

    def fake_model(prompt: str) -> str:
        prompts.append(prompt)
        return "CATEGORY: misread_quantity\nCONFIDENCE: 0.7\nRATIONALE: Step 2 subtracts the 3 bought apples."

    counts = judge_fallbacks(engine, PromptJudge(fake_model))
    assert counts == {"misread_quantity": 1}  # only the one `reasoning` fallback is judged
    rid = ids["reasoning-fallback"]
    with session_scope(engine) as s:
        assert s.scalar(select(Response.category).where(Response.id == rid)) == "misread_quantity"
        assert s.scalar(select(Response.category_source).where(Response.id == rid)) == "judge"
        sources = sorted(s.scalars(select(CategoryLabel.source).where(CategoryLabel.response_id == rid)))
    assert sources == ["judge", "rule"]
    assert judge_fallbacks(engine, PromptJudge(fake_model)) == {}  # already judged
    assert len(prompts) == 1

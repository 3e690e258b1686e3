"""Prompt templates: Abel's prompt reproduced byte for byte from the benchmark files, the chat template, and
the question parser for Abel's prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.benchmarks import get_benchmark
from analysis.prompts import (
    ABEL_TEMPLATE,
    CHAT_TEMPLATE,
    NotAnAbelPrompt,
    PromptTemplate,
    UnknownTemplate,
    get_template,
    question_from_abel_prompt,
    question_with_options,
    render_messages,
    render_prompt,
)
from analysis.types import Choice, Problem

CHOICE_PROBLEM = Problem(
    "tal_scq5k_en", "0", "What is $$1+1$$? ", "B", choices=(Choice("A", "$$1$$ "), Choice("B", "$$2$$ ")),
)


def _abel_rows(abel_outputs: Path, folder: str, size: str) -> list[dict]:
    with (abel_outputs / folder / f"{size}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _problems(benchmarks_dir: Path, name: str) -> dict[str, Problem]:
    spec = get_benchmark(name)
    problems, errors = spec.load(benchmarks_dir / spec.default_file)
    assert not errors
    return {p.key: p for p in problems}


def test_abel_template_text() -> None:
    assert ABEL_TEMPLATE.template == "Question:\n{question}\nAnswer:\nLet's think step by step.\n"
    assert render_prompt(ABEL_TEMPLATE, Problem("gsm8k", "0", "What is 1+1?", "2")) == (
        "Question:\nWhat is 1+1?\nAnswer:\nLet's think step by step.\n"
    )


def test_multiple_choice_layout() -> None:
    assert render_prompt(ABEL_TEMPLATE, CHOICE_PROBLEM) == (
        "Question:\nWhat is $$1+1$$? \nYou are provided with the following options for your answer:\n"
        "A. $$1$$ \nB. $$2$$ \nAnswer:\nLet's think step by step.\n"
    )


def test_tal_scq5k_prompts_equal_abels_for_all_2000(benchmarks_dir: Path, abel_outputs: Path) -> None:
    problems = _problems(benchmarks_dir, "tal_scq5k_en")
    rows = _abel_rows(abel_outputs, "mathgpt", "70b")
    assert len(rows) == 2000
    mismatched = [r["id"] for r in rows if render_prompt(ABEL_TEMPLATE, problems[str(r["id"])]) != r["prompt"]]
    assert mismatched == []
    assert all(problems[str(r["id"])].answer == r["gold"] for r in rows)


@pytest.mark.parametrize("folder", ["gsm8k", "gsm8k_robust"])
def test_gsm8k_prompts_equal_abels_for_all_1319(benchmarks_dir: Path, abel_outputs: Path, folder: str) -> None:
    problems = _problems(benchmarks_dir, folder)
    rows = _abel_rows(abel_outputs, folder, "7b")
    assert len(rows) == 1319
    mismatched = [r["id"] for r in rows if render_prompt(ABEL_TEMPLATE, problems[str(r["id"])]) != r["prompt"]]
    assert mismatched == []


def test_question_from_abel_prompt_round_trips(benchmarks_dir: Path, abel_outputs: Path) -> None:
    for folder, name in (("mathgpt", "tal_scq5k_en"), ("gsm8k", "gsm8k")):
        problems = _problems(benchmarks_dir, name)
        for row in _abel_rows(abel_outputs, folder, "70b"):
            assert question_from_abel_prompt(row["prompt"]) == question_with_options(problems[str(row["id"])])
    # the options stay in the question text for multiple choice
    tal = _abel_rows(abel_outputs, "mathgpt", "70b")[0]
    assert question_from_abel_prompt(tal["prompt"]).endswith(
        "\nD. a = 0.2 rad/s\\textsuperscript{2~}$\\Delta\\theta$~= 1.2 radians "
    )


def test_question_from_abel_prompt_uses_the_last_answer_marker() -> None:
    prompt = render_prompt(ABEL_TEMPLATE, Problem("x", "0", "Line one\nAnswer: is it 3?", "3"))
    assert question_from_abel_prompt(prompt) == "Line one\nAnswer: is it 3?"


@pytest.mark.parametrize("prompt", ["What is 1+1?", "Question:\nno answer marker", "Q:\nx\nAnswer:\n"])
def test_question_from_a_non_abel_prompt_is_an_error(prompt: str) -> None:
    with pytest.raises(NotAnAbelPrompt):
        question_from_abel_prompt(prompt)


def test_render_keeps_braces_in_questions() -> None:
    p = Problem("math500", "x", "Compute $\\frac{1}{2} + {x}$.", "1")
    assert "$\\frac{1}{2} + {x}$" in render_prompt(ABEL_TEMPLATE, p)


def test_chat_messages() -> None:
    messages = render_messages(CHOICE_PROBLEM)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == CHAT_TEMPLATE.system
    assert messages[1]["content"].startswith("What is $$1+1$$? \nYou are provided with the following options")
    assert "B. $$2$$ " in messages[1]["content"] and "####" in messages[1]["content"]
    no_system = PromptTemplate("plain-chat", "{question}", kind="chat")
    assert render_messages(CHOICE_PROBLEM, no_system) == [
        {"role": "user", "content": question_with_options(CHOICE_PROBLEM)}
    ]


def test_templates_are_serialisable_and_looked_up_by_name() -> None:
    for template in (ABEL_TEMPLATE, CHAT_TEMPLATE):
        data = json.loads(json.dumps(template.to_dict()))
        assert PromptTemplate.from_dict(data) == template
        assert get_template(template.name) is template
    with pytest.raises(UnknownTemplate, match="abel, chat"):
        get_template("alpaca")


def test_template_validation() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        PromptTemplate("bad", "no placeholder here")
    with pytest.raises(ValueError, match="kind"):
        PromptTemplate("bad", "{question}", kind="voice")

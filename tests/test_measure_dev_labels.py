"""benchmarks/measure_dev_labels.py: rules alone vs rules + judge on the hand labels, with a loopback judge model
that answers from the hand labels themselves (an oracle), garbage, or through the one command a user runs."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from analysis.categorize import FailureInput, categorize_failure
from analysis.categorize.agreement import HandLabel, load_hand_labels
from analysis.engines import SamplingSettings, make_engine
from analysis.judge import JUDGE_CATEGORIES, engine_judge, numbered_response
from analysis.types import Category
from tests.openai_server import AbelOutputsServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "measure_dev_labels.py"
LABELS = ROOT / "tests" / "data" / "categorize_dev_labels.jsonl"
_JUDGEABLE = {c.value for c in JUDGE_CATEGORIES}


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("measure_dev_labels", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _load_script()


@pytest.fixture(scope="module")
def real_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    from tests.conftest import ABEL_OUTPUTS, BENCHMARKS, require_path

    require_path(ABEL_OUTPUTS)
    require_path(BENCHMARKS)
    from db.grading import grade_responses
    from db.importer import import_abel_outputs
    from db.session import make_engine as make_db

    path = tmp_path_factory.mktemp("measure") / "abel.db"
    engine = make_db(f"sqlite:///{path}")
    import_abel_outputs(engine, ABEL_OUTPUTS, benchmarks_dir=BENCHMARKS)
    grade_responses(engine)
    yield engine, path
    engine.dispose()


@pytest.fixture(scope="module")
def labelled(real_db: tuple[Any, Path]) -> list[tuple[HandLabel, FailureInput]]:
    from db.categorize import hand_labelled_inputs

    labels = load_hand_labels(LABELS)
    inputs = hand_labelled_inputs(real_db[0], [(lab.run, lab.key) for lab in labels])
    return [(lab, inputs[(lab.run, lab.key)]) for lab in labels]


def _oracle_answers(labelled: list[tuple[HandLabel, FailureInput]]) -> dict[tuple[str, str], tuple[str, int | None]]:
    """(question, response) -> the hand (category, step) an oracle judge answers. Two labels of one identical
    question and response may differ (gsm8k/13b and gsm8k_robust/13b 1140, test3 and dev): the prompt cannot tell
    them apart, so the oracle gives the first in file order."""
    answers: dict[tuple[str, str], tuple[str, int | None]] = {}
    for lab, inp in labelled:
        answers.setdefault((inp.question, inp.response), (lab.category, lab.first_error_step))
    return answers


def _oracle(labelled: list[tuple[HandLabel, FailureInput]], misses: list[str]) -> Callable[[str, str], str]:
    """A judge model that knows the hand labels: it finds the failure whose question and (numbered) response are in
    the prompt and answers its hand category and step, in one of several formats a real model writes. A prompt
    that names no labelled failure is recorded in `misses` (and answered with nothing readable)."""
    answers = _oracle_answers(labelled)
    rendered = [(question, numbered_response(response), answer) for (question, response), answer in answers.items()]
    asked: list[str] = []

    def respond(model: str, prompt: str) -> str:
        found = [answer for question, response, answer in rendered if question in prompt and response in prompt]
        if len(found) != 1:
            misses.append(prompt)
            return "no idea"
        category, step = found[0]
        asked.append(category)
        step_text = "none" if step is None else str(step)
        styles = [
            f"STEP: {step_text}\nCATEGORY: {category}\nCONFIDENCE: 0.9\nRATIONALE: as the hand label says",
            f"[1] restates the problem: fine.\nStep 2: checked.\n\n**STEP:** {step_text}\n**CATEGORY:** `{category}`\n"
            "**CONFIDENCE:** 90%\n**RATIONALE:** as the hand label says",
            f"Step: Step {step_text}.\nCategory: {category.replace('_', ' ').capitalize()}\nConfidence: 0.8\n"
            "Rationale: as the hand label says",
        ]
        return styles[len(asked) % len(styles)]

    return respond


def _judge_on(server: AbelOutputsServer, **engine_kwargs: Any) -> tuple[Any, Any]:
    llm = make_engine("openai", base_url=server.url, model="judge-model", **engine_kwargs)
    return llm, engine_judge(llm, SamplingSettings(temperature=0.0, max_tokens=256))


def test_rules_alone_match_the_categorizer(script: ModuleType, real_db, labelled) -> None:  # type: ignore[no-untyped-def]
    m = script.measure(real_db[0], [lab for lab, _ in labelled])
    expected = sum((categorize_failure(inp).category or "correct") == lab.category for lab, inp in labelled)
    assert (m.rules.n, m.rules.correct) == (len(labelled), expected)
    assert m.combined is None and m.judged == 0 and all(not r["asked"] for r in m.records)


def test_an_oracle_judge_closes_exactly_the_judgeable_part_of_the_gap(  # type: ignore[no-untyped-def]
    script: ModuleType, real_db, labelled, tmp_path: Path
) -> None:
    rules = {(lab.run, lab.key): categorize_failure(inp).category for lab, inp in labelled}
    oracle = _oracle_answers(labelled)
    fallbacks = [(lab, oracle[(inp.question, inp.response)]) for lab, inp in labelled
                 if rules[(lab.run, lab.key)] is Category.REASONING]
    rules_right = sum((rules[(lab.run, lab.key)] or "correct") == lab.category for lab, _ in labelled)
    # Every fallback is asked; a verdict replaces it when a judge may give the oracle's category.
    kept_right = sum(rules[(lab.run, lab.key)] is not Category.REASONING and rules[(lab.run, lab.key)] == lab.category
                     for lab, _ in labelled)
    expected = kept_right + sum(cat == lab.category and cat in _JUDGEABLE for lab, (cat, _) in fallbacks)
    not_judgeable = sum(cat not in _JUDGEABLE for _, (cat, _) in fallbacks)

    misses: list[str] = []
    server = AbelOutputsServer(tmp_path, models={"judge-model": ()}, responder=_oracle(labelled, misses)).start()
    llm, judge = _judge_on(server, concurrency=8)
    try:
        m = script.measure(real_db[0], [lab for lab, _ in labelled], judge, batch_size=64)
    finally:
        llm.close()
        server.stop()
    assert misses == []
    assert m.combined is not None
    assert (m.rules.correct, m.judged, server.prompts_served) == (rules_right, len(fallbacks), len(fallbacks))
    assert m.combined.correct == expected > m.rules.correct
    assert m.unreadable == not_judgeable  # e.g. a hand `repetition` is no verdict a judge may give
    assert sum(m.verdicts.values()) == len(fallbacks) - not_judgeable
    by_key = {(lab.run, lab.key): answer for lab, answer in fallbacks}
    for record in m.records:
        if record["judge"] is not None:  # the verdict and its step arrive intact, whatever the answer's format
            assert (record["judge"]["category"], record["judge"]["step"]) == by_key[(record["run"], record["key"])]
    report = script.format_measurement(m, "all")
    assert f"rules + judge, all\ncategory agreement: {expected}/{len(labelled)}" in report
    assert f"unreadable {not_judgeable}" in report


def test_a_garbage_judge_changes_nothing(script: ModuleType, real_db, labelled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    labels = [lab for lab, _ in labelled if lab.split == "test4"]
    server = AbelOutputsServer(tmp_path, models={"judge-model": ()},
                               responder=lambda model, prompt: "It is hard to say what went wrong here.").start()
    llm, judge = _judge_on(server)
    try:
        m = script.measure(real_db[0], labels, judge)
    finally:
        llm.close()
        server.stop()
    assert m.combined is not None and m.judged > 0
    assert m.unreadable == m.judged == server.prompts_served
    assert (m.combined.correct, m.combined.confusion, m.combined.step_agree) == (
        m.rules.correct, m.rules.confusion, m.rules.step_agree)


def test_the_one_command(script: ModuleType, real_db, labelled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    misses: list[str] = []
    server = AbelOutputsServer(tmp_path, models={"judge-model": ()}, responder=_oracle(labelled, misses)).start()
    saved = tmp_path / "verdicts.jsonl"
    try:
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--db", str(real_db[1]), "--split", "test4", "--limit", "40",
             "--judge-url", server.url, "--judge-model", "judge-model", "--save", str(saved),
             "--prompt-format", "completion", "--prompts-per-request", "4", "--batch-size", "100"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr
    assert misses == []
    out = proc.stdout
    assert "rules alone, split: test4 (40 failures)" in out and "rules + judge, split: test4 (40 failures)" in out
    records = [json.loads(line) for line in saved.read_text().splitlines()]
    asked = [r for r in records if r["asked"]]
    assert len(records) == 40 and asked and all(r["rule"] == "reasoning" for r in asked)
    assert f"asked about {len(asked)} `reasoning` fallbacks" in out
    # One engine call for the whole batch, 4 completion prompts per request.
    assert (server.prompts_served, server.requests) == (len(asked), math.ceil(len(asked) / 4))


def test_the_command_says_what_is_missing(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--judge-model", "m", "--db", str(tmp_path / "x.db")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "needs --judge-url" in proc.stderr

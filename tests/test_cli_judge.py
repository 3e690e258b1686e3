"""`abel-triage judge` end to end: a judge model served on loopback refines `reasoning` fallbacks into judge labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from db.categorize import categorize
from db.cli import app
from db.cli.common import CliError
from db.grading import grade_responses
from db.importer import import_abel_outputs
from db.labels import add_human_label
from db.models import CategoryLabel, Response
from tests.openai_server import AbelOutputsServer

_VERDICT = "STEP: 2\nCATEGORY: misread_quantity\nCONFIDENCE: 0.7\nRATIONALE: uses a number the question never gives"


def _fill(tmp_path: Path, engine, copies: int = 1) -> list[int]:  # type: ignore[no-untyped-def]
    """Import `2 * copies` failures that the rules leave in the `reasoning` fallback; returns their ids."""
    lines = []
    cases = [
        ("Tom has some apples and buys more. How many now?",
         "1. He has apples and buys more.\n2. So he has 7 apples. #### 7", "5"),
        ("A box holds pens. How many pens in two boxes?",
         "1. A box holds pens.\n2. Two boxes hold 9 pens. #### 9", "12"),
    ]
    for i in range(copies * len(cases)):
        question, answer, gold = cases[i % len(cases)]
        prompt = f"Question:\n{question} (copy {i // len(cases)})\nAnswer:\nLet's think step by step.\n"
        lines.append(json.dumps({"id": i, "prompt": prompt, "response": answer, "pred": answer[-1], "gold": gold,
                                 "result": False}))
    (tmp_path / "o" / "gsm8k").mkdir(parents=True)
    (tmp_path / "o" / "gsm8k" / "7b.jsonl").write_text("\n".join(lines) + "\n")
    import_abel_outputs(engine, tmp_path / "o")
    grade_responses(engine)
    categorize(engine)
    with Session(engine) as s:
        return list(s.scalars(select(Response.id).where(Response.category == "reasoning").order_by(Response.id)))


def test_judge_labels_fallbacks_once_and_never_overrides_a_human(tmp_path: Path, engine, db_url: str) -> None:  # type: ignore[no-untyped-def]
    fallbacks = _fill(tmp_path, engine)
    assert len(fallbacks) == 2, "both hand-made failures should fall back to reasoning"
    with Session(engine) as s:
        add_human_label(s, fallbacks[1], "reasoning", author="ana", note="checked")
        s.commit()
    prompts: list[str] = []

    def respond(model: str, prompt: str) -> str:
        prompts.append(prompt)
        return "Step [1] restates the problem.\n" + _VERDICT

    server = AbelOutputsServer(tmp_path, models={"judge-model": ()}, responder=respond).start()
    try:
        args = ["--db", db_url, "judge", "--model", "judge-model", "--base-url", server.url, "--json"]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        assert json.loads(first.output) == {"misread_quantity": 2}
        assert server.requests == 2  # chat prompts (the default format) go one per request
        second = CliRunner().invoke(app, args)
        assert second.exit_code == 0 and json.loads(second.output) == {}
    finally:
        server.stop()
    # The two requests are in flight together (--concurrency), so they may arrive in either order.
    tom = [p for p in prompts if "Tom has some apples" in p]
    assert len(prompts) == 2 and len(tom) == 1 and "[2] 2. So he has 7 apples" in tom[0]
    with Session(engine) as s:
        rows = {r.id: (r.category, r.category_source) for r in s.scalars(select(Response))}
        judge_labels = s.scalars(select(CategoryLabel).where(CategoryLabel.source == "judge")).all()
    assert rows[fallbacks[0]] == ("misread_quantity", "judge")
    assert rows[fallbacks[1]] == ("reasoning", "human")  # the judge label is stored but the person wins
    assert all(lab.evidence["rationale"].startswith("uses a number") for lab in judge_labels)
    assert [lab.first_error_step for lab in judge_labels] == [2, 2]


@pytest.mark.parametrize(("batch_size", "requests"), [(500, 1), (4, 2)])
def test_completion_prompts_of_a_batch_share_requests(  # type: ignore[no-untyped-def]
    tmp_path: Path, engine, db_url: str, batch_size: int, requests: int
) -> None:
    fallbacks = _fill(tmp_path, engine, copies=3)
    assert len(fallbacks) == 6
    server = AbelOutputsServer(tmp_path, models={"judge-model": ()}, responder=lambda m, p: _VERDICT).start()
    try:
        result = CliRunner().invoke(app, [
            "--db", db_url, "judge", "--model", "judge-model", "--base-url", server.url, "--json",
            "--prompt-format", "completion", "--prompts-per-request", "8", "--batch-size", str(batch_size),
        ])
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"misread_quantity": 6}
    # One engine call per batch; the openai engine sends up to 8 completion prompts per request.
    assert (server.requests, server.prompts_served) == (requests, 6)


def test_unknown_judge_model_is_one_clear_line(tmp_path: Path, engine, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _fill(tmp_path, engine)
    server = AbelOutputsServer(tmp_path, models={"judge-model": ()}).start()
    url = server.url
    try:
        result = CliRunner().invoke(app, ["--db", db_url, "judge", "--model", "nope", "--base-url", url])
    finally:
        server.stop()
    # `main()` prints CliError as one line with exit code 1 (tested in test_import); here it is the exception.
    assert isinstance(result.exception, CliError)
    assert str(result.exception) == f"model 'nope' is not served at {url}; served models: judge-model"
    assert server.requests == 0  # checked before any prompt was sent


def test_vllm_judge_without_vllm_is_one_clear_line(tmp_path: Path, engine, db_url: str) -> None:  # type: ignore[no-untyped-def]
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vLLM is installed here: this test is about machines without it")
    _fill(tmp_path, engine)
    result = CliRunner().invoke(app, ["--db", db_url, "judge", "--engine", "vllm", "--model", "some/model"])
    assert isinstance(result.exception, CliError), result.exception
    assert "needs vLLM" in str(result.exception)


def test_unknown_engine_and_prompt_format_are_refused(db_url: str) -> None:
    for extra in (["--engine", "tgi"], ["--prompt-format", "raw"]):
        result = CliRunner().invoke(app, ["--db", db_url, "judge", "--model", "m", *extra])
        assert isinstance(result.exception, CliError), extra

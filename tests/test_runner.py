"""`abel-triage run` and db.runner: runs against the loopback OpenAI-compatible server that answers from Abel's
published outputs, resuming after SIGKILL, retries, errors, and the runner's own guarantees with a fake engine."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

import db.runner as runner_mod
from analysis.engines import Completion, SamplingSettings
from analysis.types import Problem as ProblemRecord
from db.cli import app
from db.models import Model, Problem, Response, Run
from db.runner import RunnerError, RunRequest, execute_run, parse_model_name, run_key_for
from db.session import make_engine, session_scope
from db.store import ensure_benchmark, upsert_problems
from tests.conftest import ABEL_OUTPUTS, BENCHMARKS, REPO_ROOT, require_path
from tests.openai_server import AbelOutputsServer

GSM8K_PROBLEMS = 1319
ABEL_CLI = REPO_ROOT / ".venv" / "bin" / "abel-triage"


@pytest.fixture(scope="module")
def published_7b() -> dict[str, dict[str, Any]]:
    """prompt -> Abel-7B-001's published gsm8k record."""
    path = require_path(ABEL_OUTPUTS) / "gsm8k" / "7b.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["prompt"]: r for r in records}


@pytest.fixture
def server() -> Iterator[AbelOutputsServer]:
    srv = AbelOutputsServer(require_path(ABEL_OUTPUTS)).start()
    yield srv
    srv.stop()


def _run_args(db_url: str, server: AbelOutputsServer, *extra: str) -> list[str]:
    return [
        "--db", db_url, "run", "--model", "Abel-7B-001", "--benchmark", "gsm8k", "--engine", "openai",
        "--base-url", server.url, "--data", str(require_path(BENCHMARKS)), "--batch-size", "64",
        "--concurrency", "4", *extra,
    ]


def _invoke(args: list[str]) -> Any:
    result = CliRunner().invoke(app, args)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _counts(engine: Engine) -> tuple[int, int, int]:
    """(responses, distinct (run, problem, sample) triples, runs)."""
    with session_scope(engine) as s:
        total = s.scalar(select(func.count()).select_from(Response))
        distinct = s.scalar(
            select(func.count()).select_from(
                select(Response.run_id, Response.problem_id, Response.sample_index).distinct().subquery()
            )
        )
        runs = s.scalar(select(func.count()).select_from(Run))
    return total, distinct, runs


# -- end to end against the loopback server ----------------------------------------------------------------


def test_run_reproduces_abels_published_gsm8k_result(
    db_url: str, engine: Engine, server: AbelOutputsServer, published_7b: dict[str, dict[str, Any]]
) -> None:
    result = _invoke(_run_args(db_url, server))
    assert result.exit_code == 0, result.output
    assert "accuracy 59.74% (788 correct)" in result.output

    with session_scope(engine) as s:
        run = s.scalars(select(Run)).one()
        assert (run.source, run.status) == ("openai", "finished")
        assert run.finished_at is not None
        assert run.settings["template"] == "Question:\n{question}\nAnswer:\nLet's think step by step.\n"
        assert run.settings["temperature"] == 0.0 and run.settings["top_p"] == 1.0
        assert run.settings["max_tokens"] == 2048 and run.settings["samples"] == 1
        assert run.settings["served_model"] == "Abel-7B-001" and run.settings["base_url"] == server.url
        assert run.code_version
        model = s.get(Model, run.model_id)
        assert (model.family, model.size, model.size_b, model.generation, model.hf_id) == (
            "Abel", "7B", 7.0, "Abel-001", "GAIR/GAIRMath-Abel-7b"
        )
        rows = s.execute(select(Response.prompt, Response.text, Response.finish_reason, Response.correct,
                                Response.completion_tokens, Response.latency_ms, Response.sample_index,
                                Response.category)).all()
    assert len(rows) == GSM8K_PROBLEMS
    # graded and (once db.categorize exists) categorized at the end: every failure has a primary category
    assert all(r.correct is not None for r in rows)
    if importlib.util.find_spec("db.categorize") is not None:
        assert all(r.category for r in rows if not r.correct)
    # Every prompt is Abel's exact prompt and every response its published one, stored whole.
    assert all(p in published_7b and published_7b[p]["response"] == text for p, text, *_ in rows)
    assert {r.finish_reason for r in rows} == {"stop"} and {r.sample_index for r in rows} == {0}
    assert all(r.completion_tokens and r.latency_ms is not None for r in rows)
    ours = sum(bool(r.correct) for r in rows)
    disagreements = [r.prompt for r in rows if bool(r.correct) != published_7b[r.prompt]["result"]]
    assert round(100 * ours / GSM8K_PROBLEMS, 2) == 59.74
    assert len(disagreements) <= 2, disagreements  # the grading disagreements of the foundation issue, if any


def test_run_survives_sigkill_and_resumes_without_duplicates(
    db_url: str, engine: Engine, server: AbelOutputsServer
) -> None:
    server.delay_s = 0.02  # slow enough to kill the run half-way
    args = [str(ABEL_CLI), *_run_args(db_url, server)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        stored = 0
        while stored < 2 * 64 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            stored = _counts(engine)[0]
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after_kill, distinct, runs = _counts(engine)
    assert 2 * 64 <= after_kill < GSM8K_PROBLEMS and distinct == after_kill and runs == 1
    with session_scope(engine) as s:
        assert s.scalars(select(Run.status)).one() == "running"

    server.delay_s = 0.0
    served_before = -1
    while served_before != server.prompts_served:  # let the killed client's requests in flight drain
        served_before = server.prompts_served
        time.sleep(0.2)
    # generated but never committed: the batch in flight (and at most one waiting for the writer)
    assert served_before - after_kill <= 2 * 64
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "resumed" in done.stdout and f"{GSM8K_PROBLEMS - after_kill} new, {after_kill} already stored" in done.stdout
    assert "accuracy 59.74%" in done.stdout
    assert server.prompts_served - served_before == GSM8K_PROBLEMS - after_kill  # nothing generated twice
    assert _counts(engine) == (GSM8K_PROBLEMS, GSM8K_PROBLEMS, 1)
    with session_scope(engine) as s:
        run = s.scalars(select(Run)).one()
        assert run.status == "finished" and len(run.settings["invocations"]) == 2


def test_run_interrupted_with_ctrl_c_keeps_what_was_returned(
    db_url: str, engine: Engine, server: AbelOutputsServer
) -> None:
    server.delay_s = 0.02
    args = [str(ABEL_CLI), *_run_args(db_url, server)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    deadline = time.monotonic() + 60
    while _counts(engine)[0] < 64 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == (
        "interrupted: everything committed so far is kept; run the command again to finish")
    stored = _counts(engine)[0]
    # every batch the engine returned was committed before exiting: only the batch in flight is lost
    assert 64 <= stored < GSM8K_PROBLEMS and stored % 64 == 0
    assert server.prompts_served - stored <= 64


def test_run_retries_503s(db_url: str, engine: Engine, server: AbelOutputsServer) -> None:
    server.fail_next(3, status=503)
    result = _invoke(_run_args(db_url, server, "--limit", "10"))
    assert result.exit_code == 0, result.output
    assert server.requests == 10 + 3
    assert _counts(engine) == (10, 10, 1)


def test_run_unknown_model_is_one_line_error_and_no_run(db_url: str, engine: Engine, server: AbelOutputsServer) -> None:
    args = [str(ABEL_CLI), *_run_args(db_url, server, "--served-model", "Abel-404B")]
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: model 'Abel-404B' is not served at {server.url}; "
        "served models: Abel-7B-001, Abel-13B-001, Abel-70B-001"
    ]
    assert _counts(engine)[2] == 0  # no empty run left behind


def test_run_unreachable_server_is_one_line_error(db_url: str, server: AbelOutputsServer) -> None:
    url = server.url
    server.stop()
    args = ["--db", db_url, "run", "--model", "Abel-7B-001", "--benchmark", "gsm8k", "--engine", "openai",
            "--base-url", url, "--data", str(require_path(BENCHMARKS)), "--limit", "2"]
    done = subprocess.run([str(ABEL_CLI), *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: cannot reach the OpenAI-compatible server at {url} (ConnectionError); "
        "is it running and is --base-url right?"
    ]


def test_run_samples_and_max_tokens_are_stored(db_url: str, engine: Engine, server: AbelOutputsServer) -> None:
    result = _invoke(_run_args(db_url, server, "--limit", "6", "--samples", "2", "--max-tokens", "40"))
    assert result.exit_code == 0, result.output
    with session_scope(engine) as s:
        rows = s.execute(select(Response.problem_id, Response.sample_index, Response.text, Response.finish_reason,
                                Response.prompt_tokens, Response.completion_tokens)).all()
        run = s.scalars(select(Run)).one()
    assert len(rows) == 12 and {(r.sample_index) for r in rows} == {0, 1}
    assert len({r.problem_id for r in rows}) == 6
    assert all(len(r.text.split()) <= 40 for r in rows)
    assert "length" in {r.finish_reason for r in rows}
    # n=2 in one request: the prompt's tokens are known, each sample's own count is not
    assert all(r.prompt_tokens and r.completion_tokens is None for r in rows)
    assert run.settings["samples"] == 2 and run.settings["max_tokens"] == 40


# -- the runner's guarantees, with a fake engine ------------------------------------------------------------


class FakeEngine:
    """Answers "#### <gold>" for even keys and "#### 0" for odd ones; records when each call ran."""

    name = "fake"

    def __init__(self, answers: dict[str, str], delay_s: float = 0.0) -> None:
        self.answers = answers
        self.delay_s = delay_s
        self.calls: list[tuple[float, float, int]] = []
        self.closed = False

    def generate(self, prompts: Sequence[Any], settings: SamplingSettings) -> list[list[Completion]]:
        start = time.perf_counter()
        time.sleep(self.delay_s)
        out = []
        for prompt in prompts:
            text = prompt if isinstance(prompt, str) else prompt[-1]["content"]
            key, gold = self.answers[text]
            answer = gold if int(key) % 2 == 0 else "0"
            out.append([Completion(f"so #### {answer}", "stop", 3, 2, 0.01) for _ in range(settings.n)])
        self.calls.append((start, time.perf_counter(), len(prompts)))
        return out

    def close(self) -> None:
        self.closed = True


def _tiny_benchmark(engine: Engine, count: int = 20) -> dict[str, tuple[str, str]]:
    """A stored gsm8k-like benchmark; returns question -> (key, gold) for the fake engine."""
    problems = [ProblemRecord("tiny", str(i), f"What is {i} + 1?", str(i + 1)) for i in range(count)]
    with session_scope(engine) as s:
        bench = ensure_benchmark(s, "tiny", domain="in_domain", answer_type="number")
        upsert_problems(s, bench, problems)
    return {p.question: (p.key, p.answer) for p in problems}


def _answers_by_prompt(questions: dict[str, tuple[str, str]], template: str = "abel") -> dict[str, tuple[str, str]]:
    from analysis.prompts import get_template, render_prompt

    t = get_template(template)
    return {render_prompt(t, ProblemRecord("tiny", k, q, a)): (k, a) for q, (k, a) in questions.items()}


def test_runner_uses_stored_problems_limits_and_resumes(engine: Engine) -> None:
    answers = _answers_by_prompt(_tiny_benchmark(engine))
    fake = FakeEngine(answers)
    req = RunRequest(model="Tiny-1B", benchmark="tiny", engine="fake", batch_size=4, limit=6)
    first = execute_run(engine, req, lambda: fake, categorize=False)
    assert (first.total, first.generated, first.responses) == (6, 6, 6)
    assert first.correct == 3 and first.accuracy == 50.0
    assert fake.closed and [c[2] for c in fake.calls] == [4, 2]

    full = execute_run(engine, RunRequest(model="Tiny-1B", benchmark="tiny", engine="fake", batch_size=4),
                       lambda: FakeEngine(answers), categorize=False)
    assert full.resumed and full.run_id == first.run_id
    assert (full.total, full.already_done, full.generated, full.responses) == (20, 6, 14, 20)

    def must_not_load() -> Any:
        raise AssertionError("a finished run must not load a model")

    again = execute_run(engine, RunRequest(model="Tiny-1B", benchmark="tiny", engine="fake"), must_not_load,
                        categorize=False)
    assert (again.generated, again.responses, again.accuracy) == (0, 20, 50.0)


def test_runner_storage_is_off_the_generation_path(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = _answers_by_prompt(_tiny_benchmark(engine, 12))
    stores: list[tuple[float, float]] = []
    original = runner_mod._insert_ignoring_duplicates

    def slow_insert(session: Any, rows: list[dict[str, Any]]) -> None:
        start = time.perf_counter()
        time.sleep(0.3)  # a slow database
        original(session, rows)
        stores.append((start, time.perf_counter()))

    monkeypatch.setattr(runner_mod, "_insert_ignoring_duplicates", slow_insert)
    fake = FakeEngine(answers, delay_s=0.05)
    execute_run(engine, RunRequest(model="Tiny-1B", benchmark="tiny", engine="fake", batch_size=4), lambda: fake,
                grade=False, categorize=False)
    assert len(fake.calls) == 3 and len(stores) == 3
    # batch 2 was generated while batch 1 was still being written
    assert fake.calls[1][0] < stores[0][1]
    assert _counts(engine)[0] == 12


def test_runner_samples_have_indexes_and_survive_partial_runs(engine: Engine) -> None:
    answers = _answers_by_prompt(_tiny_benchmark(engine, 5))
    req = RunRequest(model="Tiny-1B", benchmark="tiny", engine="fake", sampling=SamplingSettings(n=3))
    result = execute_run(engine, req, lambda: FakeEngine(answers), grade=False, categorize=False)
    assert (result.total, result.responses) == (15, 15)
    with session_scope(engine) as s:
        # lose one sample of one problem: the next run regenerates that problem and stores only the gap
        victim = s.scalars(select(Response).where(Response.sample_index == 1).limit(1)).one()
        s.delete(victim)
    again = execute_run(engine, req, lambda: FakeEngine(answers), grade=False, categorize=False)
    assert (again.already_done, again.generated, again.responses) == (14, 1, 15)
    assert _counts(engine)[:2] == (15, 15)


def test_runner_chat_template_stores_messages_and_is_another_run(engine: Engine) -> None:
    questions = _tiny_benchmark(engine, 3)
    from analysis.prompts import get_template, render_prompt

    chat = get_template("chat")
    answers = {render_prompt(chat, ProblemRecord("tiny", k, q, a)): (k, a) for q, (k, a) in questions.items()}
    abel = execute_run(engine, RunRequest(model="Tiny-1B", benchmark="tiny", engine="fake"),
                       lambda: FakeEngine(_answers_by_prompt(questions)), grade=False, categorize=False)
    res = execute_run(engine, RunRequest(model="Tiny-1B", benchmark="tiny", engine="fake", template="chat"),
                      lambda: FakeEngine(answers), grade=False, categorize=False)
    assert res.run_id != abel.run_id and res.generated == 3
    with session_scope(engine) as s:
        prompt = s.scalars(select(Response.prompt).where(Response.run_id == res.run_id).limit(1)).one()
        settings = s.get(Run, res.run_id).settings
    messages = json.loads(prompt)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert settings["template_kind"] == "chat" and settings["template_system"] == chat.system


def test_runner_needs_a_benchmark_file_when_nothing_is_stored(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(runner_mod, "default_benchmarks_dir", lambda: None)
    with pytest.raises(RunnerError, match="gsm8k is not loaded and no benchmark file was given"):
        execute_run(engine, RunRequest(model="m", benchmark="gsm8k", engine="fake"), lambda: FakeEngine({}))
    with pytest.raises(FileNotFoundError, match="benchmark file not found"):
        execute_run(engine, RunRequest(model="m", benchmark="gsm8k", engine="fake", benchmarks_dir=tmp_path),
                    lambda: FakeEngine({}))


def test_runner_loads_the_benchmark_file_first(engine: Engine) -> None:
    path = require_path(BENCHMARKS) / "gsm8k" / "test.jsonl"
    from analysis.prompts import ABEL_TEMPLATE, render_prompt

    req = RunRequest(model="m", benchmark="gsm8k", engine="fake", benchmark_path=path, limit=4)
    seen: list[str] = []

    class Echo(FakeEngine):
        def generate(self, prompts: Sequence[Any], settings: SamplingSettings) -> list[list[Completion]]:
            seen.extend(prompts)
            return [[Completion("#### 1", "stop", None, None, 0.0)] for _ in prompts]

    result = execute_run(engine, req, lambda: Echo({}), grade=False, categorize=False)
    assert result.total == 4 and result.load_errors == []
    with session_scope(engine) as s:
        stored = s.scalar(select(func.count()).select_from(Problem))
        first = s.scalars(select(Problem).order_by(Problem.id).limit(1)).one()
    assert stored == GSM8K_PROBLEMS
    assert seen[0] == render_prompt(ABEL_TEMPLATE, ProblemRecord("gsm8k", first.key, first.question, "18"))
    assert seen[0].startswith("Question:\nJanet’s ducks lay 16 eggs per day.")


# -- identity ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family", "size", "size_b", "generation"),
    [
        ("Abel-7B-002", "Abel", "7B", 7.0, "Abel-002"),
        ("Abel-70B-001", "Abel", "70B", 70.0, "Abel-001"),
        ("Bernoulli-13B", "Bernoulli", "13B", 13.0, "Bernoulli"),
        ("Qwen2.5-Math-1.5B", "Qwen2.5-Math", "1.5B", 1.5, "Qwen2.5-Math"),
        ("tiny-350M", "tiny", "350M", 0.35, "tiny"),
        ("gpt-oss", "gpt-oss", "", None, "gpt-oss"),
    ],
)
def test_parse_model_name(name: str, family: str, size: str, size_b: float | None, generation: str) -> None:
    info = parse_model_name(name)
    assert (info.family, info.size, info.size_b, info.generation) == (family, size, size_b, generation)


def test_run_key_depends_on_generation_settings_only() -> None:
    from analysis.prompts import get_template

    abel, chat = get_template("abel"), get_template("chat")
    base = run_key_for("Abel-7B-001", "gsm8k", abel, SamplingSettings())
    assert base == run_key_for("Abel-7B-001", "gsm8k", abel, SamplingSettings())
    assert base.startswith("gen:Abel-7B-001:gsm8k:")
    variants = [
        run_key_for("Abel-7B-002", "gsm8k", abel, SamplingSettings()),
        run_key_for("Abel-7B-001", "svamp", abel, SamplingSettings()),
        run_key_for("Abel-7B-001", "gsm8k", chat, SamplingSettings()),
        run_key_for("Abel-7B-001", "gsm8k", abel, SamplingSettings(temperature=0.7)),
        run_key_for("Abel-7B-001", "gsm8k", abel, SamplingSettings(max_tokens=1024)),
        run_key_for("Abel-7B-001", "gsm8k", abel, SamplingSettings(seed=1)),
        run_key_for("Abel-7B-001", "gsm8k", abel, SamplingSettings(n=4)),
        run_key_for("Abel-7B-001", "gsm8k", abel, SamplingSettings(stop=("Question:",))),
    ]
    assert len({base, *variants}) == len(variants) + 1


def test_engine_and_server_do_not_change_the_run(db_url: str, server: AbelOutputsServer) -> None:
    """The same run is resumed whatever engine, server or batch size reaches the model."""
    first = _invoke(_run_args(db_url, server, "--limit", "3", "--json"))
    second = _invoke(_run_args(db_url, server, "--limit", "5", "--batch-size", "2", "--concurrency", "1",
                               "--served-model", "Abel-7B-001", "--json"))
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["run_id"] == b["run_id"] and b["resumed"] and (b["already_stored"], b["generated"]) == (3, 2)
    assert b["timings"]["generate_s"] > 0 and {"handoff_s", "store_s", "grade_s"} <= set(b["timings"])
    eng = make_engine(db_url)
    try:
        assert _counts(eng) == (5, 5, 1)
    finally:
        eng.dispose()


def test_threads_are_not_left_behind(engine: Engine) -> None:
    answers = _answers_by_prompt(_tiny_benchmark(engine, 4))
    before = {t.name for t in threading.enumerate()}
    execute_run(engine, RunRequest(model="m", benchmark="tiny", engine="fake"), lambda: FakeEngine(answers),
                grade=False, categorize=False)
    assert "run-writer" not in {t.name for t in threading.enumerate()} - before

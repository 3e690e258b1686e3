"""`abel-triage run`: run a model on a benchmark with vLLM or an OpenAI-compatible server (resumable)."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from db.cli import app
from db.cli.common import CliError, emit_json, open_engine

BASE_URL_ENV = "OPENAI_BASE_URL"
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


class _RateColumn(ProgressColumn):
    """Items per second, as rich's own columns show bytes per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f} it/s" if speed else "- it/s", style="progress.data.speed")


@app.command("run")
def run_command(
    model: str = typer.Option(..., "--model", help="Model name as stored, e.g. Abel-7B-001."),
    benchmark: str = typer.Option(..., "--benchmark", help="Benchmark name, e.g. gsm8k."),
    engine_name: str = typer.Option(..., "--engine", help="vllm (offline, needs a GPU) or openai (any server)."),
    base_url: str | None = typer.Option(
        None, "--base-url", help=f"OpenAI-compatible base URL (env {BASE_URL_ENV}; default {DEFAULT_BASE_URL})."
    ),
    model_path: str | None = typer.Option(
        None, "--model-path", help="vLLM: local path or Hugging Face id (default: the model's known HF id)."
    ),
    served_model: str | None = typer.Option(
        None, "--served-model", help="The `model` field sent to the server (default --model)."
    ),
    api_key: str | None = typer.Option(None, "--api-key", envvar="OPENAI_API_KEY", help="Bearer token, if any."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N problems."),
    samples: int = typer.Option(1, "--samples", min=1, help="Samples per problem (sample_index 0..K-1)."),
    max_tokens: int = typer.Option(2048, "--max-tokens", min=1),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0),
    top_p: float = typer.Option(1.0, "--top-p"),
    seed: int | None = typer.Option(None, "--seed"),
    stop: list[str] = typer.Option([], "--stop", help="Stop string (repeatable)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Problems per batch (the commit unit)."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, help="openai: requests in flight."),
    prompts_per_request: int = typer.Option(
        1, "--prompts-per-request", min=1,
        help="openai: prompts sent in one request (a list); >1 loses per-completion token counts.",
    ),
    data: Path | None = typer.Option(None, "--data", help="Benchmarks data dir (default ../shared/data/benchmarks)."),
    path: Path | None = typer.Option(None, "--path", help="The benchmark file itself."),
    template: str = typer.Option("abel", "--template", help="Prompt template: abel or chat."),
    no_grade: bool = typer.Option(False, "--no-grade", help="Do not grade or categorize at the end."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Generate, store (committed per batch), grade and categorize; the same command resumes a killed run."""
    from analysis.engines import ENGINE_NAMES, EngineError, SamplingSettings
    from db.runner import KNOWN_HF_IDS, RunRequest, execute_run

    if engine_name not in ENGINE_NAMES:
        raise CliError(f"unknown engine {engine_name!r}; choose one of {', '.join(ENGINE_NAMES)}")
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    sampling = SamplingSettings(
        temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=tuple(stop), n=samples, seed=seed
    )
    vllm_path = model_path or KNOWN_HF_IDS.get(model) or model
    request = RunRequest(
        model=model,
        benchmark=benchmark,
        engine=engine_name,
        sampling=sampling,
        template=template,
        limit=limit,
        batch_size=batch_size,
        served_model=served_model or model if engine_name == "openai" else None,
        base_url=url if engine_name == "openai" else None,
        model_path=vllm_path if engine_name == "vllm" else model_path,
        benchmark_path=path,
        benchmarks_dir=data,
    )

    def make_llm() -> Any:
        from analysis.engines import make_engine

        if engine_name == "openai":
            llm = make_engine(
                "openai", base_url=url, model=served_model or model, api_key=api_key, concurrency=concurrency,
                prompts_per_request=prompts_per_request,
            )
            llm.check()  # fail fast: unreachable server or unknown model
            return llm
        return make_engine("vllm", model_path=vllm_path, **({"seed": seed} if seed is not None else {}))

    engine = open_engine()
    # Started on the first progress report, i.e. once the model answers: errors before that stay one line.
    progress = Progress(
        TextColumn(f"{model} on {benchmark}"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True),
    )
    task = progress.add_task("run", total=None)

    def on_progress(done: int, total: int) -> None:
        if not progress.live.is_started:
            progress.start()
        progress.update(task, completed=done, total=total)

    try:
        result = execute_run(
            engine, request, make_llm, on_progress=on_progress, grade=not no_grade, categorize=not no_grade
        )
    except EngineError as exc:
        raise CliError(str(exc)) from exc
    finally:
        progress.stop()
        engine.dispose()

    if result.load_errors:
        first = result.load_errors[0]
        typer.echo(f"warning: {len(result.load_errors)} bad record(s) in the benchmark file; first: {first}", err=True)
    summary = {
        "run_id": result.run_id,
        "run_key": result.run_key,
        "resumed": result.resumed,
        "in_scope": result.total,
        "already_stored": result.already_done,
        "generated": result.generated,
        "responses": result.responses,
        "correct": result.correct,
        "accuracy": round(result.accuracy, 2) if result.accuracy is not None else None,
        "categorized": result.categorized,
        "seconds": round(result.timings.total_s, 2),
        "timings": {k: round(v, 4) for k, v in asdict(result.timings).items()},
    }
    if as_json:
        emit_json(summary)
        return
    verb = "resumed" if result.resumed else "created"
    typer.echo(
        f"run {result.run_id} ({verb}, {result.run_key}): {result.responses} responses "
        f"({result.generated} new, {result.already_done} already stored)"
    )
    if result.accuracy is not None:
        typer.echo(f"accuracy {result.accuracy:.2f}% ({result.correct} correct)")

"""`abel-triage judge`: let a model confirm or refine the rule categorizer's `reasoning` fallback (optional path)."""

from __future__ import annotations

import typer

from db.cli import app
from db.cli.common import CliError, emit_json, open_engine

PROMPT_FORMATS = ("chat", "completion")


@app.command("judge")
def judge_cmd(
    engine_name: str = typer.Option("openai", "--engine", help="openai (any OpenAI-compatible server) or vllm."),
    model: str = typer.Option(..., "--model", help="The judge model: served name (openai) or path / HF id (vllm)."),
    base_url: str = typer.Option("http://127.0.0.1:8000/v1", "--base-url", help="openai: the server's /v1 URL."),
    run: int | None = typer.Option(None, "--run", help="Only failures of this run id."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many failures."),
    max_tokens: int = typer.Option(1024, "--max-tokens", min=16, help="The prompt asks for a few lines of checking "
                                   "before the verdict lines; a verdict cut off by this limit is unreadable."),
    prompt_format: str = typer.Option("chat", "--prompt-format",
                                      help="chat (the server applies the model's chat template) or completion."),
    batch_size: int = typer.Option(500, "--batch-size", min=1, help="Failures per batch: one engine call, one commit."),
    concurrency: int = typer.Option(16, "--concurrency", min=1, help="openai: requests in flight."),
    prompts_per_request: int = typer.Option(
        1, "--prompts-per-request", min=1, help="openai, completion format: prompts sent in one request (a list)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Ask a judge model about failures whose rule category is the `reasoning` fallback.

    Readable verdicts are stored as `judge` labels with the judge's first wrong step (the prompt is
    analysis/judge_prompt.md); they outrank rule labels and never override a human label. Failures that already
    have a judge label are skipped, so this resumes. Each batch is one `generate` call: vLLM runs it as one batch;
    the openai engine sends it as requests of --prompts-per-request prompts (chat prompts: one per request),
    --concurrency at a time.
    """
    from analysis.engines import EngineError, SamplingSettings, make_engine
    from analysis.judge import engine_judge
    from db.categorize import judge_fallbacks

    if prompt_format not in PROMPT_FORMATS:
        raise CliError(f"unknown prompt format {prompt_format!r}; choose chat or completion")
    if engine_name not in ("openai", "vllm"):
        raise CliError(f"unknown engine {engine_name!r}; choose openai or vllm")
    try:
        if engine_name == "openai":
            engine = make_engine("openai", base_url=base_url, model=model, concurrency=concurrency,
                                 prompts_per_request=prompts_per_request)
        else:
            engine = make_engine("vllm", model_path=model)
    except EngineError as exc:
        raise CliError(str(exc)) from None
    settings = SamplingSettings(temperature=0.0, max_tokens=max_tokens)
    judge = engine_judge(engine, settings, chat=prompt_format == "chat")
    try:
        check = getattr(engine, "check", None)
        if check is not None:
            check()  # fail fast, before any work: unreachable server or unknown model
        counts = judge_fallbacks(open_engine(), judge, run_id=run, limit=limit, batch_size=batch_size)
    except EngineError as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.close()
    if as_json:
        emit_json(counts)
    else:
        typer.echo(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to judge")

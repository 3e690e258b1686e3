"""`abel-triage judge`: let a model confirm or refine the rule categorizer's `reasoning` fallback (optional path)."""

from __future__ import annotations

import typer

from db.cli import app
from db.cli.common import CliError, emit_json, open_engine


@app.command("judge")
def judge_cmd(
    engine_name: str = typer.Option("openai", "--engine", help="openai (any OpenAI-compatible server) or vllm."),
    model: str = typer.Option(..., "--model", help="The judge model: served name (openai) or path / HF id (vllm)."),
    base_url: str = typer.Option("http://127.0.0.1:8000/v1", "--base-url", help="openai: the server's /v1 URL."),
    run: int | None = typer.Option(None, "--run", help="Only failures of this run id."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many failures."),
    max_tokens: int = typer.Option(256, "--max-tokens", min=16),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Ask a judge model about failures whose rule category is the `reasoning` fallback.

    Readable verdicts are stored as `judge` labels (the prompt is analysis/judge_prompt.md); they outrank rule labels
    and never override a human label. Failures that already have a judge label are skipped, so this resumes.
    """
    from analysis.engines import EngineError, SamplingSettings, make_engine
    from analysis.judge import PromptJudge
    from db.categorize import judge_fallbacks

    if engine_name == "openai":
        engine = make_engine("openai", base_url=base_url, model=model)
    elif engine_name == "vllm":
        engine = make_engine("vllm", model=model)
    else:
        raise CliError(f"unknown engine {engine_name!r}; choose openai or vllm")
    settings = SamplingSettings(temperature=0.0, max_tokens=max_tokens)

    def complete(prompt: str) -> str:
        return engine.generate([prompt], settings)[0][0].text

    try:
        counts = judge_fallbacks(open_engine(), PromptJudge(complete), run_id=run, limit=limit)
    except EngineError as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.close()
    if as_json:
        emit_json(counts)
    else:
        typer.echo(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to judge")

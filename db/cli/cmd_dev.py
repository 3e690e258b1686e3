"""Developer commands: synthetic load-test data."""

from __future__ import annotations

import time

import typer

from db.cli import app
from db.cli.common import open_engine

dev_app = typer.Typer(help="Developer tools (synthetic data for load tests).", no_args_is_help=True)
app.add_typer(dev_app, name="dev")


@dev_app.command("synth")
def dev_synth(
    responses: int = typer.Option(10_000, "--responses", "-n", min=1, help="How many synthetic responses to write."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same data)."),
    keep: bool = typer.Option(False, "--keep", help="Keep earlier synthetic data instead of replacing it."),
) -> None:
    """Write realistic synthetic runs (models/benchmarks named synth-*, marked synthetic) for load testing."""
    from rich.progress import Progress

    from db.synth import generate_synthetic

    engine = open_engine()
    start = time.perf_counter()
    with Progress(transient=True) as bar:
        task = bar.add_task("writing synthetic responses", total=responses)
        counts = generate_synthetic(
            engine, responses, seed=seed, replace=not keep, progress=lambda done: bar.update(task, completed=done)
        )
    elapsed = time.perf_counter() - start
    typer.echo(
        f"wrote {counts.responses} synthetic responses ({counts.runs} runs, {counts.problems} problems, "
        f"{counts.labels} labels, {counts.flags} flags) in {elapsed:.1f} s"
    )

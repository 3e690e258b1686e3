"""Core commands: database, import, grading, reports."""

from __future__ import annotations

from pathlib import Path

import typer

from db.cli import app, report_app
from db.cli.common import CliError, emit_json, open_engine

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (also done automatically on first use)."""
    from db.session import upgrade_schema

    engine = open_engine(upgrade=False)
    rev = upgrade_schema(engine)
    typer.echo(f"database at revision {rev}: {engine.url.render_as_string(hide_password=True)}")


@db_app.command("info")
def db_info(as_json: bool = typer.Option(False, "--json")) -> None:
    """Show the database URL, revision and row counts."""
    from sqlalchemy import func, select

    from db import models
    from db.session import current_revision

    engine = open_engine()
    counts = {}
    with engine.connect() as conn:
        for table in (models.Benchmark, models.Problem, models.Model, models.Run, models.Response,
                      models.CategoryLabel, models.ResponseFlag, models.Limitation):
            counts[table.__tablename__] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    info = {"url": engine.url.render_as_string(hide_password=True), "revision": current_revision(engine),
            "counts": counts}
    if as_json:
        emit_json(info)
    else:
        typer.echo(f"{info['url']} (revision {info['revision']})")
        for k, v in counts.items():
            typer.echo(f"  {k:15s} {v}")

import_app = typer.Typer(help="Import existing model outputs.", no_args_is_help=True)
app.add_typer(import_app, name="import")


def _progress():  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        transient=True,
    )


def _print_errors(errors, limit: int = 50) -> None:  # type: ignore[no-untyped-def]
    for err in errors[:limit]:
        typer.echo(str(err), err=True)
    if len(errors) > limit:
        typer.echo(f"... and {len(errors) - limit} more line errors", err=True)


@import_app.command("abel")
def import_abel(
    directory: Path | None = typer.Argument(
        None, help="Folder laid out like outputs/ in GAIR-NLP/abel (<benchmark>/<size>.jsonl)."
    ),
    benchmarks: Path | None = typer.Option(
        None, "--benchmarks", help="Benchmark data folder (<name>/<file>); questions come from prompts without it."
    ),
    from_github: bool = typer.Option(
        False, "--from-github", help="Download the published files from GAIR-NLP/abel at the pinned commit."
    ),
) -> None:
    """Import Abel's published outputs: one run per file, with the published verdicts. Safe to repeat."""
    from db.importer import import_abel_outputs
    from db.sources import SourceError, download_published_outputs

    if from_github:
        try:
            directory = download_published_outputs()
        except SourceError as exc:
            raise CliError(str(exc)) from None
    if directory is None:
        raise CliError("give the outputs folder (e.g. ../shared/data/abel-outputs) or --from-github")
    engine = open_engine()
    with _progress() as progress:
        tasks: dict[str, int] = {}

        def on_progress(path: str, done: int, total: int) -> None:
            if path not in tasks:
                tasks[path] = progress.add_task(Path(path).parent.name + "/" + Path(path).name, total=total)
            progress.update(tasks[path], completed=done)

        report = import_abel_outputs(engine, directory, benchmarks_dir=benchmarks, on_progress=on_progress)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for f in report.files:
        typer.echo(
            f"{f.benchmark:14s} {f.model:14s} run {f.run_id:3d}: {f.inserted} new, {f.updated} updated, "
            f"{f.unchanged} unchanged, {len(f.errors)} bad lines"
        )
    _print_errors(report.all_errors)
    if report.all_errors:
        typer.echo(f"{len(report.all_errors)} line(s) could not be imported; everything else was stored", err=True)
        raise typer.Exit(1)


@import_app.command("jsonl")
def import_jsonl(
    path: Path = typer.Argument(..., help="A JSONL file of model outputs, one problem per line."),
    model: str = typer.Option(..., "--model", help="Model name, e.g. Abel-7B-002 (family, size, generation parsed)."),
    benchmark: str = typer.Option(..., "--benchmark", help="Registered benchmark name, e.g. gsm8k."),
    benchmarks: Path | None = typer.Option(
        None, "--benchmarks", help="Benchmark data folder; else the benchmark's problems must be stored already."
    ),
    key_field: str = typer.Option("id", "--key-field", help="Field holding the problem's key in its benchmark."),
    response_field: str = typer.Option("response", "--response-field"),
    prompt_field: str = typer.Option("prompt", "--prompt-field", help="Optional field with the prompt."),
    pred_field: str = typer.Option("", "--pred-field", help="Optional field with the producer's extracted answer."),
    correct_field: str = typer.Option(
        "", "--correct-field", help="Optional true/false field with the producer's verdict (kept as published)."
    ),
) -> None:
    """Import another tool's outputs (JSONL) as one run; safe to repeat. Then `grade` and `categorize`."""
    from analysis.outputs import OutputFields
    from db.importer import import_output_jsonl

    fields = OutputFields(key=key_field, response=response_field, prompt=prompt_field, pred=pred_field,
                          correct=correct_field)
    report = import_output_jsonl(open_engine(), path, model=model, benchmark=benchmark, fields=fields,
                                 benchmarks_dir=benchmarks)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for f in report.files:
        typer.echo(f"{f.benchmark:14s} {f.model:14s} run {f.run_id:3d}: {f.inserted} new, {f.updated} updated, "
                   f"{f.unchanged} unchanged, {len(f.errors)} bad lines")
    _print_errors(report.all_errors)
    if report.all_errors:
        typer.echo(f"{len(report.all_errors)} line(s) could not be imported; everything else was stored", err=True)
        raise typer.Exit(1)


@app.command("grade")
def grade(
    run: int | None = typer.Option(None, "--run", help="Only this run id."),
    regrade: bool = typer.Option(False, "--regrade", help="Grade again even if already graded by this grader."),
) -> None:
    """Grade every ungraded response (idempotent; resumable)."""
    from db.grading import grade_responses

    engine = open_engine()
    with _progress() as progress:
        task = progress.add_task("grading", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = grade_responses(engine, run_id=run, regrade=regrade, on_progress=on_progress)
    typer.echo(f"graded {summary.graded} response(s), {summary.correct} correct")


@report_app.command("accuracy")
def report_accuracy(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Accuracy per run: published vs regraded, with the number of disagreements."""
    from db.reports import accuracy_report

    rows = accuracy_report(open_engine())
    if as_json:
        emit_json([{k: r[k] for k in ("model", "benchmark", "n", "published_accuracy", "accuracy",
                                      "disagreements")} | {"run_id": r["run_id"]} for r in rows])
        return
    typer.echo(f"{'run':>4} {'model':16s} {'benchmark':14s} {'n':>6} {'published':>9} {'regraded':>9} {'disagree':>8}")
    for r in rows:
        pub = "-" if r["published_accuracy"] is None else f"{r['published_accuracy']:.2f}"
        acc = "-" if r["accuracy"] is None else f"{r['accuracy']:.2f}"
        typer.echo(f"{r['run_id']:>4} {r['model']:16s} {r['benchmark']:14s} {r['n']:>6} {pub:>9} {acc:>9} "
                   f"{r['disagreements']:>8}")


@report_app.command("disagreements")
def report_disagreements(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    run: int | None = typer.Option(None, "--run", help="Only this run id."),
) -> None:
    """Every response whose verdict differs from the published one, with the reason."""
    from db.reports import disagreements_report

    rows = disagreements_report(open_engine(), run_id=run)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        pub = "right" if r["published"] else "wrong"
        typer.echo(f"{r['benchmark']}/{r['model']} #{r['key']}: published {pub}, ours {r['verdict']} "
                   f"(extracted {r['extracted']!r}, gold {r['gold']!r}): {r['reason']}")
    typer.echo(f"{len(rows)} disagreement(s)")


@app.command("setup")
def setup(
    from_github: bool = typer.Option(
        False, "--from-github", help="Download Abel's published outputs from GAIR-NLP/abel when no local copy."
    ),
) -> None:
    """Prepare the database: migrate, import Abel's outputs when a source is found, grade and categorize.

    The source is ABEL_OUTPUTS, else ../shared/data/abel-outputs beside the repository, else --from-github. Every
    step is idempotent, so running it again after an interruption finishes the job and otherwise changes nothing.
    """
    from sqlalchemy import func, select

    from db.categorize import categorize
    from db.grading import grade_responses
    from db.importer import import_abel_outputs
    from db.models import Run
    from db.sources import SourceError, download_published_outputs, find_local_benchmarks, find_local_outputs

    engine = open_engine()
    url = engine.url.render_as_string(hide_password=True)
    source = find_local_outputs()
    if source is None and from_github:
        try:
            source = download_published_outputs()
        except SourceError as exc:
            raise CliError(str(exc)) from None
    if source is not None:
        benchmarks = find_local_benchmarks(source)
        typer.echo(f"{url}: importing {source}" + (f" with benchmarks from {benchmarks}" if benchmarks else ""))
        report = import_abel_outputs(engine, source, benchmarks_dir=benchmarks)
        _print_errors(report.all_errors)
        typer.echo(f"imported {report.inserted} new response(s)")
    with engine.connect() as conn:
        runs = conn.execute(select(func.count()).select_from(Run)).scalar_one()
    if not runs:
        typer.echo(f"{url}: empty, and no Abel outputs found (set ABEL_OUTPUTS, put ../shared/data beside the "
                   "repository, or use --from-github); the dashboard will explain how to import")
        return
    summary = grade_responses(engine)
    typer.echo(f"graded {summary.graded} response(s)")
    result = categorize(engine)
    cats = ", ".join(f"{k} {v}" for k, v in sorted(result.get("categories", {}).items(), key=lambda kv: -kv[1]))
    typer.echo(f"categorized {result.get('categorized', 0)} failure(s)" + (f": {cats}" if cats else ""))

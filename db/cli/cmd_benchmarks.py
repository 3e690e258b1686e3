"""`abel-triage benchmarks ...`: list the registered benchmarks and store their problems."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import Engine, func, select

from analysis.benchmarks import REGISTRY, BenchmarkSpec, HuggingFaceUnavailable, get_benchmark
from analysis.types import LineError, Problem
from db.cli import app
from db.cli.common import CliError, emit_json, open_engine

benchmarks_app = typer.Typer(help="Benchmarks: list them, load their problems.", no_args_is_help=True)
app.add_typer(benchmarks_app, name="benchmarks")


def _stored_counts(engine: Engine) -> dict[str, int]:
    from db.models import Benchmark, Problem

    with engine.connect() as conn:
        rows = conn.execute(
            select(Benchmark.name, func.count(Problem.id))
            .outerjoin(Problem, Problem.benchmark_id == Benchmark.id)
            .group_by(Benchmark.name)
        ).all()
    return {name: count for name, count in rows}


def _available(spec: BenchmarkSpec, data_dir: Path) -> int | None:
    path = data_dir / spec.default_file
    if not path.is_file():
        return None
    problems, _errors = spec.load(path)
    return len(problems)


@benchmarks_app.command("list")
def benchmarks_list(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {name, domain, answer_type, count}."),
    data: Path | None = typer.Option(
        None, "--data", help="Benchmarks data dir: also show how many problems each file holds ('available')."
    ),
) -> None:
    """Every registered benchmark with its domain, answer type and the number of problems stored."""
    if data is not None and not data.is_dir():
        raise CliError(f"--data: not a directory: {data}")
    counts = _stored_counts(open_engine())
    rows = []
    for spec in REGISTRY.values():
        row: dict[str, object] = {
            "name": spec.name, "domain": str(spec.domain), "answer_type": str(spec.answer_type),
            "count": counts.get(spec.name, 0),
        }
        if data is not None:
            row["available"] = _available(spec, data)
        rows.append(row)
    if as_json:
        emit_json(rows)
        return
    header = f"{'name':16s} {'domain':14s} {'answer':7s} {'count':>6s}" + (f" {'available':>9s}" if data else "")
    typer.echo(header)
    for row in rows:
        line = f"{row['name']!s:16s} {row['domain']!s:14s} {row['answer_type']!s:7s} {row['count']!s:>6s}"
        if data is not None:
            available = row["available"]
            line += f" {'-' if available is None else available!s:>9s}"
        typer.echo(line)


def _report_errors(errors: list[LineError]) -> None:
    for error in errors:
        typer.echo(str(error), err=True)


def _store(engine: Engine, spec: BenchmarkSpec, problems: list[Problem]) -> str:
    from db.session import session_scope
    from db.store import ensure_benchmark, resolve_original_links, upsert_problems

    with session_scope(engine) as session:
        bench = ensure_benchmark(
            session, spec.name, domain=spec.domain, answer_type=spec.answer_type, description=spec.description
        )
        counts = upsert_problems(session, bench, problems)
        links = resolve_original_links(session)
    return (
        f"{spec.name}: {len(problems)} problems: inserted {counts.inserted}, updated {counts.updated}, "
        f"unchanged {counts.unchanged}; links to originals set {links}"
    )


@benchmarks_app.command("load")
def benchmarks_load(
    name: str = typer.Argument(..., help="Benchmark name (see `benchmarks list`)."),
    path: Path | None = typer.Option(None, "--path", help="The benchmark's JSONL file."),
    hf: str | None = typer.Option(
        None, "--hf", help="Load through Hugging Face `datasets` instead (a dataset id, or 'default')."
    ),
    split: str | None = typer.Option(None, "--split", help="Hugging Face split (default: the registered one)."),
    config: str | None = typer.Option(None, "--config", help="Hugging Face config name."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad record instead of skipping it."),
) -> None:
    """Store a benchmark's problems (idempotent: loading the same file twice changes nothing)."""
    spec = get_benchmark(name)
    if (path is None) == (hf is None):
        raise CliError("give exactly one of --path FILE or --hf DATASET")
    if path is not None:
        problems, errors = spec.load(path, strict=strict)
        source = str(path)
    else:
        dataset = None if hf == "default" else hf
        try:
            problems, errors = spec.load_hf(dataset, split, config=config, strict=strict)
        except HuggingFaceUnavailable as exc:
            raise CliError(str(exc)) from exc
        source = f"Hugging Face {dataset or spec.hf_dataset}"
    _report_errors(errors)
    if not problems:
        raise CliError(f"{name}: no problems read from {source} ({len(errors)} bad records)")
    typer.echo(_store(open_engine(), spec, problems) + (f"; {len(errors)} bad records skipped" if errors else ""))


@benchmarks_app.command("load-all")
def benchmarks_load_all(
    data: Path = typer.Argument(..., help="Benchmarks data dir holding <name>/<file> for each benchmark."),
) -> None:
    """Load every registered benchmark whose default file exists under DATA."""
    if not data.is_dir():
        raise CliError(f"not a directory: {data}")
    engine = open_engine()
    loaded = 0
    for spec in REGISTRY.values():
        path = data / spec.default_file
        if not path.is_file():
            typer.echo(f"{spec.name}: skipped, {path} not found", err=True)
            continue
        problems, errors = spec.load(path)
        _report_errors(errors)
        if not problems:
            typer.echo(f"{spec.name}: no problems read from {path}", err=True)
            continue
        typer.echo(_store(engine, spec, problems) + (f"; {len(errors)} bad records skipped" if errors else ""))
        loaded += 1
    if loaded == 0:
        raise CliError(f"no benchmark files found under {data}")
    typer.echo(f"{loaded} benchmarks loaded from {data}")

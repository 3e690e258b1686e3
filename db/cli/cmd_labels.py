"""Rules vs people: `labels import FILE.jsonl` (human labels made elsewhere) and `report agreement`.

`labels import` reads one JSON object per line naming a failure (by "response_id", by "model" + "benchmark" +
"key", or by "run" ("<benchmark>/<size>", as in tests/data/categorize_dev_labels.jsonl) + "key") with a
"category", optionally "first_error_step" and "rationale" (or "note"); see `db.agreement`. A bad line is reported
as `FILE:LINE: message` on stderr and every other line is stored; importing the same file again adds nothing.
The exit code is 1 when the file cannot be read or a line could not be imported (as `import jsonl`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from db.cli import app, report_app
from db.cli.cmd_core import _print_errors
from db.cli.common import CliError, emit_json, open_engine
from db.labels import default_author

labels_app = typer.Typer(help="Human labels: bring in labels made outside the dashboard.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")

AUTHOR_MAX = 128  # CategoryLabel.author

NO_LABELS = ("No human labels yet: label failures on the dashboard's Triage page, or import labels made elsewhere "
             "with `abel-triage labels import FILE.jsonl`.")
_TITLES = {"rule": "rules vs people", "judge": "judge vs people", "rule+judge": "rules + judge vs people"}
_FILL = {"rule": "abel-triage categorize", "judge": "abel-triage judge", "rule+judge": "abel-triage categorize"}


@labels_app.command("import")
def labels_import(
    path: Path = typer.Argument(..., help="JSONL of labels, one failure per line."),
    author: str | None = typer.Option(None, "--author", help="Stored as the labels' author (default: the OS user)."),
) -> None:
    """Store human labels made elsewhere (e.g. tests/data/categorize_dev_labels.jsonl); safe to repeat.

    Each line: {"run": "gsm8k/7b", "key": ...} or {"response_id": N} or {"model": ..., "benchmark": ...,
    "key": ...}, with "category" (a category name), optionally "first_error_step" and "rationale" (kept as the
    note). A label already stored (same failure, category, step, note and author) is skipped.
    """
    from db.agreement import import_human_labels

    who = (author if author is not None else default_author()).strip()
    if not who or len(who) > AUTHOR_MAX:
        raise CliError(f"--author must be a name of 1 to {AUTHOR_MAX} characters")
    if path.is_dir():
        raise CliError(f"{path} is a folder, not a labels file")
    if not path.is_file():
        raise CliError(f"labels file not found: {path}")
    try:
        result = import_human_labels(open_engine(), path, author=who)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    _print_errors(result.errors)
    typer.echo(f"imported {result.imported} label(s), skipped {result.skipped} already present, "
               f"{len(result.errors)} line error(s)")
    if result.errors:
        typer.echo(f"{len(result.errors)} line(s) could not be imported; everything else was stored", err=True)
        raise typer.Exit(1)


def format_report(report: dict[str, Any], show: bool = False) -> str:
    """The text of `report agreement`: the agreement as `format_agreement` prints it, and what was left out."""
    from analysis.categorize import CATEGORIZER_VERSION
    from analysis.categorize.agreement import format_agreement
    from db.agreement import agreement_from_report, agreement_headline

    source = report["source"]
    if not report["human_labelled"]:
        return NO_LABELS if report["run_id"] is None else NO_LABELS.replace("yet:", f"on run {report['run_id']} yet:")
    if not report["n"]:
        return f"{agreement_headline(report)} Run `{_FILL[source]}` first."
    scope = "all runs" if report["run_id"] is None else f"run {report['run_id']}"
    parts = [format_agreement(agreement_from_report(report), f"{_TITLES[source]}, {scope}: {report['n']} failures",
                              predicted=source)]
    notes = []
    if report["unpaired"]:
        notes.append(f"{report['unpaired']} human-labelled failure(s) left out: no {source} label (run "
                     f"`{_FILL[source]}`)")
    versions = report["categorizer_versions"]
    if versions and set(versions) != {CATEGORIZER_VERSION}:
        notes.append("rule labels compared: " + ", ".join(f"v{v} {n}" for v, n in versions.items())
                     + f"; the categorizer is v{CATEGORIZER_VERSION} (run `abel-triage categorize`)")
    dis = report["disagreements"]
    if show:
        notes.extend(
            f"response {d['response_id']} {d['model']} {d['benchmark']} #{d['key']}: human {d['human']}"
            f"@{d['human_step']}, {d['predicted_source']} {d['predicted']}@{d['predicted_step']}"
            + (f" ({d['author']}: {d['note']})" if d["note"] else f" ({d['author']})")
            for d in dis
        )
    elif dis:
        notes.append(f"{len(dis)} disagreement(s): --show lists them, --json gives them with response ids")
    return "\n".join(parts + notes)


@report_app.command("agreement")
def report_agreement(
    run: int | None = typer.Option(None, "--run", help="Only failures of this run id."),
    source: str = typer.Option("rule", "--source", help="Compare people with: rule, judge, or rule+judge (the judge's "
                               "label where there is one, else the rule's: what the charts show)."),
    show: bool = typer.Option(False, "--show", help="List every disagreement."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """How often the rule categories agree with the human labels in the database, per category."""
    from db.agreement import SOURCES, agreement_report

    if source not in SOURCES:
        raise CliError(f"unknown source {source!r}; choose one of: {', '.join(SOURCES)}")
    report = agreement_report(open_engine(), run_id=run, source=source)
    if as_json:
        emit_json(report)
    else:
        typer.echo(format_report(report, show=show))

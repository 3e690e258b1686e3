"""`abel-triage limitations seed|list` and `abel-triage sync github`."""

from __future__ import annotations

from pathlib import Path

import typer

from db.cli import app
from db.cli.common import CliError, emit_json, open_engine

limitations_app = typer.Typer(help="Limitations on the road to Bernoulli (seeded from analysis/limitations.toml).",
                              no_args_is_help=True)
app.add_typer(limitations_app, name="limitations")
sync_app = typer.Typer(help="Keep limitations in sync with an issue tracker.", no_args_is_help=True)
app.add_typer(sync_app, name="sync")

DASHBOARD_URL_ENV = "ABEL_TRIAGE_DASHBOARD_URL"


@limitations_app.command("seed")
def limitations_seed(
    path: Path | None = typer.Option(None, "--file", help="Seed file (default: analysis/limitations.toml)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Insert or refresh limitations from the seed file (idempotent; keeps sync state and ticked fixes)."""
    from analysis.limitations import load_limitations
    from db.limitations import seed_limitations
    from db.session import session_scope

    specs = load_limitations(path)
    with session_scope(open_engine()) as session:
        result = seed_limitations(session, specs)
    out = {"inserted": result.inserted, "updated": result.updated, "unchanged": result.unchanged}
    if as_json:
        emit_json(out)
    else:
        typer.echo(f"limitations: {result.inserted} inserted, {result.updated} updated, {result.unchanged} unchanged")


@limitations_app.command("list")
def limitations_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Each limitation with its failures in the latest runs and its issue."""
    from db.limitations import limitation_state, list_limitations
    from db.session import session_scope

    rows = []
    with session_scope(open_engine()) as session:
        for row in list_limitations(session):
            state = limitation_state(session, row)
            rows.append({
                "slug": row.slug, "title": row.title, "status": row.status,
                "failures": state.report.total_failures if state.spec.has_signal else None,
                "issue": row.issue_number, "issue_state": row.issue_state, "url": row.issue_url,
            })
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("no limitations: run `abel-triage limitations seed`")
    for r in rows:
        failures = "no signal" if r["failures"] is None else f"{r['failures']} failures"
        issue = f"#{r['issue']} ({r['issue_state']})" if r["issue"] else "no issue"
        typer.echo(f"{r['slug']:26s} {r['status']:10s} {failures:>14s}  {issue}")


@sync_app.command("github")
def sync_github_cmd(
    repo: str = typer.Option(..., "--repo", help="OWNER/NAME of the repository holding the issues."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan and body diffs; write nothing."),
    api_url: str = typer.Option("https://api.github.com", "--api-url", help="GitHub API base URL."),
    as_json: bool = typer.Option(False, "--json", help='Print {"actions": [...], "writes": n}.'),
    close_proposed: bool = typer.Option(
        False, "--close-proposed", help="Close issues whose failures fell to the threshold (else only proposed)."),
    dashboard_url: str | None = typer.Option(
        None, "--dashboard-url", envvar=DASHBOARD_URL_ENV,
        help="Base URL of the dashboard, for links to example responses (env ABEL_TRIAGE_DASHBOARD_URL)."),
    no_seed: bool = typer.Option(False, "--no-seed", help="Do not refresh limitations from the seed file first."),
) -> None:
    """Create/update one issue per limitation (token from GITHUB_TOKEN)."""
    from db.github_sync import GitHubSyncError, PyGithubTracker, sync_github
    from db.limitations import seed_limitations
    from db.session import session_scope

    try:
        tracker = PyGithubTracker(repo, api_url=api_url)  # refuses a missing token before anything happens
        engine = open_engine()
        if not no_seed:
            with session_scope(engine) as session:
                seed_limitations(session)
        result = sync_github(engine, tracker, dry_run=dry_run, dashboard_url=dashboard_url or None,
                             close_proposed=close_proposed)
    except GitHubSyncError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json(result.as_json())
        return
    for w in result.plan.warnings:
        typer.echo(f"warning: {w}", err=True)
    for act in result.plan.actions:
        issue = f"#{act.issue}" if act.issue else "(new)"
        why = f"  ({'; '.join(act.reasons)})" if act.reasons and act.action != "noop" else ""
        typer.echo(f"{act.action:14s} {act.slug:26s} {issue}{why}")
        if dry_run and act.writes:
            diff = act.diff()
            if diff:
                typer.echo(diff.rstrip("\n"))
    counts = {k: v for k, v in result.plan.counts().items() if v}
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    if dry_run:
        typer.echo(f"dry run: {summary}; nothing written")
    else:
        typer.echo(f"{summary}; {result.writes} writes to {repo}")

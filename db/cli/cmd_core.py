"""Core commands: database, import, grading, reports."""

from __future__ import annotations

import typer

from db.cli import app
from db.cli.common import emit_json, open_engine

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

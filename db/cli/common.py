"""What every command shares: the database option, the one place errors become a one-line message, and JSON
output."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from sqlalchemy import Engine

from db.session import make_engine


class CliError(Exception):
    """An expected failure the user can fix: printed as one line, exit code 1, no traceback."""


class _State:
    db_url: str | None = None


state = _State()


def open_engine(upgrade: bool = True) -> Engine:
    return make_engine(state.db_url, upgrade=upgrade)


def emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    sys.exit(1)

"""`abel-triage`: the command line. Each command group lives in its own module and is registered here."""

from __future__ import annotations

import logging
import sys

import typer

from db.cli.common import CliError, state

app = typer.Typer(
    name="abel-triage",
    help="Find out why a math LLM fails, and keep those reasons tracked until the next model fixes them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


report_app = typer.Typer(help="Machine-readable reports (add --json).", no_args_is_help=True)
app.add_typer(report_app, name="report")


@app.callback()
def _global_options(
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database URL or SQLite path (env ABEL_TRIAGE_DB; default ./abel_triage.db).",
        envvar="ABEL_TRIAGE_DB",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr."),
) -> None:
    state.db_url = db
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(message)s")


def _register() -> None:
    # Imported for their side effect of adding commands to `app`; one line per module.
    import db.cli.cmd_benchmarks  # noqa: F401
    import db.cli.cmd_categorize  # noqa: F401
    import db.cli.cmd_core  # noqa: F401
    import db.cli.cmd_dev  # noqa: F401
    import db.cli.cmd_grade_file  # noqa: F401
    import db.cli.cmd_judge  # noqa: F401
    import db.cli.cmd_labels  # noqa: F401
    import db.cli.cmd_run  # noqa: F401
    import db.cli.cmd_sync  # noqa: F401


_register()


def main() -> None:
    """Entry point: every expected failure is one line on stderr.

    Exit codes: 1 for errors the user can fix (bad input, missing file, unreachable server), 2 for a wrong
    command line (unknown option, missing argument), 130 when interrupted (what was committed is kept).
    """
    from db.session import DatabaseError

    try:
        code = app(standalone_mode=False)
    except (CliError, DatabaseError, FileNotFoundError, NotADirectoryError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except typer.exceptions.TyperException as exc:  # Typer's usage errors (its vendored click exceptions)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # a bare group: show its help
            typer.echo(ctx.get_help())
            sys.exit(0)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        typer.echo(f"error: {exc.format_message()}{where}", err=True)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except typer.Abort:  # end of input at a prompt
        typer.echo("aborted", err=True)
        sys.exit(1)
    if code == 130:  # Typer's answer to Ctrl-C (KeyboardInterrupt)
        typer.echo("interrupted: everything committed so far is kept; run the command again to finish", err=True)
    sys.exit(code if isinstance(code, int) else 0)

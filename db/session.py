"""Engine and session setup.

The database URL comes from an explicit argument, then `ABEL_TRIAGE_DB`, then `./abel_triage.db`. A plain
path is taken as a SQLite file. SQLite gets WAL, foreign keys and a busy timeout on every connection; any
other SQLAlchemy URL (e.g. PostgreSQL for a team) is used as it is. The schema is brought to the latest
Alembic revision on first use.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

DB_ENV = "ABEL_TRIAGE_DB"
DEFAULT_DB = "./abel_triage.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000

_MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_upgrade_lock = threading.Lock()


class DatabaseError(Exception):
    """The database could not be opened or migrated (bad URL, unreadable file, ...)."""


def resolve_url(url: str | None = None) -> str:
    """Explicit argument, then the environment, then the default; a bare path means a SQLite file."""
    raw = url or os.environ.get(DB_ENV) or DEFAULT_DB  # mirrors db.settings "database"
    if "://" not in raw:
        raw = f"sqlite:///{Path(raw).expanduser().resolve()}"
    return raw


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def make_engine(url: str | None = None, *, upgrade: bool = True) -> Engine:
    """Create an engine for `url` (see `resolve_url`) and, by default, migrate it to the latest revision."""
    full = resolve_url(url)
    try:
        parsed = make_url(full)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a long message
        raise DatabaseError(f"not a database URL: {full!r}") from exc
    kwargs: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            parent = Path(database).parent
            if not parent.is_dir():
                raise DatabaseError(f"directory for the database does not exist: {parent}")
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    try:
        engine = create_engine(full, **kwargs)
    except Exception as exc:
        raise DatabaseError(f"cannot open database {full!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if upgrade:
        upgrade_schema(engine)
    return engine


def _alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)  # type: ignore[arg-type]
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_schema(engine: Engine) -> str:
    """Apply every pending migration (no-op when at head). Returns the revision now in force."""
    from alembic import command

    with _upgrade_lock:
        try:
            if current_revision(engine) == head_revision():
                return head_revision()
            if not inspect(engine).has_table("alembic_version") and inspect(engine).get_table_names():
                log.warning("database has tables but no alembic_version; migrating anyway")
            command.upgrade(_alembic_config(engine), "head")
        except Exception as exc:
            raise DatabaseError(f"cannot migrate database {engine.url!r}: {exc}") from exc
    return head_revision()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

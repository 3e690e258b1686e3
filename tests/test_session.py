"""Engine set-up: URL resolution, SQLite pragmas, migrations that match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from db.models import Base
from db.session import DatabaseError, current_revision, head_revision, make_engine, resolve_url


def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ABEL_TRIAGE_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_url() == f"sqlite:///{tmp_path / 'abel_triage.db'}"
    monkeypatch.setenv("ABEL_TRIAGE_DB", str(tmp_path / "env.db"))
    assert resolve_url() == f"sqlite:///{tmp_path / 'env.db'}"
    assert resolve_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_sqlite_pragmas_and_auto_migration(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    assert current_revision(engine) == head_revision()


def test_foreign_keys_are_enforced(engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import IntegrityError

    with engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(text("INSERT INTO problem (benchmark_id, key, question, reference_answer, metadata) "
                          "VALUES (999, 'k', 'q', 'a', '{}')"))


def test_migrations_match_the_models(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="directory for the database does not exist"):
        make_engine(str(tmp_path / "nope" / "x.db"))

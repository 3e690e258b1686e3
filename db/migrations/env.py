"""Alembic environment: runs migrations on the engine handed over by db.session (never from an ini file)."""

from alembic import context
from sqlalchemy import create_engine

from db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # `alembic` CLI use: take the URL from the config or the environment
        from db.session import resolve_url

        engine = create_engine(resolve_url(config.get_main_option("sqlalchemy.url") or None))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `abel-triage db upgrade`")
run_migrations_online()

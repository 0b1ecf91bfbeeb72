"""Alembic environment: the URL and connection come from `service.store.migrate`, not a file."""

from __future__ import annotations

from alembic import context

from service.store.schema import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # pragma: no cover - only when alembic is run by hand
        from service.store.engine import make_engine

        with make_engine(config.get_main_option("sqlalchemy.url") or "").begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()


run_migrations_online()

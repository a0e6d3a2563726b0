"""Run the Alembic migrations that ship inside the package."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config

MIGRATIONS = str(files("notifier.store") / "migrations")


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    from notifier.store.db import create_db_engine

    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    """The newest revision this notifier ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def require_current(database_url: str) -> None:
    """Refuse to run against a database whose schema is not the one this code expects.

    Raises:
        ConfigError: the database was never migrated, or is at another revision.
    """
    from notifier.errors import ConfigError

    found, wanted = current(database_url), head()
    if found != wanted:
        state = "has no notifier tables" if found is None else f"is at revision {found}"
        raise ConfigError(
            f"the database {state}, this notifier needs {wanted}: run `notifier db upgrade`"
        )

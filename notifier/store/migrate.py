"""Run the Alembic migrations that ship inside the package, and check a database is at the
newest of them.

Every command checks the revision before it works; Alembic is imported only to migrate: its
import and its loading of each migration file cost a command a quarter of a second, while the
revision is one row and the newest revision one line of each file.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS = str(files("notifier.store") / "migrations")
# The module-level ``revision = "..."`` and ``down_revision = ...`` lines of a migration file.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.+)$", re.MULTILINE)


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (the newest by default)."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str, *, engine: Engine | None = None) -> str | None:
    """The revision the database is at (Alembic's ``alembic_version`` row), or None when it
    was never migrated. ``engine``: one already open on ``database_url``, used and kept."""
    from sqlalchemy import inspect, text

    from notifier.store.db import create_db_engine

    connected = engine or create_db_engine(database_url)
    try:
        with connected.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return _one(list(found))
    finally:
        if engine is None:
            connected.dispose()


def _one(revisions: list[str]) -> str | None:
    if len(revisions) > 1:  # as Alembic refuses them: notifier's migrations have one head
        raise ValueError(f"the database is at several revisions: {', '.join(revisions)}")
    return revisions[0] if revisions else None


@cache
def head() -> str | None:
    """The newest revision this notifier ships: the one no migration names as its
    ``down_revision`` (read from the files' lines; Alembic's own reading when that finds
    other than one)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (files("notifier.store") / "migrations" / "versions").iterdir():
        if not path.name.endswith(".py"):
            continue
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            named = ast.literal_eval(value.strip())
            names = named if isinstance(named, tuple | list) else (named,)
            (revisions if name == "revision" else parents).update(n for n in names if n)
    heads = revisions - parents
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def require_current(database_url: str, *, engine: Engine | None = None) -> None:
    """Refuse to run against a database whose schema is not the one this code expects
    (``engine``: one already open on ``database_url``).

    Raises:
        ConfigError: the database was never migrated, or is at another revision.
    """
    from notifier.errors import ConfigError

    found, wanted = current(database_url, engine=engine), head()
    if found != wanted:
        state = "has no notifier tables" if found is None else f"is at revision {found}"
        raise ConfigError(
            f"the database {state}, this notifier needs {wanted}: run `notifier db upgrade`"
        )

"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

A model changed without a migration would work in tests that call ``create_all`` and break in
production, which only ever runs the migrations; the ``database_url`` fixture is built by them.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from notifier.services.enterprises.importing import import_enterprises
from notifier.store import migrate
from notifier.store.db import create_db_engine, create_session_factory
from notifier.store.models import Base, Contact, EndpointSecret, Enterprise, Policy

from support.factories import Firm, enterprise_csv

HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


def schema_differences(database_url: str) -> list:
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            # The same comparison options as migrations/env.py, plus server defaults.
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_the_migrated_schema_matches_the_models(database_url):
    # No SQLite type-affinity noise arises today (both dialects compare clean); should a future
    # column bring some, filter only that ("modify_type" on SQLite) and say which, here.
    assert schema_differences(database_url) == []


def test_the_migrated_database_is_at_the_single_head_revision(database_url):
    script = ScriptDirectory.from_config(migrate.alembic_config(database_url))

    assert len(script.get_heads()) == 1  # two heads would make `db upgrade` refuse to run
    assert migrate.current(database_url) == HEAD


def test_the_head_every_command_checks_is_alembics_head():
    # Commands read it from the files' revision lines, without loading Alembic.
    assert migrate.head() == HEAD


def test_upgrading_twice_is_harmless_and_keeps_the_data(database_url):
    engine = create_db_engine(database_url)
    sessions = create_session_factory(engine)
    csv_text = enterprise_csv([Firm(1), Firm(2)])
    import_enterprises(sessions, io.StringIO(csv_text), dry_run=False)

    migrate.upgrade(database_url)
    migrate.upgrade(database_url)

    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Enterprise)) == 2
    engine.dispose()
    assert migrate.current(database_url) == HEAD
    assert schema_differences(database_url) == []


def test_the_migrations_run_down_to_nothing_and_back_up(tmp_path):
    # On a throwaway SQLite file: a broken downgrade is found before anyone needs it.
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    migrate.upgrade(url)

    command.downgrade(migrate.alembic_config(url), "base")
    engine = create_db_engine(url)
    tables = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()
    migrate.upgrade(url)
    assert schema_differences(url) == []


def test_0011_keeps_existing_webhook_endpoints_on_the_shared_secret(database_url):
    """Receivers that verify with the shared secret today keep working after the upgrade: each
    existing endpoint is marked as having no secret of its own (see endpoint_secrets)."""
    config = migrate.alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision("0011").down_revision
    command.downgrade(config, str(before))
    engine = create_db_engine(database_url)
    sessions = create_session_factory(engine)
    firms = [Firm(1), Firm(2, channels="sms"), Firm(3, channels="email;webhook")]
    import_enterprises(sessions, io.StringIO(enterprise_csv(firms)), dry_run=False)

    migrate.upgrade(database_url)

    with sessions() as session:
        rows = session.execute(
            sa.select(Contact.address, EndpointSecret.secret_encrypted).join(
                EndpointSecret, EndpointSecret.contact_id == Contact.id
            )
        ).all()
    engine.dispose()
    assert sorted(rows) == [
        ("https://hooks.example.cn/1", None),
        ("https://hooks.example.cn/3", None),
    ]


def test_0016_gives_policies_stored_without_a_ref_a_generated_one(database_url):
    """A policy stored before refs were generated gets ``P-<day in Shanghai>-<digits>``, so the
    correction form takes it; a policy with a ref keeps it."""
    command.downgrade(migrate.alembic_config(database_url), "0015_import_mapping")
    engine = create_db_engine(database_url)
    sessions = create_session_factory(engine)
    evening = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 2 March 04:00 in Shanghai
    # A Core insert names only the columns given (and those with defaults): the ORM would name
    # every column of today's model, some of which 0015 does not have.
    with sessions.begin() as session:
        session.execute(sa.insert(Policy.__table__), [
            {"source_key": "sha:0123456789abcdef", "title": "旧政策", "department": "经信局",
             "published_at": evening},
            {"source_key": "ref:BL-2026-07", "title": "有编号", "department": "经信局",
             "published_at": evening},
        ])  # fmt: skip

    migrate.upgrade(database_url)

    with sessions() as session:
        keys = set(session.scalars(sa.select(Policy.source_key)))
    engine.dispose()
    assert keys == {"ref:P-20260302-0123456789", "ref:BL-2026-07"}

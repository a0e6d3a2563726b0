"""``notifier providers``: rows added, listed, tested, switched and removed as an admin does,
with the secret encrypted at rest and never shown (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from notifier.config import load_settings
from notifier.domain.secret_box import new_key
from notifier.services.providers.catalog import ProviderCatalog
from notifier.store import providers as store
from notifier.store.db import create_db_engine, create_session_factory
from notifier.store.models.base import utcnow

from support.cli import Notifier, assert_one_line_error
from support.peers import SmsGateway

SECRET = "s3cr3t-Beilun-app-secret-8f41"  # noqa: S105 - the secret the test hunts for
SMS_KEY = "gw-key"


@pytest.fixture
def gateway():
    with SmsGateway(key=SMS_KEY, secret=SECRET) as sms:
        yield sms


@pytest.fixture
def admin(database_url: str, tmp_path: Path):
    key = new_key()
    env = {
        "NOTIFIER_DATABASE_URL": database_url,
        "NOTIFIER_VAR_DIR": str(tmp_path / "var"),
        "NOTIFIER_SECRETS__KEYS": json.dumps([key]),
        "NOTIFIER_ALLOWED_PRIVATE_TARGETS": '["127.0.0.0/8"]',
        "GATEWAY_SECRET": SECRET,
    }
    return Notifier(env, tmp_path)


def _add(admin: Notifier, gateway: SmsGateway, name: str = "gw-a", **kwargs):
    return admin(
        "-vv",
        "providers",
        "add",
        name,
        "--channel",
        "短信",
        "--kind",
        "sms-gateway",
        "--option",
        f"url={gateway.url}",
        "--option",
        f"app_key={SMS_KEY}",
        "--option",
        "rate_per_second=20",
        "--secret-env",
        "app_secret=GATEWAY_SECRET",
        **kwargs,
    )


def _database_text(url: str, tmp_path: Path) -> bytes:
    """Everything the database holds: a pg_dump, or the SQLite file and a dump of every row."""
    engine = sa.create_engine(url)
    rows = []
    with engine.connect() as connection:
        for table in sa.inspect(engine).get_table_names():
            rows.extend(
                repr(tuple(r)) for r in connection.execute(sa.text(f'SELECT * FROM "{table}"'))
            )
    engine.dispose()
    dumped = "\n".join(rows).encode()
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        return dumped + b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    assert shutil.which("pg_dump"), "pg_dump is needed to dump the database"
    return dumped + subprocess.run(["pg_dump", plain], check=True, capture_output=True).stdout


def test_a_secret_added_with_providers_add_appears_in_no_output_log_or_column(
    admin, gateway, database_url, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    outputs = [_add(admin, gateway)]
    outputs.append(admin("providers", "list"))
    outputs.append(admin("providers", "list", "--format", "json"))
    outputs.append(admin("-vv", "providers", "test", "gw-a", "--to", "+8613800138000"))
    outputs.append(admin("providers", "rotate-secrets"))

    for result in outputs:
        assert SECRET not in result.stdout and SECRET not in result.stderr
    assert "app_secret" in outputs[0].stdout  # which secrets were stored, not their values
    assert SECRET not in caplog.text
    assert SECRET.encode() not in _database_text(database_url, tmp_path)
    # The secret works: the gateway checked the test message's signature with it.
    assert len(gateway.messages) == 1 and gateway.messages[0]["to"] == "+8613800138000"
    assert "gw-1" in outputs[3].stdout  # the provider's answer: its message id
    (row,) = json.loads(outputs[2].stdout)[:1]
    assert row["secret"] == "******" and row["in_force"] is True
    assert row["options"]["rate_per_second"] == "20"


def test_a_secret_on_the_command_line_is_taken_with_a_warning(admin, gateway):
    result = admin(
        "providers",
        "add",
        "gw-b",
        "--channel",
        "sms",
        "--kind",
        "sms-gateway",
        "--option",
        f"url={gateway.url}",
        "--option",
        f"app_key={SMS_KEY}",
        "--secret",
        f"app_secret={SECRET}",
    )
    assert "warning:" in result.stderr and "--secret-stdin" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_bad_rows_are_refused_with_one_line_naming_the_field(admin, gateway):
    _add(admin, gateway)
    assert_one_line_error(_add(admin, gateway, status=2), "gw-a", "exists")
    refused = admin("providers", "add", "x", "--channel", "fax", "--kind", "sms-gateway", status=2)
    assert_one_line_error(refused, "channel", "fax")
    refused = admin("providers", "add", "y", "--channel", "sms", "--kind", "nope", status=2)
    assert_one_line_error(refused, "nope", "known kinds")
    refused = admin(
        "providers",
        "add",
        "z",
        "--channel",
        "sms",
        "--kind",
        "sms-gateway",
        "--option",
        "url=http://127.0.0.1:1/",
        "--option",
        "rate_per_second=0",
        status=2,
    )
    assert_one_line_error(refused, "rate_per_second", "greater than or equal to 1")
    assert_one_line_error(admin("providers", "enable", "nobody", status=2), "nobody")


def test_disable_enable_and_remove_change_what_serves_the_channel(admin, gateway):
    _add(admin, gateway)
    admin("providers", "disable", "gw-a")
    rows = {r["name"]: r for r in json.loads(admin("providers", "list", "--format", "json").stdout)}
    assert rows["gw-a"]["in_force"] is False and rows["sms-dry-run"]["in_force"] is True
    admin("providers", "enable", "gw-a")
    admin("providers", "remove", "gw-a")
    names = [r["name"] for r in json.loads(admin("providers", "list", "--format", "json").stdout)]
    assert "gw-a" not in names


def test_a_test_send_that_the_provider_refuses_shows_its_answer(admin, gateway):
    _add(admin, gateway)
    gateway.fail_next(400, body={"code": "isv.MOBILE_NUMBER_ILLEGAL", "message": "bad number"})
    result = admin("providers", "test", "gw-a", "--to", "+8613800138000", status=1)
    assert_one_line_error(result, "MOBILE_NUMBER_ILLEGAL", "bad number")


def test_rows_that_cannot_run_are_left_out_with_their_reason_and_the_process_starts(
    admin, gateway, database_url, tmp_path, caplog
):
    _add(admin, gateway)
    settings = load_settings(
        config_dir=tmp_path / "no-config", database_url=database_url, var_dir=tmp_path / "var"
    )
    engine = create_db_engine(settings.database_url)
    sessions = create_session_factory(engine)
    # A row written before its kind was checked as the workers build it.
    with sessions.begin() as session:
        store.add_provider(
            session, name="tx-old", channel="sms", kind="tencent-sms", priority=0, enabled=True,
            options={"sign_name": "北仑企服"}, secret_encrypted=None, now=utcnow(),
        )
    catalog = ProviderCatalog(sessions, settings)
    wrong = settings.model_copy(
        update={"secrets": settings.secrets.model_copy(update={"keys": [_secret(new_key())]})}
    )
    other = ProviderCatalog(sessions, wrong)
    try:
        with caplog.at_level(logging.ERROR, logger="notifier.services.providers.catalog"):
            catalog.load()  # no key: gw-a's secret cannot be opened
        assert "NOTIFIER_SECRETS__KEYS" in catalog.broken["gw-a"]
        assert "secret_id" in catalog.broken["tx-old"]
        assert "gw-a" in caplog.text and "tx-old" in caplog.text
        # The SMS channel is served as if the rows were not there: by the settings.
        assert [p.name for p in catalog.for_channel("sms")] == ["sms-dry-run"]
        other.load()  # a wrong key is named as such
        assert "cannot be decrypted" in other.broken["gw-a"]
    finally:
        catalog.close()
        other.close()
        engine.dispose()
    # Switched off, it cannot be switched on again as it is: the field is named.
    admin("providers", "disable", "tx-old")
    refused = admin("providers", "enable", "tx-old", status=2)
    assert_one_line_error(refused, "secret_id", "此服务商无法运行")


def test_rotating_keys_keeps_every_secret_readable(admin, gateway, tmp_path):
    _add(admin, gateway)
    old = json.loads(admin.env["NOTIFIER_SECRETS__KEYS"])
    newer = new_key()
    admin.env["NOTIFIER_SECRETS__KEYS"] = json.dumps([newer, *old])
    assert "1" in admin("providers", "rotate-secrets").stdout
    admin.env["NOTIFIER_SECRETS__KEYS"] = json.dumps([newer])  # the old key dropped
    admin("providers", "test", "gw-a", "--to", "+8613800138000")
    assert len(gateway.messages) == 1


def _secret(value: str):
    from pydantic import SecretStr

    return SecretStr(value)


def test_providers_list_shows_a_row_that_cannot_be_built_with_why_in_one_line(
    admin, gateway, database_url, tmp_path
):
    _add(admin, gateway)
    settings = load_settings(
        config_dir=tmp_path / "no-config", database_url=database_url, var_dir=tmp_path / "var"
    )
    engine = create_db_engine(settings.database_url)
    try:
        with create_session_factory(engine).begin() as session:
            store.add_provider(
                session, name="tx-old", channel="sms", kind="tencent-sms", priority=0,
                enabled=False, options={"sign_name": "北仑企服"}, secret_encrypted=None,
                now=utcnow(),
            )  # fmt: skip
    finally:
        engine.dispose()
    listed = admin("providers", "list").stdout.splitlines()
    (line,) = [text for text in listed if text.startswith("tx-old:")]
    assert "无法使用 / broken:" in line and "secret_id" in line
    (good,) = [text for text in listed if text.startswith("gw-a:")]
    assert "broken" not in good
    rows = {r["name"]: r for r in json.loads(admin("providers", "list", "--format", "json").stdout)}
    assert "secret_id" in rows["tx-old"]["broken"] and rows["gw-a"]["broken"] is None
    # Without the key that opens gw-a's secret, the list still answers and says so.
    admin.env["NOTIFIER_SECRETS__KEYS"] = "[]"
    listed = admin("providers", "list").stdout.splitlines()
    (line,) = [text for text in listed if text.startswith("gw-a:")]
    assert "broken:" in line and "NOTIFIER_SECRETS__KEYS" in line


def test_a_reload_builds_each_enabled_row_once(admin, gateway, database_url, tmp_path, monkeypatch):
    from notifier.channels.sms import SmsGatewayProvider

    _add(admin, gateway)
    settings = load_settings(
        config_dir=tmp_path / "no-config", database_url=database_url, var_dir=tmp_path / "var"
    )
    keys = [_secret(k) for k in json.loads(admin.env["NOTIFIER_SECRETS__KEYS"])]
    settings = settings.model_copy(
        update={"secrets": settings.secrets.model_copy(update={"keys": keys})}
    )
    built: list[str] = []
    original = SmsGatewayProvider.from_config.__func__

    def counted(cls, config, *, environment):
        built.append(config.name)
        return original(cls, config, environment=environment)

    monkeypatch.setattr(SmsGatewayProvider, "from_config", classmethod(counted))
    engine = create_db_engine(settings.database_url)
    catalog = ProviderCatalog(create_session_factory(engine), settings)
    try:
        catalog.load()
        # Built once to check it can run, and that one is the one used.
        assert built == ["gw-a"]
        assert [p.name for p in catalog.for_channel("sms")] == ["gw-a"]
    finally:
        catalog.close()
        engine.dispose()

"""Settings: environment variables over ``config/*.toml``, checked at start with clear messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from notifier.config import DEV_SECRET_KEY, DEV_WEBHOOK_SECRET, load_settings
from notifier.errors import ConfigError

from support.paths import REPO

SHIPPED_CONFIG = REPO / "config" / "notifier.toml"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(**values: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_dir=Path("no-such-folder"), **values)
    return str(caught.value)


def test_environment_variables_win_over_the_toml_files(tmp_path, monkeypatch):
    write(
        tmp_path, "notifier.toml", 'timezone = "Asia/Tokyo"\npublic_url = "https://toml.example"\n'
    )
    monkeypatch.setenv("NOTIFIER_TIMEZONE", "Europe/Berlin")

    settings = load_settings(config_dir=tmp_path)

    assert settings.timezone == "Europe/Berlin"
    assert settings.public_url == "https://toml.example"  # not in the environment: the file holds


def test_a_nested_environment_variable_changes_one_setting_of_its_section(tmp_path, monkeypatch):
    write(tmp_path, "notifier.toml", '[sms]\nsignature = "【文件】"\nmax_length = 300\n')
    monkeypatch.setenv("NOTIFIER_SMS__SIGNATURE", "【环境】")

    settings = load_settings(config_dir=tmp_path)

    assert settings.sms.signature == "【环境】"
    assert settings.sms.max_length == 300  # the rest of [sms] still comes from the file


def test_toml_files_are_read_in_name_order_and_later_ones_win(tmp_path):
    write(tmp_path, "10-base.toml", 'timezone = "Asia/Tokyo"\n[delivery]\nbatch_size = 10\n')
    write(tmp_path, "20-site.toml", "[delivery]\nmax_attempts = 3\n")
    write(tmp_path, "30-last.toml", 'timezone = "Asia/Hong_Kong"\n')

    settings = load_settings(config_dir=tmp_path)

    assert settings.timezone == "Asia/Hong_Kong"
    assert (settings.delivery.batch_size, settings.delivery.max_attempts) == (10, 3)


def test_the_config_folder_can_be_named_in_the_environment(tmp_path, monkeypatch):
    write(tmp_path / "site", "notifier.toml", 'timezone = "Asia/Tokyo"\n')
    monkeypatch.setenv("NOTIFIER_CONFIG_DIR", str(tmp_path / "site"))

    assert load_settings().timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgresql://notifier@db.internal/notifier",
            "postgresql+psycopg://notifier@db.internal/notifier",
        ),
        (
            "postgres://notifier@db.internal/notifier",
            "postgresql+psycopg://notifier@db.internal/notifier",
        ),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///var/notifier.db", "sqlite:///var/notifier.db"),
    ],
)
def test_postgresql_urls_get_the_psycopg_driver(monkeypatch, given, used):
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", given)

    assert load_settings(config_dir=Path("no-such-folder")).database_url == used


def test_an_http_sms_gateway_without_url_and_keys_is_refused_naming_each_one():
    message = refusal(sms={"provider": "http"})

    for name in ("NOTIFIER_SMS__URL", "NOTIFIER_SMS__APP_KEY", "NOTIFIER_SMS__APP_SECRET"):
        assert name in message


def test_an_http_sms_gateway_names_only_what_is_still_missing(monkeypatch):
    monkeypatch.setenv("NOTIFIER_SMS__PROVIDER", "http")
    monkeypatch.setenv("NOTIFIER_SMS__URL", "https://sms.example.cn/send")
    monkeypatch.setenv("NOTIFIER_SMS__APP_KEY", "key")

    message = refusal()

    assert "NOTIFIER_SMS__APP_SECRET" in message
    assert "NOTIFIER_SMS__URL" not in message and "NOTIFIER_SMS__APP_KEY" not in message
    monkeypatch.setenv("NOTIFIER_SMS__APP_SECRET", "secret")
    assert load_settings(config_dir=Path("no-such-folder")).sms.provider == "http"


def test_production_refuses_the_development_secret_key(monkeypatch):
    monkeypatch.setenv("NOTIFIER_ENVIRONMENT", "production")

    message = refusal()

    assert "NOTIFIER_SECRET_KEY" in message
    assert "(NOTIFIER_)" not in message
    assert DEV_SECRET_KEY not in message  # never print a secret, not even the placeholder
    monkeypatch.setenv("NOTIFIER_SECRET_KEY", "a-real-secret-from-the-vault")
    monkeypatch.setenv("NOTIFIER_WEBHOOK__SECRET", "whsec_cmVhbC13ZWJob29rLXNlY3JldC1mcm9tLXZhdWx0")
    monkeypatch.setenv("NOTIFIER_PUBLIC_URL", "https://notify.example.cn")
    assert load_settings(config_dir=Path("no-such-folder")).environment == "production"


def test_production_refuses_the_development_webhook_secret(monkeypatch):
    monkeypatch.setenv("NOTIFIER_ENVIRONMENT", "production")
    monkeypatch.setenv("NOTIFIER_SECRET_KEY", "a-real-secret-from-the-vault")

    message = refusal()

    assert "NOTIFIER_WEBHOOK__SECRET" in message
    assert DEV_WEBHOOK_SECRET not in message


@pytest.mark.parametrize("url", ["http://notify.example.cn", "HTTP://x.cn", "notify.example.cn"])
def test_production_refuses_a_public_url_that_is_not_https(monkeypatch, url):
    monkeypatch.setenv("NOTIFIER_ENVIRONMENT", "production")
    monkeypatch.setenv("NOTIFIER_SECRET_KEY", "a-real-secret-from-the-vault")
    monkeypatch.setenv("NOTIFIER_WEBHOOK__SECRET", "whsec_cmVhbC13ZWJob29rLXNlY3JldC1mcm9tLXZhdWx0")
    monkeypatch.setenv("NOTIFIER_PUBLIC_URL", url)

    message = refusal()

    assert "NOTIFIER_PUBLIC_URL" in message and "https" in message
    monkeypatch.setenv("NOTIFIER_PUBLIC_URL", "HTTPS://notify.example.cn/")
    assert load_settings(config_dir=Path("no-such-folder")).public_url.startswith("HTTPS")


def test_development_keeps_an_http_public_url():
    assert load_settings(config_dir=Path("no-such-folder")).public_url.startswith("http://")


def test_development_accepts_the_development_secret_key():
    settings = load_settings(config_dir=Path("no-such-folder"))

    assert settings.secret_key.get_secret_value() == DEV_SECRET_KEY


def test_invalid_toml_is_refused_naming_the_file(tmp_path):
    write(tmp_path, "a-good.toml", 'timezone = "Asia/Tokyo"\n')
    bad = write(tmp_path, "b-broken.toml", "[sms\nsignature = 1\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(config_dir=tmp_path)

    assert str(bad) in str(caught.value)
    assert "not valid TOML" in str(caught.value)


def test_an_unknown_setting_in_a_file_is_refused_naming_it(tmp_path):
    write(tmp_path, "notifier.toml", 'timezon = "Asia/Tokyo"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings(config_dir=tmp_path)

    assert "NOTIFIER_TIMEZON" in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NOTIFIER_TIMEZONE", "Mars/Base"),
        ("NOTIFIER_DATABASE_URL", "mysql://x"),
        ("NOTIFIER_REDIS_URL", "http://127.0.0.1:6379"),
        ("NOTIFIER_DELIVERY__BATCH_SIZE", "0"),
        ("NOTIFIER_EMAIL__PORT", "smtp"),
    ],
)
def test_a_wrong_environment_variable_is_named_in_the_refusal(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)

    assert variable in refusal()


def test_the_shipped_example_config_loads_cleanly(tmp_path):
    if not SHIPPED_CONFIG.exists():
        pytest.skip(f"{SHIPPED_CONFIG} is not written yet (another engineer ships it)")
    shutil.copy(SHIPPED_CONFIG, tmp_path / SHIPPED_CONFIG.name)

    settings = load_settings(config_dir=tmp_path)

    assert settings.embedded  # the example runs as is: one process, no Redis
    providers = {settings.sms.provider, settings.email.provider, settings.webhook.provider}
    assert providers == {"dry-run"}


def test_an_unknown_key_in_a_section_of_a_file_is_refused_with_the_nearest_setting(tmp_path):
    write(tmp_path, "notifier.toml", '[sms]\nurll = "https://sms.example.cn/send"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings(config_dir=tmp_path)

    message = str(caught.value)
    assert "NOTIFIER_SMS__URLL" in message
    assert "did you mean 'url' (NOTIFIER_SMS__URL)?" in message


def test_an_unknown_nested_environment_variable_is_refused_with_the_nearest_setting(monkeypatch):
    monkeypatch.setenv("NOTIFIER_DELIVERY__BATCH_SIZ", "10")

    message = refusal()

    assert "NOTIFIER_DELIVERY__BATCH_SIZ" in message
    assert "did you mean 'batch_size' (NOTIFIER_DELIVERY__BATCH_SIZE)?" in message


def test_an_unknown_top_level_setting_names_the_nearest_one(tmp_path):
    write(tmp_path, "notifier.toml", 'timezon = "Asia/Tokyo"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings(config_dir=tmp_path)

    assert "did you mean 'timezone' (NOTIFIER_TIMEZONE)?" in str(caught.value)


@pytest.mark.parametrize("section", ["sms", "email", "webhook", "delivery", "clock"])
def test_every_section_refuses_unknown_keys(section):
    message = refusal(**{section: {"no_such_setting": 1}})

    assert f"NOTIFIER_{section.upper()}__NO_SUCH_SETTING" in message

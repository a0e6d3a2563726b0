"""Providers as data: kinds from entry points, configs from settings, the resolver, composing."""

from __future__ import annotations

import io
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifier.channels.base import Message, Provider, ProviderConfig, ProviderEnvironment
from notifier.channels.dryrun import DryRunProvider
from notifier.channels.registry import build_providers, load_provider_kinds
from notifier.channels.sources import environment_from_settings, provider_configs_from_settings
from notifier.config import load_settings
from notifier.domain.channel_names import EMAIL, SMS, WEBHOOK
from notifier.errors import ConfigError, TemplateError
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.worker import start_worker
from notifier.services.delivery.progress import follow
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store import migrate

from support.factories import Firm, enterprise_csv, policy

SIGNATURE = "【北仑企服】"
SECRET = "s3cr3t-value-never-shown"
WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC1mb3ItY2hhbm5lbHM="

ECHO_MODULE = '''
from notifier.channels.base import Provider, SendResult


class EchoProvider(Provider):
    """Keeps every message it is given."""

    kind = "echo"

    def __init__(self, *, name, channel, greeting):
        super().__init__(name=name, channel=channel)
        self.greeting = greeting
        self.received = []

    @classmethod
    def from_config(cls, config, *, environment):
        return cls(name=config.name, channel=config.channel, greeting=config.options["greeting"])

    def send(self, message):
        self.received.append(message)
        return SendResult(provider=self.name, provider_message_id=f"{self.greeting}-1")


class NotAProvider:
    kind = "not-a-provider"
'''


def install_plugin(folder: Path, entry_points: str, *, module: str = "echo_provider") -> None:
    """Write a package and its ``*.dist-info`` (METADATA, entry_points.txt) into ``folder``."""
    (folder / f"{module}.py").write_text(ECHO_MODULE, encoding="utf-8")
    dist_info = folder / f"{module}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def plugin_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path that importlib.metadata searches; its module is forgotten after."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    sys.modules.pop("echo_provider", None)


def config(**changes: object) -> ProviderConfig:
    values: dict[str, object] = {
        "name": "outbox",
        "channel": SMS,
        "kind": "dry-run",
        "options": {},
        "secrets": {},
    }
    values.update(changes)
    return ProviderConfig(**values)  # type: ignore[arg-type]


def gateway_config(**options: object) -> ProviderConfig:
    return config(
        name="gw",
        kind="sms-gateway",
        options={"url": "https://sms.example.cn/v1/sms", "app_key": "key", **options},
        secrets={"app_secret": SECRET},
    )


def message(to: str = "+8613800138000") -> Message:
    return Message(delivery_id=1, idempotency_key="policy:1:enterprise:1:sms", to=to, text="hi")


def environment(tmp_path: Path) -> ProviderEnvironment:
    return ProviderEnvironment(outbox_dir=tmp_path / "outbox")


# --- plug-ins ------------------------------------------------------------------------------


def test_a_new_provider_kind_is_added_by_a_package_of_its_own(
    plugin_folder: Path, tmp_path: Path
) -> None:
    install_plugin(plugin_folder, "[notifier.providers]\necho = echo_provider:EchoProvider\n")
    echo = config(name="echo-robot", channel=WEBHOOK, kind="echo", options={"greeting": "ni hao"})
    providers = build_providers([echo], environment=environment(tmp_path))
    [provider] = providers.for_channel(WEBHOOK)
    sent = message(to="https://robot.example.cn/hook")
    result = provider.send(sent)
    assert provider.kind == "echo"
    assert provider.name == "echo-robot"
    assert provider.greeting == "ni hao"  # type: ignore[attr-defined]
    assert provider.received == [sent]  # type: ignore[attr-defined]
    assert (result.provider, result.provider_message_id) == ("echo-robot", "ni hao-1")
    assert provider.compose("  as   is ", to=None).text == "  as   is "  # the default compose
    providers.close()


def test_an_entry_point_that_is_not_a_provider_is_a_config_error(plugin_folder: Path) -> None:
    install_plugin(plugin_folder, "[notifier.providers]\nbroken = echo_provider:NotAProvider\n")
    with pytest.raises(ConfigError, match="'broken'.*is not a Provider"):
        load_provider_kinds()


def test_a_kind_registered_twice_is_a_config_error(plugin_folder: Path) -> None:
    install_plugin(plugin_folder, "[notifier.providers]\nsmtp = echo_provider:EchoProvider\n")
    with pytest.raises(ConfigError, match="'smtp' is registered twice"):
        load_provider_kinds()


# --- the resolver --------------------------------------------------------------------------


def test_providers_of_a_channel_come_lowest_priority_number_first(tmp_path: Path) -> None:
    configs = [
        config(name="backup", priority=20),
        config(name="main", priority=10),
        config(name="mail", channel=EMAIL),
        config(name="also-backup", priority=20),
    ]
    providers = build_providers(configs, environment=environment(tmp_path))
    assert [p.name for p in providers.for_channel(SMS)] == ["main", "backup", "also-backup"]
    assert [p.name for p in providers.for_channel(EMAIL)] == ["mail"]
    assert providers.for_channel(WEBHOOK) == []
    assert providers.for_channel("fax") == []


def test_disabled_providers_are_left_out(tmp_path: Path) -> None:
    configs = [config(name="off", enabled=False, priority=-1), config(name="on")]
    providers = build_providers(configs, environment=environment(tmp_path))
    assert [p.name for p in providers.for_channel(SMS)] == ["on"]


def test_an_unknown_kind_is_a_config_error_naming_it_and_the_known_kinds(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        build_providers([config(name="ali", kind="huawei-sms")], environment=environment(tmp_path))
    text = str(caught.value)
    assert "'ali'" in text and "'huawei-sms'" in text
    assert "aliyun-sms, dry-run, sms-gateway, smtp, standard-webhooks, tencent-sms" in text


def test_a_kind_on_a_channel_it_cannot_serve_is_a_config_error(tmp_path: Path) -> None:
    wrong = config(name="relay", kind="smtp", channel=SMS, options={"host": "mail.example.cn"})
    with pytest.raises(ConfigError, match="'relay'.*'smtp' cannot serve channel 'sms'"):
        build_providers([wrong], environment=environment(tmp_path))


def test_an_unknown_channel_and_a_name_used_twice_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown channel 'fax'"):
        build_providers([config(channel="fax")], environment=environment(tmp_path))
    with pytest.raises(ConfigError, match="'outbox' is used twice"):
        build_providers([config(), config(channel=EMAIL)], environment=environment(tmp_path))


def test_a_missing_or_unknown_option_names_the_provider_and_the_option(tmp_path: Path) -> None:
    no_url = config(name="gw", kind="sms-gateway", options={"app_key": "k"}, secrets={})
    with pytest.raises(ConfigError) as caught:
        build_providers([no_url], environment=environment(tmp_path))
    assert "provider 'gw' (kind 'sms-gateway')" in str(caught.value)
    assert "option url" in str(caught.value)
    with pytest.raises(ConfigError, match="secret app_secret"):
        build_providers([no_url], environment=environment(tmp_path))
    with pytest.raises(ConfigError, match="option sigature: Extra inputs"):
        build_providers([config(options={"sigature": "【x】"})], environment=environment(tmp_path))


# --- secrets -------------------------------------------------------------------------------


def test_secrets_are_never_in_repr_of_a_config_or_a_provider(tmp_path: Path) -> None:
    gateway = gateway_config()
    assert SECRET not in repr(gateway)
    assert "app_key" in repr(gateway)  # options may be shown
    [provider] = build_providers([gateway], environment=environment(tmp_path)).for_channel(SMS)
    assert SECRET not in repr(provider)
    assert SECRET not in repr(vars(provider).get("sms_format"))


@pytest.mark.parametrize(
    "broken",
    [
        gateway_config(timeout=-1),  # a wrong option beside a secret
        gateway_config(unknown="x"),
        config(name="hooks", channel=WEBHOOK, kind="standard-webhooks", secrets={"secret": SECRET}),
        config(name="outbox", secrets={"app_secret": SECRET}),  # dry-run takes no secret
    ],
    ids=["bad-option", "unknown-option", "bad-signing-key", "unexpected-secret"],
)
def test_secrets_are_never_in_config_error_messages(broken: ProviderConfig, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        build_providers([broken], environment=environment(tmp_path))
    assert broken.name in str(caught.value)
    assert SECRET not in str(caught.value)


# --- composing SMS -------------------------------------------------------------------------


@pytest.fixture(params=["sms-gateway", "dry-run"])
def sms_provider(request: pytest.FixtureRequest, tmp_path: Path) -> Provider:
    """Each SMS-composing kind with the same SMS options (max_length 100)."""
    options = {"signature": SIGNATURE, "max_length": 100}
    built = gateway_config(**options) if request.param == "sms-gateway" else config(options=options)
    [provider] = build_providers([built], environment=environment(tmp_path)).for_channel(SMS)
    return provider


def test_sms_compose_prefixes_the_signature_and_squashes_whitespace(sms_provider: Provider) -> None:
    composed = sms_provider.compose("  关于申报的\n通知，  截止6月30日。 ", to="+8613800138000")
    assert composed.text == f"{SIGNATURE}关于申报的 通知， 截止6月30日。"
    assert composed.sms_count is not None
    assert (composed.sms_count.length, composed.sms_count.parts) == (len(composed.text), 1)


def test_sms_compose_counts_the_billed_parts(sms_provider: Provider) -> None:
    composed = sms_provider.compose("通" * 80, to="13800138000")  # + 6 signature = 86 > 70
    assert composed.sms_count is not None
    assert composed.sms_count.length == 86
    assert composed.sms_count.parts == 2  # 67 per part
    assert composed.sms_count.encoding == "cn"


def test_sms_compose_refuses_a_text_over_max_length_naming_the_length(
    sms_provider: Provider,
) -> None:
    with pytest.raises(TemplateError, match="SMS is 106 characters, over the maximum of 100"):
        sms_provider.compose("长" * 100, to=None)


def test_dry_run_on_email_and_webhook_leaves_the_text_as_it_is(tmp_path: Path) -> None:
    providers = build_providers(
        [config(name="mail", channel=EMAIL), config(name="hooks", channel=WEBHOOK)],
        environment=environment(tmp_path),
    )
    for channel in (EMAIL, WEBHOOK):
        [provider] = providers.for_channel(channel)
        composed = provider.compose("  Dear  firm ", to=None)
        assert (composed.text, composed.sms_count) == ("  Dear  firm ", None)


# --- configs from the settings -------------------------------------------------------------


def test_default_settings_give_one_dry_run_provider_per_channel(tmp_path: Path) -> None:
    settings = load_settings(config_dir=tmp_path, var_dir=tmp_path / "var")
    configs = provider_configs_from_settings(settings)
    assert [(c.name, c.channel, c.kind) for c in configs] == [
        ("sms-dry-run", SMS, "dry-run"),
        ("email-dry-run", EMAIL, "dry-run"),
        ("webhook-dry-run", WEBHOOK, "dry-run"),
    ]
    providers = build_providers(configs, environment=environment_from_settings(settings))
    [sms] = providers.for_channel(SMS)
    assert isinstance(sms, DryRunProvider)
    assert sms.compose("hi", to=None).text == SIGNATURE + "hi"
    sent = message()
    assert sms.send(sent).provider == "sms-dry-run"
    recorded = settings.outbox_dir / SMS / f"{sent.message_id}.json"
    assert json.loads(recorded.read_text("utf-8"))["to"] == sent.to


def test_settings_sections_and_environment_variables_become_provider_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFIER_SMS__PROVIDER", "http")
    monkeypatch.setenv("NOTIFIER_SMS__URL", "https://sms.example.cn/v1/sms")
    monkeypatch.setenv("NOTIFIER_SMS__APP_KEY", "key")
    monkeypatch.setenv("NOTIFIER_SMS__APP_SECRET", SECRET)
    monkeypatch.setenv("NOTIFIER_SMS__SIGNATURE", "【港区】")
    monkeypatch.setenv("NOTIFIER_SMS__MAX_LENGTH", "300")
    monkeypatch.setenv("NOTIFIER_EMAIL__PROVIDER", "smtp")
    monkeypatch.setenv("NOTIFIER_EMAIL__PASSWORD", SECRET)
    monkeypatch.setenv("NOTIFIER_WEBHOOK__PROVIDER", "http")
    monkeypatch.setenv("NOTIFIER_WEBHOOK__SECRET", WEBHOOK_SECRET)
    settings = load_settings(config_dir=tmp_path)
    sms, email, webhook = provider_configs_from_settings(settings)
    assert (sms.name, sms.kind, email.kind, webhook.kind) == (
        "sms-gateway",
        "sms-gateway",
        "smtp",
        "standard-webhooks",
    )
    assert sms.options["signature"] == "【港区】"
    assert sms.options["max_length"] == 300
    assert sms.secrets == {"app_secret": SECRET}
    assert email.secrets == {"password": SECRET}
    assert webhook.secrets == {"secret": WEBHOOK_SECRET}
    assert SECRET not in repr([sms, email, webhook])
    providers = build_providers(
        [sms, email, webhook], environment=environment_from_settings(settings)
    )
    assert [p.kind for p in providers] == ["sms-gateway", "smtp", "standard-webhooks"]
    [gateway] = providers.for_channel(SMS)
    assert gateway.compose("hi", to=None).text == "【港区】hi"
    providers.close()


def test_a_plug_in_kind_listed_in_the_settings_carries_a_published_policy_end_to_end(
    plugin_folder: Path, tmp_path: Path, make_runtime
) -> None:
    install_plugin(plugin_folder, "[notifier.providers]\necho = echo_provider:EchoProvider\n")
    runtime = make_runtime(
        database_url=f"sqlite:///{tmp_path / 'n.db'}",
        providers=[
            {"name": "robot", "channel": WEBHOOK, "kind": "echo", "options": {"greeting": "hi"}}
        ],
    )
    migrate.upgrade(runtime.settings.database_url)
    firms = [Firm(1, channels="webhook;email"), Firm(2, channels="sms")]
    report = import_enterprises(runtime.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False)
    assert report.errors == []
    worker = start_worker(runtime.queue.broker, threads=2)
    try:
        draft = parse_policy(policy(), zone=runtime.settings.zone)
        result = publish(runtime.sessions, runtime.dispatch, draft)
        assert result.trigger_id is not None
        state = follow(runtime.sessions, result.trigger_id, show=False, timeout=60)
    finally:
        worker.stop()

    assert state.counts == {"sent": 3}
    [robot] = runtime.providers.for_channel(WEBHOOK)
    [received] = robot.received  # type: ignore[attr-defined]
    assert received.to == "https://hooks.example.cn/1"
    assert received.payload["policy"]["title"] == draft.title
    # The channels the list does not name keep the settings' sections (dry-run here).
    assert [p.kind for p in runtime.providers.for_channel(EMAIL)] == ["dry-run"]

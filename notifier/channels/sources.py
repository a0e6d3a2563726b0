"""Where provider configs come from: today the settings' [sms], [email] and [webhook] sections.

Each section becomes one :class:`ProviderConfig`. Configs are plain data, so another source
(the ``providers`` table) only has to return more of them for
:func:`notifier.channels.registry.build_providers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from notifier.channels.base import ProviderConfig, ProviderEnvironment
from notifier.domain.channel_names import EMAIL, SMS, WEBHOOK
from notifier.guards.backends import shared_redis_url

if TYPE_CHECKING:
    from pydantic import SecretStr

    from notifier.config import EmailSettings, Settings, SmsSettings, WebhookSettings

DRY_RUN = "dry-run"
SMS_GATEWAY = "sms-gateway"
SMTP = "smtp"
STANDARD_WEBHOOKS = "standard-webhooks"


def provider_configs_from_settings(settings: Settings) -> list[ProviderConfig]:
    """The providers the settings describe.

    Each ``[[providers]]`` entry is one config, of any registered kind. The [sms], [email]
    and [webhook] sections give one config each for the channels no entry names;
    ``provider = "dry-run"`` in a section gives the ``dry-run`` kind for that channel (the SMS
    one keeps the section's signature, length limit and region, so it composes like the real one).
    """
    listed = [
        ProviderConfig(
            name=entry.name,
            channel=entry.channel,
            kind=entry.kind,
            options=dict(entry.options),
            secrets={key: value.get_secret_value() for key, value in entry.secrets.items()},
            priority=entry.priority,
            enabled=entry.enabled,
        )
        for entry in settings.providers
    ]
    named = {config.channel for config in listed}
    sections: list[tuple[str, Callable[[], ProviderConfig]]] = [
        (SMS, lambda: sms_config(settings.sms)),
        (EMAIL, lambda: email_config(settings.email)),
        (WEBHOOK, lambda: webhook_config(settings.webhook)),
    ]
    return [make() for channel, make in sections if channel not in named] + listed


def environment_from_settings(settings: Settings) -> ProviderEnvironment:
    """What every provider takes from the deployment: allowed private targets, bounds on
    answers, the outbox, where endpoint rate limits are counted."""
    return ProviderEnvironment(
        allowed_provider_targets=tuple(settings.provider_targets),
        allowed_webhook_targets=tuple(settings.allowed_webhook_targets),
        send_deadline=settings.outbound.deadline_seconds,
        max_answer_bytes=settings.outbound.max_answer_bytes,
        outbox_dir=settings.outbox_dir,
        # Robots' messages a minute are counted in the Redis the processes share, if any.
        rate_limit_url=shared_redis_url(settings),
        rate_limit_namespace=settings.redis_namespace,
    )


def sms_config(section: SmsSettings) -> ProviderConfig:
    """The [sms] section as a config: kind ``sms-gateway`` (provider "http") or ``dry-run``."""
    sms_format = {
        "signature": section.signature,
        "max_length": section.max_length,
        "default_region": section.default_region,
    }
    if section.provider == DRY_RUN:
        return _dry_run(SMS, sms_format)
    options: dict[str, object] = {
        "url": section.url,
        "app_key": section.app_key,
        "timeout": section.timeout,
    }
    secrets = _secrets(app_secret=section.app_secret)
    options |= sms_format
    return ProviderConfig(
        name=SMS_GATEWAY, channel=SMS, kind=SMS_GATEWAY, options=options, secrets=secrets
    )


def email_config(section: EmailSettings) -> ProviderConfig:
    """The [email] section as a config: kind ``smtp`` or ``dry-run``."""
    if section.provider == DRY_RUN:
        return _dry_run(EMAIL, {})
    options = section.model_dump(exclude={"provider", "password"}, mode="json", exclude_none=True)
    secrets = _secrets(password=section.password)
    return ProviderConfig(name=SMTP, channel=EMAIL, kind=SMTP, options=options, secrets=secrets)


def webhook_config(section: WebhookSettings) -> ProviderConfig:
    """The [webhook] section as a config: kind ``standard-webhooks`` (provider "http") or
    ``dry-run``."""
    if section.provider == DRY_RUN:
        return _dry_run(WEBHOOK, {})
    return ProviderConfig(
        name=STANDARD_WEBHOOKS,
        channel=WEBHOOK,
        kind=STANDARD_WEBHOOKS,
        options={"timeout": section.timeout},
        secrets=_secrets(secret=section.secret),
    )


def _dry_run(channel: str, options: dict[str, Any]) -> ProviderConfig:
    return ProviderConfig(
        name=f"{channel}-{DRY_RUN}", channel=channel, kind=DRY_RUN, options=options, secrets={}
    )


def _secrets(**values: SecretStr | None) -> dict[str, str]:
    return {key: value.get_secret_value() for key, value in values.items() if value is not None}

"""What admins do with provider rows: add (checked, secret encrypted), list (secrets masked),
enable, disable, remove, test with one message, and re-encrypt every secret with the newest key.

The faces (``notifier providers``, the console's provider page) call these; each change writes
its audit row in its own transaction. Nothing here prints, and no secret value is ever returned,
logged or put in an error message.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from notifier.channels.base import Message, ProviderConfig, SendResult
from notifier.channels.registry import build_providers
from notifier.channels.sources import provider_configs_from_settings
from notifier.config import Settings
from notifier.domain.channel_names import CHANNELS, WEBHOOK
from notifier.errors import InputError, NotifierError
from notifier.services import audit
from notifier.services.context import Context
from notifier.services.providers.catalog import (
    ProviderCatalog,
    cannot_run,
    config_of,
    current_configs,
    secret_box,
    worker_environment,
)
from notifier.services.providers.sms_templates import KIND_WORDS, sample_of
from notifier.services.providers.usage import Senders
from notifier.store import providers as store
from notifier.store.db import SessionFactory
from notifier.store.models import TriggerKind

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
MASK = "******"
# Where a build error names what is wrong: "option templates.x: ..." or "secret secret_key: ...".
_NAMED = re.compile(r"\b(?:option|secret) ([A-Za-z0-9_.]+)")
TEST_TEXT = "notifier 服务商测试消息 / provider test message"


@dataclass(frozen=True)
class ProviderDraft:
    """A provider an admin asks to add: plain values, the secret not yet encrypted."""

    name: str
    channel: str
    kind: str
    priority: int = 0
    enabled: bool = True
    options: Mapping[str, Any] | None = None
    secrets: Mapping[str, str] | None = None

    def config(self) -> ProviderConfig:
        """The draft as a config, to check before it is stored."""
        return ProviderConfig(
            name=self.name,
            channel=self.channel,
            kind=self.kind,
            options=dict(self.options or {}),
            secrets=dict(self.secrets or {}),
            priority=self.priority,
            enabled=self.enabled,
        )


def read_pairs(values: Iterable[str], field: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` items as (key, value) pairs; the value may hold '=' and spaces.

    Raises:
        InputError: (``field``) an item without '=' or a key; the item is named by its number,
            never echoed, since it may be a secret.
    """
    pairs = []
    for number, value in enumerate(values, start=1):
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise InputError(
                f"{field}: 第 {number} 项应为 KEY=VALUE / item {number}: expected KEY=VALUE",
                field=field,
            )
        pairs.append((key.strip(), rest))
    return pairs


def add(context: Context, draft: ProviderDraft) -> None:
    """Check the draft by building its provider, encrypt its secret, store the row, audited
    ``provider.add`` (the secrets' names, never their values).

    Raises:
        InputError: a bad name or channel, or the name is taken (field ``name``).
        ConfigError: an unknown kind, a wrong option or secret, or no key to encrypt with.
    """
    if not NAME.match(draft.name):
        raise InputError(
            f"name: {draft.name!r} 不可用 / must be 1-50 letters, digits, '.', '_' or '-'",
            field="name",
        )
    if draft.channel not in CHANNELS:
        raise InputError(
            f"channel: 未知渠道 / unknown channel {draft.channel!r}; known: {', '.join(CHANNELS)}",
            field="channel",
        )
    settings, sessions = context.settings, context.sessions
    config = draft.config()
    if any(c.name == draft.name for c in provider_configs_from_settings(settings)):
        raise InputError(
            f"name: {draft.name!r} 已在配置文件中 / is used in the settings", field="name"
        )
    with sessions() as session:
        if store.get_provider(session, draft.name) is not None:
            raise InputError(f"name: 服务商已存在 / provider {draft.name!r} exists", field="name")
    _require_runnable(settings, config)
    box = secret_box(settings)
    label = f"provider {draft.name!r}"
    token = box.encrypt(config.secrets, what=label) if config.secrets else None
    with sessions.begin() as session:
        if store.get_provider(session, draft.name) is not None:  # added meanwhile
            raise InputError(f"name: 服务商已存在 / provider {draft.name!r} exists", field="name")
        store.add_provider(
            session,
            name=draft.name,
            channel=draft.channel,
            kind=draft.kind,
            priority=draft.priority,
            enabled=draft.enabled,
            options=dict(config.options),
            secret_encrypted=token,
            now=context.time_source.now(),
        )
        after = {
            "channel": draft.channel,
            "kind": draft.kind,
            "priority": draft.priority,
            "enabled": draft.enabled,
            "options": dict(config.options),
            "secret_names": sorted(config.secrets),
        }
        _audit(session, context, "provider.add", draft.name, after)


def _require_runnable(settings: Settings, config: ProviderConfig) -> None:
    """Refuse a config the workers could not build (built as they build it, then closed).

    Raises:
        InputError: naming the option or secret at fault (else ``kind``), Chinese first.
    """
    reason = cannot_run(config, worker_environment(settings))
    if reason is None:
        return
    named = _NAMED.search(reason)
    field = named.group(1) if named else "kind"
    raise InputError(
        f"{field}: 此服务商无法运行，未保存 / the provider cannot run, not saved: {reason}",
        field=field,
    )


def _require_row_runnable(context: Context, name: str) -> None:
    with context.sessions() as session:
        row = store.get_provider(session, name)
        if row is None:
            raise _missing(name)
        try:
            config = config_of(row, secret_box(context.settings))
        except NotifierError as exc:
            raise InputError(
                f"secrets: 此服务商无法运行，未启用 / the provider cannot run, not enabled: {exc}",
                field="secrets",
            ) from None
    _require_runnable(context.settings, config)


def preview(settings: Settings, draft: ProviderDraft) -> dict[str, str]:
    """What a firm receives of each message kind through the draft provider, filled with the
    documented variables' examples, by kind (nothing is stored or sent).

    Raises:
        InputError: the draft cannot run (naming the field), or a kind's message cannot be
            composed (field ``templates.<kind>``).
    """
    config = replace(draft.config(), enabled=True)
    _require_runnable(settings, config)
    built = build_providers([config], environment=worker_environment(settings))
    try:
        provider = next(iter(built))
        shown = {}
        for kind in KIND_WORDS:
            try:
                shown[kind] = provider.compose_message(
                    kind, sample_of(kind), TEST_TEXT, to=None
                ).text
            except NotifierError as exc:
                field = f"templates.{kind}"
                raise InputError(f"{field}: {exc}", field=field) from None
        return shown
    finally:
        built.close()


def listing(
    sessions: SessionFactory,
    settings: Settings,
    catalog: ProviderCatalog | None = None,
    senders: Senders | None = None,
) -> list[dict[str, Any]]:
    """Every provider, rows then settings, as admins see them: secrets masked, never shown.

    ``in_force`` says whether it serves its channel by the rows (see
    :mod:`notifier.services.providers.catalog` for the precedence). With this process's
    ``catalog``, ``in_use`` says whether it would send through it now and ``broken`` why a row
    was left out; without one, ``broken`` says why a row cannot be built as the workers build
    it (its secret cannot be opened, an option is refused), in one line. With the live
    ``senders`` (see :mod:`notifier.services.providers.usage`), ``usage`` says how many of them
    send through it, and ``broken`` is theirs when any runs.
    """
    with sessions() as session:
        rows = store.all_providers(session)
        shown = [
            {
                "name": row.name,
                "source": "database",
                "channel": row.channel,
                "kind": row.kind,
                "priority": row.priority,
                "enabled": row.enabled,
                "options": dict(row.settings or {}),
                "secret": MASK if row.secret_encrypted else None,
            }
            for row in rows
        ]
    served = {row["channel"] for row in shown if row["enabled"]}
    names = {row["name"] for row in shown}
    for config in provider_configs_from_settings(settings):
        shown.append(
            {
                "name": config.name,
                "source": "settings",
                "channel": config.channel,
                "kind": config.kind,
                "priority": config.priority,
                "enabled": config.enabled,
                "options": dict(config.options),
                "secret": MASK if config.secrets else None,
            }
        )
    for row in shown:
        overridden = row["source"] == "settings" and (
            row["channel"] in served or row["name"] in names
        )
        row["in_force"] = bool(row["enabled"]) and not overridden
    if catalog is not None:
        used = catalog.in_use()
        broken = catalog.broken
        for row in shown:
            row["in_use"] = str(row["name"]) in used.get(str(row["channel"]), [])
            row["broken"] = broken.get(str(row["name"])) if row["source"] == "database" else None
    else:
        reasons = unbuildable_rows(sessions, settings)
        for row in shown:
            row["broken"] = reasons.get(str(row["name"])) if row["source"] == "database" else None
    if senders is not None:
        _add_usage(shown, senders)
    return shown


def unbuildable_rows(sessions: SessionFactory, settings: Settings) -> dict[str, str]:
    """Why each provider row that cannot be built cannot, by name, in one line: its secret
    does not open with ``secrets.keys``, or the workers would refuse it (a disabled row is
    built as if enabled, so the reason shows before anyone switches it on)."""
    box, environment = secret_box(settings), worker_environment(settings)
    reasons: dict[str, str] = {}
    with sessions() as session:
        rows = list(store.all_providers(session))
    for row in rows:
        try:
            reason = cannot_run(config_of(row, box), environment)
        except NotifierError as exc:
            reason = str(exc)
        if reason is not None:
            # One line, and nothing a terminal would act on (an option's value may be echoed).
            line = " ".join(reason.split())
            reasons[row.name] = "".join(c if c.isprintable() else "?" for c in line)
    return reasons


def _add_usage(shown: list[dict[str, Any]], senders: Senders) -> None:
    for row in shown:
        name, channel = str(row["name"]), str(row["channel"])
        row["usage"] = asdict(senders.usage(channel, name))
        if senders.count and row["source"] == "database":
            row["broken"] = senders.broken.get(name) or row.get("broken")


def set_enabled(context: Context, name: str, *, enabled: bool) -> None:
    """Enable or disable a provider row, audited ``provider.enable`` or ``provider.disable``.

    Raises:
        InputError: no row has that name (settings providers are changed in the settings), or
            enabling a row the workers could not run (its secret no longer opens, or its
            options no longer build).
    """
    if enabled:
        _require_row_runnable(context, name)
    with context.sessions.begin() as session:
        now = context.time_source.now()
        if not store.set_enabled(session, name, enabled=enabled, now=now):
            raise _missing(name)
        _audit(session, context, "provider.enable" if enabled else "provider.disable", name)


def remove(context: Context, name: str) -> None:
    """Delete a provider row, audited ``provider.remove``.

    Raises:
        InputError: no row has that name.
    """
    with context.sessions.begin() as session:
        if not store.remove_provider(session, name):
            raise _missing(name)
        _audit(session, context, "provider.remove", name)


def rotate_secrets(context: Context) -> int:
    """Encrypt every row's secret again with the first of ``secrets.keys``, audited
    ``provider.rotate_secrets``; return how many.

    Raises:
        ConfigError: no key is configured, or a secret opens with none of them (nothing is
            changed then: one transaction).
    """
    box = secret_box(context.settings)
    with context.sessions.begin() as session:
        rows = store.with_secrets(session)
        for row in rows:
            assert row.secret_encrypted is not None
            row.secret_encrypted = box.rotate(row.secret_encrypted, what=f"provider {row.name!r}")
        _audit(session, context, "provider.rotate_secrets", None, {"rotated": len(rows)})
    return len(rows)


def _audit(
    session: Session, context: Context, action: str, name: str | None, after: Any = None
) -> None:
    audit.record(
        session, context, action=action, target_type="provider", target_id=name, after=after
    )


def send_test(
    context: Context, name: str, *, to: str, kind: str = TriggerKind.POLICY_PUBLISHED.value
) -> SendResult:
    """Send one test message to ``to`` through the provider ``name`` now (even if disabled):
    a vendor SMS account sends its approved template of ``kind`` filled with the examples,
    audited ``provider.test`` whatever the answer (a send is no change to roll back: the audit
    row follows it in a transaction of its own).

    Raises:
        InputError: no provider has that name.
        ConfigError: its config cannot be built.
        TemplateError, InputError: the text or the address cannot be sent by it.
        TransientError, PermanentError: the provider's answer (its ``reason`` says what).
    """
    ok = False
    try:
        result = _send_test(context.sessions, context.settings, name, to=to, kind=kind)
        ok = True
        return result
    finally:
        with context.sessions.begin() as session:
            _audit(session, context, "provider.test", name, {"to": to, "ok": ok})


def _send_test(
    sessions: SessionFactory, settings: Settings, name: str, *, to: str, kind: str
) -> SendResult:
    config = next((c for c in current_configs(sessions, settings) if c.name == name), None)
    if config is None:
        raise _missing(name, rows_only=False)
    built = build_providers(
        [replace(config, enabled=True)], environment=worker_environment(settings)
    )
    try:
        provider = next(iter(built))
        composed = provider.compose_message(kind, sample_of(kind), TEST_TEXT, to=to)
        key = f"provider-test-{uuid.uuid4().hex}"
        payload = dict(composed.payload or {})
        if config.channel == WEBHOOK:
            payload = {"type": "provider.test", "text": composed.text}
        message = Message(
            delivery_id=0,
            idempotency_key=key,
            to=to,
            text=composed.text,
            subject="notifier 服务商测试 / provider test",
            payload=payload,
        )
        return provider.send(message)
    finally:
        built.close()


def _missing(name: str, *, rows_only: bool = True) -> InputError:
    where = (
        "数据库中 / in the database"
        if rows_only
        else "数据库或配置中 / in the database or settings"
    )
    return InputError(f"name: 没有服务商 {name!r} {where}: no provider {name!r}", field="name")

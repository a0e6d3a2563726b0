"""The providers a process sends through: rows of the ``providers`` table, then the settings.

Precedence: a channel with at least one enabled provider row in the database is served by its
rows only (lowest ``priority`` first); the other channels by the settings (``[[providers]]``,
then the [sms], [email] and [webhook] sections). A settings provider with the name of a row
is left out. :class:`ProviderCatalog` reads the rows again every ``circuit.refresh_seconds``,
and at once after :meth:`ProviderCatalog.refresh` (the process that changed them), so admins'
changes reach running workers without a restart.

A row that cannot run (its secret no longer opens, its options no longer build) never stops a
process: it is left out with a logged reason, :attr:`ProviderCatalog.broken` names it, and its
channel is served as if the row were not there.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from notifier.channels.aio import LoopThread
from notifier.channels.base import Provider, ProviderConfig, ProviderEnvironment
from notifier.channels.registry import build_providers
from notifier.channels.resolver import ProviderSet
from notifier.channels.sources import environment_from_settings, provider_configs_from_settings
from notifier.channels.vendor_sms import FALLBACK_KINDS
from notifier.config import Settings
from notifier.domain.number_caps import DIGEST, DIGEST_KIND
from notifier.domain.secret_box import SecretBox
from notifier.errors import NotifierError
from notifier.store import providers as store
from notifier.store.db import SessionFactory
from notifier.store.models import ProviderAccount, TriggerKind

log = logging.getLogger(__name__)


def secret_box(settings: Settings) -> SecretBox:
    """The box over ``secrets.keys``."""
    return SecretBox([key.get_secret_value() for key in settings.secrets.keys])


def worker_environment(settings: Settings) -> ProviderEnvironment:
    """What the sending processes build providers with: the settings' environment, and every
    message kind in use (a vendor SMS account must have an approved template for each)."""
    # A kind with a fallback (a re-send uses the publication's template) is not required.
    required = tuple(kind.value for kind in TriggerKind if kind.value not in FALLBACK_KINDS)
    if settings.number_caps.over_cap == DIGEST:  # digests over a number's daily cap
        required += (DIGEST_KIND,)
    return replace(environment_from_settings(settings), message_kinds=required)


def built_or_why(
    config: ProviderConfig, environment: ProviderEnvironment
) -> tuple[Provider | None, str | None]:
    """``config`` built as the workers build it, or why it cannot be (one of the two)."""
    try:
        built = build_providers([replace(config, enabled=True)], environment=environment)
    except NotifierError as exc:
        return None, str(exc)
    return next(iter(built)), None


def cannot_run(config: ProviderConfig, environment: ProviderEnvironment) -> str | None:
    """Why ``config`` cannot be built as the workers build it, or None when it can."""
    provider, reason = built_or_why(config, environment)
    if provider is not None:
        provider.close()
    return reason


def config_of(row: ProviderAccount, box: SecretBox) -> ProviderConfig:
    """A provider row as a config, its secret decrypted.

    Raises:
        ConfigError: the row has a secret and no key in ``secrets.keys`` opens it.
    """
    label = f"provider {row.name!r}"
    secrets = box.decrypt(row.secret_encrypted, what=label) if row.secret_encrypted else {}
    return ProviderConfig(
        name=row.name,
        channel=row.channel,
        kind=row.kind,
        options=dict(row.settings or {}),
        secrets=secrets,
        priority=row.priority,
        enabled=row.enabled,
    )


def merged_configs(
    rows: Sequence[ProviderConfig], from_settings: Sequence[ProviderConfig]
) -> list[ProviderConfig]:
    """The database's configs, then the settings' for the channels no enabled row serves."""
    served = {config.channel for config in rows if config.enabled}
    named = {config.name for config in rows}
    kept = [c for c in from_settings if c.channel not in served and c.name not in named]
    return [*rows, *kept]


def current_configs(sessions: SessionFactory, settings: Settings) -> list[ProviderConfig]:
    """Every provider config in force now (rows decrypted), in precedence order.

    Raises:
        ConfigError: a row's secret cannot be decrypted (no key, or the wrong keys).
    """
    box = secret_box(settings)
    with sessions() as session:
        rows = [config_of(row, box) for row in store.all_providers(session)]
    return merged_configs(rows, provider_configs_from_settings(settings))


def runnable_rows(
    sessions: SessionFactory, settings: Settings, environment: ProviderEnvironment
) -> tuple[list[ProviderConfig], dict[str, str], dict[str, Provider]]:
    """The rows that can run, decrypted; the reason each other one cannot, by name; and the
    providers built to check the enabled rows, by name (to be used, not built again).

    Disabled rows are only decrypted (they are built when enabled).
    """
    box = secret_box(settings)
    good: list[ProviderConfig] = []
    broken: dict[str, str] = {}
    with sessions() as session:
        rows = list(store.all_providers(session))
        for row in rows:
            try:
                good.append(config_of(row, box))
            except NotifierError as exc:
                broken[row.name] = str(exc)
    built: dict[str, Provider] = {}
    for config in [c for c in good if c.enabled]:
        provider, reason = built_or_why(config, environment)
        if provider is not None:
            built[config.name] = provider
        if reason is not None:
            broken[config.name] = reason
    return [c for c in good if c.name not in broken], broken, built


def _built(
    rows: Sequence[ProviderConfig],
    checked: Mapping[str, Provider],
    settings: Settings,
    environment: ProviderEnvironment,
) -> ProviderSet:
    """The set in force: the rows' providers as built when checked, then the settings'."""
    try:
        return build_providers(
            merged_configs(rows, provider_configs_from_settings(settings)),
            environment=environment,
            built_before=checked,
        )
    except NotifierError:
        for provider in checked.values():
            provider.close()
        raise


def fingerprint(sessions: SessionFactory) -> tuple[object, ...]:
    """What changes when an admin changes a provider row: each row's id and update time."""
    with sessions() as session:
        return tuple((row.id, row.updated_at) for row in store.all_providers(session))


@dataclass(frozen=True)
class Loaded:
    """What a catalog sends through, as last loaded: provider names by channel (first choice
    first), the rows left out with the reason, and a digest of the rows it was loaded from."""

    channels: dict[str, list[str]]
    broken: dict[str, str]
    version: str


class ProviderCatalog:
    """Resolves a channel to its providers, from rows and settings, re-read when they change.

    A set replaced by a newer one is closed one refresh later, so sends still under way on
    another thread finish on it.
    """

    def __init__(
        self,
        sessions: SessionFactory,
        settings: Settings,
        *,
        environment: ProviderEnvironment | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        # One event loop for every HTTP provider this process builds, rebuilt ones included.
        self._environment = environment or replace(
            worker_environment(settings), http_loop=LoopThread()
        )
        self._monotonic = monotonic
        self._lock = threading.Lock()  # guards the fields below; held for no I/O
        self._reloading = threading.Lock()  # one reload at a time
        self._set: ProviderSet | None = None
        self._retired: ProviderSet | None = None
        self._seen: tuple[object, ...] | None = None
        self._broken: dict[str, str] = {}
        self._checked = 0.0
        self._version = ""
        self._watchers: list[Callable[[], None]] = []

    @property
    def environment(self) -> ProviderEnvironment:
        """What this catalog builds providers with."""
        return self._environment

    @property
    def broken(self) -> Mapping[str, str]:
        """The provider rows left out at the last load, with the reason each cannot run."""
        with self._lock:
            return dict(self._broken)

    def in_use(self) -> dict[str, list[str]]:
        """The names of the providers each channel sends through now, first choice first (the
        rows are looked at again first: a change shows at once)."""
        with self._lock:
            self._checked = 0.0
        if self._reload_due():
            self._reload(force=False)
        return self.loaded().channels

    def loaded(self) -> Loaded:
        """What this catalog sends through now, as last loaded (the rows are not looked at)."""
        with self._lock:
            assert self._set is not None
            used: dict[str, list[str]] = {}
            for provider in self._set:
                used.setdefault(provider.channel, []).append(provider.name)
            return Loaded(channels=used, broken=dict(self._broken), version=self._version)

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each load, in the loading thread, which holds no lock of
        ours but the one that keeps loads one at a time (so it may read :meth:`loaded`)."""
        self._watchers.append(callback)

    def load(self) -> None:
        """Build the providers now (at a process's start: a wrong row is reported then).

        Raises:
            ConfigError: a setting is wrong (a wrong row is left out, see :attr:`broken`).
        """
        with self._lock:
            self._checked = self._monotonic() + self._settings.circuit.refresh_seconds
        self._reload(force=True)

    def refresh(self) -> None:
        """Read the rows again at the next use (this process just changed them)."""
        with self._lock:
            self._seen = None
            self._checked = 0.0

    def for_channel(self, channel: str) -> Sequence[Provider]:
        """The enabled providers of ``channel``, first choice first.

        The caller must hold no database transaction: a due reload reads the rows in a
        connection of its own (on SQLite it would wait for the caller's write lock).
        """
        if self._reload_due():
            self._reload(force=False)
        with self._lock:
            assert self._set is not None
            return self._set.for_channel(channel)

    def _reload_due(self) -> bool:
        # One thread takes the due check; the others go on with the set they have.
        with self._lock:
            if self._set is not None and self._monotonic() < self._checked:
                return False
            self._checked = self._monotonic() + self._settings.circuit.refresh_seconds
            return True

    def _reload(self, *, force: bool) -> None:
        # The rows are read under _reloading only, never under _lock: a sender never waits
        # on a database read to get the current set, and no lock of ours is held while the
        # database may make us wait.
        with self._reloading:
            with self._lock:
                force = force or self._set is None
                seen_before = self._seen
            try:
                seen = fingerprint(self._sessions)
                if not force and seen == seen_before:
                    return
                rows, broken, checked = runnable_rows(
                    self._sessions, self._settings, self._environment
                )
                built = _built(rows, checked, self._settings, self._environment)
            except NotifierError:
                if self._set is None:
                    raise
                log.exception("provider rows could not be read again; the previous ones stay")
                return
            for name, reason in broken.items():
                log.error("provider %r left out: it cannot run: %s", name, reason)
            with self._lock:
                self._broken = broken
                if self._retired is not None:
                    self._retired.close()
                self._retired, self._set, self._seen = self._set, built, seen
                self._version = hashlib.sha256(repr(seen).encode()).hexdigest()[:16]
            for callback in self._watchers:
                callback()

    def close(self) -> None:
        """Close every provider built."""
        for held in (self._set, self._retired):
            if held is not None:
                held.close()
        self._set = self._retired = None

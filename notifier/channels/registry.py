"""Provider kinds, found through the ``notifier.providers`` entry points, and building them.

A kind is a :class:`~notifier.channels.base.Provider` subclass registered under its ``kind``
name, ours in pyproject.toml and a plug-in's in its own package metadata::

    [project.entry-points."notifier.providers"]
    echo = "echo_provider:EchoProvider"

:func:`build_providers` turns provider configs (plain data, from
:func:`~notifier.channels.sources.provider_configs_from_settings` or any other source) into a
:class:`~notifier.channels.resolver.ProviderSet`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from notifier.channels.base import Provider, ProviderConfig, ProviderEnvironment
from notifier.channels.resolver import ProviderSet
from notifier.channels.sending_rules import split_sending_rules
from notifier.domain.channel_names import CHANNELS
from notifier.errors import ConfigError

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "notifier.providers"


def load_provider_kinds(*, group: str = ENTRY_POINT_GROUP) -> dict[str, type[Provider]]:
    """Return the provider kinds registered in the entry point ``group``, by kind name.

    Raises:
        ConfigError: two entry points share a name, one does not name a Provider class, or
            the class's ``kind`` differs from the name it is registered under.
    """
    found = entry_points(group=group)
    counts = Counter(entry_point.name for entry_point in found)
    twice = sorted(name for name, count in counts.items() if count > 1)
    if twice:
        where = ", ".join(f"{ep.name} = {ep.value}" for ep in found if ep.name in twice)
        raise ConfigError(f"provider kind {twice[0]!r} is registered twice ({where})")
    kinds: dict[str, type[Provider]] = {}
    for entry_point in found:
        name = entry_point.name
        loaded = entry_point.load()
        if not (isinstance(loaded, type) and issubclass(loaded, Provider)):
            raise ConfigError(f"provider kind {name!r} ({entry_point.value}) is not a Provider")
        if getattr(loaded, "kind", None) != name:
            raise ConfigError(
                f"provider kind {name!r} ({entry_point.value}) says its kind is "
                f"{getattr(loaded, 'kind', None)!r}"
            )
        kinds[name] = loaded
    return kinds


def build_providers(
    configs: Iterable[ProviderConfig],
    *,
    environment: ProviderEnvironment,
    kinds: Mapping[str, type[Provider]] | None = None,
    built_before: Mapping[str, Provider] | None = None,
) -> ProviderSet:
    """Build the enabled providers of ``configs``; check the disabled ones without building.

    Parameters:
        configs: provider configs from any source.
        environment: what the deployment gives every provider.
        kinds: the kinds to build from; :func:`load_provider_kinds` when None.
        built_before: providers already built from these configs, by name (e.g. built to
            check that a row can run): used as they are, not built again.

    Raises:
        ConfigError: a name is used twice, a channel is unknown, a kind is unknown or cannot
            serve its channel (the message names the provider, the kind and the known kinds),
            or a provider's own options are wrong.
    """
    known = load_provider_kinds() if kinds is None else kinds
    built: list[tuple[int, Provider]] = []
    names: set[str] = set()
    try:
        for config in configs:
            if config.name in names:
                raise ConfigError(f"provider name {config.name!r} is used twice")
            names.add(config.name)
            kind = _kind_for(config, known)
            rules, kind_config = split_sending_rules(config)
            if config.enabled:
                provider = (built_before or {}).get(config.name) or kind.from_config(
                    kind_config, environment=environment
                )
                provider.rules = rules
                built.append((config.priority, provider))
    except BaseException:
        ProviderSet(built).close()
        raise
    providers = ProviderSet(built)
    log.info("providers: %s", ", ".join(f"{p.name} ({p.kind}, {p.channel})" for p in providers))
    return providers


def _kind_for(config: ProviderConfig, known: Mapping[str, type[Provider]]) -> type[Provider]:
    if config.channel not in CHANNELS:
        raise ConfigError(
            f"{config.label}: unknown channel {config.channel!r}; known: {', '.join(CHANNELS)}"
        )
    kind = known.get(config.kind)
    if kind is None:
        raise ConfigError(
            f"{config.label}: unknown provider kind {config.kind!r}; "
            f"known kinds: {', '.join(sorted(known)) or '(none)'}"
        )
    if config.channel not in kind.channels:
        raise ConfigError(
            f"{config.label}: kind {config.kind!r} cannot serve channel {config.channel!r} "
            f"(it serves {', '.join(sorted(kind.channels))})"
        )
    return kind

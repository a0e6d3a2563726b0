"""The options every provider takes whatever its kind: limits and retries.

A provider's ``options`` may hold ``rate_per_second``, ``concurrency``, ``max_attempts``,
``max_throttled_tries``, ``backoff_base_seconds`` and ``backoff_max_seconds`` beside its kind's
own options.
:func:`split_sending_rules` takes them out (so a kind's option model, which refuses unknown
keys, never sees them) and returns them as a :class:`~notifier.channels.base.SendingRules`.
"""

from __future__ import annotations

import dataclasses

from pydantic import Field

from notifier.channels.base import ProviderConfig, SendingRules
from notifier.channels.options import KindOptions, parse_config

RULE_OPTIONS = tuple(field.name for field in dataclasses.fields(SendingRules))


class _RuleOptions(KindOptions):
    rate_per_second: int | None = Field(default=None, ge=1, le=100_000)
    concurrency: int | None = Field(default=None, ge=1, le=10_000)
    max_attempts: int | None = Field(default=None, ge=1, le=50)
    max_throttled_tries: int | None = Field(default=None, ge=1, le=1000)
    backoff_base_seconds: float | None = Field(default=None, ge=0)
    backoff_max_seconds: float | None = Field(default=None, ge=0)


def split_sending_rules(config: ProviderConfig) -> tuple[SendingRules, ProviderConfig]:
    """Return the config's rules and the config without the rules options.

    Raises:
        ConfigError: a rules option is wrong; the message names the provider and the option.
    """
    taken = {key: value for key, value in config.options.items() if key in RULE_OPTIONS}
    rest = {key: value for key, value in config.options.items() if key not in RULE_OPTIONS}
    just_rules = dataclasses.replace(config, options=taken, secrets={})
    parsed, _ = parse_config(just_rules, _RuleOptions)
    rules = SendingRules(**parsed.model_dump())
    return rules, dataclasses.replace(config, options=rest)

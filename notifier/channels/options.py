"""Read a provider config's options and secrets into typed models, refusing unknown keys.

A kind describes its options (and secrets) as a pydantic model; :func:`parse_options` and
:func:`parse_secrets` validate the config against it and turn every problem into one
:class:`~notifier.errors.ConfigError` that names the provider and each bad option. Values are
never quoted, so a secret cannot leak into the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from notifier.channels.base import ProviderConfig
from notifier.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class KindOptions(BaseModel):
    """Base of a kind's option (or secret) model: read-only, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(KindOptions):
    """A kind that takes no options."""


def parse_options(config: ProviderConfig, model: type[M]) -> M:
    """Validate ``config.options`` against ``model``.

    Raises:
        ConfigError: an option is missing, unknown or wrong; the message names each one.
    """
    return _parse(config, config.options, model, what="option")


def parse_secrets(config: ProviderConfig, model: type[M]) -> M:
    """Validate ``config.secrets`` against ``model``.

    Raises:
        ConfigError: a secret is missing, unknown or malformed; the message names it, never
            its value.
    """
    return _parse(config, config.secrets, model, what="secret")


def _parse(config: ProviderConfig, values: Mapping[str, Any], model: type[M], *, what: str) -> M:
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        problems = [
            f"{what} {'.'.join(str(part) for part in error['loc']) or '(all)'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise ConfigError(f"{config.label}: " + "; ".join(problems)) from None

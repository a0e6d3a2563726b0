"""Read a provider config's options and secrets into typed models, refusing unknown keys.

A kind describes its options (and secrets) as pydantic models; :func:`parse_config` validates
the config against them and turns every problem into one :class:`~notifier.errors.ConfigError`
that names the provider and each bad option or secret. Values are
never quoted, so a secret cannot leak into the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from notifier.channels.base import ProviderConfig
from notifier.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
S = TypeVar("S", bound=BaseModel)


class KindOptions(BaseModel):
    """Base of a kind's option (or secret) model: read-only, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(KindOptions):
    """A kind that takes no options."""


def parse_config(
    config: ProviderConfig, options: type[M], secrets: type[S] = NoOptions  # type: ignore[assignment]
) -> tuple[M, S]:
    """Validate ``config.options`` and ``config.secrets`` at once.

    Raises:
        ConfigError: one message naming every bad option and secret (never a secret's value).
    """
    problems: list[str] = []
    parsed_options = _validate(options, config.options, "option", problems)
    parsed_secrets = _validate(secrets, config.secrets, "secret", problems)
    if parsed_options is None or parsed_secrets is None:
        raise ConfigError(f"{config.label}: " + "; ".join(problems))
    return parsed_options, parsed_secrets


def _validate(
    model: type[M], values: Mapping[str, Any], what: str, problems: list[str]
) -> M | None:
    """The validated model, or None with a line per problem added to ``problems``."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        problems.extend(
            f"{what} {'.'.join(str(part) for part in error['loc']) or '(all)'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        return None

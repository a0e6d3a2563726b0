"""Find channel classes through the ``notifier.channels`` entry points and build them.

A channel class (ours or a plug-in's) is built by its ``from_settings(settings)`` classmethod.
A channel whose settings section says ``provider = "dry-run"`` is replaced by a
:class:`~notifier.channels.dryrun.DryRunChannel` that records messages in the outbox.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from notifier.channel_names import CHANNELS
from notifier.channels.base import Channel
from notifier.channels.dryrun import DryRunChannel
from notifier.errors import ConfigError

if TYPE_CHECKING:
    from notifier.config import Settings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "notifier.channels"


def load_channel_classes() -> dict[str, type[Channel]]:
    """Return the channel classes registered in the ``notifier.channels`` entry points.

    Raises:
        ConfigError: two entry points share a name, or one does not name a Channel class.
    """
    classes: dict[str, type[Channel]] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in classes:
            raise ConfigError(f"channel {entry_point.name!r} is registered twice")
        loaded = entry_point.load()
        if not (isinstance(loaded, type) and issubclass(loaded, Channel)):
            raise ConfigError(f"{entry_point.name!r} ({entry_point.value}) is not a Channel class")
        classes[entry_point.name] = loaded
    return classes


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Build every registered channel from the settings, dry-run ones as DryRunChannel.

    Raises:
        ConfigError: sms, email or webhook is not registered.
    """
    classes = load_channel_classes()
    missing = [name for name in CHANNELS if name not in classes]
    if missing:
        raise ConfigError(f"no channel registered for {', '.join(missing)}")
    channels: dict[str, Channel] = {}
    for name, cls in classes.items():
        section = getattr(settings, name, None)
        if getattr(section, "provider", None) == "dry-run":
            channels[name] = DryRunChannel(channel=name, outbox_dir=settings.outbox_dir)
            continue
        channels[name] = cls.from_settings(settings)
    log.info("channels: %s", {name: type(channel).__name__ for name, channel in channels.items()})
    return channels

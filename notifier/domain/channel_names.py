"""The channel names, in one place: the kinds of transport an enterprise can choose."""

from __future__ import annotations

SMS = "sms"
EMAIL = "email"
WEBHOOK = "webhook"

CHANNELS: tuple[str, ...] = (SMS, EMAIL, WEBHOOK)

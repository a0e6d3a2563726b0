"""Stacked bars as plain numbers for an inline SVG: no chart library, nothing from a CDN."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

STATUS_COLOURS = {
    "delivered": "#137333",
    "sent": "#34a853",
    "queued": "#f2b705",
    "pending": "#f9d77e",
    "sending": "#e8a33d",
    "deferred": "#c77d0a",
    "failed": "#b42318",
    "suppressed": "#9aa5b1",
    "cancelled": "#616e7c",
}
# A policy's reach funnel, one colour per step (darker as the firms get further).
FUNNEL_COLOURS = {
    "targeted": "#9aa5b1",
    "sent": "#7cb8e8",
    "delivered": "#3d8fd1",
    "opened": "#34a853",
    "confirmed": "#137333",
    "done": "#0b4d22",
}


@dataclass(frozen=True)
class Segment:
    """One status's part of a bar."""

    status: str
    count: int
    x: float
    width: float
    colour: str


@dataclass(frozen=True)
class Bar:
    """One channel's bar: its segments left to right, and its total."""

    label: str
    total: int
    y: float
    segments: tuple[Segment, ...]


def stacked_bars(
    counts: Mapping[str, Mapping[str, int]],
    labels: Sequence[str],
    *,
    width: float = 520,
    bar_height: float = 22,
    gap: float = 12,
    colours: Mapping[str, str] = STATUS_COLOURS,
) -> list[Bar]:
    """One horizontal bar per label (a channel, a funnel's step), its parts (statuses, in
    ``colours``' order and colours) stacked, scaled to the largest."""
    largest = max([sum(counts.get(label, {}).values()) for label in labels] + [1])
    bars = []
    for row, label in enumerate(labels):
        x = 0.0
        segments = []
        for status, colour in colours.items():
            count = counts.get(label, {}).get(status, 0)
            if count:
                part = width * count / largest
                segments.append(Segment(status, count, round(x, 1), round(part, 1), colour))
                x += part
        total = sum(counts.get(label, {}).values())
        bars.append(Bar(label, total, row * (bar_height + gap), tuple(segments)))
    return bars

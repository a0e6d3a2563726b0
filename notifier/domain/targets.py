"""The Targets value: whom a piece of outreach is for, as one frozen value.

The policy file, the API, the campaign and the stored policy all produce it; the audience query
reads it. Empty tuples mean "everyone" for that target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

from notifier.errors import InputError

SIZES: tuple[str, ...] = ("large", "medium", "small", "micro")
# What a district register writes for the enterprise size (GB/T: 大型, 中型, 小型, 微型).
SIZE_WORDS: dict[str, str] = dict(zip(SIZES, SIZES, strict=True)) | {
    "大型": "large",
    "中型": "medium",
    "小型": "small",
    "微型": "micro",
    "大": "large",
    "中": "medium",
    "小": "small",
    "微": "micro",
    "大型企业": "large",
    "中型企业": "medium",
    "小型企业": "small",
    "微型企业": "micro",
}

SIZE_CHOICES = "large, medium, small, micro (大型, 中型, 小型, 微型)"


def read_size(raw: str) -> str | None:
    """The size a word names (``small``, ``Small``, ``小型``, ``小型企业``), or None."""
    return SIZE_WORDS.get(raw.strip().lower())


_CREDIT_CODE_PROBLEMS = {
    stdnum_errors.InvalidChecksum: "the check character does not match (bad checksum)",
    stdnum_errors.InvalidLength: "must be 18 characters",
    stdnum_errors.InvalidFormat: "contains characters that are not allowed",
}


def read_credit_code(raw: str) -> str:
    """The unified social credit code ``raw`` names, compact and upper case.

    Raises:
        InputError: (field ``"credit_code"``) the reason, e.g. a bad check character.
    """
    try:
        return uscc.validate(raw)
    except stdnum_errors.ValidationError as exc:
        problem = _CREDIT_CODE_PROBLEMS.get(type(exc)) or getattr(exc, "message", str(exc))
        raise InputError(
            f"not a valid unified social credit code: {problem}", field="credit_code"
        ) from None


@dataclass(frozen=True)
class Targets:
    """Sectors (GB/T 4754 prefixes), regions (``/`` paths), sizes, tags, topics and, for
    campaigns, explicit credit codes. An enterprise is reached when it matches every
    non-empty target; topics filter only when the enterprise names topics too.

    ``done_deadlines`` excludes: an enterprise that marked any of these deadlines done is not
    reached (a deadline reminder's audience is its policy's targets plus its own deadline).

    ``reached_by`` narrows to the enterprises a sent or delivered message of these policies
    reached, on the channels it reached them on (a correction's audience)."""

    sectors: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    credit_codes: tuple[str, ...] = ()
    done_deadlines: tuple[int, ...] = ()
    reached_by: tuple[int, ...] = ()
    # Only these channels (a campaign's); empty: every channel the enterprise subscribed to.
    channels: tuple[str, ...] = ()

    @property
    def everyone(self) -> bool:
        """True when no target narrows the audience (topics aside)."""
        return (
            not (self.sectors or self.regions or self.sizes or self.tags or self.credit_codes)
            and not self.reached_by
        )

    def as_dict(self) -> dict[str, list[str]]:
        """The targets as lists, for JSON and display (empty ones left out)."""
        return {f.name: list(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Targets:
        """The value back from :meth:`as_dict` (stored JSON); unknown keys are ignored."""
        return cls(**{f.name: tuple(data.get(f.name) or ()) for f in fields(cls)})

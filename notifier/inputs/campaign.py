"""The campaign file as a model: its keys, types and maximums (docs: Campaigns).

The same model states the API's campaign body in the OpenAPI document. Channels may be written
as a register writes them (短信, 邮件, 网络回调); targets are a policy's
(:class:`~notifier.inputs.policy.TargetsIn`). Times stay text here, read in the schedule's zone
by :mod:`notifier.inputs.campaign_file`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from notifier.domain.channel_names import CHANNELS, EMAIL
from notifier.domain.plaintext import shown
from notifier.inputs.enterprise_csv import CHANNEL_WORDS
from notifier.inputs.fields import CHANNEL_ENUM
from notifier.inputs.policy import (
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
    MessageClassIn,
    Moment,
    TargetsIn,
    Url,
)
from notifier.inputs.strict import (
    OURS,
    Line,
    RequiredLine,
    RequiredText,
    StrictModel,
    Text,
    field_name,
    line,
    refuse,
    typed,
    unknown_key,
)

MAX_THROTTLE = 100_000
MAX_TEMPLATE_CHARS = 20_000
MAX_NAME_LENGTH, MAX_SUBJECT_LENGTH, MAX_CRON_LENGTH, MAX_ZONE_LENGTH = 100, 300, 100, 64
MAX_PATH_LENGTH = 500
NAME_RULE = r"^[\w.-]{1,100}$"
_NAME = re.compile(NAME_RULE)
_CHANNELS_RULE = f"must be a non-empty list of {', '.join(CHANNELS)} (短信, 邮件, 网络回调)"


def channel_of(word: str) -> str:
    """The channel a word names (``短信`` → ``sms``, ``SMS`` → ``sms``), or the word itself."""
    return CHANNEL_WORDS.get(word.strip(), word.strip().lower())


def _name(name: str) -> str:
    if not _NAME.match(name):
        raise refuse(f"'{shown(name)}' may hold only letters, digits, '.', '-' and '_'")
    return name


def _channels(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
        raise refuse(_CHANNELS_RULE)
    channels = []
    for item in raw:
        channel = channel_of(item)
        if channel not in CHANNELS:
            raise refuse(
                f"'{shown(item)}' is not one of {', '.join(CHANNELS)} (短信, 邮件, 网络回调)"
            )
        channels.append(channel)
    return tuple(dict.fromkeys(channels))


def _throttle(value: Any) -> int:
    # type() rather than isinstance(): true and false are ints to Python.
    if type(value) is not int or not 1 <= value <= MAX_THROTTLE:
        raise refuse(
            f"must be a whole number 1..{MAX_THROTTLE} (messages a minute)"
        )
    return value


class InlineTemplateIn(StrictModel):
    """A template's text given in the file (saved under the campaign's name, or ``name``)."""

    name: Line = line(MAX_NAME_LENGTH, default="")
    body: RequiredText = Field(max_length=MAX_TEMPLATE_CHARS)
    subject: Line = line(MAX_SUBJECT_LENGTH, default="", description="邮件必填 / email only")
    html: Text = Field(default="", max_length=MAX_TEMPLATE_CHARS)


_TEMPLATE_RULE = "is required: a stored template's name, or {\"body\": ...}"


def _template_kind(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return "stored"
    return "inline" if isinstance(value, dict) else None


TemplateChoice = Annotated[
    Annotated[Line, line(MAX_NAME_LENGTH), Tag("stored")]
    | Annotated[InlineTemplateIn, Tag("inline")],
    Discriminator(_template_kind, custom_error_type=OURS, custom_error_message=_TEMPLATE_RULE),
]
"""A stored template's name, or the template's own text."""


class ScheduleIn(StrictModel):
    """Once (``once_at``), or by ``cron`` from ``starts_at`` until ``ends_at``, in ``timezone``
    (default: the deployment's)."""

    once_at: Moment | None = None
    cron: Line = line(MAX_CRON_LENGTH, default="", examples=["0 9 * * MON"])
    timezone: Line = line(MAX_ZONE_LENGTH, default="", examples=["Asia/Shanghai"])
    starts_at: Moment | None = None
    ends_at: Moment | None = None

    @model_validator(mode="after")
    def _once_or_cron(self) -> ScheduleIn:
        if (self.once_at is not None) == bool(self.cron):
            raise refuse("give once_at or cron (one of them)")
        return self


class CampaignFile(StrictModel):
    """活动文件 / the campaign file (docs: Campaigns)."""

    name: Annotated[RequiredLine, AfterValidator(_name)] = Field(
        max_length=MAX_NAME_LENGTH, json_schema_extra={"pattern": NAME_RULE}
    )
    title: RequiredLine = line(MAX_TITLE_LENGTH, required=True)
    url: Url = line(MAX_URL_LENGTH, default="")
    channels: Annotated[
        list[Annotated[str, Field(max_length=10, json_schema_extra={"enum": CHANNEL_ENUM})]],
        BeforeValidator(_channels),
    ] = Field(min_length=1, description="短信, 邮件, 网络回调 as well")
    templates: Annotated[
        dict[str, TemplateChoice],
        typed(dict, "must be an object: channel -> template name or text"),
    ]
    targets: TargetsIn = Field(default_factory=TargetsIn)
    credit_codes_file: Line = line(
        MAX_PATH_LENGTH, default="", description="仅命令行 / the command line only"
    )
    schedule: Annotated[
        ScheduleIn, typed(dict, 'must be an object: {"once_at": ...} or {"cron": ...}')
    ]
    throttle_per_minute: (
        Annotated[int, Field(ge=1, le=MAX_THROTTLE), BeforeValidator(_throttle)] | None
    ) = None
    # docs: Content rules.
    message_class: MessageClassIn = "notice"

    @model_validator(mode="after")
    def _a_template_per_channel(self) -> CampaignFile:
        keyed = self.templates_by_channel()
        for key in keyed:
            if key not in self.channels:
                # Not a ValueError: pydantic lets it through, message and field as they are.
                field = field_name(["templates", shown(key, limit=40)])
                raise unknown_key(field, key, self.channels)
        for channel in self.channels:
            value = keyed.get(channel)
            if value is None:
                raise refuse(_TEMPLATE_RULE, below=f"templates.{channel}")
            if isinstance(value, InlineTemplateIn) and channel == EMAIL and not value.subject:
                raise refuse("is required for email", below=f"templates.{channel}.subject")
        return self

    def templates_by_channel(self) -> dict[str, str | InlineTemplateIn]:
        """The templates keyed by channel (``短信`` read as ``sms``)."""
        return {channel_of(key): value for key, value in self.templates.items()}

"""The API's request bodies (other than the policy and campaign files, which are
:mod:`notifier.inputs.policy` and :mod:`notifier.inputs.campaign`), as the OpenAPI schema states
them.

A body field carries every rule a client can know beforehand: the length the database allows,
textrules' line rule as a pattern, the words a choice takes as an enum, the shape of a credit
code or sector code. What only the server can check (a credit code's check character, a channel
with no contact) stays a 400 that names the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from notifier.domain.sectors import sector_pattern
from notifier.domain.text_rules import LINE_PATTERN, REQUIRED_LINE_PATTERN, REQUIRED_TEXT_PATTERN
from notifier.inputs.enterprise_csv import (
    MAX_ADDRESS_LENGTH,
    MAX_NAME_LENGTH,
    MAX_REGION_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TOPIC_LENGTH,
)
from notifier.inputs.fields import (
    CHANNEL_ENUM,
    DATE_OR_TIME_PATTERN,
    ROLES,
    SIZE_ENUM,
    choice,
    credit_code_field,
)


def line(max_length: int, *, required: bool = True, **options: Any) -> Any:
    """A one-line text field: textrules' line rule as its pattern (at least one visible
    character when ``required``) and at most ``max_length`` characters."""
    pattern = REQUIRED_LINE_PATTERN if required else LINE_PATTERN
    return Field(max_length=max_length, pattern=pattern, **options)


Topic = Annotated[str, line(MAX_TOPIC_LENGTH)]
Tag = Annotated[str, line(MAX_TAG_LENGTH)]
Sector = Annotated[str, Field(max_length=10, json_schema_extra={"pattern": sector_pattern()})]
Channel = Annotated[str, choice(CHANNEL_ENUM)]


class EnterpriseIn(BaseModel):
    """One enterprise, as a row of the import file (lists instead of ``;``-joined cells).

    It is checked exactly as an imported row is, and stored or updated by credit code.
    """

    model_config = ConfigDict(extra="forbid")

    credit_code: str = credit_code_field()
    name: str = line(MAX_NAME_LENGTH)
    sectors: list[Sector] = Field(default_factory=list, min_length=1, max_length=50)
    region: str = line(
        MAX_REGION_LENGTH, description="以 / 分隔的区域路径 / a path of segments joined by /"
    )
    size: str = choice(SIZE_ENUM)
    # Patterns for a client's guidance only: the server's own readers take more spellings.
    phone: str | None = Field(
        default=None, max_length=40, json_schema_extra={"pattern": r"^\+?[0-9][0-9 -]{5,30}$"}
    )
    email: str | None = Field(default=None, max_length=254, json_schema_extra={"format": "email"})
    webhook_url: str | None = Field(
        default=None,
        max_length=MAX_ADDRESS_LENGTH,
        json_schema_extra={"pattern": r"^https?://[^\s/?#]+[^\s]*$"},
    )
    topics: list[Topic] = Field(default_factory=list, max_length=20)
    channels: list[Channel] = Field(
        default_factory=list, max_length=3, json_schema_extra={"uniqueItems": True}
    )
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_at: str = Field(
        max_length=40,
        # The schema's spelling; the reader also takes seconds and offsets.
        json_schema_extra={"pattern": DATE_OR_TIME_PATTERN},
        description="2026-10-15 (that day's end) or 2026-10-15T17:00",
    )


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_code: str = credit_code_field()


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = choice(ROLES, description="admin | staff | enterprise")
    name: str = line(100)
    enterprise: str | None = credit_code_field(
        default=None,
        description="企业密钥的统一社会信用代码 / an enterprise key's credit code (only for, "
        "and required by, an enterprise key)",
    )
    owner: str | None = line(
        64, default=None, description="密钥所属用户的名字 / the name of the user who owns the key"
    )


class SubscriptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] = Field(max_length=3, json_schema_extra={"uniqueItems": True})
    topics: list[Topic] | None = Field(default=None, max_length=20)


class TemplateIn(BaseModel):
    """One version of a template: the text, and for email a subject and an optional HTML."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(
        max_length=20000,
        pattern=REQUIRED_TEXT_PATTERN,
        description="短信、邮件纯文本或回调正文 / the text",
    )
    subject: str | None = line(
        500, default=None, description="邮件主题，仅邮件 / email only, and required there"
    )
    html: str | None = Field(
        default=None, max_length=100000, description="邮件网页版，仅邮件 / email only"
    )
    author: str | None = line(
        100, required=False, default=None, description="作者 / who wrote it"
    )


class TestSendIn(BaseModel):
    """Where to send one test rendering: your own phone, email or webhook URL."""

    model_config = ConfigDict(extra="forbid")

    channel: str = choice(CHANNEL_ENUM, description="sms, email, webhook (短信, 邮件, 网络回调)")
    to: str = line(MAX_ADDRESS_LENGTH, description="你自己的地址 / your own address")
    enterprise: str | None = credit_code_field(
        default=None, description="为此企业渲染 / render for this credit code"
    )

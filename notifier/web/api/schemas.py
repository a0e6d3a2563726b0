"""What the API returns and takes, as the OpenAPI schema states it.

A body field carries every rule a client can know beforehand: the length the database allows,
textrules' line rule as a pattern, the words a choice takes as an enum, the shape of a credit
code or sector code. What only the server can check (a credit code's check character, a
channel with no contact) stays a 400 that names the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from notifier.domain.channel_names import CHANNELS
from notifier.domain.sectors import sector_pattern
from notifier.domain.targets import SIZE_WORDS
from notifier.domain.text_rules import LINE_PATTERN, REQUIRED_LINE_PATTERN, REQUIRED_TEXT_PATTERN
from notifier.inputs.enterprise_csv import (
    CHANNEL_WORDS,
    MAX_ADDRESS_LENGTH,
    MAX_NAME_LENGTH,
    MAX_REGION_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TOPIC_LENGTH,
)

T = TypeVar("T")

# What a choice field takes, as the readers accept it (English or the register's Chinese word).
CHANNEL_ENUM = [*CHANNELS, *CHANNEL_WORDS]
SIZE_ENUM = list(SIZE_WORDS)
ROLES = ["admin", "staff", "enterprise"]
# A unified social credit code (GB 32100-2015) by its ``format`` name, so a client (or a fuzzer)
# can make valid ones: a pattern could not state the check character, and a generator that
# honours the pattern ignores the format.
CREDIT_CODE: dict[str, Any] = {
    "format": "credit-code",
    "minLength": 18,
    "examples": ["91330206MA2000001P"],
}


def line(max_length: int, *, required: bool = True, **options: Any) -> Any:
    """A one-line text field: textrules' line rule as its pattern (at least one visible
    character when ``required``) and at most ``max_length`` characters."""
    pattern = REQUIRED_LINE_PATTERN if required else LINE_PATTERN
    return Field(max_length=max_length, pattern=pattern, **options)


def choice(words: list[str], **options: Any) -> Any:
    """A text field that takes one of ``words`` (the schema lists them as an enum)."""
    schema: dict[str, Any] = {"enum": words}
    return Field(max_length=max(map(len, words)), json_schema_extra=schema, **options)


def credit_code_field(**options: Any) -> Any:
    """A credit code field (the check character is checked by the server)."""
    # 40: the reader also takes a code written with spaces or dashes.
    return Field(max_length=40, json_schema_extra=dict(CREDIT_CODE), **options)


# Parameters (query and path) state the same rules in the schema; check_parameters enforces
# the line rule on every one of them.
LINE_PARAMETER: dict[str, Any] = {"pattern": LINE_PATTERN}
KEY_PREFIX: dict[str, Any] = {"pattern": "^ntf_[0-9a-f]{10}$"}
AUDIT_TARGETS = ["api_key", "campaign", "deadline", "enterprise", "policy", "provider", "template"]

_DUE_AT = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9])?$"
Topic = Annotated[str, line(MAX_TOPIC_LENGTH)]
Tag = Annotated[str, line(MAX_TAG_LENGTH)]
Sector = Annotated[str, Field(max_length=10, json_schema_extra={"pattern": sector_pattern()})]
Channel = Annotated[str, choice(CHANNEL_ENUM)]


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next`` back as ``cursor`` for the next (None: the end)."""

    items: list[T]
    next: str | None = None


class EnterpriseOut(BaseModel):
    credit_code: str
    name: str
    sectors: list[str]
    region: str
    size: str
    tags: list[str]
    topics: list[str]
    subscribed: list[str]


class DeliveryOut(BaseModel):
    id: int
    policy_id: int | None
    trigger: str
    credit_code: str
    enterprise: str
    channel: str
    address: str
    status: str
    attempts: int
    last_error: str | None
    provider: str | None
    provider_message_id: str | None
    idempotency_key: str
    reason: dict[str, Any] | None
    sent_at: str | None
    next_attempt_at: str | None


class AttemptOut(BaseModel):
    number: int
    outcome: str
    provider: str | None
    provider_message_id: str | None
    error: str | None
    started_at: str | None
    finished_at: str | None


class DeliveryDetail(DeliveryOut):
    attempts_made: int
    history: list[AttemptOut]


class EnterpriseDetail(EnterpriseOut):
    contacts: dict[str, list[str]]
    unsubscribed_at: str | None
    deliveries: list[DeliveryOut] = Field(description="最近的投递 / the latest deliveries")


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


class RowErrorOut(BaseModel):
    row: int
    field: str
    reason: str


class ImportReportOut(BaseModel):
    dry_run: bool
    created: int
    updated: int
    kept_unsubscribed: int
    bad_rows: int
    errors: list[RowErrorOut]
    # Row errors past the report's cap (imports.max_reported_errors), counted, not listed.
    errors_left_out: int = 0


class EnterpriseSaved(BaseModel):
    created: bool
    enterprise: EnterpriseOut


class PolicyOut(BaseModel):
    id: int
    title: str
    department: str
    summary: str
    url: str | None
    published_at: str
    targets: dict[str, Any]
    topics: list[str]


class PolicyDetail(PolicyOut):
    body: str
    deadlines: list[dict[str, Any]]
    deliveries: dict[str, dict[str, int]]
    ref: str | None = None
    cancelled_at: str | None = None
    revisions: list[dict[str, Any]] = Field(
        default_factory=list, description="更正记录 / revisions, oldest first"
    )


class Published(BaseModel):
    id: int
    created: bool
    trigger_id: int | None


class RungOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    rung: str
    at: str | None
    state: str


class DeadlineOut(BaseModel):
    id: int
    policy_id: int
    policy: str
    title: str
    due_at: str | None
    cancelled: bool
    ladder: list[str]
    done: int
    rungs: list[RungOut]


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_at: str = Field(
        max_length=40,
        # The schema's spelling; the reader also takes seconds and offsets.
        json_schema_extra={"pattern": _DUE_AT},
        description="2026-10-15 (that day's end) or 2026-10-15T17:00",
    )


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_code: str = credit_code_field()


class DeadlineChanged(BaseModel):
    deadline_id: int
    due_at: str
    cancelled_triggers: int
    cancelled_deliveries: int


class DoneOut(BaseModel):
    deadline_id: int
    credit_code: str
    new: bool


class WebhookSecretOut(BaseModel):
    """Your webhook endpoint's signing secret, short of the secret itself."""

    endpoint: str
    own: bool = Field(
        description="false: still signed with the shared secret / 仍用公共密钥签名"
    )
    taken_at: str | None = Field(description="shown to you at / 展示时间")
    previous_until: str | None = Field(
        description="the previous secret signs too until / 旧密钥同时签名至"
    )


class WebhookSecretTaken(WebhookSecretOut):
    """The secret, shown this once: keep it now, it is never shown again."""

    secret: str = Field(description="whsec_… (Standard Webhooks); 仅显示一次 / shown once")


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = choice(ROLES, description="admin | staff | enterprise")
    name: str = line(100)
    enterprise: str | None = credit_code_field(
        default=None,
        description="企业密钥的统一社会信用代码 / an enterprise key's credit code (only for, "
        "and required by, an enterprise key)",
    )


class KeyOut(BaseModel):
    prefix: str
    name: str
    role: str
    enterprise_id: int | None
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class NewKeyOut(BaseModel):
    key: str = Field(description="只显示这一次 / shown this once only")
    prefix: str
    role: str
    name: str
    credit_code: str | None


class AuditOut(BaseModel):
    id: int
    actor_prefix: str
    actor_role: str
    action: str
    target_type: str
    target_id: str | None
    before: Any
    after: Any
    at: str


class SubscriptionsOut(BaseModel):
    channels: list[str] = Field(description="订阅的渠道 / channels subscribed")
    available: list[str] = Field(description="有联系方式的渠道 / channels with a contact")
    topics: list[str]


class SubscriptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] = Field(max_length=3, json_schema_extra={"uniqueItems": True})
    topics: list[Topic] | None = Field(default=None, max_length=20)


class Health(BaseModel):
    status: str
    database: str
    broker: str


class RevisedOut(BaseModel):
    policy_id: int
    revision: int | None
    new: bool
    changed: list[str]
    moved: int
    added: int
    removed: int
    trigger_id: int | None = Field(description="更正通知的触发 / the correction's trigger")
    published: bool


class WithdrawnOut(BaseModel):
    policy_id: int
    already: bool
    deadlines: int
    triggers: int


class TemplateOut(BaseModel):
    name: str
    channel: str
    version: int
    subject: str | None
    body: str
    html: str | None
    author: str | None
    created_at: str
    versions: list[int] | None = None


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


class TemplateSaved(TemplateOut):
    changed: bool = Field(description="false: 与最新版相同，未保存 / same as the newest")


class VariableOut(BaseModel):
    name: str
    meaning: str
    example: str | None
    optional: bool


class Created(BaseModel):
    id: int
    name: str
    status: str


class CampaignOut(BaseModel):
    id: int
    name: str
    title: str
    status: str
    channels: list[str]
    templates: dict[str, Any]
    audience: dict[str, Any]
    once_at: str | None
    cron: str | None
    timezone: str | None
    starts_at: str | None
    ends_at: str | None
    throttle_per_minute: int | None
    schedule: str


class RunOut(BaseModel):
    trigger_id: int
    due_at: str
    status: str
    counts: dict[str, int]
    total: int
    left: int
    rate_per_minute: float = Field(description="最近每分钟发送 / sends a minute lately")
    eta_seconds: float | None = Field(description="预计剩余秒数 / seconds left at that rate")


class CampaignDetail(CampaignOut):
    runs: list[RunOut]


class CampaignProgress(BaseModel):
    campaign_id: int
    status: str
    current: RunOut | None = Field(description="正在进行的运行 / the run going now")
    latest: RunOut | None
    runs: int


class RenderingOut(BaseModel):
    credit_code: str
    text: str | None
    subject: str | None
    sms_length: int | None = Field(description="短信字数 / SMS characters")
    sms_parts: int | None = Field(description="计费条数 / billed parts")
    error: str | None


class TestSendIn(BaseModel):
    """Where to send one test rendering: your own phone, email or webhook URL."""

    model_config = ConfigDict(extra="forbid")

    channel: str = choice(CHANNEL_ENUM, description="sms, email, webhook (短信, 邮件, 网络回调)")
    to: str = line(MAX_ADDRESS_LENGTH, description="你自己的地址 / your own address")
    enterprise: str | None = credit_code_field(
        default=None, description="为此企业渲染 / render for this credit code"
    )


class TestSent(BaseModel):
    to: str
    channel: str
    provider: str
    provider_message_id: str | None


class CampaignChanged(BaseModel):
    campaign_id: int
    status: str
    deliveries: int

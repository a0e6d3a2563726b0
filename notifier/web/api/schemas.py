"""What the API returns, one model per response shape, and the rules its parameters state.

The bodies it takes are models of :mod:`notifier.inputs` (:mod:`~notifier.inputs.api`, the
policy and campaign files), so the OpenAPI document and the readers share one set of limits.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from notifier.domain.text_rules import LINE_PATTERN

T = TypeVar("T")

# Parameters (query and path) state the same rules in the schema; check_parameters enforces
# the line rule on every one of them.
LINE_PARAMETER: dict[str, Any] = {"pattern": LINE_PATTERN}
KEY_PREFIX: dict[str, Any] = {"pattern": "^ntf_[0-9a-f]{10}$"}
AUDIT_TARGETS = ["api_key", "campaign", "deadline", "enterprise", "policy", "provider", "template"]


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


# Notice or marketing (docs: Content rules), on policies, campaigns and deliveries.
MESSAGE_CLASS: Any = Field(
    default="notice", description="消息类型 notice（通知）或 marketing（营销） / the message class"
)


class DeliveryOut(BaseModel):
    id: int
    policy_id: int | None
    trigger: str
    credit_code: str
    enterprise: str
    channel: str
    message_class: str = MESSAGE_CLASS
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


class RowErrorOut(BaseModel):
    row: int
    field: str
    # Chinese first, then " / " and English.
    reason: str
    # The whole line: "第 12 行 统一社会信用代码：校验位不对 / credit_code: ...".
    message: str = ""


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


# Whom a policy or campaign reaches: each target given (sectors, regions, sizes, tags, topics,
# credit_codes, ...) and its values; the ones not given are left out.
TargetsOut = dict[str, list[str | int]]


class PolicyOut(BaseModel):
    id: int
    title: str
    department: str
    summary: str
    url: str | None
    published_at: str
    targets: TargetsOut
    topics: list[str]
    eligibility: str | None = Field(default=None, description="申报条件 / who qualifies")
    materials: str | None = Field(default=None, description="所需材料 / what to prepare")
    office_address: str | None = Field(default=None, description="受理地址 / where to apply")
    apply_url: str | None = Field(default=None, description="网上办理链接 / apply online")
    enquiry_phone: str | None = Field(default=None, description="咨询电话 / whom to call")
    reach_ladder: list[int] | None = Field(
        default=None,
        description="再次发送的工作日（空：不再发送；null：按设置）/ the reach ladder's working "
        "days ([]: none; null: the reach.ladder_working_days setting)",
    )
    message_class: str = MESSAGE_CLASS
    held: bool = Field(
        default=False,
        description="待审核或已退回：未发送 / waiting for approval or returned: nothing sent",
    )


class ApprovalStateOut(BaseModel):
    """Where the newest approval request of a policy or campaign stands."""

    id: int
    kind: str = Field(description="publish | correction | campaign")
    status: str = Field(description="pending 待审核 | approved | returned 已退回 | withdrawn")
    reason: str | None = Field(description="退回理由 / why it was returned")
    decided_by: str | None


class ApprovalOut(BaseModel):
    """One approval request, with what its approver saw frozen."""

    id: int
    kind: str = Field(description="publish | correction | campaign")
    subject: str
    policy_id: int | None
    revision: int | None
    campaign_id: int | None
    author: str = Field(description="提交人 / who asked (a user's name or a key's prefix)")
    author_role: str
    requested_at: str | None
    status: str = Field(description="pending 待审核 | approved | returned 已退回 | withdrawn")
    rules: list[str] = Field(description="需要审核的原因 / the approval rules it matched")
    preview: dict[str, Any] = Field(
        description="冻结的预览：企业数、各渠道人数与内容、短信条数与费用 / the frozen preview"
    )
    decided_by: str | None
    decided_role: str | None
    decided_at: str | None
    reason: str | None


class ApprovalDecided(BaseModel):
    approval_id: int
    status: str
    trigger_id: int | None = Field(description="审核通过后生成的触发 / the trigger made")


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="退回理由 / why")


class PolicyDeadlineOut(BaseModel):
    id: int
    title: str
    due_at: str
    cancelled: bool


class RevisionOut(BaseModel):
    number: int
    revised_at: str
    changed: list[str] = Field(description="改动的字段 / the fields changed")
    changed_words: list[str] = Field(description="改动的字段（中文）/ the same, in words")
    previous: dict[str, Any] = Field(description="更正前的值 / the values before")


class PolicyDetail(PolicyOut):
    body: str
    deadlines: list[PolicyDeadlineOut]
    deliveries: dict[str, dict[str, int]]
    ref: str | None = None
    cancelled_at: str | None = None
    revisions: list[RevisionOut] = Field(
        default_factory=list, description="更正记录 / revisions, oldest first"
    )
    approval: ApprovalStateOut | None = Field(
        default=None, description="审核状态 / its newest approval request, if any"
    )


class RenderingOut(BaseModel):
    credit_code: str
    text: str | None
    subject: str | None
    sms_length: int | None = Field(description="短信字数 / SMS characters")
    sms_parts: int | None = Field(description="计费条数 / billed parts")
    error: str | None


class SampleOut(BaseModel):
    """One enterprise a policy would reach, and why (the targets it matched)."""

    credit_code: str
    name: str
    channel: str
    address: str
    reason: dict[str, Any]


class FindingOut(BaseModel):
    """One finding of the content rules (docs: Content rules)."""

    code: str = Field(
        description="forbidden_word, sensitive_word, link_domain, placeholder, empty_variable, "
        "sms_parts or cannot_render"
    )
    place: str = Field(description="字段或渠道 / the field or channel: title, sms, email.subject")
    word: str = Field(description="词、链接域名、占位符或变量 / the word, link host, placeholder")
    offset: int | None = Field(description="在该文本中的位置（从 0 起） / 0-based offset")
    excerpt: str = Field(description="前后文 / the text around it")
    detail: str
    refuses: bool
    message: str = Field(description="中文 / English")


class PolicyPreviewOut(BaseModel):
    recipients: dict[str, int] = Field(description="每渠道收件人数 / recipients per channel")
    enterprises: int
    deliveries: int = Field(description="发布将产生的投递数 / deliveries a publish makes")
    samples: list[SampleOut]
    renderings: dict[str, RenderingOut] = Field(description="每渠道的消息 / each channel's")
    sms_billed_parts: int
    sms_billed_parts_estimated: bool
    warnings: list[str]
    content: list[FindingOut] = Field(
        default_factory=list,
        description="内容检查的发现：refuses 为真的会被拒绝发布，其余为提醒 / the content rules' "
        "findings: those that refuse would refuse the publish, the others are warnings",
    )


class Published(BaseModel):
    id: int
    created: bool
    trigger_id: int | None
    held: bool = Field(default=False, description="待审核：未发送 / waits for approval")
    approval_id: int | None = None


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


class MyDeadlineOut(BaseModel):
    """A deadline of a policy that reached your enterprise, and whether you marked it done."""

    id: int
    policy_id: int
    policy: str
    title: str
    due_at: str
    cancelled: bool
    done: bool


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


class KeyOut(BaseModel):
    prefix: str
    name: str
    role: str
    owner: str | None = Field(None, description="所有人（用户名）/ the user who owns the key")
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
    owner: str | None = Field(None, description="所有人（用户名）/ the user who owns the key")


class AuditOut(BaseModel):
    id: int
    actor_prefix: str
    actor_role: str
    actor_owner: str | None = Field(
        None, description="所用密钥的所有人 / the owner of the key the change was made with"
    )
    face: str | None = Field(
        None, description="来源 / the way in: api, console, cli, clock, page (None: before 0014)"
    )
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
    approval_id: int | None = Field(
        default=None, description="待审核的申请 / the approval request it waits on"
    )


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
    templates: dict[str, str] = Field(description="每渠道的模板名 / template per channel")
    audience: TargetsOut
    once_at: str | None
    cron: str | None
    timezone: str | None
    starts_at: str | None
    ends_at: str | None
    throttle_per_minute: int | None
    schedule: str
    message_class: str = MESSAGE_CLASS


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
    approval: ApprovalStateOut | None = Field(
        default=None, description="审核状态 / its newest approval request, if any"
    )


class CampaignProgress(BaseModel):
    campaign_id: int
    status: str
    current: RunOut | None = Field(description="正在进行的运行 / the run going now")
    latest: RunOut | None
    runs: int


class TestSent(BaseModel):
    to: str
    channel: str
    provider: str
    provider_message_id: str | None


class CampaignChanged(BaseModel):
    campaign_id: int
    status: str
    deliveries: int

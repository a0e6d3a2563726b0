"""What the API returns and takes, as the OpenAPI schema states it."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


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

    credit_code: str = Field(max_length=40)
    name: str = Field(max_length=400)
    sectors: list[str] = Field(default_factory=list, max_length=50)
    region: str = Field(max_length=400)
    size: str = Field(max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=400)
    webhook_url: str | None = Field(default=None, max_length=2000)
    topics: list[str] = Field(default_factory=list, max_length=20)
    channels: list[str] = Field(default_factory=list, max_length=3)
    tags: list[str] = Field(default_factory=list, max_length=20)


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
        max_length=40, description="2026-10-15 (that day's end) or 2026-10-15T17:00"
    )


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_code: str = Field(max_length=40)


class DeadlineChanged(BaseModel):
    deadline_id: int
    due_at: str
    cancelled_triggers: int
    cancelled_deliveries: int


class DoneOut(BaseModel):
    deadline_id: int
    credit_code: str
    new: bool


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(description="admin | staff | enterprise", max_length=20)
    name: str = Field(max_length=100)
    enterprise: str | None = Field(
        default=None,
        max_length=40,
        description="企业密钥的统一社会信用代码 / an enterprise key's credit code",
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

    channels: list[str] = Field(max_length=3)
    topics: list[str] | None = Field(default=None, max_length=20)


class Health(BaseModel):
    status: str
    database: str
    broker: str

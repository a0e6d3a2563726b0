"""One typed settings object: environment variables over ``config/*.toml``.

Built and validated by :func:`load_settings` at start-up, never at import. A wrong setting
raises :class:`~notifier.errors.ConfigError` naming the setting (``NOTIFIER_...``).

Nested settings use a double underscore in the environment: ``NOTIFIER_SMS__URL``.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from notifier.errors import ConfigError

ENV_PREFIX = "NOTIFIER_"
DEV_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105 - refused outside development
DEV_WEBHOOK_SECRET = "whsec_ZGV2ZWxvcG1lbnQtb25seS13ZWJob29rLXNlY3JldA=="  # noqa: S105 - ditto
DEFAULT_CONFIG_DIR = Path("config")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
RABBITMQ_SCHEMES = ("amqp://", "amqps://")
# Every answer read from an outside party (gateway, firm's endpoint): at most this long for the
# whole exchange and this many bytes of its body.
DEFAULT_SEND_DEADLINE = 15.0
DEFAULT_MAX_ANSWER_BYTES = 64 * 1024
# An allow-list entry's port: "*" is every port.
ANY_PORT = "*"
_HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?$")


@dataclass(frozen=True)
class TargetEntry:
    """One entry of an allow-list of targets: a host name or an IP network, and its port.

    ``port`` is None when the entry names no port and 0 for ``*`` (every port).
    """

    name: str | None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    port: int | None


def parse_target(entry: str) -> TargetEntry:
    """Read ``host``, ``10.1.2.3``, ``10.0.0.0/8``, ``::1``, each optionally with ``:port``
    (``[::1]:9000``, ``[fd00::/8]:443`` for IPv6) or ``:*`` (every port).

    Raises:
        ValueError: the entry is malformed; the message quotes it and says why.
    """
    text = entry.strip()
    where, port_text = _split_port(text, entry)
    port = _port(port_text, entry)
    bracketed = where.startswith("[")
    try:
        network = ipaddress.ip_network(where[1:-1] if bracketed else where, strict=False)
        return TargetEntry(None, network, port)
    except ValueError:
        pass
    if bracketed or not _HOST_NAME.match(where) or where.rstrip(".")[-1:].isdigit():
        # A name whose last label is a number is a mistyped address (10.1.2.300), not a host.
        raise ValueError(
            f"{entry!r}: 不是主机名、IP 地址或网段 / not a host name, IP address or network"
        )
    return TargetEntry(where.lower().rstrip("."), None, port)


def _split_port(text: str, entry: str) -> tuple[str, str | None]:
    if not text:
        raise ValueError("空项 / an empty entry")
    if text.startswith("["):
        inside, bracket, rest = text.partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{entry!r}: 方括号写法应为 [::1]:9000 / brackets go as in [::1]:9000")
        return inside + "]", rest[1:] if rest else None
    if text.count(":") > 1:  # a bare IPv6 address or network names no port
        return text, None
    where, colon, port = text.partition(":")
    return where, port if colon else None


def _port(text: str | None, entry: str) -> int | None:
    if text is None:
        return None
    if text == ANY_PORT:
        return 0
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise ValueError(f"{entry!r}: 端口须为 1-65535 或 * / the port must be 1-65535 or *")
    return int(text)


def _check_targets(entries: list[str]) -> list[str]:
    problems = []
    for entry in entries:
        try:
            parse_target(entry)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    return [entry.strip() for entry in entries]


class SmsSettings(BaseModel):
    """The SMS gateway: an HTTP API that takes signed JSON requests."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["http", "dry-run"] = "dry-run"
    url: str | None = None
    app_key: str | None = None
    app_secret: SecretStr | None = None
    signature: str = "【北仑企服】"
    max_length: int = Field(default=500, ge=1, le=500)
    default_region: str = "CN"
    timeout: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _http_needs_url_and_keys(self) -> SmsSettings:
        missing = [n for n in ("url", "app_key", "app_secret") if not getattr(self, n)]
        if self.provider == "http" and missing:
            # Name every missing one at once, so one edit of the settings fixes them all.
            names = ", ".join(f"{n} (NOTIFIER_SMS__{n.upper()})" for n in missing)
            raise ValueError(f"provider 'http' needs {names}")
        return self


class EmailSettings(BaseModel):
    """The SMTP relay that sends email.

    With ``security`` "starttls" or "ssl" the relay's certificate and host name are always
    verified. ``ca_file`` is a PEM bundle of the CAs to trust for the relay instead of the
    system store: an intranet relay whose certificate the office's own CA signed.
    ``connections`` is how many kept-open connections each worker process may hold to the
    relay, each used by one send at a time.
    """

    model_config = ConfigDict(extra="forbid")

    provider: Literal["smtp", "dry-run"] = "dry-run"
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "北仑企服 <noreply@notifier.invalid>"
    unsubscribe_mailto: str | None = None
    timeout: float = Field(default=15.0, gt=0)
    ca_file: Path | None = None
    connections: int = Field(default=8, ge=1, le=64)


class WebhookSettings(BaseModel):
    """Signed JSON POSTs to each enterprise's own endpoint."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["http", "dry-run"] = "dry-run"
    # Signs the endpoints that have no secret of their own yet (see
    # notifier.services.providers.endpoint_secrets).
    secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    timeout: float = Field(default=10.0, gt=0)
    # After a firm rotates its endpoint's secret, the previous one signs too for this long.
    secret_overlap_days: float = Field(default=7.0, ge=0, le=90)


class ProviderSettings(BaseModel):
    """One provider account listed under ``[[providers]]``: any registered kind.

    A channel named by any listed provider is served by those (lowest ``priority`` first);
    the [sms], [email] and [webhook] sections serve the channels the list does not name.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,50}$")
    channel: Literal["sms", "email", "webhook"]
    kind: str = Field(min_length=1, max_length=32)
    priority: int = 0
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict)


class DeliverySettings(BaseModel):
    """How deliveries are batched, retried and swept."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=200, ge=1, le=5000)
    # Deliveries claimed (and their outcomes recorded) together: also the most a worker thread
    # killed mid-chunk can send twice (each repeat carries its idempotency key).
    claim_chunk: int = Field(default=20, ge=1, le=1000)
    # Enterprises per fan-out page (one short transaction: their deliveries made and queued);
    # the first page is batch_size enterprises, so sending starts while the rest is made.
    fan_out_chunk: int = Field(default=5000, ge=1)
    max_attempts: int = Field(default=6, ge=1, le=50)
    # Throttled tries ("slow down" answers, which max_attempts does not count) before a
    # delivery ends failed with the vendor's reason (a provider's own setting wins).
    max_throttled_tries: int = Field(default=10, ge=1, le=1000)
    # A trigger whose fan-out fails this many times stops as failed, with its last error.
    fan_out_max_attempts: int = Field(default=5, ge=1, le=50)
    backoff_base_seconds: float = Field(default=30.0, ge=0)
    backoff_max_seconds: float = Field(default=3600.0, ge=0)
    stuck_after_seconds: float = Field(default=300.0, gt=0)
    # A batch stops starting sends after this long and hands the rest back to the queue.
    batch_seconds: float = Field(default=120.0, gt=0)
    # Sends to firms' own endpoints (webhooks, robots) a batch makes at once, so that one slow
    # endpoint does not hold up the others; 1: one after another.
    send_threads: int = Field(default=8, ge=1, le=64)
    # Of those, sends to one host at once (many firms' endpoints may share a receiver or a
    # robot service). Each process sends at most 8 at once to one host.
    host_sends: int = Field(default=8, ge=1, le=64)
    # Backoff delays vary by up to this fraction either way, so retries do not come in waves.
    backoff_jitter: float = Field(default=0.2, ge=0, le=1)
    # A delivery not sent this long after it was made ends "expired", with its last error.
    max_age_hours: float = Field(default=24.0, gt=0)


class OutboundSettings(BaseModel):
    """Bounds on every answer read from an outside party over HTTP (gateways, vendors, firms'
    webhooks and robots)."""

    model_config = ConfigDict(extra="forbid")

    # The whole exchange (connect, send, every read of the answer) ends by then: a peer that
    # answers one byte every few seconds is cut off here, and the send is retried later.
    deadline_seconds: float = Field(default=DEFAULT_SEND_DEADLINE, gt=0, le=300)
    # Bytes of an answer's body kept; the rest is never read (the connection is closed).
    max_answer_bytes: int = Field(default=DEFAULT_MAX_ANSWER_BYTES, ge=1024, le=16 * 1024 * 1024)


class ClockSettings(BaseModel):
    """How often the clock's jobs look for due work, and how late it may still send it."""

    model_config = ConfigDict(extra="forbid")

    scan_interval_seconds: float = Field(default=60.0, gt=0)
    reminder_interval_seconds: float = Field(default=60.0, gt=0)
    # After downtime, due work up to this old is sent; older is recorded as missed.
    catch_up_hours: float = Field(default=6.0, gt=0, le=24 * 30)
    sweep_interval_seconds: float = Field(default=60.0, gt=0)
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    # How often due campaign runs are looked for.
    campaign_interval_seconds: float = Field(default=60.0, gt=0)
    # How often the open policies' reach states are read again from their deliveries (and
    # the reach ladders' due rungs sent).
    reach_interval_seconds: float = Field(default=60.0, gt=0)


# A rung of a reminder ladder: 5wd (working days before the due day) or 3d (days before).
RUNG = r"^\d{1,2}w?d$"


class ReminderSettings(BaseModel):
    """Deadline reminders: the default ladder, and the local hour they go out at."""

    model_config = ConfigDict(extra="forbid")

    ladder: list[Annotated[str, StringConstraints(pattern=RUNG)]] = Field(
        default_factory=lambda: ["5wd", "2wd", "1wd", "0d"], max_length=10
    )
    hour: int = Field(default=9, ge=0, le=23)


# A local window "21:00-08:00" (past midnight when the end comes first).
QUIET_WINDOW = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"


class QuietHoursSettings(BaseModel):
    """Per channel, the local hours when nothing is sent on it ("" or unset: none)."""

    model_config = ConfigDict(extra="forbid")

    sms: str | None = Field(default="21:00-08:00", pattern=QUIET_WINDOW)
    email: str | None = Field(default=None, pattern=QUIET_WINDOW)
    webhook: str | None = Field(default=None, pattern=QUIET_WINDOW)

    @field_validator("sms", "email", "webhook", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


# A domain as written in content.link_domains: letters, digits, dots and dashes (gov.cn).
LINK_DOMAIN = r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"


class ContentSettings(BaseModel):
    """Content checks before a policy, correction or campaign is stored (docs: Content rules),
    and what a marketing (营销) message must do."""

    model_config = ConfigDict(extra="forbid")

    # A text holding one of these is refused, the place named.
    forbidden_words: list[Annotated[str, StringConstraints(min_length=1, max_length=50)]] = (
        Field(default_factory=list, max_length=5000)
    )
    # Allowed, but shown to the author (and the approver) as warnings.
    sensitive_words: list[Annotated[str, StringConstraints(min_length=1, max_length=50)]] = (
        Field(default_factory=list, max_length=5000)
    )
    # Links only to these domains and their subdomains (the deployment's own public_url host
    # is always allowed); an empty list turns the link rule off.
    link_domains: list[Annotated[str, StringConstraints(pattern=LINK_DOMAIN)]] = Field(
        default_factory=lambda: ["gov.cn"], max_length=500
    )
    # An SMS longer than this many billed parts is refused (0: no limit beyond sms.max_length).
    sms_max_parts: int = Field(default=3, ge=0, le=10)
    # Local hours inside which marketing messages go out; outside, they wait for the opening
    # ("00:00-00:00": any hour).
    marketing_hours: str = Field(default="08:00-20:00", pattern=QUIET_WINDOW)
    # Appended to a marketing SMS whose text lacks it (counted in its length and parts).
    opt_out_text: str = Field(default="拒收请回复R", min_length=1, max_length=20)

    @field_validator("forbidden_words", "sensitive_words", "link_domains")
    @classmethod
    def _trimmed(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(word.strip() for word in value if word.strip()))


class NumberCapSettings(BaseModel):
    """SMS a number gets per local day, per message class, and what becomes of the rest."""

    model_config = ConfigDict(extra="forbid")

    notice_per_day: int = Field(default=10, ge=1, le=1000)
    marketing_per_day: int = Field(default=3, ge=1, le=1000)
    # defer: the rest wait for the next day's opening; digest: they go out then merged into
    # one SMS per number and class ("您有 3 条政策通知，详见…").
    over_cap: Literal["defer", "digest"] = "defer"


class RetentionSettings(BaseModel):
    """How long recipient addresses and error texts of finished deliveries are kept."""

    model_config = ConfigDict(extra="forbid")

    # After this many days a finished delivery keeps its status, channel and times, and loses
    # its address and error texts; dry-run outbox files go too.
    days: int = Field(default=180, ge=1, le=3650)


class ReachSettings(BaseModel):
    """Reach: which policies are followed, when a firm needs a call, when a ladder re-sends."""

    model_config = ConfigDict(extra="forbid")

    # Policies published within this many days (and not withdrawn) are followed.
    open_days: int = Field(default=90, ge=1, le=3650)
    # A firm that has not opened the page this many working days after the policy went out
    # is on its community's follow-up list.
    followup_working_days: int = Field(default=3, ge=0, le=60)
    # The default reach ladder: re-send on another channel to firms that have not opened the
    # page this many working days after the policy went out (a policy may set its own).
    ladder_working_days: list[Annotated[int, Field(ge=1, le=60)]] = Field(
        default_factory=lambda: [2], max_length=5
    )


class ApprovalSettings(BaseModel):
    """Which sends wait for an approver (待审核) before anything is queued (docs/approval.md).

    A publish, correction or campaign needs approval when ``enabled`` and any rule says so:
    ``sms`` (its audience has an SMS recipient), ``max_firms`` (it reaches more firms than
    this; 0 or unset: no limit rule), ``campaigns`` (every campaign).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    sms: bool = True
    max_firms: int | None = Field(default=50, ge=0)
    campaigns: bool = True
    # The price of one billed SMS part, in fen (分), for the frozen preview's cost estimate.
    sms_price_fen: float = Field(default=5.0, ge=0)

    @field_validator("max_firms", mode="before")
    @classmethod
    def _zero_is_none(cls, value: object) -> object:
        return None if value in (0, "", "0") else value


class WebSettings(BaseModel):
    """The HTTP API: where it listens, how large a body it reads, how it throttles bad keys."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)  # 0: any free port (tests)
    # A request body larger than this is refused with 413 before it is read.
    max_body_bytes: int = Field(default=10_000_000, ge=1024)
    # Rows an uploaded enterprise file (CSV or XLSX) may hold.
    max_import_rows: int = Field(default=100_000, ge=1)
    # A vendor's push to /callbacks/... larger than this gets 413 before it is read (a report
    # is about 250 bytes; the vendors' batches are a few KB).
    callback_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Records read from one push; the rest are counted in the answer as skipped, not read.
    callback_max_records: int = Field(default=1000, ge=1)
    # Failed API-key attempts (and wrong callback tokens) one client address may make per
    # window before it gets 429.
    failed_auth_limit: int = Field(default=20, ge=1)
    failed_auth_window_seconds: float = Field(default=60.0, gt=0)
    # Proxies (addresses or networks, e.g. 10.0.0.5 or 10.0.0.0/24) whose X-Forwarded-For is
    # believed. Empty: the client address is the connection's peer, whatever headers say;
    # otherwise anyone could pick the address their failed attempts count against.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Where dramatiq's Prometheus middleware in the workers writes its metrics (on this
    # machine); /metrics reads them. Unset: worker metrics are not exported.
    dramatiq_metrics_dir: Path | None = None

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"不是 IP 地址或网段 / not an IP address or network: {entry!r}"
                ) from None
        return [entry.strip() for entry in value]


class ImportSettings(BaseModel):
    """Bounds on an enterprise register file (CSV or XLSX), checked before its rows are read.

    Uploads through the API and the console are held to ``web.max_body_bytes`` and
    ``web.max_import_rows``; ``notifier enterprises import`` reads a local file, held to
    ``max_file_bytes`` and ``max_file_rows`` instead. The rest hold on every face.
    """

    model_config = ConfigDict(extra="forbid")

    max_file_bytes: int = Field(default=2_000_000_000, ge=1024)
    max_file_rows: int = Field(default=2_000_000, ge=1)
    # One CSV record or XLSX row, as text (the header too).
    max_row_chars: int = Field(default=20_000, ge=1000)
    # One cell: a longer one is an error of its row, and no field rule reads it.
    max_cell_chars: int = Field(default=2_000, ge=200)
    # XLSX, from the ZIP directory before anything is unpacked: parts, the unpacked size of one
    # part and of all, the compression ratio of a part over 1 MB, the shared strings' part.
    max_xlsx_members: int = Field(default=1_000, ge=10, le=65_535)
    max_xlsx_member_bytes: int = Field(default=256_000_000, ge=1_000_000)
    max_xlsx_unpacked_bytes: int = Field(default=512_000_000, ge=1_000_000)
    max_xlsx_ratio: int = Field(default=200, ge=10)
    max_xlsx_shared_strings_bytes: int = Field(default=64_000_000, ge=100_000)
    # XLSX: characters in all the sheet's cells as read (a shared string repeats in every cell
    # that names it, so a small file could otherwise expand without end).
    max_xlsx_text_chars: int = Field(default=64_000_000, ge=1_000_000)
    # Bad-row errors an import report lists; the rest are counted as left out.
    max_reported_errors: int = Field(default=1_000, ge=1)
    # The region a register's street and community columns (所属街道, 所属社区) belong to, when
    # it has no region column of its own: e.g. "浙江省/宁波市/北仑区" ("" = the street is the top).
    region_prefix: str = Field(default="", max_length=100)


class SecretsSettings(BaseModel):
    """Keys that encrypt provider secrets in the database, newest first (the first encrypts)."""

    model_config = ConfigDict(extra="forbid")

    keys: list[SecretStr] = Field(default_factory=list)


class CircuitSettings(BaseModel):
    """Provider failover: when a provider is left alone for a while, and how rows are re-read."""

    model_config = ConfigDict(extra="forbid")

    # This many failures in a row (server errors, timeouts) open a provider's circuit.
    failures: int = Field(default=5, ge=1, le=1000)
    # An open circuit sends nothing to its provider for this long, then lets one trial through.
    cooldown_seconds: float = Field(default=60.0, gt=0)
    # Provider rows from the database are read again after this long (at once in the process
    # that changed them).
    refresh_seconds: float = Field(default=30.0, gt=0)


class Settings(BaseSettings):
    """Every setting notifier reads. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/notifier.db"
    # The broker: redis://, rediss://, unix:// (Redis) or amqp://, amqps:// (RabbitMQ). Unset,
    # with redis_url unset too: embedded. When both are set, broker_url wins.
    broker_url: str | None = None
    redis_url: str | None = None  # the older name of a Redis broker_url, still read
    # Prefix of every Redis key: deployments (or test runs) can share one Redis server.
    redis_namespace: str = Field(default="notifier", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    timezone: str = "Asia/Shanghai"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    # Keys signed with before the current one, newest first: their unsubscribe links still work.
    old_secret_keys: list[SecretStr] = []
    public_url: str = "http://127.0.0.1:8000"
    var_dir: Path = Path("var")
    templates_dir: Path | None = None
    # Loopback or private targets that may be reached: host, IP address or network (CIDR), each
    # optionally with :port (IPv6 in brackets: [::1]:9000) or :* for every port.
    # Provider endpoints an admin configures (SMS gateways, vendors' endpoints); an entry
    # without a port allows every port of it.
    allowed_provider_targets: list[str] = Field(default_factory=list)
    # The older name of allowed_provider_targets, still read (for providers only, not firms).
    allowed_private_targets: list[str] = Field(default_factory=list)
    # Firms' own webhook endpoints (and their chat robots); an entry without a port allows only
    # ports 80 and 443 of it.
    allowed_webhook_targets: list[str] = Field(default_factory=list)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    providers: list[ProviderSettings] = Field(default_factory=list)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    clock: ClockSettings = Field(default_factory=ClockSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    reach: ReachSettings = Field(default_factory=ReachSettings)
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    quiet_hours: QuietHoursSettings = Field(default_factory=QuietHoursSettings)
    content: ContentSettings = Field(default_factory=ContentSettings)
    number_caps: NumberCapSettings = Field(default_factory=NumberCapSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    imports: ImportSettings = Field(default_factory=ImportSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    circuit: CircuitSettings = Field(default_factory=CircuitSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)

    @field_validator(
        "allowed_provider_targets", "allowed_private_targets", "allowed_webhook_targets"
    )
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        return _check_targets(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        # psycopg 3 is the driver we ship; SQLAlchemy would otherwise look for psycopg2.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(REDIS_SCHEMES):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(REDIS_SCHEMES + RABBITMQ_SCHEMES):
            raise ValueError("must start with redis://, rediss://, unix://, amqp:// or amqps://")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
            raise ValueError("secret_key: set NOTIFIER_SECRET_KEY; the development key is refused")
        if self.webhook.secret.get_secret_value() == DEV_WEBHOOK_SECRET:
            raise ValueError(
                "webhook.secret: set NOTIFIER_WEBHOOK__SECRET; the development secret is refused"
            )
        # RFC 8058: the one-click unsubscribe link in every email must be an HTTPS URI.
        if urlsplit(self.public_url).scheme.lower() != "https":
            raise ValueError(
                f"public_url (NOTIFIER_PUBLIC_URL): 生产环境须为 https 地址 / must be an https "
                f"URL in production (RFC 8058 unsubscribe links), not {self.public_url!r}"
            )
        return self

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The deployment's time zone, for showing times."""
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: everything runs in one process."""
        return self.broker is None

    @property
    def broker(self) -> str | None:
        """The broker's URL: ``broker_url``, else ``redis_url``; None when embedded."""
        return self.broker_url or self.redis_url

    @property
    def broker_kind(self) -> Literal["embedded", "redis", "rabbitmq"]:
        """Which broker the URL names."""
        if self.broker is None:
            return "embedded"
        return "rabbitmq" if self.broker.startswith(RABBITMQ_SCHEMES) else "redis"

    @property
    def broker_setting(self) -> str:
        """The variable the broker's URL came from, for messages about it."""
        if self.broker_url is None and self.redis_url is not None:
            return "NOTIFIER_REDIS_URL"
        return "NOTIFIER_BROKER_URL"

    @property
    def provider_targets(self) -> list[str]:
        """Every allowed target of admin-configured providers (both names of the setting)."""
        return [*self.allowed_provider_targets, *self.allowed_private_targets]

    @property
    def outbox_dir(self) -> Path:
        """Where the dry-run provider records messages."""
        return self.var_dir / "outbox"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments first (they carry the TOML files), then the environment wins over them.
        return (env_settings, init_settings)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_toml_files(config_dir: Path) -> dict[str, Any]:
    """Merge every ``*.toml`` in ``config_dir`` in name order (later files win)."""
    values: dict[str, Any] = {}
    if not config_dir.is_dir():
        return values
    for path in sorted(config_dir.glob("*.toml")):
        try:
            values = _merge(values, tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return values


def _env_name(location: list[str]) -> str:
    return ENV_PREFIX + "__".join(location).upper()


def _section_model(path: list[str]) -> type[BaseModel] | None:
    """The settings model at ``path`` (``[]``: Settings, ``["sms"]``: SmsSettings), or None."""
    model: type[BaseModel] = Settings
    for part in path:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _unknown_setting(location: list[str]) -> str:
    model = _section_model(location[:-1])
    known = list(model.model_fields) if model else []
    near = difflib.get_close_matches(location[-1].lower(), known, n=1)
    if near:
        env_name = _env_name([*location[:-1], near[0]])
        return f"unknown setting; did you mean {near[0]!r} ({env_name})?"
    return f"unknown setting; expected one of {', '.join(known)}" if known else "unknown setting"


def _describe(error: Mapping[str, Any]) -> str:
    location = [str(part) for part in error["loc"]]
    if not location:  # a check across settings; its message names the settings itself
        return str(error["msg"])
    dotted = ".".join(location)
    problem = _unknown_setting(location) if error["type"] == "extra_forbidden" else error["msg"]
    return f"setting {dotted} ({_env_name(location)}): {problem}"


def load_settings(config_dir: Path | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings.

    Parameters:
        config_dir: folder of ``*.toml`` files; ``NOTIFIER_CONFIG_DIR`` or ``config/`` by default.
        overrides: values that win over the files (tests use them); the environment wins over all.

    Raises:
        ConfigError: a setting is wrong; the message names each wrong setting.
    """
    folder = config_dir or Path(os.environ.get("NOTIFIER_CONFIG_DIR", DEFAULT_CONFIG_DIR))
    values = _merge(read_toml_files(folder), overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        lines = [_describe(error) for error in exc.errors()]
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
    except SettingsError as exc:  # an environment variable that is not the JSON it must be
        field = re.search(r'field "(\w+)"', str(exc))
        name = "a setting"
        if field:  # a section's variables are NOTIFIER_SECTION__NAME
            section = _section_model([field[1]]) not in (None, Settings)
            name = f"{field[1]} ({_env_name([field[1]])}{'__*' if section else ''})"
        raise ConfigError(
            f"invalid settings:\n  setting {name}: 须为 JSON，列表写作 [\"a\", \"b\"] / "
            'must be JSON in the environment, a list as ["a", "b"]'
        ) from None

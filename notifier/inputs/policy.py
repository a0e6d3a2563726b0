"""The policy file as a model: its keys, types and maximums (listed in the docs, "Policy file").

The same model states the API's policy body in the OpenAPI document. Each list is read the way
the enterprise register reads it (sectors, sizes, regions, credit codes normalized); dates stay
text here, read in the deployment's zone by :mod:`notifier.inputs.policy_file`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from notifier.domain.ladder import MAX_REACH_RUNGS, MAX_RUNGS, parse_ladder, reach_ladder
from notifier.domain.message_class import WORDS, message_class
from notifier.domain.plaintext import shown
from notifier.domain.sectors import catalogued_sector, sector_pattern
from notifier.domain.targets import SIZE_CHOICES, read_credit_code, read_size
from notifier.errors import InputError
from notifier.inputs.fields import CREDIT_CODE, DATE_OR_TIME_PATTERN, SIZE_ENUM
from notifier.inputs.phones import PhoneInvalid, parse_phone
from notifier.inputs.strict import (
    Line,
    RequiredLine,
    StrictModel,
    Text,
    each,
    line,
    listed,
    refuse,
    strings,
    typed,
)

# How many items each list may hold, and how long each item may be.
MAX_TOPICS, MAX_TOPIC_LENGTH = 20, 50
MAX_SECTORS, MAX_SECTOR_LENGTH = 200, 10
MAX_REGIONS, MAX_REGION_LENGTH = 100, 200
MAX_SIZES, MAX_SIZE_LENGTH = 4, 10
MAX_TAGS, MAX_TAG_LENGTH = 20, 50
MAX_CREDIT_CODES, MAX_CREDIT_CODE_LENGTH = 10_000, 30
MAX_DEADLINES = 20
MAX_REMIND_DAYS, MAX_REMIND_DAY = 10, 60
MAX_TITLE_LENGTH, MAX_DEPARTMENT_LENGTH, MAX_REF_LENGTH = 300, 100, 90
MAX_SUMMARY_LENGTH, MAX_BODY_LENGTH, MAX_URL_LENGTH = 2000, 100_000, 2000
# The guide a firm reads on its page: how long each may be.
MAX_GUIDE_TEXT_LENGTH, MAX_ADDRESS_LENGTH, MAX_PHONE_LENGTH = 5000, 300, 40
# An ISO 8601 date-time is at most 32 characters; room for surrounding spaces.
MAX_MOMENT_LENGTH = 64


def _region(region: str) -> str:
    segments = [segment.strip() for segment in region.strip("/").split("/")]
    if segments == [""]:
        raise InputError(f"'{shown(region)}' is an empty region")
    if "" in segments:
        raise InputError(f"'{shown(region)}' has an empty segment (two '/' in a row)")
    return "/".join(segments)


def _size(word: str) -> str:
    size = read_size(word)
    if size is None:
        raise InputError(f"'{shown(word)}' is not one of {SIZE_CHOICES}")
    return size


def _credit_code(raw: str) -> str:
    try:
        return read_credit_code(raw)
    except InputError as exc:
        raise InputError(f"'{shown(raw)}' is {str(exc).removeprefix('not ')}") from None


def hint(max_length: int, **schema: Any) -> Any:
    """An item's limit, and for a client's guidance what the schema states of it (the
    canonical spellings: the readers take more)."""
    return Field(max_length=max_length, json_schema_extra=schema)


# Each list holds at most so many lines of at most so many characters (blank ones dropped),
# each read as the register reads it, repeats dropped. The count comes before the validators
# so that the schema states it as maxItems.
Topics = Annotated[
    tuple[Annotated[Line, line(MAX_TOPIC_LENGTH)], ...],
    Field(max_length=MAX_TOPICS), strings(), AfterValidator(each(str)),
]  # fmt: skip
# The schema states the canonical spellings; the readers take more (``36``, ``c3670``, 小型企业).
Sectors = Annotated[
    tuple[Annotated[Line, hint(MAX_SECTOR_LENGTH, pattern=sector_pattern())], ...],
    Field(max_length=MAX_SECTORS), strings(), AfterValidator(each(catalogued_sector)),
]  # fmt: skip
Regions = Annotated[
    tuple[Annotated[Line, line(MAX_REGION_LENGTH)], ...],
    Field(max_length=MAX_REGIONS), strings(), AfterValidator(each(_region)),
]  # fmt: skip
Sizes = Annotated[
    tuple[Annotated[Line, hint(MAX_SIZE_LENGTH, enum=SIZE_ENUM)], ...],
    Field(max_length=MAX_SIZES), strings(), AfterValidator(each(_size)),
]  # fmt: skip
Tags = Annotated[
    tuple[Annotated[Line, line(MAX_TAG_LENGTH)], ...],
    Field(max_length=MAX_TAGS), strings(), AfterValidator(each(str)),
]  # fmt: skip
CreditCodes = Annotated[
    tuple[Annotated[Line, hint(MAX_CREDIT_CODE_LENGTH, **CREDIT_CODE)], ...],
    Field(max_length=MAX_CREDIT_CODES), strings(), AfterValidator(each(_credit_code)),
]  # fmt: skip


class TargetsIn(StrictModel):
    """Whom a policy (or a campaign) reaches: every list given must match (empty: any)."""

    sectors: Sectors = ()
    regions: Regions = Field(default=(), description="以 / 分隔 / segments joined by /")
    sizes: Sizes = ()
    tags: Tags = ()
    credit_codes: CreditCodes = ()


def _ladder(rungs: list[str]) -> tuple[str, ...]:
    try:
        return tuple(rung.label for rung in parse_ladder(rungs))
    except InputError as exc:
        raise refuse(str(exc)) from None


def _reach_ladder(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str | list):
        raise refuse('must be working days like "2个工作日、5个工作日" or a list like [2, 5]')
    try:
        return reach_ladder(value)
    except InputError as exc:
        raise refuse(str(exc)) from None


ReachLadder = Annotated[
    tuple[Annotated[int, Field(ge=1, le=60)], ...] | None,
    BeforeValidator(_reach_ladder),
    Field(
        max_length=MAX_REACH_RUNGS,
        description="再次发送：未查看政策页面的企业，在发布后第几个工作日换一个渠道再发一次 / "
        "re-send on another channel to firms that have not opened the page, so many working "
        'days after publication: [2, 5] or "2个工作日、5个工作日"; [] or "无": never; '
        "absent: the reach.ladder_working_days setting",
        examples=[[2, 5]],
    ),
]
"""A reach ladder: working days after publication, or words for them (None: the setting)."""


def _message_class(value: Any) -> str:
    if value is None:
        return "notice"
    found = message_class(value) if isinstance(value, str) else None
    if found is None:
        raise refuse("须为 通知 或 营销 / must be notice (通知) or marketing (营销)")
    return found.value


MessageClassIn = Annotated[
    str,
    BeforeValidator(_message_class),
    Field(
        description="消息类型：通知 或 营销（营销短信附退订语、只在营销时段发送） / the message "
        "class: notice (通知) or marketing (营销: carries the opt-out text, sent only inside "
        "content.marketing_hours)",
        json_schema_extra={"enum": sorted(WORDS)},
    ),
]
"""A message class as written (通知, 营销, notice, marketing), read as ``notice``/``marketing``."""


def _whole_day(value: Any) -> int:
    # type() rather than isinstance(): true and false are ints to Python, not days.
    if type(value) is not int or not 0 <= value <= MAX_REMIND_DAY:
        raise refuse(f"must be whole days 0..{MAX_REMIND_DAY}")
    return value


Moment = Annotated[
    str,
    typed(str, "must be an ISO 8601 date or date-time string"),
    Field(
        max_length=MAX_MOMENT_LENGTH,
        description="2026-10-15 or 2026-10-15T17:00[+08:00]",
        json_schema_extra={"pattern": DATE_OR_TIME_PATTERN},
    ),
]
"""A date or date-time as written (read in a zone by the file's reader)."""


def _http(url: str) -> str:
    if url and not is_http_url(url):
        raise refuse("must be an http(s) address")
    return url


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an http(s) address with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


Url = Annotated[Line, AfterValidator(_http)]
"""An http(s) address, or blank."""


def _apply_url(url: str) -> str:
    if url and not is_http_url(url):
        raise refuse("须为 http(s) 网址 / must be an http(s) address")
    return url


def _phone(raw: str) -> str:
    # Kept as written (a firm reads 0574-86781234 better than +8657486781234); checked only.
    if raw:
        try:
            parse_phone(raw, service_numbers=True)
        except PhoneInvalid as exc:
            raise refuse(str(exc)) from None
    return raw


ApplyUrl = Annotated[Line, AfterValidator(_apply_url)]
"""网上办理链接: an http(s) address, or blank (refused in Chinese first)."""
Phone = Annotated[Line, AfterValidator(_phone)]
"""咨询电话: a phone number as the register reads one (or a hotline such as 12345), or blank."""


class DeadlineIn(StrictModel):
    """A deadline of the policy; ``remind`` (rungs such as ``5wd``, ``3d``) or the older
    ``remind_days``; neither: the ``reminders.ladder`` setting."""

    title: RequiredLine = line(MAX_TITLE_LENGTH, required=True)
    due_at: Moment = Field(description="a date alone: the end of that day")
    remind: (
        Annotated[
            list[str],
            Field(max_length=MAX_RUNGS),
            strings('must be a list of rungs like "5wd" or "3d"'),
            AfterValidator(_ladder),
        ]
        | None
    ) = None
    remind_days: (
        Annotated[
            list[Annotated[int, Field(ge=0, le=MAX_REMIND_DAY), BeforeValidator(_whole_day)]],
            Field(max_length=MAX_REMIND_DAYS),
            listed("must be a list of whole days"),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _one_ladder(self) -> DeadlineIn:
        if self.remind is not None and self.remind_days is not None:
            raise refuse("give remind or remind_days, not both", below="remind")
        return self

    def ladder(self) -> tuple[str, ...] | None:
        """The rungs (``remind_days`` as calendar-day rungs), or None for the setting."""
        if self.remind_days is not None:
            return tuple(f"{day}d" for day in dict.fromkeys(self.remind_days))
        return tuple(self.remind) if self.remind is not None else None


class PolicyFile(StrictModel):
    """政策文件 / the policy file (docs: Policy file)."""

    ref: Line = line(MAX_REF_LENGTH, default="", description="你的编号 / your own reference")
    title: RequiredLine = line(MAX_TITLE_LENGTH, required=True)
    department: RequiredLine = line(MAX_DEPARTMENT_LENGTH, required=True)
    summary: Text = Field(default="", max_length=MAX_SUMMARY_LENGTH)
    body: Text = Field(default="", max_length=MAX_BODY_LENGTH)
    url: Url = line(MAX_URL_LENGTH, default="", examples=["https://example.gov.cn/p/1"])
    topics: Topics = ()
    targets: TargetsIn = Field(default_factory=TargetsIn)
    published_at: Moment | None = None
    deadlines: list[DeadlineIn] = Field(default_factory=list, max_length=MAX_DEADLINES)
    # The guide a firm reads on its page (docs: Policies, "Guide fields").
    eligibility: Text = Field(
        default="", max_length=MAX_GUIDE_TEXT_LENGTH, description="申报条件 / who qualifies"
    )
    materials: Text = Field(
        default="", max_length=MAX_GUIDE_TEXT_LENGTH, description="所需材料 / what to prepare"
    )
    office_address: Line = line(
        MAX_ADDRESS_LENGTH, default="", description="受理地址 / where to apply in person"
    )
    apply_url: ApplyUrl = line(
        MAX_URL_LENGTH, default="", description="网上办理链接 / where to apply online",
        examples=["https://zwfw.example.gov.cn/apply/1"],
    )
    enquiry_phone: Phone = line(
        MAX_PHONE_LENGTH, default="", description="咨询电话 / whom to call",
        examples=["0574-86781234"],
    )
    # docs: Reach ladder.
    reach_ladder: ReachLadder = None
    # docs: Content rules.
    message_class: MessageClassIn = "notice"

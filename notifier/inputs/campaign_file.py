"""Read and validate a campaign file (``notifier campaigns create FILE.json``).

Strict like the policy file (:mod:`notifier.inputs.policy_file`, whose readers it reuses): an
unknown
key is refused with the nearest known one, channels may be written as a register writes them
(短信, 邮件, 网络回调), targets read exactly as a policy's do. A bad cron, an unknown time zone and
an end before the start are each one :class:`~notifier.errors.InputError` naming the field.
An explicit audience comes from a file of credit codes (one a line, CSV or TXT), every bad line
reported with its number.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from notifier.domain.channel_names import CHANNELS, EMAIL
from notifier.domain.plaintext import shown
from notifier.domain.records import CampaignDraft, InlineTemplate
from notifier.domain.schedules import read_cron, read_zone
from notifier.domain.targets import Targets, read_credit_code
from notifier.errors import InputError
from notifier.inputs.enterprise_csv import CHANNEL_WORDS
from notifier.inputs.policy_file import (
    _refuse_unknown_keys,
    _targets,
    _text,
    _time,
    _url,
    read_json_file,
)

KEYS = (
    "name", "title", "url", "channels", "targets", "credit_codes_file", "templates",
    "schedule", "throttle_per_minute",
)  # fmt: skip
SCHEDULE_KEYS = ("once_at", "cron", "timezone", "starts_at", "ends_at")
TEMPLATE_KEYS = ("name", "body", "subject", "html")
MAX_THROTTLE = 100_000
MAX_CODES_FILE_BYTES = 2_000_000
MAX_TEMPLATE_CHARS = 20_000
_NAME = re.compile(r"^[\w.-]{1,100}$")
_CODE_HEADERS = ("credit_code", "统一社会信用代码", "信用代码")


def _name(data: dict[str, Any]) -> str:
    name = _text(data, "name", required=True, limit=100)
    if not _NAME.match(name):
        raise InputError(
            f"name: '{shown(name)}' may hold only letters, digits, '.', '-' and '_'", field="name"
        )
    return name


def _channels(data: dict[str, Any]) -> tuple[str, ...]:
    raw = data.get("channels")
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
        raise InputError(
            f"channels: must be a non-empty list of {', '.join(CHANNELS)} (短信, 邮件, 网络回调)",
            field="channels",
        )
    channels = []
    for item in raw:
        channel = CHANNEL_WORDS.get(item.strip(), item.strip().lower())
        if channel not in CHANNELS:
            raise InputError(
                f"channels: '{shown(item)}' is not one of {', '.join(CHANNELS)} "
                "(短信, 邮件, 网络回调)",
                field="channels",
            )
        channels.append(channel)
    return tuple(dict.fromkeys(channels))


def _templates(
    data: dict[str, Any], channels: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, InlineTemplate]]:
    raw = data.get("templates")
    if not isinstance(raw, dict):
        raise InputError("templates: must be an object: channel -> template name or text",
                         field="templates")
    keyed = {CHANNEL_WORDS.get(str(k).strip(), str(k).strip().lower()): v for k, v in raw.items()}
    _refuse_unknown_keys(keyed, channels, "templates")
    names: dict[str, str] = {}
    inline: dict[str, InlineTemplate] = {}
    for channel in channels:
        field = f"templates.{channel}"
        value = keyed.get(channel)
        if isinstance(value, str) and value.strip():
            names[channel] = _text(keyed, channel, where="templates", limit=100)
        elif isinstance(value, dict):
            _refuse_unknown_keys(value, TEMPLATE_KEYS, field)
            given = _text(value, "name", where=field, limit=100)
            if given:
                names[channel] = given
            inline[channel] = InlineTemplate(
                body=_text(value, "body", where=field, required=True,
                           limit=MAX_TEMPLATE_CHARS, allowed="\n\t"),
                subject=_text(value, "subject", where=field, limit=300) or None,
                html=_text(value, "html", where=field, limit=MAX_TEMPLATE_CHARS,
                           allowed="\n\t") or None,
            )
            if channel == EMAIL and inline[channel].subject is None:
                where = f"{field}.subject"
                raise InputError(f"{where}: is required for email", field=where)
        else:
            raise InputError(
                f"{field}: is required: a stored template's name, or {{\"body\": ...}}", field=field
            )
    return names, inline


def read_credit_codes(content: bytes, *, source: str = "credit_codes_file") -> tuple[str, ...]:
    """The credit codes of a CSV or TXT file, one a line (first column; a header line allowed).

    Raises:
        InputError: the file is not UTF-8, holds no code, or has bad lines (each named by its
            number, the first ten shown).
    """
    if len(content) > MAX_CODES_FILE_BYTES:
        raise InputError(f"{source}: {len(content)} bytes, at most {MAX_CODES_FILE_BYTES}",
                         field=source)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})", field=source) from None
    codes: list[str] = []
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cell = line.split(",")[0].strip().strip('"').strip()
        if not cell or (number == 1 and cell.lower() in _CODE_HEADERS):
            continue
        try:
            codes.append(read_credit_code(cell))
        except InputError as exc:
            bad.append(f"line {number}: '{shown(cell, limit=30)}' {exc}")
    if bad:
        more = f" (+{len(bad) - 10} more)" if len(bad) > 10 else ""
        raise InputError(f"{source}: {'; '.join(bad[:10])}{more}", field=source)
    if not codes:
        raise InputError(f"{source}: holds no credit code", field=source)
    return tuple(dict.fromkeys(codes))


def _schedule(data: dict[str, Any], zone: tzinfo, now: datetime) -> dict[str, Any]:
    raw = data.get("schedule")
    if not isinstance(raw, dict):
        raise InputError('schedule: must be an object: {"once_at": ...} or {"cron": ...}',
                         field="schedule")
    _refuse_unknown_keys(raw, SCHEDULE_KEYS, "schedule")
    timezone = _text(raw, "timezone", where="schedule", limit=64) or getattr(zone, "key", "")
    local = read_zone(timezone or "Asia/Shanghai")
    has_once, has_cron = raw.get("once_at") is not None, raw.get("cron") is not None
    if has_once == has_cron:
        raise InputError("schedule: give once_at or cron (one of them)", field="schedule")
    result: dict[str, Any] = {"timezone": local.key}
    if has_once:
        result["once_at"] = _time(raw["once_at"], "schedule.once_at", local)
        start = result["once_at"]
    else:
        cron = _text(raw, "cron", where="schedule", required=True, limit=100)
        read_cron(cron, local)
        result["cron"] = cron
        starts = raw.get("starts_at")
        result["starts_at"] = _time(starts, "schedule.starts_at", local) if starts else None
        start = result["starts_at"] or now
    if raw.get("ends_at") is not None:
        ends = _time(raw["ends_at"], "schedule.ends_at", local, end_of_day=True)
        if ends <= start:
            raise InputError(
                f"schedule.ends_at: {ends.isoformat()} is not after the start "
                f"({start.astimezone(local).isoformat()})",
                field="schedule.ends_at",
            )
        result["ends_at"] = ends
    return result


def _throttle(data: dict[str, Any]) -> int | None:
    value = data.get("throttle_per_minute")
    if value is None:
        return None
    if type(value) is not int or not 1 <= value <= MAX_THROTTLE:
        raise InputError(
            f"throttle_per_minute: must be a whole number 1..{MAX_THROTTLE} (messages a minute)",
            field="throttle_per_minute",
        )
    return value


def parse_campaign(
    data: Any, *, zone: tzinfo, now: datetime, base_dir: Path | None = None
) -> CampaignDraft:
    """Validate a campaign given as decoded JSON; ``credit_codes_file`` is read from
    ``base_dir`` (the campaign file's folder).

    Raises:
        InputError: naming the first bad field and the problem.
    """
    if not isinstance(data, dict):
        raise InputError("the campaign must be a JSON object")
    _refuse_unknown_keys(data, KEYS, "")
    name = _name(data)
    channels = _channels(data)
    names, inline = _templates(data, channels)
    targets = Targets(**_targets(data))
    codes_file = _text(data, "credit_codes_file", limit=500)
    if codes_file:
        path = (base_dir or Path.cwd()) / codes_file
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise InputError(f"credit_codes_file: cannot read {codes_file}: {exc.strerror}",
                             field="credit_codes_file") from None
        codes = read_credit_codes(content)
        targets = Targets(**{**targets.__dict__, "credit_codes": codes})
    schedule = _schedule(data, zone, now)
    return CampaignDraft(
        name=name,
        title=_text(data, "title", required=True),
        url=_url(data),
        channels=channels,
        targets=targets,
        templates=names,
        inline_templates=inline,
        throttle_per_minute=_throttle(data),
        **schedule,
    )


def read_campaign_file(path: Path, *, zone: tzinfo, now: datetime) -> CampaignDraft:
    """Read and validate the campaign file at ``path``.

    Raises:
        InputError: unreadable, not JSON as the policy file allows it, or a bad field.
    """
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InputError(f"file: cannot read {path}: {exc.strerror}", field="file") from None
    return parse_campaign(read_json_file(content), zone=zone, now=now, base_dir=path.parent)

"""Read a campaign file (``notifier campaigns create FILE.json``, the API's and the console's
campaign body): JSON → :class:`~notifier.inputs.campaign.CampaignFile` → a
:class:`~notifier.domain.records.CampaignDraft`.

Strict like the policy file: an unknown key is refused with the nearest known one; a bad cron,
an unknown time zone and an end before the start are each one
:class:`~notifier.errors.InputError` naming the field. An explicit audience comes from a file of
credit codes (one a line, CSV or TXT), every bad line reported with its number.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from notifier.domain.plaintext import shown
from notifier.domain.records import CampaignDraft, InlineTemplate
from notifier.domain.schedules import read_cron, read_zone
from notifier.domain.targets import Targets, read_credit_code
from notifier.errors import InputError
from notifier.inputs.campaign import CampaignFile, InlineTemplateIn, ScheduleIn
from notifier.inputs.json_file import read_json_file
from notifier.inputs.policy_file import read_time, targets_of
from notifier.inputs.strict import validate

MAX_CODES_FILE_BYTES = 2_000_000
_CODE_HEADERS = ("credit_code", "统一社会信用代码", "信用代码")


def _templates(
    campaign: CampaignFile,
) -> tuple[dict[str, str], dict[str, InlineTemplate]]:
    names: dict[str, str] = {}
    inline: dict[str, InlineTemplate] = {}
    for channel, value in campaign.templates_by_channel().items():
        if isinstance(value, InlineTemplateIn):
            if value.name:
                names[channel] = value.name
            inline[channel] = InlineTemplate(
                body=value.body, subject=value.subject or None, html=value.html or None
            )
        else:
            names[channel] = value
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


def _schedule(given: ScheduleIn, zone: tzinfo, now: datetime) -> dict[str, Any]:
    local = read_zone(given.timezone or getattr(zone, "key", "") or "Asia/Shanghai")
    result: dict[str, Any] = {"timezone": local.key}
    if given.once_at is not None:
        result["once_at"] = start = read_time(given.once_at, "schedule.once_at", local)
    else:
        read_cron(given.cron, local)
        result["cron"] = given.cron
        starts = given.starts_at
        result["starts_at"] = read_time(starts, "schedule.starts_at", local) if starts else None
        start = result["starts_at"] or now
    if given.ends_at is not None:
        ends = read_time(given.ends_at, "schedule.ends_at", local, end_of_day=True)
        if ends <= start:
            raise InputError(
                f"schedule.ends_at: {ends.isoformat()} is not after the start "
                f"({start.astimezone(local).isoformat()})",
                field="schedule.ends_at",
            )
        result["ends_at"] = ends
    return result


def _codes_file(name: str, base_dir: Path | None) -> tuple[str, ...]:
    path = (base_dir or Path.cwd()) / name
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InputError(f"credit_codes_file: cannot read {name}: {exc.strerror}",
                         field="credit_codes_file") from None
    return read_credit_codes(content)


def parse_campaign(
    data: Any, *, zone: tzinfo, now: datetime, base_dir: Path | None = None
) -> CampaignDraft:
    """Validate a campaign given as decoded JSON; ``credit_codes_file`` is read from
    ``base_dir`` (the campaign file's folder).

    Raises:
        InputError: naming the first bad field and the problem.
    """
    campaign = validate(CampaignFile, data, what="the campaign")
    names, inline = _templates(campaign)
    targets = targets_of(campaign.targets)
    if campaign.credit_codes_file:
        codes = _codes_file(campaign.credit_codes_file, base_dir)
        targets = Targets(**{**targets.__dict__, "credit_codes": codes})
    return CampaignDraft(
        name=campaign.name,
        title=campaign.title,
        url=campaign.url or None,
        channels=tuple(campaign.channels),
        targets=targets,
        templates=names,
        inline_templates=inline,
        throttle_per_minute=campaign.throttle_per_minute,
        message_class=campaign.message_class,
        **_schedule(campaign.schedule, zone, now),
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

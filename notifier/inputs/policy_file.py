"""Read and validate a policy to publish (the JSON file given to ``notifier policies publish``).

Strict on purpose: an unknown key, a list over its maximum, a control character or a date out
of range is one :class:`~notifier.errors.InputError` naming the field, never a traceback and
never a policy that reaches the wrong enterprises. The maximums below are listed in the README.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, tzinfo
from typing import Any
from urllib.parse import urlsplit

from notifier.domain.ladder import MAX_RUNGS, parse_ladder
from notifier.domain.plaintext import shown
from notifier.domain.records import DeadlineDraft, PolicyDraft
from notifier.domain.sectors import normalize_sector
from notifier.domain.targets import SIZE_CHOICES, Targets, read_credit_code, read_size
from notifier.domain.text_rules import check_line, check_text
from notifier.errors import InputError

KEYS = (
    "ref", "title", "department", "summary", "body", "url",
    "topics", "targets", "published_at", "deadlines",
)  # fmt: skip
TARGET_KEYS = ("sectors", "regions", "sizes", "tags", "credit_codes")
DEADLINE_KEYS = ("title", "due_at", "remind", "remind_days")

MAX_FILE_BYTES = 1_000_000
# How many items each list may hold, and how long each item may be.
MAX_TOPICS, MAX_TOPIC_LENGTH = 20, 50
MAX_SECTORS, MAX_SECTOR_LENGTH = 200, 10
MAX_REGIONS, MAX_REGION_LENGTH = 100, 200
MAX_SIZES, MAX_SIZE_LENGTH = 4, 10
MAX_TAGS, MAX_TAG_LENGTH = 20, 50
MAX_CREDIT_CODES, MAX_CREDIT_CODE_LENGTH = 10_000, 30
MAX_DEADLINES = 20
MAX_REMIND_DAYS, MAX_REMIND_DAY = 10, 60
# Longer integers are never meant; Python refuses to read more than 4,300 digits anyway.
MAX_NUMBER_DIGITS = 15
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
# Only the long texts may hold line breaks and tabs.
_MULTILINE = "\n\t"


def _refuse_unknown_keys(data: dict[Any, Any], known: tuple[str, ...], where: str) -> None:
    for key in data:
        if key in known:
            continue
        name = shown(str(key), limit=40)
        field = f"{where}.{name}" if where else name
        near = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean {near[0]!r}?" if near else f"expected one of {', '.join(known)}"
        raise InputError(f"{field}: unknown key; {hint}", field=field)


def _clean(value: str, field: str, *, allowed: str = "") -> str:
    # textrules' one rule: a multi-line field is a text, any other a line (no invisible
    # character either).
    if allowed:
        return check_text(value.replace("\r\n", "\n"), field).strip()
    return check_line(value, field).strip()


def _text(
    data: dict[str, Any],
    name: str,
    *,
    where: str = "",
    required: bool = False,
    limit: int = 300,
    allowed: str = "",
) -> str:
    field = f"{where}.{name}" if where else name
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(f"{field}: is required", field=field)
        return ""
    if not isinstance(value, str):
        raise InputError(f"{field}: must be a string", field=field)
    value = _clean(value, field, allowed=allowed)
    if len(value) > limit:
        raise InputError(f"{field}: is {len(value)} characters, at most {limit}", field=field)
    return value


def _count(items: list[Any], field: str, limit: int) -> None:
    if len(items) > limit:
        raise InputError(f"{field}: {len(items)} items, at most {limit}", field=field)


def _strings(data: dict[str, Any], name: str, field: str, limits: tuple[int, int]) -> list[str]:
    """The stripped, non-empty strings of a list, in order, repeats kept."""
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{field}: must be a list of strings", field=field)
    most, longest = limits
    _count(value, field, most)
    items = []
    for item in value:
        if not isinstance(item, str):
            raise InputError(f"{field}: must be a list of strings", field=field)
        item = _clean(item, field)
        if len(item) > longest:
            raise InputError(
                f"{field}: an item is {len(item)} characters, at most {longest}", field=field
            )
        if item:
            items.append(item)
    return items


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _each(items: list[str], field: str, read: Callable[[str], str]) -> tuple[str, ...]:
    """Apply ``read`` to every item; its InputError is reported on ``field``."""
    result = []
    for item in items:
        try:
            result.append(read(item))
        except InputError as exc:
            raise InputError(f"{field}: {exc}", field=field) from None
    return _unique(result)


def _url(data: dict[str, Any]) -> str | None:
    url = _text(data, "url", limit=2000)
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError("url: must be an http(s) address", field="url")
    return url


def _time(value: Any, field: str, zone: tzinfo, *, end_of_day: bool = False) -> datetime:
    """A date-time, or a date alone (its start, or with ``end_of_day`` its last second);
    without a zone it is read in the deployment's zone."""
    if not isinstance(value, str):
        raise InputError(f"{field}: must be an ISO 8601 date or date-time string", field=field)
    text = value.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    try:
        moment = datetime.fromisoformat(text) if day is None else None
    except ValueError:
        raise InputError(
            f"{field}: '{shown(value)}' is not an ISO 8601 date or date-time", field=field
        ) from None
    year = day.year if day else moment.year  # type: ignore[union-attr]
    # Beyond these a conversion to UTC can overflow (year 1, year 9999); none is meant.
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise InputError(
            f"{field}: year {year} is out of range; dates must be between "
            f"{EARLIEST_YEAR} and {LATEST_YEAR}",
            field=field,
        )
    if day is not None:
        return datetime.combine(day, time(23, 59, 59) if end_of_day else time(), tzinfo=zone)
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def read_due_at(text: str, *, zone: tzinfo) -> datetime:
    """A due time as ``deadlines[i].due_at`` reads it (a date alone: the end of that day).

    Raises:
        InputError: not an ISO 8601 date or date-time, or a year out of range.
    """
    return _time(text, "due_at", zone, end_of_day=True)


def _region(region: str) -> str:
    segments = [segment.strip() for segment in region.strip("/").split("/")]
    if segments == [""]:
        raise InputError(f"'{shown(region)}' is an empty region")
    if "" in segments:
        raise InputError(f"'{shown(region)}' has an empty segment (two '/' in a row)")
    joined = "/".join(segments)
    return joined


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


def _targets(data: dict[str, Any]) -> dict[str, Any]:
    targets = data.get("targets")
    if targets is None:
        targets = {}
    if not isinstance(targets, dict):
        raise InputError("targets: must be an object", field="targets")
    _refuse_unknown_keys(targets, TARGET_KEYS, "targets")
    rules: dict[str, tuple[tuple[int, int], Callable[[str], str]]] = {
        "sectors": ((MAX_SECTORS, MAX_SECTOR_LENGTH), normalize_sector),
        "regions": ((MAX_REGIONS, MAX_REGION_LENGTH), _region),
        "sizes": ((MAX_SIZES, MAX_SIZE_LENGTH), _size),
        "tags": ((MAX_TAGS, MAX_TAG_LENGTH), str),
        "credit_codes": ((MAX_CREDIT_CODES, MAX_CREDIT_CODE_LENGTH), _credit_code),
    }
    result = {}
    for name, (limits, read) in rules.items():
        field = f"targets.{name}"
        result[name] = _each(_strings(targets, name, field, limits), field, read)
    return result


def _remind(item: dict[str, Any], where: str) -> tuple[str, ...] | None:
    """The ladder: ``remind`` rungs, or the older ``remind_days`` as calendar-day rungs."""
    if item.get("remind") is not None and item.get("remind_days") is not None:
        field = f"{where}.remind"
        raise InputError(f"{field}: give remind or remind_days, not both", field=field)
    if item.get("remind_days") is not None:
        return tuple(f"{day}d" for day in _remind_days(item, where))
    rungs = item.get("remind")
    if rungs is None:
        return None  # the reminders.ladder setting
    field = f"{where}.remind"
    if not isinstance(rungs, list) or not all(isinstance(r, str) for r in rungs):
        raise InputError(f"{field}: must be a list of rungs like \"5wd\" or \"3d\"", field=field)
    _count(rungs, field, MAX_RUNGS)
    try:
        return tuple(rung.label for rung in parse_ladder(rungs))
    except InputError as exc:
        raise InputError(f"{field}: {exc}", field=field) from None


def _remind_days(item: dict[str, Any], where: str) -> tuple[int, ...]:
    field = f"{where}.remind_days"
    days = item.get("remind_days")
    if not isinstance(days, list):
        raise InputError(f"{field}: must be a list of whole days", field=field)
    _count(days, field, MAX_REMIND_DAYS)
    # type() rather than isinstance(): true and false are ints to Python, not days.
    if not all(type(d) is int and 0 <= d <= MAX_REMIND_DAY for d in days):
        raise InputError(f"{field}: must be whole days 0..{MAX_REMIND_DAY}", field=field)
    return tuple(dict.fromkeys(days))


def _deadlines(data: dict[str, Any], zone: tzinfo) -> tuple[DeadlineDraft, ...]:
    items = data.get("deadlines")
    if items is None:
        return ()
    if not isinstance(items, list):
        raise InputError("deadlines: must be a list", field="deadlines")
    _count(items, "deadlines", MAX_DEADLINES)
    drafts = []
    for index, item in enumerate(items):
        where = f"deadlines[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: must be an object", field=where)
        _refuse_unknown_keys(item, DEADLINE_KEYS, where)
        title = _text(item, "title", where=where, required=True)
        if item.get("due_at") is None:
            raise InputError(f"{where}.due_at: is required", field=f"{where}.due_at")
        due_at = _time(item["due_at"], f"{where}.due_at", zone, end_of_day=True)
        drafts.append(
            DeadlineDraft(title=title, due_at=due_at, remind=_remind(item, where))
        )
    return tuple(drafts)


def _source_key(data: dict[str, Any], title: str, department: str, url: str | None) -> str:
    ref = _text(data, "ref", limit=90)
    if ref:
        return f"ref:{ref}"
    # The body as given (validated already), so a policy keeps the key it always had.
    digest = hashlib.sha256(
        json.dumps([department, title, url, data.get("body", "")], ensure_ascii=False).encode()
    ).hexdigest()
    return f"sha:{digest[:40]}"


def parse_policy(data: Any, *, zone: tzinfo) -> PolicyDraft:
    """Validate a policy given as decoded JSON.

    Raises:
        InputError: naming the first bad field and the problem.
    """
    if not isinstance(data, dict):
        raise InputError("the policy must be a JSON object")
    _refuse_unknown_keys(data, KEYS, "")
    title = _text(data, "title", required=True)
    department = _text(data, "department", required=True, limit=100)
    summary = _text(data, "summary", limit=2000, allowed=_MULTILINE)
    body = _text(data, "body", limit=100_000, allowed=_MULTILINE)
    url = _url(data)
    topics = _unique(_strings(data, "topics", "topics", (MAX_TOPICS, MAX_TOPIC_LENGTH)))
    targets = _targets(data)
    published = data.get("published_at")
    return PolicyDraft(
        source_key=_source_key(data, title, department, url),
        title=title,
        department=department,
        summary=summary,
        body=body,
        url=url,
        targets=Targets(topics=topics, **targets),
        published_at=None if published is None else _time(published, "published_at", zone),
        deadlines=_deadlines(data, zone),
    )


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            name = shown(key, limit=40)
            raise InputError(f"{name}: appears twice in an object; keep one", field=name)
        result[key] = value
    return result


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        raise InputError(
            f"not valid JSON: a number of {digits} digits, at most {MAX_NUMBER_DIGITS}",
            field="file",
        )
    return int(text)


def _fraction(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"not valid JSON: the number {shown(text)} is too large", field="file")
    return value


def _constant(name: str) -> Any:
    raise InputError(f"not valid JSON: {name} is not a number JSON allows", field="file")


def read_policy_file(content: bytes, *, zone: tzinfo) -> PolicyDraft:
    """Parse and validate a policy JSON file's bytes (UTF-8, a BOM from Notepad allowed).

    Raises:
        InputError: too large, not UTF-8, not JSON (repeated keys, NaN, absurd numbers or
            nesting included), or a bad field.
    """
    return parse_policy(read_json_file(content), zone=zone)


def read_json_file(content: bytes) -> Any:
    """Decode a JSON input file strictly (see :func:`read_policy_file`).

    Raises:
        InputError: too large, not UTF-8, or not JSON as the policy file allows it.
    """
    if len(content) > MAX_FILE_BYTES:
        raise InputError(f"file: {len(content)} bytes, at most {MAX_FILE_BYTES}", field="file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"file: not UTF-8 text (byte {exc.start})", field="file") from None
    try:
        data = json.loads(
            text,
            object_pairs_hook=_object_without_repeats,
            parse_int=_integer,
            parse_float=_fraction,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno}", field="file") from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", field="file") from None
    return data

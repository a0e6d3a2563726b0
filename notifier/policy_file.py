"""Read and validate a policy to publish (the JSON file given to ``notifier policies publish``)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from notifier.errors import InputError
from notifier.records import DEFAULT_REMIND_DAYS, DeadlineDraft, PolicyDraft
from notifier.sectors import normalize_sector
from notifier.targets import SIZE_CHOICES, Targets, read_size


def _text(data: dict[str, Any], name: str, *, required: bool = False, limit: int = 300) -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(f"{name}: is required", field=name)
        return ""
    if not isinstance(value, str):
        raise InputError(f"{name}: must be a string", field=name)
    value = value.strip()
    if len(value) > limit:
        raise InputError(f"{name}: is {len(value)} characters, at most {limit}", field=name)
    return value


def _strings(data: dict[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{name}: must be a list of strings", field=name)
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def _url(data: dict[str, Any]) -> str | None:
    url = _text(data, "url", limit=2000)
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError("url: must be an http(s) address", field="url")
    return url


def _time(value: Any, name: str, zone: tzinfo) -> datetime:
    if not isinstance(value, str):
        raise InputError(f"{name}: must be an ISO 8601 date-time string", field=name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{name}: {value!r} is not an ISO 8601 date-time", field=name) from None
    # A time without a zone is read in the deployment's zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _targets(data: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    targets = data.get("targets") or {}
    if not isinstance(targets, dict):
        raise InputError("targets: must be an object", field="targets")
    unknown = set(targets) - {"sectors", "regions", "sizes", "tags"}
    if unknown:
        raise InputError(f"targets: unknown key(s) {', '.join(sorted(unknown))}", field="targets")
    result = {name: _strings(targets, name) for name in ("sectors", "regions", "sizes", "tags")}
    try:
        result["sectors"] = tuple(normalize_sector(code) for code in result["sectors"])
    except InputError as exc:
        raise InputError(f"targets.sectors: {exc}", field="targets.sectors") from None
    bad_sizes = [s for s in result["sizes"] if read_size(s) is None]
    if bad_sizes:
        raise InputError(
            f"targets.sizes: {', '.join(bad_sizes)} not one of {SIZE_CHOICES}",
            field="targets.sizes",
        )
    result["sizes"] = tuple(dict.fromkeys(s for s in map(read_size, result["sizes"]) if s))
    result["regions"] = tuple(r.strip("/") for r in result["regions"])
    return result


def _deadlines(data: dict[str, Any], zone: tzinfo) -> tuple[DeadlineDraft, ...]:
    items = data.get("deadlines") or []
    if not isinstance(items, list):
        raise InputError("deadlines: must be a list", field="deadlines")
    drafts = []
    for index, item in enumerate(items):
        where = f"deadlines[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: must be an object", field=where)
        title = _text(item, "title", required=True)
        due_at = _time(item.get("due_at"), f"{where}.due_at", zone)
        days = item.get("remind_days", list(DEFAULT_REMIND_DAYS))
        if not isinstance(days, list) or not all(isinstance(d, int) and 0 <= d <= 60 for d in days):
            raise InputError(f"{where}.remind_days: must be whole days 0..60", field=where)
        drafts.append(DeadlineDraft(title=title, due_at=due_at, remind_days=tuple(days)))
    return tuple(drafts)


def _source_key(data: dict[str, Any], title: str, department: str, url: str | None) -> str:
    ref = _text(data, "ref", limit=90)
    if ref:
        return f"ref:{ref}"
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
    title = _text(data, "title", required=True)
    department = _text(data, "department", required=True, limit=100)
    url = _url(data)
    targets = _targets(data)
    published = data.get("published_at")
    return PolicyDraft(
        source_key=_source_key(data, title, department, url),
        title=title,
        department=department,
        summary=_text(data, "summary", limit=2000),
        body=_text(data, "body", limit=100_000),
        url=url,
        targets=Targets(topics=_strings(data, "topics"), **targets),
        published_at=_time(published, "published_at", zone) if published else None,
        deadlines=_deadlines(data, zone),
    )


MAX_FILE_BYTES = 1_000_000


def read_policy_file(content: bytes, *, zone: tzinfo) -> PolicyDraft:
    """Parse and validate a policy JSON file's bytes (UTF-8, a BOM from Notepad allowed).

    Raises:
        InputError: too large, not UTF-8, not JSON, or a bad field.
    """
    if len(content) > MAX_FILE_BYTES:
        raise InputError(f"file: {len(content)} bytes, at most {MAX_FILE_BYTES}", field="file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"file: not UTF-8 text (byte {exc.start})", field="file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return parse_policy(data, zone=zone)

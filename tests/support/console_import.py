"""Importing a register through the console's two steps: upload, then confirm the mapping."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response


def preset_mapping(page: str) -> dict[str, str]:
    """The mapping form's hidden values and each column's preset field, as a form to post."""
    form = {
        name: html.unescape(value)
        for name, value in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page)
    }
    for select, body in re.findall(r'<select id="\w+" name="(field_\d+)">(.*?)</select>', page,
                                   flags=re.S):  # fmt: skip
        chosen = re.search(r'<option value="(\w*)" selected>', body)
        form[select] = chosen.group(1) if chosen else ""
    return form


def console_import(
    client: TestClient,
    csrf: str,
    name: str,
    content: bytes,
    *,
    dry_run: bool = False,
    change: dict[int, str] | None = None,
) -> tuple[Response, Response]:
    """Upload ``content``, confirm the preset mapping (with ``change``: column -> field) and
    return (the mapping page, the report page)."""
    data: dict[str, Any] = {"csrf": csrf, **({"dry_run": "on"} if dry_run else {})}
    mapping = client.post(
        "/console/enterprises/import", data=data, files={"file": (name, content, "text/csv")}
    )
    assert mapping.status_code == 200, mapping.text[-2000:]
    form = preset_mapping(mapping.text)
    for column, field in (change or {}).items():
        form[f"field_{column}"] = field
    return mapping, client.post("/console/enterprises/import/confirm", data=form)

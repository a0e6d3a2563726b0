"""Console forms as a browser sends them, for tests that post a page's form back."""

from __future__ import annotations

import html
import re
from typing import Any


def fields_of(page: str, form_id: str = "policy-form") -> dict[str, list[str]]:
    """The form's fields as a browser would send them (text, hidden, checked boxes, the
    selected option of each select, textareas)."""
    sent: dict[str, list[str]] = {}
    start = page.index(f'id="{form_id}"')
    form = page[start:page.index("</form>", start)]
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or (kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag):
            continue
        value = re.search(r'value="([^"]*)"', tag)
        sent.setdefault(name.group(1), []).append(html.unescape(value.group(1) if value else ""))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        sent.setdefault(name, []).append(html.unescape(chosen.group(1)) if chosen else "")
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', form):
        sent.setdefault(name, []).append(html.unescape(text))
    return sent


def published_id(answer: Any) -> int:
    """The policy id of the page a publish answer landed on."""
    return int(re.search(r"/console/policies/(\d+)", str(answer.url)).group(1))

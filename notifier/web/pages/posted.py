"""The body of a post to an enterprise page, read without blocking the event loop's handler
for long: URL-encoded or multipart, bounded."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request

MAX_FORM_BYTES = 20_000


async def posted_form(request: Request) -> dict[str, list[str]]:
    """The posted fields: URL-encoded, or multipart (RFC 8058 allows both for one-click)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=0, max_fields=50)
        return {k: [str(v) for v in form.getlist(k)] for k in form}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def first(form: dict[str, list[str]], name: str) -> str | None:
    """The first value posted under ``name``, or None."""
    values = form.get(name)
    return values[0] if values else None

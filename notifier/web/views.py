"""Server-rendered pages: one Jinja2 environment over ``notifier/web/templates``.

The templates are ours (not staff-written), so the plain environment with autoescape is used;
staff-written message templates go through ``notifier.rendering.sandbox`` instead. Every page gets
``t``
(the translator of the request's language), ``lang`` and ``zone``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifier.web import i18n, words

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")


def language_of(request: Request) -> str:
    """The request's language (cookie, then Accept-Language, then Chinese)."""
    return i18n.choose_language(
        request.cookies.get(i18n.COOKIE), request.headers.get("accept-language")
    )


class Views:
    """Renders the pages in the request's language.

    Parameters:
        zone: the deployment's time zone; times are shown in it.
    """

    def __init__(self, *, zone: tzinfo) -> None:
        self.zone = zone
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["local"] = self.local
        self.env.filters.update(words.FILTERS)

    def local(self, moment: datetime | str | None, length: int = 16) -> str:
        """A time in the deployment's zone, ``2026-06-01 09:00``."""
        if moment is None or moment == "":
            return ""
        if isinstance(moment, str):
            return moment[:length].replace("T", " ")
        return moment.astimezone(self.zone).isoformat()[:length].replace("T", " ")

    def html(self, request: Request, name: str, *, status_code: int = 200, **context: Any) -> str:
        """The page ``name`` rendered for ``request``."""
        language = language_of(request)
        template = self.env.get_template(name)
        return template.render(
            request=request,
            t=i18n.translator(language),
            lang=language,
            path=request.url.path,
            **context,
        )

    def page(
        self, request: Request, name: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """The page ``name`` as a response (never cached: it may hold a CSRF token); the
        framing, referrer and script rules come from ``notifier.web.headers``."""
        response = HTMLResponse(self.html(request, name, **context), status_code=status_code)
        response.headers["Cache-Control"] = "no-store"
        return response

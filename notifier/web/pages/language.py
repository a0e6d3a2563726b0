"""``/lang/{code}``: the language switch on every page (a cookie, then back to the page)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from notifier.web import i18n

ONE_YEAR = 365 * 24 * 3600


def _local_path(target: str | None) -> str:
    # Only a path on this site: an open redirect would lend our links to phishing.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/console/"


def language_switch() -> APIRouter:
    """The router of the language switch."""
    router = APIRouter(include_in_schema=False)

    @router.get("/lang/{code}")
    def switch(code: str, next: str | None = None) -> RedirectResponse:  # noqa: A002
        response = RedirectResponse(_local_path(next), status_code=303)
        if code in i18n.LANGUAGES:
            response.set_cookie(i18n.COOKIE, code, max_age=ONE_YEAR, samesite="lax")
        return response

    return router

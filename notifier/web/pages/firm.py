"""``/p/{token}``: a policy's page for one firm: what it says, what the firm must do by when,
and the firm's buttons (已知晓, 已办理, 与我无关, 我有疑问).

No sign-in: the signed token (policy and firm, :func:`notifier.domain.tokens.make_page_token`)
is the credential, and a bad, tampered or foreign token gets the friendly 400 page. A GET
records nothing, so a chat app's link preview or a mail scanner counts as nothing; the page's
own script posts ``/p/{token}/opened`` once loaded (same origin, the page's CSRF value), and
that is a person's view. The buttons are plain form posts carrying the page's CSRF value: they
work without JavaScript. Every event goes through :mod:`notifier.services.reach.events`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from notifier.domain.tokens import read_page_token
from notifier.errors import InputError
from notifier.inputs.firm_answers import read_question, read_reason
from notifier.runtime import Runtime
from notifier.services.context import Actor, Context
from notifier.services.reach import events
from notifier.services.reach.firm_page import firm_page
from notifier.web import words
from notifier.web.forms import FIELD, deployment_keys, form_token, form_token_valid
from notifier.web.pages.posted import first, posted_form
from notifier.web.views import Views

# Whoever follows the link; the service names the firm its token is for in the audit log.
VISITOR = Actor(name="link", role="enterprise", face="page")
# What a button press says back (a catalogue key under firm_page.saved_*).
SAVED = ("confirmed", "done", "not_applicable", "question")


class FirmPages:
    """The firm's policy pages over ``runtime``'s database and keys."""

    def __init__(self, runtime: Runtime, views: Views) -> None:
        self.runtime = runtime
        self.views = views
        self.keys = deployment_keys(runtime.settings)

    def _context(self) -> Context:
        return self.runtime.context(VISITOR)

    def _refused(self, request: Request) -> HTMLResponse:
        return self.views.page(request, "link_invalid.html", status_code=400)

    def _page(
        self, request: Request, token: str, *, status_code: int = 200, **shown: Any
    ) -> HTMLResponse:
        """The page (``shown``: ``saved``, or ``error`` with the form as it was sent)."""
        try:
            policy_id, enterprise_id = read_page_token(self.keys, token)
            page = firm_page(self._context(), policy_id, enterprise_id)
        except InputError:  # NotFoundError too: the policy or the firm is gone
            return self._refused(request)
        return self.views.page(
            request,
            "firm_page.html",
            status_code=status_code,
            page=page,
            token=token,
            csrf=form_token(self.keys, token),
            **{"saved": None, "error": None, "form": {}, **shown},
        )

    def show(self, request: Request, token: str) -> Response:
        """``GET /p/{token}``: the page; nothing is recorded."""
        return self._page(request, token)

    async def press(self, request: Request, token: str) -> Response:
        """``POST /p/{token}``: one of the firm's buttons."""
        form = await posted_form(request)
        return await run_in_threadpool(self._press, request, token, form)

    def _press(self, request: Request, token: str, form: dict[str, list[str]]) -> Response:
        try:
            policy_id, enterprise_id = read_page_token(self.keys, token)
        except InputError:
            return self._refused(request)
        if not form_token_valid(self.keys, token, first(form, FIELD)):
            return self.views.page(request, "form_expired.html", status_code=400)
        action = first(form, "action") or ""
        sent = {name: first(form, name) or "" for name in ("reason", "question", "callback")}
        try:
            self._act(action, policy_id, enterprise_id, form, sent)
        except InputError as exc:
            if exc.field == "token":  # the policy or the firm is gone
                return self._refused(request)
            error = words.refusal(exc)
            return self._page(request, token, status_code=400, error=error, form=sent)
        return self._page(request, token, saved=action)

    def _act(
        self, action: str, policy_id: int, enterprise_id: int,
        form: dict[str, list[str]], sent: dict[str, str],
    ) -> None:
        context = self._context()
        if action == "confirmed":
            events.confirm(context, policy_id, enterprise_id)
        elif action == "not_applicable":
            reason = read_reason(sent["reason"])
            events.not_applicable(context, policy_id, enterprise_id, reason)
        elif action == "question":
            question = read_question(sent["question"], sent["callback"])
            events.ask(context, policy_id, enterprise_id, question)
        elif action == "done":
            deadline = first(form, "deadline") or ""
            if not deadline.isdigit():
                raise InputError("deadline: 请选择办理期限 / choose a deadline", field="deadline")
            events.done(context, policy_id, enterprise_id, int(deadline))
        else:
            raise InputError("action: 未知操作 / unknown action", field="action")

    async def opened(self, request: Request, token: str) -> Response:
        """``POST /p/{token}/opened``: the page's beacon, sent by its script once loaded."""
        form = await posted_form(request)
        return await run_in_threadpool(self._opened, token, form)

    def _opened(self, token: str, form: dict[str, list[str]]) -> Response:
        if not form_token_valid(self.keys, token, first(form, FIELD)):
            return Response(status_code=400)
        try:
            policy_id, enterprise_id = read_page_token(self.keys, token)
            events.record_opened(self._context(), policy_id, enterprise_id)
        except InputError:
            return Response(status_code=400)
        return Response(status_code=204)


def firm_pages(runtime: Runtime, views: Views) -> APIRouter:
    """The router of the firm's policy pages, over ``runtime``'s database and keys."""
    pages = FirmPages(runtime, views)
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/p/{token}", pages.show, methods=["GET"])
    router.add_api_route("/p/{token}", pages.press, methods=["POST"])
    router.add_api_route("/p/{token}/opened", pages.opened, methods=["POST"])
    return router

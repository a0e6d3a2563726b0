"""``/u/{token}``: preferences and one-click unsubscribe; ``/d/{token}``: a deadline done.

No API key: the signed token is the credential. A bad, tampered or outdated token gets a
friendly 400 page, never a 500. ``POST /u/{token}`` with the body
``List-Unsubscribe=One-Click`` (RFC 8058, as a mail client sends it from the
``List-Unsubscribe-Post`` header) turns the link's channel off with no page and no CSRF value;
every other post is a form of the page and must carry the page's CSRF value.

The page also shows the firm its webhook endpoint's signing secret, once (see
:mod:`notifier.services.providers.endpoint_secrets`): the action ``webhook_secret`` reveals or
rotates it,
``end_overlap`` stops the previous one signing. Pages are never cached (``no-store``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from notifier.domain.tokens import read_deadline_done_token, read_unsubscribe_token
from notifier.errors import ConflictError, InputError
from notifier.runtime import Runtime
from notifier.services.context import Actor, Context
from notifier.services.deadlines.operations import mark_done_by_token
from notifier.services.enterprises.subscriptions import change, choices_of, leave_channel
from notifier.services.providers import endpoint_secrets
from notifier.store import deadlines as deadline_store
from notifier.store import enterprises as enterprise_store
from notifier.store.topics import known_topics
from notifier.web.forms import FIELD, deployment_keys, form_token, form_token_valid
from notifier.web.pages.posted import first, posted_form
from notifier.web.views import Views

ONE_CLICK = "List-Unsubscribe=One-Click"
# Whoever follows a link; the service names the enterprise its token is for in the audit log.
VISITOR = Actor(name="link", role="enterprise", face="page")


class LinkPages:
    """The enterprise pages over ``runtime``'s database and keys."""

    def __init__(self, runtime: Runtime, views: Views) -> None:
        self.runtime = runtime
        self.views = views
        self.keys = deployment_keys(runtime.settings)

    def _acting(self, enterprise_id: int) -> Context:
        """The context of what the enterprise does on its own page: the signed link is its
        credential, so the audit log names it by id."""
        actor = Actor(name=f"enterprise:{enterprise_id}", role="enterprise", face="page")
        return self.runtime.context(actor)

    def refused(self, request: Request) -> HTMLResponse:
        """The friendly 400 page of a bad, tampered or outdated link."""
        return self.views.page(request, "link_invalid.html", status_code=400)

    def _preferences_page(
        self,
        request: Request,
        token: str,
        *,
        saved: str | None = None,
        secret: str | None = None,
        problem: str | None = None,
    ) -> HTMLResponse:
        """The page; ``secret`` is the endpoint's signing secret, on the one answer that shows
        it; ``problem`` says why it could not be."""
        enterprise_id, channel = read_unsubscribe_token(self.keys, token)
        choices = choices_of(self.runtime.sessions, enterprise_id)
        now = self.runtime.time_source.now()
        webhook = endpoint_secrets.find_state(self.runtime.sessions, enterprise_id, now=now)
        with self.runtime.sessions() as session:
            enterprise = enterprise_store.get_full_by_id(session, enterprise_id)
            assert enterprise is not None  # choices_of found it
            shown = {"name": enterprise.name, "credit_code": enterprise.credit_code}
            topics = sorted(set(known_topics(session)) | set(choices.topics))
        return self.views.page(
            request,
            "preferences.html",
            enterprise=shown,
            choices=choices,
            channel=channel,
            topics=topics,
            saved=saved,
            csrf=form_token(self.keys, token),
            webhook=webhook,
            overlap_days=f"{self.runtime.settings.webhook.secret_overlap_days:g}",
            secret=secret,
            problem=problem,
        )

    def _webhook_secret(self, request: Request, token: str, enterprise_id: int) -> Response:
        """Reveal or rotate the endpoint's secret and show it on this one answer."""
        try:
            taken = endpoint_secrets.take(self._acting(enterprise_id), enterprise_id)
        except ConflictError as exc:  # no key configured: say so on the page
            return self._preferences_page(request, token, problem=str(exc))
        return self._preferences_page(request, token, secret=taken.secret)

    def preferences(self, request: Request, token: str) -> Response:
        """``GET /u/{token}``: the preferences page (a GET changes nothing: link scanners)."""
        try:
            return self._preferences_page(request, token)
        except InputError:  # NotFoundError too: the enterprise was deleted
            return self.refused(request)

    def _leave_channel(self, enterprise_id: int, channel: str) -> None:
        leave_channel(self._acting(enterprise_id), enterprise_id, channel)

    async def update(self, request: Request, token: str) -> Response:
        """``POST /u/{token}``: RFC 8058 one-click, or the preferences form."""
        form = await posted_form(request)
        # The database work runs in a thread, never on the event loop.
        return await run_in_threadpool(self._update, request, token, form)

    def _update(self, request: Request, token: str, form: dict[str, list[str]]) -> Response:
        try:
            enterprise_id, channel = read_unsubscribe_token(self.keys, token)
            if form.get("List-Unsubscribe") == ["One-Click"]:
                self._leave_channel(enterprise_id, channel)
                return PlainTextResponse("unsubscribed\n")
            if not form_token_valid(self.keys, token, first(form, FIELD)):
                return self.views.page(request, "form_expired.html", status_code=400)
            if form.get("action") == ["unsubscribe"]:
                self._leave_channel(enterprise_id, channel)
                return self._preferences_page(request, token, saved="unsubscribed")
            if form.get("action") == ["webhook_secret"]:
                return self._webhook_secret(request, token, enterprise_id)
            if form.get("action") == ["end_overlap"]:
                context = self._acting(enterprise_id)
                endpoint_secrets.end_overlap(context, enterprise_id)
                return self._preferences_page(request, token, saved="overlap_ended")
            all_off = form.get("all_off") == ["on"]
            change(
                self._acting(enterprise_id),
                enterprise_id,
                channels=[] if all_off else form.get("channel", []),
                topics=form.get("topic", []),
            )
        except InputError:
            return self.refused(request)
        return self._preferences_page(request, token, saved="saved")

    def deadline(self, request: Request, token: str, *, done: bool | None = None) -> Response:
        """``GET /d/{token}``: the deadline and a button to say it is done."""
        try:
            deadline_id, _ = read_deadline_done_token(self.keys, token)
        except InputError:
            return self.refused(request)
        with self.runtime.sessions() as session:
            deadline = deadline_store.get(session, deadline_id)
            if deadline is None:
                return self.refused(request)
            shown = {
                "title": deadline.title,
                "policy": deadline.policy.title,
                "due_at": deadline.due_at,
                "cancelled": deadline.cancelled_at is not None,
            }
        return self.views.page(
            request,
            "deadline_done.html",
            deadline=shown,
            done=done,
            csrf=form_token(self.keys, token),
        )

    async def deadline_done(self, request: Request, token: str) -> Response:
        """``POST /d/{token}``: the enterprise has done the deadline; no more reminders."""
        form = await posted_form(request)
        return await run_in_threadpool(self._deadline_done, request, token, form)

    def _deadline_done(self, request: Request, token: str, form: dict[str, list[str]]) -> Response:
        if not form_token_valid(self.keys, token, first(form, FIELD)):
            return self.views.page(request, "form_expired.html", status_code=400)
        try:
            mark_done_by_token(self.runtime.context(VISITOR), token, secrets=self.keys)
        except InputError:
            return self.refused(request)
        return self.deadline(request, token, done=True)


def enterprise_pages(runtime: Runtime, views: Views) -> APIRouter:
    """The router of the enterprise pages, over ``runtime``'s database and keys."""
    pages = LinkPages(runtime, views)
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/u/{token}", pages.preferences, methods=["GET"])
    router.add_api_route("/u/{token}", pages.update, methods=["POST"])
    router.add_api_route("/d/{token}", pages.deadline, methods=["GET"])
    router.add_api_route("/d/{token}", pages.deadline_done, methods=["POST"])
    return router

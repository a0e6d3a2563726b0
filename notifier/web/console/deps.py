"""What console routes take by dependency, as ``Annotated`` aliases (as ``notifier.web.deps``
does for the API): the console's parts, the signed-in user with the role a route admits, and
a form post with its CSRF value checked.

Every console route takes one :class:`Admits` (a page) or :class:`AdmitsPost` (a form post,
its CSRF value checked) that declares the roles it lets in (the sign-in page excepted):
:data:`SignedIn` / :data:`SignedPost` every console role, :data:`StaffUser` /
:data:`StaffPost` admins and staff (the register: firms, deliveries, follow-ups, deadlines,
campaigns' changes), :data:`CampaignUser` admins, staff and approvers, :data:`AdminUser` /
:data:`AdminPost` admins. Another role gets 403. What a route shows is then narrowed to the
user's scope (``notifier.domain.scope``). Only :func:`posted_form` is ``async``: it awaits
the body and nothing else; the rest are plain ``def`` (the session check reads the database),
which FastAPI runs in its thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData

from notifier.web.console.context import Console
from notifier.web.console.session import LOGIN_PATH, ConsoleUser
from notifier.web.forms import FIELD


def get_console(request: Request) -> Console:
    """The console the pages app was built with (on its ``app.state``)."""
    console = request.app.state.console
    assert isinstance(console, Console)
    return console


ConsoleDep = Annotated[Console, Depends(get_console)]


async def posted_form(request: Request) -> FormData:
    """The posted form, read on the event loop; the handlers that take it run in threads."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def signed_in(request: Request, console: ConsoleDep) -> ConsoleUser:
    """The signed-in user; anyone else is sent to the sign-in page."""
    user = console.sessions.read(request)
    if user is None:
        raise HTTPException(status_code=303, headers={"Location": LOGIN_PATH})
    return user


def posted_by(
    request: Request, form: PostedForm, user: Annotated[ConsoleUser, Depends(signed_in)],
    console: ConsoleDep,
) -> ConsoleUser:
    """The user of a form post whose CSRF value matches the session (else 403)."""
    value = form.get(FIELD) or request.headers.get("x-csrf-token")
    if not console.sessions.csrf_valid(user, value):
        raise HTTPException(status_code=403, detail="CSRF value missing or wrong")
    return user


def _admitted(user: ConsoleUser, roles: tuple[str, ...]) -> ConsoleUser:
    if user.role not in roles:
        raise HTTPException(status_code=403, detail="not for this role")
    return user


class Admits:
    """A page's dependency: the signed-in user, when their role is one of ``roles``."""

    def __init__(self, *roles: str) -> None:
        self.roles = roles

    def __call__(self, user: Annotated[ConsoleUser, Depends(signed_in)]) -> ConsoleUser:
        return _admitted(user, self.roles)


class AdmitsPost(Admits):
    """A form post's dependency: as :class:`Admits`, with the session's CSRF value checked."""

    def __call__(self, user: Annotated[ConsoleUser, Depends(posted_by)]) -> ConsoleUser:
        return _admitted(user, self.roles)


EVERYONE = ("admin", "staff", "publisher", "approver")
STAFF = ("admin", "staff")
CAMPAIGN_READERS = ("admin", "staff", "approver")
ADMIN = ("admin",)

SignedIn = Annotated[ConsoleUser, Depends(Admits(*EVERYONE))]
SignedPost = Annotated[ConsoleUser, Depends(AdmitsPost(*EVERYONE))]
StaffUser = Annotated[ConsoleUser, Depends(Admits(*STAFF))]
StaffPost = Annotated[ConsoleUser, Depends(AdmitsPost(*STAFF))]
CampaignUser = Annotated[ConsoleUser, Depends(Admits(*CAMPAIGN_READERS))]
AdminUser = Annotated[ConsoleUser, Depends(Admits(*ADMIN))]
AdminPost = Annotated[ConsoleUser, Depends(AdmitsPost(*ADMIN))]
# Policies: composing, publishing and correcting (publishers too).
AuthorUser = Annotated[ConsoleUser, Depends(Admits("admin", "staff", "publisher"))]
AuthorPost = Annotated[ConsoleUser, Depends(AdmitsPost("admin", "staff", "publisher"))]

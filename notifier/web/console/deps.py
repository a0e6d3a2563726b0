"""What console routes take by dependency, as ``Annotated`` aliases (as ``notifier.web.deps``
does for the API): the console's parts, the signed-in user with the role a route admits, and
a form post with its CSRF value checked.

Every console route takes one of :data:`SignedIn`, :data:`AdminUser`, :data:`SignedPost` or
:data:`AdminPost` (the sign-in page excepted). Only :func:`posted_form` is ``async``: it awaits
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


SignedIn = Annotated[ConsoleUser, Depends(signed_in)]


def _admin_only(user: ConsoleUser) -> ConsoleUser:
    if not user.admin:
        raise HTTPException(status_code=403, detail="admin only")
    return user


def signed_in_admin(user: SignedIn) -> ConsoleUser:
    """The signed-in admin; staff get 403."""
    return _admin_only(user)


AdminUser = Annotated[ConsoleUser, Depends(signed_in_admin)]


def posted_by(
    request: Request, form: PostedForm, user: SignedIn, console: ConsoleDep
) -> ConsoleUser:
    """The user of a form post whose CSRF value matches the session (else 403)."""
    value = form.get(FIELD) or request.headers.get("x-csrf-token")
    if not console.sessions.csrf_valid(user, value):
        raise HTTPException(status_code=403, detail="CSRF value missing or wrong")
    return user


SignedPost = Annotated[ConsoleUser, Depends(posted_by)]


def admin_posted(user: SignedPost) -> ConsoleUser:
    """An admin's form post with the session's CSRF value (else 403)."""
    return _admin_only(user)


AdminPost = Annotated[ConsoleUser, Depends(admin_posted)]

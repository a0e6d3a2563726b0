"""``/console/admin/providers`` (admin): provider accounts kept in the database: the list
(secrets masked), adding one (its secret never shown again), enable, disable, remove, and a
test message to an address the admin names, showing the provider's answer."""

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from notifier.errors import ChannelError, ConfigError, InputError, TemplateError
from notifier.inputs.enterprise_csv import CHANNEL_WORDS
from notifier.services.providers.admin import (
    ProviderDraft,
    add,
    listing,
    read_pairs,
    remove,
    send_test,
    set_enabled,
)
from notifier.web.console.context import Console
from notifier.web.console.deps import AdminPost, AdminUser, ConsoleDep, PostedForm
from notifier.web.console.session import ConsoleUser

# Shown again on a refused form; the secrets field never is.
KEPT_FIELDS = ("name", "channel", "kind", "priority", "options")
NOTES = ("added", "enabled", "disabled", "removed")

router = APIRouter()


def _lines(value: object) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def _priority(value: str) -> int:
    try:
        return int(value or "0")
    except ValueError:
        raise InputError(
            f"priority: 应为整数 / must be a whole number, got {value!r}", field="priority"
        ) from None


def _draft(kept: dict[str, str], form: FormData) -> ProviderDraft:
    channel = kept["channel"]
    return ProviderDraft(
        name=kept["name"],
        channel=CHANNEL_WORDS.get(channel, channel.lower()),
        kind=kept["kind"],
        priority=_priority(kept["priority"]),
        enabled=form.get("enabled") is not None,
        # Kept as text: each kind's option model reads numbers where it wants them.
        options=dict(read_pairs(_lines(form.get("options")), "options")),
        secrets=dict(read_pairs(_lines(form.get("secrets")), "secrets")),
    )


def _page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
    note: str | None = None,
    tested: dict[str, Any] | None = None,
) -> HTMLResponse:
    rows = listing(console.runtime.sessions, console.runtime.settings)
    for row in rows:
        row["options_shown"] = json.dumps(row["options"], ensure_ascii=False, sort_keys=True)
    return console.page(
        request,
        "console/providers.html",
        user,
        status_code=status_code,
        providers=rows,
        error=error,
        form=form or {},
        note=note,
        tested=tested,
    )


@router.get("/admin/providers", response_class=HTMLResponse)
def page(
    request: Request, user: AdminUser, console: ConsoleDep, note: str | None = None
) -> HTMLResponse:
    """The provider accounts, secrets masked."""
    return _page(console, request, user, note=note if note in NOTES else None)


@router.post("/admin/providers", response_class=HTMLResponse)
def add_provider(
    request: Request, user: AdminPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Add a provider account (a refused form is shown again, without its secrets)."""
    kept = {k: str(form.get(k) or "").strip() for k in KEPT_FIELDS}
    try:
        draft = _draft(kept, form)
        add(console.acting(user), draft)
    except (InputError, ConfigError) as exc:
        return _page(console, request, user, status_code=400, error=str(exc), form=kept)
    return RedirectResponse("/console/admin/providers?note=added", 303)


# Before the {action} route, which would otherwise take "test-send".
@router.post("/admin/providers/{name}/test-send", response_class=HTMLResponse)
def test_send(
    request: Request, name: str, user: AdminPost, form: PostedForm, console: ConsoleDep
) -> HTMLResponse:
    """Send a test message to the address the admin names; show the provider's answer."""
    # A plain def: the provider's network call runs in a worker thread, not on the loop.
    address = str(form.get("to") or "").strip()
    tested: dict[str, Any] = {"name": name, "to": address}
    try:
        result = send_test(console.acting(user), name, to=address)
    except ChannelError as exc:
        tested.update(ok=False, answer=exc.reason)
    except (InputError, ConfigError, TemplateError) as exc:
        tested.update(ok=False, answer=str(exc))
    else:
        tested.update(ok=True, answer=result.provider_message_id or "-")
    return _page(console, request, user, tested=tested)


@router.post("/admin/providers/{name}/{action}", response_class=HTMLResponse)
def change(
    request: Request, name: str, action: str, user: AdminPost, console: ConsoleDep
) -> Response:
    """Enable, disable or remove a provider row."""
    context = console.acting(user)
    try:
        if action in ("enable", "disable"):
            set_enabled(context, name, enabled=action == "enable")
        elif action == "remove":
            remove(context, name)
        else:
            raise HTTPException(status_code=404, detail="no such action")
    except InputError as exc:
        return _page(console, request, user, status_code=404, error=str(exc))
    return RedirectResponse(f"/console/admin/providers?note={action}d", 303)

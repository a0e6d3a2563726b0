"""``/console/admin/providers`` (admin): provider accounts kept in the database: the list
(secrets masked, which provider each channel uses now as the sending processes report it, or
what the rows say when no sender runs; rows that cannot run), adding one (its
secret never shown again; a vendor SMS account's sign name and approved template per message
kind, with a preview of what a firm receives), enable, disable, remove, and a test message to an
address the admin names, showing the provider's answer."""

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
    preview,
    read_pairs,
    remove,
    send_test,
    set_enabled,
)
from notifier.services.providers.sms_templates import KIND_WORDS, VARIABLES_BY_KIND
from notifier.services.providers.usage import senders
from notifier.web.console.context import Console
from notifier.web.console.deps import AdminPost, AdminUser, ConsoleDep, PostedForm
from notifier.web.console.session import ConsoleUser

# A vendor SMS account's approved template of each message kind: three fields each.
TEMPLATE_PARTS = ("template_code", "text", "params")
TEMPLATE_FIELDS = tuple(
    f"templates.{kind}.{part}" for kind in KIND_WORDS for part in TEMPLATE_PARTS
)
# Shown again on a refused form; the secrets field never is.
KEPT_FIELDS = ("name", "channel", "kind", "priority", "options", "sign_name", *TEMPLATE_FIELDS)
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


def _templates(kept: dict[str, str]) -> dict[str, dict[str, object]]:
    """The templates filled in, by kind (a kind left blank is left out)."""
    found: dict[str, dict[str, object]] = {}
    for kind in KIND_WORDS:
        code, text, params = (kept[f"templates.{kind}.{part}"] for part in TEMPLATE_PARTS)
        if code or text or params:
            field = f"templates.{kind}.params"
            found[kind] = {
                "template_code": code,
                "text": text,
                "params": dict(read_pairs(_lines(params), field)),
            }
    return found


def _options(kept: dict[str, str]) -> dict[str, object]:
    options: dict[str, object] = dict(read_pairs(_lines(kept["options"]), "options"))
    if kept["sign_name"]:
        options["sign_name"] = kept["sign_name"]
    templates = _templates(kept)
    if templates:
        options["templates"] = templates
    return options


def _draft(kept: dict[str, str], form: FormData) -> ProviderDraft:
    channel = kept["channel"]
    return ProviderDraft(
        name=kept["name"],
        channel=CHANNEL_WORDS.get(channel, channel.lower()),
        kind=kept["kind"],
        priority=_priority(kept["priority"]),
        enabled=form.get("enabled") is not None,
        # Kept as text: each kind's option model reads numbers where it wants them.
        options=_options(kept),
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
    previews: dict[str, str] | None = None,
) -> HTMLResponse:
    runtime = console.runtime
    # First: under `notifier run` this process sends too, and a changed row it loads here is
    # reported before the reports are read.
    by_rows = runtime.catalog.in_use()
    live = senders(runtime.sessions, runtime.settings, now=runtime.time_source.now())
    rows = listing(runtime.sessions, runtime.settings, runtime.catalog, live)
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
        previews=previews,
        senders=live,
        in_use={c: live.names(c) for c in live.channels} if live.count else by_rows,
        kinds=KIND_WORDS,
        variables=VARIABLES_BY_KIND,
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
    """Add a provider account, or (``action=preview``) show what a firm would receive through
    it; a refused or previewed form is shown again, without its secrets."""
    kept = {k: str(form.get(k) or "").strip() for k in KEPT_FIELDS}
    try:
        draft = _draft(kept, form)
        if form.get("action") == "preview":
            shown = preview(console.runtime.settings, draft)
            return _page(console, request, user, form=kept, previews=shown)
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
    kind = str(form.get("kind") or "")
    kind = kind if kind in KIND_WORDS else next(iter(KIND_WORDS))
    tested: dict[str, Any] = {"name": name, "to": address}
    try:
        result = send_test(console.acting(user), name, to=address, kind=kind)
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
        status = 404 if exc.field == "name" else 400  # no such row, or it cannot run
        return _page(console, request, user, status_code=status, error=str(exc))
    return RedirectResponse(f"/console/admin/providers?note={action}d", 303)

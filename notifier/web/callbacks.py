"""``POST /callbacks/{provider}/reports`` and ``/replies``: what the SMS vendors push to us.

No API key: the vendors cannot send one, and document no signature on these pushes. Each URL
carries the provider's own ``callback_token`` instead (``?token=...``, set at the vendor's
console with the URL). In this order, before the body is read:

* an address past ``web.failed_auth_limit`` failures in the window gets 429 (wrong callback
  tokens count with wrong API keys, in the same limiter);
* an unknown provider, one whose kind takes no callbacks, and a missing or wrong token all get
  the same 403, so a push cannot learn which providers exist;
* a body over ``web.callback_max_body_bytes`` gets 413 (declared or counted as it arrives).

A body that is not JSON, or none of whose records can be taken, is 400. Otherwise the answer is
the vendor's success JSON (Alibaba ``{"code": 0, ...}``, Tencent ``{"result": 0, ...}``), with
``rejected``, ``reasons`` and ``skipped`` added when records were left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from notifier.channels.receipts import CallbackRefused
from notifier.errors import NotifierError
from notifier.services.delivery.receipts import (
    CallbackTargets,
    Handled,
    handle_replies,
    handle_reports,
)
from notifier.web.auth import PUBLIC, _client, _limiter, _too_many
from notifier.web.deps import RuntimeDep
from notifier.web.errors import ERROR_RESPONSES, BodyTooLarge, error_response

log = logging.getLogger(__name__)

# What a push may be answered besides the vendor's success; no 404 (see the module's notes).
RESPONSES: dict[int | str, dict[str, Any]] = {
    **{status: ERROR_RESPONSES[status] for status in (400, 413, 429, 503)},
    403: {
        **ERROR_RESPONSES[403],
        "description": "回调地址或令牌不对 / no such provider taking callbacks, or its token is "
        "missing or wrong (one answer for both)",
    },
}

router = APIRouter(
    prefix="/callbacks", tags=["callbacks"], dependencies=[Depends(PUBLIC)], responses=RESPONSES
)

Token = Annotated[str | None, Query(description="回调令牌 / the provider's callback_token")]
Handler = Callable[..., Handled]


def _targets(request: Request) -> CallbackTargets:
    targets = request.app.state.callback_targets
    assert isinstance(targets, CallbackTargets)
    return targets


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)


async def _push(
    request: Request, runtime: RuntimeDep, provider: str, token: str | None, handler: Handler
) -> JSONResponse:
    limiter = _limiter(request)
    address = _client(request)
    wait = await run_in_threadpool(limiter.retry_after, address)
    if wait is not None:
        raise _too_many(wait)
    try:
        target = await run_in_threadpool(_targets(request).admit, provider, token)
    except CallbackRefused as exc:
        await run_in_threadpool(limiter.failed, address)
        return error_response(403, str(exc), field=exc.field)
    except NotifierError:
        # A row that cannot be decrypted: the reason names providers, so it stays in the log.
        log.exception("callback providers could not be read")
        raise HTTPException(503, "回调暂不可用 / callbacks are unavailable for now") from None
    web = runtime.settings.web
    body = await _body(request, web.callback_max_body_bytes)
    handled = await run_in_threadpool(
        handler, runtime.sessions, target, token=token, body=body,
        max_records=web.callback_max_records,
    )
    return JSONResponse(handled.answer)


@router.post("/{provider}/reports", summary="短信回执 / SMS delivery reports pushed by a vendor")
async def reports(provider: str, request: Request, runtime: RuntimeDep,
                  token: Token = None) -> JSONResponse:
    """Move the reported deliveries to delivered or failed (a final status never changes)."""
    return await _push(request, runtime, provider, token, handle_reports)


@router.post("/{provider}/replies", summary="短信上行 / SMS replies pushed by a vendor")
async def replies(provider: str, request: Request, runtime: RuntimeDep,
                  token: Token = None) -> JSONResponse:
    """Keep the replies, each with the SMS it answered; TD, T, 退订, N or STOP unsubscribes
    that number from SMS; R (拒收) refuses marketing SMS to it; 投诉 is kept as a complaint."""
    return await _push(request, runtime, provider, token, handle_replies)

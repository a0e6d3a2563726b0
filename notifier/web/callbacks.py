"""``POST /callbacks/{provider}/reports`` and ``/replies``: what the SMS vendors push to us.

No API key: the vendors cannot send one, and document no signature on these pushes. Each URL
carries the provider's own ``callback_token`` instead (``?token=...``, set at the vendor's
console with the URL); a push without it is refused (403) before its body is parsed. An unknown
provider, or one whose kind takes no callbacks, is 404; a body that is not the vendor's shape
is 400. The answer is the JSON the vendor expects (Alibaba ``{"code": 0, ...}``, Tencent
``{"result": 0, ...}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from notifier.callbacks import Handled, callback_target, handle_replies, handle_reports
from notifier.channels.receipts import CallbackRefused
from notifier.db import SessionFactory
from notifier.errors import InputError
from notifier.provider_catalog import current_configs
from notifier.runtime import Runtime
from notifier.web.auth import PUBLIC
from notifier.web.deps import RuntimeDep

router = APIRouter(prefix="/callbacks", tags=["callbacks"], dependencies=[Depends(PUBLIC)])

Token = Annotated[str | None, Query(description="回调令牌 / the provider's callback_token")]
Handler = Callable[..., Handled]


def _handle(runtime: Runtime, handler: Handler, provider: str, token: str | None,
            body: bytes) -> Handled:
    try:
        # Provider rows of the database first, then the settings, as senders see them.
        target = callback_target(current_configs(runtime.sessions, runtime.settings), provider)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    sessions: SessionFactory = runtime.sessions
    try:
        return handler(sessions, target, token=token, body=body)
    except CallbackRefused as exc:
        raise HTTPException(403, str(exc)) from None


@router.post("/{provider}/reports", summary="短信回执 / SMS delivery reports pushed by a vendor")
async def reports(provider: str, request: Request, runtime: RuntimeDep,
                  token: Token = None) -> JSONResponse:
    """Move the reported deliveries to delivered or failed (a final status never changes)."""
    body = await request.body()
    handled = await run_in_threadpool(_handle, runtime, handle_reports, provider, token, body)
    return JSONResponse(handled.answer)


@router.post("/{provider}/replies", summary="短信上行 / SMS replies pushed by a vendor")
async def replies(provider: str, request: Request, runtime: RuntimeDep,
                  token: Token = None) -> JSONResponse:
    """Keep the replies; TD, T, 退订, N or STOP unsubscribes that number from SMS."""
    body = await request.body()
    handled = await run_in_threadpool(_handle, runtime, handle_replies, provider, token, body)
    return JSONResponse(handled.answer)

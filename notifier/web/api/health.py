"""``/healthz`` and ``/metrics``: for load balancers and Prometheus, no key needed."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from notifier.errors import BrokerUnavailable
from notifier.runtime import Runtime
from notifier.web.api.schemas import Health
from notifier.web.auth import PUBLIC
from notifier.web.deps import RuntimeDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"], dependencies=[Depends(PUBLIC)])


def _database(runtime: Runtime) -> str:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        log.warning("health: database: %s", exc)
        return "unreachable"
    return "ok"


def _broker(runtime: Runtime) -> str:
    if runtime.settings.embedded:
        return "embedded"
    try:
        runtime.queue.check()
    except BrokerUnavailable as exc:
        log.warning("health: %s", exc)
        return "unreachable"
    return "ok"


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "数据库或代理不可达 / unreachable"}},
    summary="健康检查 / database and broker reachable",
)
async def healthz(runtime: RuntimeDep) -> JSONResponse:
    """200 when the database and the broker answer, else 503, naming which did not."""
    database = await run_in_threadpool(_database, runtime)
    broker = await run_in_threadpool(_broker, runtime)
    healthy = database == "ok" and broker in ("ok", "embedded")
    body = {"status": "ok" if healthy else "unavailable", "database": database, "broker": broker}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus"}},
    summary="Prometheus 指标 / metrics",
)
async def metrics(request: Request) -> Response:
    """Requests, deliveries by channel and status, and the workers' dramatiq metrics."""
    registry = request.app.state.metrics.registry
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

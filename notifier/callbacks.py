"""What a vendor's push does: delivery reports move deliveries, replies are kept (TD stops SMS).

A face (the web app's ``POST /callbacks/{provider}/reports`` and ``/replies``) hands in the
provider's name, the ``token`` of the URL and the body; :func:`handle_reports` and
:func:`handle_replies` check the token, read the push and store it in one transaction, and
return the answer the vendor expects. A push is safe to repeat: a report applies once, and a
repeated TD unsubscribes nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from notifier.channels.base import ProviderConfig
from notifier.channels.receipts import ANSWERS, check_token, readers_for
from notifier.db import SessionFactory
from notifier.errors import InputError
from notifier.store import receipts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallbackTarget:
    """The provider a push is for: its name, kind and the token its URLs carry."""

    name: str
    kind: str
    token: str | None = field(repr=False)


def callback_target(configs: Iterable[ProviderConfig], name: str) -> CallbackTarget:
    """The provider named ``name`` among ``configs``.

    Raises:
        InputError: no such provider, or its kind takes no callbacks.
    """
    for config in configs:
        if config.name == name:
            readers_for(config.kind)  # refuses a kind without callbacks
            return CallbackTarget(config.name, config.kind, config.secrets.get("callback_token"))
    raise InputError(f"没有名为 {name} 的服务商 / no provider {name!r}", field="provider")


@dataclass(frozen=True)
class Handled:
    """What a push did, and the body to answer the vendor with."""

    received: int
    applied: int
    answer: dict[str, Any]


def handle_reports(
    sessions: SessionFactory, target: CallbackTarget, *, token: str | None, body: bytes
) -> Handled:
    """Apply a push of delivery reports (see :func:`notifier.store.receipts.apply_receipt`).

    Raises:
        CallbackRefused: the token is missing or wrong (nothing read).
        InputError: the body is not the vendor's report shape.
    """
    check_token(target.token, token)
    read_reports, _ = readers_for(target.kind)
    reports = read_reports(body)
    applied = 0
    with sessions() as session:
        for report in reports:
            applied += receipts.apply_receipt(
                session, provider=target.name, provider_message_id=report.provider_message_id,
                status=report.status, error=report.error, at=report.at,
            )
        session.commit()
    log.info("%s: %s reports, %s applied", target.name, len(reports), applied)
    return Handled(len(reports), applied, ANSWERS[target.kind])


def handle_replies(
    sessions: SessionFactory, target: CallbackTarget, *, token: str | None, body: bytes
) -> Handled:
    """Keep a push of SMS replies; TD, T, 退订, N or STOP unsubscribes the number from SMS.

    Raises:
        CallbackRefused: the token is missing or wrong (nothing read).
        InputError: the body is not the vendor's reply shape.
    """
    check_token(target.token, token)
    _, read_replies = readers_for(target.kind)
    replies = read_replies(body)
    unsubscribed = 0
    with sessions() as session:
        for reply in replies:
            outcome = receipts.record_reply(
                session, provider=target.name, phone=reply.phone, text=reply.text,
                sent_at=reply.at,
            )
            unsubscribed += outcome.unsubscribed
        session.commit()
    log.info("%s: %s replies, %s unsubscribing", target.name, len(replies), unsubscribed)
    return Handled(len(replies), unsubscribed, ANSWERS[target.kind])

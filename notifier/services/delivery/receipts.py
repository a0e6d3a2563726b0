"""What a vendor's push does: delivery reports move deliveries, replies are kept (TD stops SMS,
R stops marketing SMS).

A face (the web app's ``POST /callbacks/{provider}/reports`` and ``/replies``) finds the
provider and checks the URL's ``token`` with :meth:`CallbackTargets.admit` before it reads the
body, then hands the body to :data:`handle_reports` or :data:`handle_replies`, which read the
push and store its good records in one transaction, and return the answer the vendor expects
with the records left out named. A push is safe to repeat: a report applies once, and a
repeated TD unsubscribes nothing more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from notifier.channels.base import ProviderConfig
from notifier.channels.receipts import (
    ANSWERS,
    READERS,
    Batch,
    Receipt,
    Reply,
    check_token,
    readers_for,
)
from notifier.config import Settings
from notifier.errors import InputError
from notifier.services.providers.catalog import current_configs, fingerprint
from notifier.store import receipts
from notifier.store.db import SessionFactory

log = logging.getLogger(__name__)

# Reasons of rejected records named in the answer and the log line; the count covers the rest.
REASONS_SHOWN = 10


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


class CallbackTargets:
    """The providers that take callbacks, with their tokens, decrypted once and kept.

    Decrypting the provider rows for every push let a flood of wrong tokens cost a decryption
    each. The targets are read again only when the rows' fingerprint (ids and update times)
    changed, looked at no more often than every ``circuit.refresh_seconds``: the pace at which
    the senders' :class:`~notifier.services.providers.catalog.ProviderCatalog` sees admins' changes.
    """

    def __init__(
        self,
        sessions: SessionFactory,
        settings: Settings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._targets: dict[str, CallbackTarget] | None = None
        self._seen: tuple[object, ...] | None = None
        self._next_look = 0.0

    def admit(self, name: str, token: str | None) -> CallbackTarget:
        """The provider ``name`` when ``token`` is its callback token.

        Raises:
            CallbackRefused: no such provider, a kind without callbacks, or a wrong token (one
                answer for all three, see :class:`~notifier.channels.receipts.CallbackRefused`).
            ConfigError: the provider rows cannot be read or decrypted, and never were.
        """
        target = self._current().get(name)
        check_token(target.token if target else None, token)
        assert target is not None  # check_token refuses a missing token
        return target

    def _current(self) -> dict[str, CallbackTarget]:
        with self._lock:
            if self._targets is None or self._monotonic() >= self._next_look:
                self._next_look = self._monotonic() + self._settings.circuit.refresh_seconds
                seen = fingerprint(self._sessions)
                if self._targets is None or seen != self._seen:
                    configs = current_configs(self._sessions, self._settings)
                    self._targets = {
                        config.name: CallbackTarget(
                            config.name, config.kind, config.secrets.get("callback_token")
                        )
                        for config in configs
                        if config.kind in READERS
                    }
                    self._seen = seen
            return self._targets


@dataclass(frozen=True)
class Handled:
    """What a push did, and the body to answer the vendor with."""

    received: int
    applied: int
    answer: dict[str, Any]


def _taken(target: CallbackTarget, batch: Batch[Any], what: str) -> None:
    """Refuse a push none of whose records can be taken; log the ones left out of the rest.

    Raises:
        InputError: every record was rejected (naming the first reasons).
    """
    reasons = "; ".join(str(rejected) for rejected in batch.rejected[:REASONS_SHOWN])
    if batch.rejected and not batch.taken:
        raise InputError(f"回调中没有可用的记录 / no usable record in the callback: {reasons}",
                         field="body")
    if batch.rejected:
        log.warning("%s: %s of the %s pushed rejected: %s", target.name, len(batch.rejected),
                    what, reasons)
    if batch.skipped:
        log.warning("%s: %s %s past the limit of one push not read", target.name,
                    batch.skipped, what)


def _answer(target: CallbackTarget, batch: Batch[Any]) -> dict[str, Any]:
    """The vendor's success answer, and what was left out when something was.

    A success: the vendor retries a push it sees refused (Alibaba on any status but 200, three
    times; Tencent on a ``result`` other than 0), and a retry cannot make a bad record good, while
    the good ones are already taken. Both vendors read only ``code`` / ``result``.
    """
    answer = dict(ANSWERS[target.kind])
    if batch.rejected:
        answer["rejected"] = len(batch.rejected)
        answer["reasons"] = [str(rejected) for rejected in batch.rejected[:REASONS_SHOWN]]
    if batch.skipped:
        answer["skipped"] = batch.skipped
    return answer


@dataclass(frozen=True)
class PushHandler:
    """How one kind of vendor push is read and stored: called as
    ``handler(sessions, target, token=..., body=..., max_records=...)``."""

    reader: int  # its index in the vendor's (reports, replies) readers
    records: str  # what the push holds, for the log: "reports"
    counted: str  # what the stored records' count means, for the log: "applied"
    # Stores one record; returns what it counts for in ``Handled.applied`` (0 or 1).
    store: Callable[[Session, CallbackTarget, Any], int]

    def __call__(
        self,
        sessions: SessionFactory,
        target: CallbackTarget,
        *,
        token: str | None,
        body: bytes,
        max_records: int | None = None,
    ) -> Handled:
        """Check the token, read the push, and store its good records in one transaction.

        Parameters:
            max_records: the records read from one push (the rest are counted as skipped).

        Raises:
            CallbackRefused: the token is missing or wrong (nothing read).
            InputError: the body is not JSON, or none of its records can be read.
        """
        check_token(target.token, token)
        read = readers_for(target.kind)[self.reader]
        batch: Batch[Any] = read(body, max_records=max_records)
        _taken(target, batch, self.records)
        applied = 0
        with sessions() as session:
            for record in batch.taken:
                applied += self.store(session, target, record)
            session.commit()
        log.info("%s: %s %s, %s %s", target.name, len(batch.taken), self.records, applied,
                 self.counted)
        return Handled(len(batch.taken) + len(batch.rejected), applied, _answer(target, batch))


def _apply_report(session: Session, target: CallbackTarget, report: Receipt) -> int:
    return receipts.apply_receipt(
        session, provider=target.name, provider_message_id=report.provider_message_id,
        status=report.status, error=report.error, at=report.at,
    )


def _keep_reply(session: Session, target: CallbackTarget, reply: Reply) -> int:
    kept = receipts.record_reply(
        session, provider=target.name, phone=reply.phone, text=reply.text, sent_at=reply.at,
    )
    return int(kept.kind in ("unsubscribe", "refuse"))


handle_reports = PushHandler(0, "reports", "applied", _apply_report)
"""Apply a push of delivery reports (see :func:`notifier.store.receipts.apply_receipt`)."""

handle_replies = PushHandler(1, "replies", "opting out", _keep_reply)
"""Keep a push of SMS replies, each with the SMS it answered; TD, T, 退订, N or STOP unsubscribes
the number from SMS, R (拒收) refuses marketing SMS to it, a reply holding 投诉 is a complaint."""

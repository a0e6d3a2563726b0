"""A sending process telling the database which providers it sends through (see
:mod:`notifier.services.providers.usage`): after each load of its catalog, as a heartbeat every
``circuit.refresh_seconds``, and its report deleted when it stops."""

from __future__ import annotations

import logging
import threading

from notifier.config import Settings
from notifier.domain.time_source import TimeSource
from notifier.services.providers.catalog import ProviderCatalog
from notifier.services.providers.usage import forget, report
from notifier.store.db import SessionFactory

log = logging.getLogger(__name__)


class UsageReporter:
    """Reports ``catalog``'s providers as ``process`` (``host:pid:role``, see
    :func:`~notifier.services.providers.usage.process_name`).

    The heartbeat also looks at the provider rows (a worker with nothing to send would otherwise
    load a change only at its next send), so a change is loaded and reported within one
    interval. A failed report is logged and tried again at the next beat: it never stops a send.
    """

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        settings: Settings,
        catalog: ProviderCatalog,
        time_source: TimeSource,
        process: str,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._catalog = catalog
        self._time = time_source
        self.process = process
        self._stopping = threading.Event()
        self._writing = threading.Lock()  # a report never lands after the stop's delete
        self._thread = threading.Thread(target=self._beat, name="provider-usage", daemon=True)

    def start(self) -> UsageReporter:
        """Report now, after every load of the catalog, and every refresh interval."""
        self._catalog.watch(self.report)
        self.report()
        self._thread.start()
        return self

    def report(self) -> None:
        """Store what the catalog sends through now (nothing once stopping)."""
        with self._writing:
            if self._stopping.is_set():
                return
            try:
                loaded = self._catalog.loaded()
                now = self._time.now()
                report(self._sessions, self._settings, process=self.process, loaded=loaded, now=now)
            except Exception:  # a heartbeat must outlive a database that is briefly away
                log.exception("could not report the providers in use")

    def _beat(self) -> None:
        while not self._stopping.wait(self._settings.circuit.refresh_seconds):
            try:
                self._catalog.in_use()  # a changed row is loaded now (the load reports it)
            except Exception:
                log.exception("could not look at the provider rows again")
            self.report()

    def stop(self) -> None:
        """Stop the heartbeat and delete this process's report."""
        with self._writing:
            self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        try:
            forget(self._sessions, self.process)
        except Exception:
            log.exception("could not delete the report of the providers in use")

"""What each sending process's providers are now, as it last reported (``provider_usage``).

The web process is not a sender (outside ``notifier run``): the providers page reads these rows
to say what the workers send through, not what the ``providers`` rows say.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from notifier.store.models.base import Base, utcnow


class ProviderUsage(Base):
    """One sending process (``host:pid:role``): the provider names each channel sends through,
    first choice first, the provider rows it left out and why, and when it last said so."""

    __tablename__ = "provider_usage"
    __table_args__ = (UniqueConstraint("process"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process: Mapped[str] = mapped_column(String(200))
    channels: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    broken: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    version: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)

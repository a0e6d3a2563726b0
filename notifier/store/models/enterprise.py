"""Enterprises, their sectors, tags, topics, contacts and subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.store.models.base import Base, utcnow


class Enterprise(Base):
    """A firm, identified by its unified social credit code."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(200), index=True)
    size: Mapped[str] = mapped_column(String(10), index=True)
    # Set when the enterprise unsubscribed from everything: re-imports never undo it.
    unsubscribed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    sectors: Mapped[list[EnterpriseSector]] = relationship(
        cascade="all, delete-orphan", order_by="EnterpriseSector.code"
    )
    tags: Mapped[list[EnterpriseTag]] = relationship(cascade="all, delete-orphan")
    topics: Mapped[list[EnterpriseTopic]] = relationship(cascade="all, delete-orphan")
    contacts: Mapped[list[Contact]] = relationship(cascade="all, delete-orphan")
    subscriptions: Mapped[list[Subscription]] = relationship(cascade="all, delete-orphan")


class EnterpriseSector(Base):
    """One GB/T 4754-2017 code an enterprise works under (e.g. ``C3670``)."""

    __tablename__ = "enterprise_sectors"
    __table_args__ = (UniqueConstraint("enterprise_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(8), index=True)


class EnterpriseTag(Base):
    """A qualification such as 高新技术企业, 专精特新 or 规上."""

    __tablename__ = "enterprise_tags"
    __table_args__ = (UniqueConstraint("enterprise_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50), index=True)


class EnterpriseTopic(Base):
    """A topic the enterprise chose; an enterprise with none hears every topic."""

    __tablename__ = "enterprise_topics"
    __table_args__ = (UniqueConstraint("enterprise_id", "topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(50), index=True)


class Contact(Base):
    """Where a channel reaches the enterprise: a phone, an email address or a webhook URL."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("enterprise_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(2000))

    # A webhook endpoint's own signing secret; None: none yet (signed with the shared one).
    signing_secret: Mapped[EndpointSecret | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class EndpointSecret(Base):
    """The Standard Webhooks signing secret of one webhook endpoint (a contact row).

    Secrets are encrypted with the secret box (``secrets.keys``). A changed URL is a new contact
    row, so it never inherits the old endpoint's secret. ``secret_encrypted`` None: the endpoint
    is still signed with the shared ``webhook.secret`` (it existed before secrets per endpoint,
    or was added while no key was configured) until its firm takes its own.

    While ``overlap_until`` is in the future the previous secret signs each message too:
    ``previous_encrypted``, or the shared secret when that is None (the firm's first secret).
    """

    __tablename__ = "endpoint_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), unique=True
    )
    secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    overlap_until: Mapped[datetime | None]
    # When the firm was shown the current secret (only ever once); None: not yet.
    revealed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]


class Subscription(Base):
    """Whether the enterprise takes messages on a channel, and where that consent came from."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("enterprise_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    subscribed: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who made the last change (see notifier.domain.consent): the register import, the firm's
    # own page, staff (phone, console, CLI), the API, or an SMS reply.
    source: Mapped[str] = mapped_column(String(16), server_default="import")

"""Enterprises, their sectors, tags, topics, contacts and subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from notifier.models.base import Base, utcnow


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


class Subscription(Base):
    """Whether the enterprise takes messages on a channel."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("enterprise_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    subscribed: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

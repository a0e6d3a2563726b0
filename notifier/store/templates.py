"""Message templates stored in the database: every ``save`` adds a version, none is edited.

The text is checked before it is stored (:func:`notifier.rendering.stored.
validate_campaign_template`), so a stored version always compiles and reads only documented
variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notifier.domain.plaintext import shown
from notifier.domain.text_rules import line_problem
from notifier.errors import InputError, NotFoundError, TemplateError
from notifier.rendering.stored import validate_campaign_template
from notifier.store.models import MessageTemplate

MAX_NAME_LENGTH = 100
MAX_AUTHOR_LENGTH = 100  # the column holds 200; the API and the console have always said 100
# Two staff saving the same template at once both pick the next number; the loser retries.
_SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class StoredTemplate:
    """One version of a stored template, detached from the session."""

    name: str
    channel: str
    version: int
    body: str
    subject: str | None
    html: str | None
    created_at: datetime
    author: str | None = None

    def as_dict(self, zone: tzinfo) -> dict[str, object]:
        """The version as plain data (CLI JSON and API), its time in ``zone``."""
        return {
            "name": self.name,
            "channel": self.channel,
            "version": self.version,
            "subject": self.subject,
            "body": self.body,
            "html": self.html,
            "author": self.author,
            "created_at": self.created_at.astimezone(zone).isoformat(),
        }


def _stored(row: MessageTemplate) -> StoredTemplate:
    return StoredTemplate(
        name=row.name,
        channel=row.channel,
        version=row.version,
        body=row.body,
        subject=row.subject,
        html=row.html,
        created_at=row.created_at,
        author=row.author,
    )


def _check_name(name: str) -> None:
    if not name.strip() or name != name.strip() or len(name) > MAX_NAME_LENGTH:
        raise TemplateError(
            f"名称 name: {shown(name)!r} must be 1 to {MAX_NAME_LENGTH} characters, "
            "without spaces at either end",
            field="name",
        )
    if "/" in name or line_problem(name):
        raise TemplateError(
            f"名称 name: {shown(name)!r} may not contain '/', control or invisible characters",
            field="name",
        )


def save(
    session: Session,
    name: str,
    channel: str,
    body: str,
    *,
    subject: str | None = None,
    html: str | None = None,
    author: str | None = None,
) -> StoredTemplate:
    """Check the template and store it as the next version of (``name``, ``channel``).

    Saving exactly the text of the current version stores nothing and returns it, so running
    the same ``set`` twice leaves one version. The caller commits.

    Raises:
        TemplateError: naming the field and the problem; nothing is stored.
    """
    _check_name(name)
    if author is not None:
        problem = line_problem(author) or (len(author) > MAX_AUTHOR_LENGTH and "too long")
        if problem:
            raise TemplateError(
                f"作者 author: at most {MAX_AUTHOR_LENGTH} characters, one line with no control "
                f"or invisible characters ({problem})",
                field="author",
            )
    validate_campaign_template(channel, body, subject, html, name=name)
    latest = current(session, name, channel)
    if latest is not None and (latest.body, latest.subject, latest.html) == (body, subject, html):
        return latest
    for attempt in range(_SAVE_ATTEMPTS):
        number = _latest_number(session, name, channel) + 1
        row = MessageTemplate(
            name=name,
            channel=channel,
            version=number,
            body=body,
            subject=subject,
            html=html,
            author=author,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            if attempt == _SAVE_ATTEMPTS - 1:
                raise
            continue
        return _stored(row)
    raise AssertionError("unreachable")  # the loop returns or raises


def _latest_number(session: Session, name: str, channel: str) -> int:
    query = select(func.max(MessageTemplate.version)).where(
        MessageTemplate.name == name, MessageTemplate.channel == channel
    )
    return session.scalar(query) or 0


def current(session: Session, name: str, channel: str) -> StoredTemplate | None:
    """The newest version of (``name``, ``channel``), or None."""
    query = (
        select(MessageTemplate)
        .where(MessageTemplate.name == name, MessageTemplate.channel == channel)
        .order_by(MessageTemplate.version.desc())
        .limit(1)
    )
    row = session.scalar(query)
    return _stored(row) if row is not None else None


def version(session: Session, name: str, channel: str, number: int) -> StoredTemplate | None:
    """Version ``number`` of (``name``, ``channel``), or None."""
    row = session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.name == name,
            MessageTemplate.channel == channel,
            MessageTemplate.version == number,
        )
    )
    return _stored(row) if row is not None else None


def listing(session: Session) -> list[StoredTemplate]:
    """The newest version of each (name, channel), by name then channel."""
    newest = (
        select(
            MessageTemplate.name,
            MessageTemplate.channel,
            func.max(MessageTemplate.version).label("version"),
        )
        .group_by(MessageTemplate.name, MessageTemplate.channel)
        .subquery()
    )
    query = (
        select(MessageTemplate)
        .join(
            newest,
            (MessageTemplate.name == newest.c.name)
            & (MessageTemplate.channel == newest.c.channel)
            & (MessageTemplate.version == newest.c.version),
        )
        .order_by(MessageTemplate.name, MessageTemplate.channel)
    )
    return [_stored(row) for row in session.scalars(query)]


def history(session: Session, name: str) -> list[StoredTemplate]:
    """Every version of every channel of ``name``, by channel, oldest version first."""
    query = (
        select(MessageTemplate)
        .where(MessageTemplate.name == name)
        .order_by(MessageTemplate.channel, MessageTemplate.version)
    )
    return [_stored(row) for row in session.scalars(query)]


def chosen(
    session: Session, name: str, channel: str | None, number: int | None
) -> tuple[list[StoredTemplate], dict[str, list[int]]]:
    """The versions of ``name`` to show (``channel``'s or every channel's; version ``number``
    or the newest), and every version number per channel.

    Raises:
        NotFoundError: no template has this name.
        InputError: it has no such channel or version (naming ``channel`` or ``version``).
    """
    every = history(session, name)
    versions: dict[str, list[int]] = {}
    for template in every:
        versions.setdefault(template.channel, []).append(template.version)
    if not every:
        raise NotFoundError(
            f"NAME: 没有名为 '{shown(name)}' 的模板 no template of that name", field="name"
        )
    channels = [channel] if channel else list(versions)
    if channel and channel not in versions:
        raise InputError(
            f"--channel: 模板 '{shown(name)}' 没有 {channel} 版本 has no {channel} version; "
            f"it has {', '.join(versions)}",
            field="channel",
        )
    wanted = [
        t
        for t in every
        if t.channel in channels and t.version == (number or versions[t.channel][-1])
    ]
    if not wanted:
        raise InputError(
            f"--version: 模板 '{shown(name)}' 没有第 {number} 版 has no version {number}",
            field="version",
        )
    return wanted, versions

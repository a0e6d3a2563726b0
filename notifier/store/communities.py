"""Communities and departments: stored by name, listed, a community's regions replaced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifier.domain.scope import community_scope
from notifier.store import added
from notifier.store.models import Community, Department, Enterprise, User
from notifier.store.scope import firms_in


def community_by_name(session: Session, name: str) -> Community | None:
    """The community with this name, or None."""
    return session.scalar(select(Community).where(Community.name == name))


def department_by_name(session: Session, name: str) -> Department | None:
    """The department with this name, or None."""
    return session.scalar(select(Department).where(Department.name == name))


def add_community(
    session: Session, *, name: str, regions: list[str], now: datetime
) -> Community:
    """Store a new community."""
    return added(session, Community(name=name, regions=regions, created_at=now))


def add_department(session: Session, *, name: str, now: datetime) -> Department:
    """Store a new department."""
    return added(session, Department(name=name, created_at=now))


def set_regions(session: Session, community: Community, regions: list[str]) -> None:
    """Replace the community's regions."""
    community.regions = regions
    session.flush()


def communities(session: Session) -> list[Community]:
    """Every community, by name."""
    return list(session.scalars(select(Community).order_by(Community.name)))


def departments(session: Session) -> list[Department]:
    """Every department, by name."""
    return list(session.scalars(select(Department).order_by(Department.name)))


def staff_names(session: Session) -> dict[tuple[str, int], list[str]]:
    """The active users of each community (``("community", id)``) and department
    (``("department", id)``), by name."""
    found: dict[tuple[str, int], list[str]] = {}
    query = select(User).where(User.disabled_at.is_(None)).order_by(User.name)
    for user in session.scalars(query):
        if user.community_id is not None:
            found.setdefault(("community", user.community_id), []).append(user.name)
        if user.department_id is not None:
            found.setdefault(("department", user.department_id), []).append(user.name)
    return found


def firm_count(session: Session, community: Community) -> int:
    """How many firms of the register lie under the community's regions."""
    scope = community_scope(community.name, community.regions or ())
    query = select(func.count()).select_from(Enterprise).where(firms_in(scope))
    return session.scalar(query) or 0

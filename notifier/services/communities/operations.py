"""Communities and departments added, listed and a community's regions set, each change with
its audit row in one transaction (the CLI and the console call these)."""

from __future__ import annotations

from collections.abc import Iterable

from notifier.domain.text_rules import check_line
from notifier.errors import ConflictError, InputError, NotFoundError
from notifier.services import audit
from notifier.services.context import Context
from notifier.services.enterprises.regions import resolve_regions
from notifier.store import communities as store
from notifier.store.db import SessionFactory
from notifier.store.models import Community


def _name(value: str, field: str = "name") -> str:
    name = " ".join((value or "").split())
    if not name or len(name) > 100:
        raise InputError(f"{field}: 需要 1-100 个字符 / needs 1 to 100 characters", field=field)
    return check_line(name, field)


def _regions(context: Context, typed: Iterable[str]) -> list[str]:
    """Full region paths: a path with ``/`` as given, a street's or park's name resolved
    against the register (as targets are).

    Raises:
        InputError: (field ``regions``) none given, or a name that ends several regions or none.
    """
    given = [" ".join(r.split()).strip("/") for r in typed if r and r.strip()]
    if not given:
        raise InputError("regions: 至少需要一个地区 / at least one --region", field="regions")
    full = [r for r in given if "/" in r]
    short = [r for r in given if "/" not in r]
    try:
        resolved = list(resolve_regions(context.sessions, short))
    except InputError as exc:
        message = str(exc).replace("targets.regions", "regions", 1)
        raise InputError(message, field="regions") from None
    regions: list[str] = []
    for region in [*full, *resolved]:
        region = check_line(region, "regions", limit=300)
        if region not in regions:
            regions.append(region)
    return regions


def community_row(community: Community, staff: list[str] | None = None) -> dict[str, object]:
    """A community as listings and the audit log show it."""
    return {
        "id": community.id,
        "name": community.name,
        "regions": list(community.regions or ()),
        "staff": staff or [],
    }


def add_community(context: Context, name: str, regions: Iterable[str]) -> dict[str, object]:
    """Add a community with its regions, audited ``community.create``.

    Raises:
        InputError: a bad name or region. ConflictError: the name is taken.
    """
    label, paths = _name(name), _regions(context, regions)
    with context.sessions.begin() as session:
        if store.community_by_name(session, label) is not None:
            raise ConflictError(
                f"name: 已有同名社区 / a community named {label!r} exists", field="name"
            )
        community = store.add_community(
            session, name=label, regions=paths, now=context.time_source.now()
        )
        row = community_row(community)
        audit.record(
            session, context, action="community.create", target_type="community",
            target_id=community.id, after=row,
        )  # fmt: skip
    return row


def set_regions(context: Context, name: str, regions: Iterable[str]) -> dict[str, object]:
    """Replace a community's regions, audited ``community.set_regions`` (before and after);
    its staff see the firms of the new regions from their next request on.

    Raises:
        NotFoundError: no such community. InputError: a bad region.
    """
    label, paths = _name(name), _regions(context, regions)
    with context.sessions.begin() as session:
        community = store.community_by_name(session, label)
        if community is None:
            raise NotFoundError(f"name: 没有该社区 / no community {label!r}", field="name")
        before = list(community.regions or ())
        store.set_regions(session, community, paths)
        row = community_row(community)
        audit.record(
            session, context, action="community.set_regions", target_type="community",
            target_id=community.id, before={"regions": before}, after={"regions": paths},
        )  # fmt: skip
    return row


def list_communities(sessions: SessionFactory) -> list[dict[str, object]]:
    """Every community by name, with its regions, its active staff and its number of firms."""
    with sessions() as session:
        staff = store.staff_names(session)
        return [
            {
                **community_row(c, staff.get(("community", c.id))),
                "firms": store.firm_count(session, c),
            }
            for c in store.communities(session)
        ]


def add_department(context: Context, name: str) -> dict[str, object]:
    """Add a department, audited ``department.create``.

    Raises:
        InputError: a bad name. ConflictError: the name is taken.
    """
    label = _name(name)
    with context.sessions.begin() as session:
        if store.department_by_name(session, label) is not None:
            raise ConflictError(
                f"name: 已有同名部门 / a department named {label!r} exists", field="name"
            )
        department = store.add_department(session, name=label, now=context.time_source.now())
        row = {"id": department.id, "name": department.name, "publishers": []}
        audit.record(
            session, context, action="department.create", target_type="department",
            target_id=department.id, after=row,
        )  # fmt: skip
    return row


def list_departments(sessions: SessionFactory) -> list[dict[str, object]]:
    """Every department by name, with its active users (publishers)."""
    with sessions() as session:
        staff = store.staff_names(session)
        return [
            {"id": d.id, "name": d.name, "publishers": staff.get(("department", d.id), [])}
            for d in store.departments(session)
        ]

"""What an actor may see of the district: its scope, one value carried on every Context.

=============  ===========================================  ===============================
kind           who                                          firms (the register)
=============  ===========================================  ===============================
district       admins; staff without a community (the        every firm
               district office); the CLI; the clock
community      staff with a community                        the firms under its regions
department     publishers (a department's)                   none: counts only; its own
                                                             department's policies
approver       approvers                                     none: counts, policies, campaigns
enterprise     an enterprise's key                           its own firm
=============  ===========================================  ===============================

A firm, delivery, follow-up or report outside the scope is "not found" (404), never "forbidden".
The store turns a scope into a condition on enterprises (``notifier.store.scope``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class ScopeKind(enum.StrEnum):
    """The kinds of scope (see the table above)."""

    DISTRICT = "district"
    COMMUNITY = "community"
    DEPARTMENT = "department"
    APPROVER = "approver"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class Scope:
    """An actor's scope: its kind, and the community's name and regions, the department's
    name, or the enterprise's id that bound it."""

    kind: ScopeKind
    community: str | None = None
    regions: tuple[str, ...] = ()
    department: str | None = None
    enterprise_id: int | None = None

    @property
    def district(self) -> bool:
        """Whether every firm of the district is in scope."""
        return self.kind == ScopeKind.DISTRICT

    @property
    def sees_register(self) -> bool:
        """Whether firms one by one (lists, details, deliveries with addresses, follow-ups)
        are shown at all: not to a publisher or an approver."""
        return self.kind in (ScopeKind.DISTRICT, ScopeKind.COMMUNITY, ScopeKind.ENTERPRISE)

    def covers(self, region: str | None) -> bool:
        """Whether ``region`` (a firm's, or a target's) lies inside the scope: anywhere for the
        district, at or below one of a community's regions, nowhere for anyone else."""
        if self.kind == ScopeKind.DISTRICT:
            return True
        if self.kind != ScopeKind.COMMUNITY or not region:
            return False
        return any(within(region, own) for own in self.regions)

    def sees_targets(self, regions: Sequence[str]) -> bool:
        """Whether outreach aimed at ``regions`` (none: the whole district) is in scope: for a
        community's staff, only outreach aimed inside their community."""
        if self.kind != ScopeKind.COMMUNITY:
            return self.kind != ScopeKind.ENTERPRISE
        return bool(regions) and all(self.covers(r) for r in regions)

    def sees_department(self, department: str) -> bool:
        """Whether a policy of ``department`` is in scope (a publisher: its own department's;
        one without a department, and everyone else: every department's)."""
        return (
            self.kind != ScopeKind.DEPARTMENT
            or self.department is None
            or self.department == department
        )

    def described(self) -> str:
        """The scope in words (``community:灵峰工业社区``, ``district``)."""
        name = self.community or self.department
        return f"{self.kind.value}:{name}" if name else self.kind.value


def within(region: str, ancestor: str) -> bool:
    """Whether the ``/`` path ``region`` is ``ancestor`` or lies below it."""
    region, ancestor = region.strip("/"), ancestor.strip("/")
    return region == ancestor or region.startswith(ancestor + "/")


DISTRICT = Scope(ScopeKind.DISTRICT)


def community_scope(name: str, regions: Sequence[str]) -> Scope:
    """The scope of a community's staff."""
    return Scope(ScopeKind.COMMUNITY, community=name, regions=tuple(regions))


def department_scope(name: str | None) -> Scope:
    """The scope of a department's publisher (no department: every department's policies)."""
    return Scope(ScopeKind.DEPARTMENT, department=name)


APPROVER = Scope(ScopeKind.APPROVER)


def enterprise_scope(enterprise_id: int) -> Scope:
    """The scope of an enterprise's key: its own firm."""
    return Scope(ScopeKind.ENTERPRISE, enterprise_id=enterprise_id)


def scope_of(
    role: str,
    *,
    community: tuple[str, Sequence[str]] | None = None,
    department: str | None = None,
    enterprise_id: int | None = None,
) -> Scope:
    """The scope of a user or key of ``role``: ``community`` (its name and regions) and
    ``department`` are the user's (a key's owner's); a key without an owner has none, so a staff
    key without one keeps the district's scope. An unknown role sees no firm."""
    if role in ("admin", "operator", "system"):
        return DISTRICT
    if role == "staff":
        return community_scope(*community) if community is not None else DISTRICT
    if role == "publisher":
        return department_scope(department)
    if role == "approver":
        return APPROVER
    if role == "enterprise" and enterprise_id is not None:
        return enterprise_scope(enterprise_id)
    return APPROVER

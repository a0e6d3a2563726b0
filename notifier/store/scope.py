"""An actor's scope as a condition on enterprises: the one place every scoped query gets it.

``firms_in`` is used for rows (lists, details, exports, follow-ups) and counts alike; a
publisher or an approver, who see no firm one by one, are kept off the register's routes by
their roles, and their rows come out empty here as well. ``counted_in`` is for aggregate
numbers: a publisher's and an approver's are the district's.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import InstrumentedAttribute

from notifier.domain.scope import Scope, ScopeKind
from notifier.store.audience import in_regions
from notifier.store.models import Delivery, Enterprise, Policy


def firms_in(scope: Scope) -> ColumnElement[bool]:
    """The firms ``scope`` may see one by one, as a WHERE on ``enterprises``."""
    if scope.kind == ScopeKind.DISTRICT:
        return true()
    if scope.kind == ScopeKind.COMMUNITY:
        return in_regions(scope.regions)
    if scope.kind == ScopeKind.ENTERPRISE and scope.enterprise_id is not None:
        return Enterprise.id == scope.enterprise_id
    return false()


def counted_in(scope: Scope) -> ColumnElement[bool]:
    """The firms whose numbers ``scope`` sees in aggregates (publishers and approvers: all)."""
    if scope.kind in (ScopeKind.DEPARTMENT, ScopeKind.APPROVER):
        return true()
    return firms_in(scope)


def owned_in(
    column: ColumnElement[int] | InstrumentedAttribute[int], scope: Scope, *, counting: bool = False
) -> ColumnElement[bool]:
    """A WHERE on any table's enterprise id ``column``: its firm is in ``scope`` (TRUE, no
    subquery at all, when the scope sees every firm)."""
    if scope.kind == ScopeKind.DISTRICT or (
        counting and scope.kind in (ScopeKind.DEPARTMENT, ScopeKind.APPROVER)
    ):
        return true()
    if scope.kind == ScopeKind.ENTERPRISE and scope.enterprise_id is not None:
        return column == scope.enterprise_id
    if scope.kind != ScopeKind.COMMUNITY:
        return false()
    return column.in_(select(Enterprise.id).where(firms_in(scope)))


def deliveries_in(scope: Scope, *, counting: bool = False) -> ColumnElement[bool]:
    """The deliveries to firms in ``scope``, as a WHERE on ``deliveries``."""
    return owned_in(Delivery.enterprise_id, scope, counting=counting)


def policies_in(scope: Scope) -> ColumnElement[bool]:
    """The policies ``scope`` sees, as a WHERE on ``policies``: a publisher its department's
    (one without a department: every policy); everyone else every policy (a community's staff
    see its numbers for their firms only)."""
    if scope.kind == ScopeKind.DEPARTMENT and scope.department is not None:
        return Policy.department == scope.department
    return true()

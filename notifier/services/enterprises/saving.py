"""Saving one enterprise given as an object (the API's ``POST`` and ``PUT``): checked as one
register row, stored with its audit row in one transaction."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.targets import read_credit_code
from notifier.errors import InputError, NotFoundError
from notifier.inputs.enterprise_csv import csv_rows
from notifier.inputs.register_files import record_as_csv
from notifier.services import audit
from notifier.services.context import Context
from notifier.services.enterprises.importing import ImportReport, store_rows
from notifier.services.enterprises.listings import enterprise_row
from notifier.store import enterprises as store


@dataclass(frozen=True)
class Saved:
    """What saving did: whether the enterprise is new, and the enterprise as listed."""

    created: bool
    enterprise: dict[str, object]


def _current(session: Session, code: str, scope: Scope = DISTRICT) -> dict[str, object] | None:
    enterprise = store.get_full(session, code, scope=scope)
    return enterprise_row(enterprise) if enterprise else None


def _outside(code: str) -> NotFoundError:
    return NotFoundError(f"credit_code: 没有该企业 / no enterprise {code}", field="credit_code")


def save_enterprise(context: Context, values: Mapping[str, Any], *, update: bool) -> Saved:
    """Create or update the enterprise ``values`` names by credit code (``update``: only an
    existing one), audited ``enterprise.save`` or ``enterprise.update``.

    A community's staff save only firms of their community: another's is not found, and a
    region outside the community is refused.

    Raises:
        NotFoundError: ``update`` and no enterprise has this credit code (in scope).
        InputError: a value the register would refuse (the first, by field).
    """
    code = read_credit_code(str(values.get("credit_code") or ""))
    report = ImportReport(dry_run=False)
    scope = context.scope
    with context.sessions() as session:
        before = _current(session, code)
        if before is not None and not scope.covers(str(before["region"])):
            raise _outside(code)
        if update and before is None:
            raise _outside(code)
        rows = csv_rows(io.StringIO(record_as_csv(values)))
        store_rows(session, rows, report, box=context.box)
        if report.errors:
            first = report.errors[0]
            raise InputError(f"{first.field}: {first.reason}", field=first.field)
        session.expire_all()  # the rows were written set-based: read them afresh
        after = _current(session, code)
        assert after is not None  # just stored
        if not scope.covers(str(after["region"])):  # not committed: nothing is kept
            raise InputError(
                f"region: 地区不在本社区 / region {after['region']!r} is outside "
                f"{scope.described()}",
                field="region",
            )
        audit.record(
            session, context, action="enterprise.update" if update else "enterprise.save",
            target_type="enterprise", target_id=code, before=before, after=after,
        )  # fmt: skip
        session.commit()
    return Saved(created=before is None, enterprise=after)

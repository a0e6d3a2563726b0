"""How much the system holds, for the status overview."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifier.store.models import Enterprise, Policy, Trigger


def totals(session: Session) -> dict[str, int]:
    """How many enterprises, policies and triggers are stored."""
    models = {"enterprises": Enterprise, "policies": Policy, "triggers": Trigger}
    return {
        name: session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in models.items()
    }

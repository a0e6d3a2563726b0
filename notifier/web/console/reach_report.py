"""A policy's reach on its console page (the funnel, the side states, a row per community)
and its firms' states as XLSX; the dashboard's district view of the open policies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from notifier.domain.reach import ORDER, SIDE
from notifier.errors import NotFoundError
from notifier.services.context import Context
from notifier.services.reach.report import (
    community_of,
    district_reach,
    firm_states,
    policy_reach,
    share,
)
from notifier.web import i18n, reach_export
from notifier.web.console.chart import FUNNEL_COLOURS, stacked_bars
from notifier.web.console.deps import ConsoleDep, StaffUser
from notifier.web.deps import Id
from notifier.web.views import language_of
from notifier.web.workbook_export import WorkbookExport

# Room on the funnel's right for "1234 · 100.0%".
FUNNEL_WIDTH = 420

router = APIRouter()


def reach_context(context: Context, policy_id: int) -> dict[str, Any]:
    """What the policy page shows of the policy's reach (its states brought up to date)."""
    report = policy_reach(context, policy_id, thorough=False)
    funnel = report.overall.funnel()
    chart = stacked_bars(
        {step.step: {step.step: step.firms} for step in funnel},
        [step.step for step in funnel],
        width=FUNNEL_WIDTH,
        colours=FUNNEL_COLOURS,
    )
    return {
        "reach": report,
        "funnel": funnel,
        "funnel_chart": chart,
        "reach_side": [state.value for state in SIDE],
        "reach_states": [state.value for state in ORDER],
        "reach_communities": [
            {"path": path, "name": community_of(path), "counts": counts}
            for path, counts in report.communities.items()
        ],
    }


def district(context: Context) -> list[dict[str, Any]]:
    """The open policies' rows for the dashboard: firms, shares opened and confirmed,
    unreachable, questions open."""
    return [
        {
            "id": row.policy_id,
            "title": row.title,
            "published_at": row.published_at,
            "firms": row.firms,
            "opened": share(row.opened, row.firms),
            "confirmed": share(row.confirmed, row.firms),
            "unreachable": row.unreachable,
            "questions": row.questions,
        }
        for row in district_reach(context)
    ]


@router.get("/policies/{policy_id}/reach.xlsx")
def export(request: Request, policy_id: Id, user: StaffUser, console: ConsoleDep) -> Response:
    """Every firm of the policy with its reach state, as XLSX in the page's language."""
    try:
        _, firms = firm_states(console.acting(user), policy_id)
    except NotFoundError:
        return console.not_found(request)
    t = i18n.translator(language_of(request))
    job = WorkbookExport(
        rows=list(reach_export.rows(firms, t)),
        columns=reach_export.COLUMNS,
        title="reach",
        headers=reach_export.headers(t),
        zone=console.runtime.settings.zone,
    )
    return console.download(request, job, f"policy-{policy_id}-reach.xlsx")

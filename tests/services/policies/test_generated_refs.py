"""编号 generated for a policy published without one: it is kept, a repeat finds the same
policy on another day, and the policy can be revised under it. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from notifier.domain.time_source import ManualTime
from notifier.inputs.policy_file import parse_policy
from notifier.services.policies.corrections import describe, revise
from notifier.services.policies.publishing import publish
from notifier.store import policies

from support.deadlines import SHANGHAI, at
from support.factories import Enqueued, acting, policy


@pytest.fixture
def clerk(database_url, make_runtime):
    time_source = ManualTime(at("2026-09-28 08:00"))
    return make_runtime(database_url=database_url, time_source=time_source), time_source


def draft(**fields):
    return parse_policy(policy(**fields), zone=SHANGHAI)


def stored_ref(runtime, policy_id: int) -> str:
    with runtime.sessions() as session:
        return policies.get(session, policy_id).source_key.removeprefix("ref:")


def test_a_policy_published_without_a_ref_gets_one_and_can_be_corrected(clerk):
    runtime, time_source = clerk
    first = publish(runtime.sessions, Enqueued(), draft(), time_source=time_source)
    ref = stored_ref(runtime, first.policy_id)
    assert re.fullmatch(r"P-20260928-[0-9a-f]{10}", ref)
    assert describe(runtime.sessions, first.policy_id, zone=SHANGHAI)["ref"] == ref

    time_source.set(at("2026-10-05 08:00"))  # a week later the same file is the same policy
    again = publish(runtime.sessions, Enqueued(), draft(), time_source=time_source)
    assert (again.policy_id, again.created) == (first.policy_id, False)

    revised = revise(
        acting(runtime, Enqueued()), draft(ref=ref, summary="补助比例改为15%。"), notify=False
    )
    assert revised.revision == 1
    assert describe(runtime.sessions, first.policy_id, zone=SHANGHAI)["summary"] == (
        "补助比例改为15%。"
    )


def test_a_policy_with_its_own_ref_keeps_it(clerk):
    runtime, time_source = clerk
    published = publish(
        runtime.sessions, Enqueued(), draft(ref="bl-2026-7"), time_source=time_source
    )
    assert stored_ref(runtime, published.policy_id) == "bl-2026-7"

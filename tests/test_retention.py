"""Retention: old finished deliveries lose their address and error texts; counts stay."""

from __future__ import annotations

import io
import json
import os
import time
from datetime import timedelta

from sqlalchemy import select, update

from notifier.inputs.policy_file import parse_policy
from notifier.services.delivery.fanout import fan_out
from notifier.services.delivery.retention import purge
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store.deliveries import DeliveryFilter, channel_status_counts
from notifier.store.models import Delivery, DeliveryAttempt
from notifier.store.models.base import utcnow

from factories import Enqueued, Firm, enterprise_csv, policy, send_batch


def test_finished_deliveries_past_retention_keep_status_and_counts_but_lose_addresses(
    database_url, make_runtime
):
    runtime = make_runtime(database_url=database_url)
    firms = [Firm(n, channels="sms;email") for n in range(1, 4)]
    assert (
        import_enterprises(
            runtime.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False
        ).errors
        == []
    )
    queued = Enqueued()
    published = publish(
        runtime.sessions, queued, parse_policy(policy(), zone=runtime.settings.zone)
    )
    fan_out(runtime.sessions, queued, published.trigger_id, settings=runtime.settings.delivery)
    ids = [i for batch in queued.batches for i in batch]
    send_batch(runtime, ids[:4])  # four sent; two stay queued (not finished)
    with runtime.sessions.begin() as session:
        session.execute(update(Delivery).values(updated_at=utcnow() - timedelta(days=200)))
        session.execute(update(DeliveryAttempt).values(error="gateway said no to +8613800000001"))
    before = _counts(runtime)
    outbox = runtime.settings.outbox_dir / "sms"
    old_file = next(outbox.glob("*.json"))
    os.utime(old_file, (time.time() - 200 * 86_400,) * 2)

    result = purge(runtime.sessions, days=180, outbox_dir=runtime.settings.outbox_dir)

    assert result.deliveries == 4
    assert result.outbox_files == 1 and not old_file.exists()
    assert _counts(runtime) == before  # statuses and counts are kept
    with runtime.sessions() as session:
        rows = {d.id: d for d in session.scalars(select(Delivery))}
        errors = set(session.scalars(select(DeliveryAttempt.error)))
    purged = [d for d in rows.values() if d.purged_at is not None]
    assert len(purged) == 4 and all(d.status == "sent" and d.address == "" for d in purged)
    assert all(d.address for d in rows.values() if d.status == "queued")  # unfinished: kept
    assert errors == {None}
    assert purge(runtime.sessions, days=180).deliveries == 0  # nothing twice


def test_recent_deliveries_are_kept_whole(database_url, make_runtime):
    runtime = make_runtime(database_url=database_url)
    assert (
        import_enterprises(
            runtime.sessions, io.StringIO(enterprise_csv([Firm(1, channels="sms")])), dry_run=False
        ).errors
        == []
    )
    queued = Enqueued()
    published = publish(
        runtime.sessions, queued, parse_policy(policy(), zone=runtime.settings.zone)
    )
    fan_out(runtime.sessions, queued, published.trigger_id, settings=runtime.settings.delivery)
    send_batch(runtime, queued.batches[0])

    assert purge(runtime.sessions, days=1).deliveries == 0
    with runtime.sessions() as session:
        assert session.scalar(select(Delivery.address)) == "+8613800000001"


def _counts(runtime) -> str:
    with runtime.sessions() as session:
        return json.dumps(channel_status_counts(session, DeliveryFilter()), sort_keys=True)

"""Webhooks of a batch go out side by side on the worker's event loop, no more at once to one
host than ``delivery.host_sends``, and each is recorded once as sent. A real receiver on
127.0.0.1 holds every request a while and counts how many it holds at once."""

from __future__ import annotations

from sqlalchemy import select

from notifier.store.models import Delivery

from support.deliveries import fanned_out
from support.factories import Firm, send_batch
from support.hostile_peers import CrowdedEndpoint

HOLD = 0.3  # long enough for sends started together to be inside the receiver together


def test_a_batch_sends_to_one_host_side_by_side_up_to_host_sends(database_url, make_runtime):
    with CrowdedEndpoint(hold=HOLD) as receiver:
        runtime = make_runtime(
            database_url=database_url,
            webhook={"provider": "http"},
            delivery={"host_sends": 3, "send_threads": 8},
        )
        firms = [
            Firm(n, channels="webhook", webhook_url=receiver.url_for(f"/hook/{n}"))
            for n in range(1, 13)
        ]
        ids = fanned_out(runtime, firms)
        send_batch(runtime, ids)
    with runtime.sessions() as session:
        statuses = {d.status for d in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}
    assert statuses == {"sent"}
    assert sorted(path for path, _ in receiver.received) == sorted(
        f"/hook/{n}" for n in range(1, 13)
    )
    # Side by side (a batch one at a time would have held one), never past the bound.
    assert 1 < receiver.most_inside <= 3

"""A park of two firms and one deadline on a clock the test moves (deadlines, catch-up,
corrections)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from notifier.domain.time_source import ManualTime
from notifier.inputs.policy_file import parse_policy
from notifier.services.deadlines.reminders import scan_due_reminders
from notifier.services.delivery.fanout import fan_out
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store.models import Deadline, Delivery, DeliveryStatus, Trigger

from support.factories import Enqueued, Firm, enterprise_csv, policy, send_batch

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A local time in Shanghai."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


class Park:
    """Two enterprises, a policy with one deadline, a clock the test moves, and the pipeline
    run by hand: the clock's scan, the fan-out, the sends."""

    def __init__(
        self, runtime, time_source: ManualTime, *, channels: str = "email", **deadline
    ) -> None:
        self.runtime, self.time_source = runtime, time_source
        firms = [Firm(1, channels=channels), Firm(2, channels=channels)]
        import_enterprises(runtime.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False)
        draft = parse_policy(
            policy(ref="p1", published_at="2026-09-01T09:00", deadlines=[deadline]),
            zone=SHANGHAI,
        )
        publish(runtime.sessions, Enqueued(), draft, time_source=time_source)
        with runtime.sessions() as session:
            self.deadline_id = session.scalar(select(Deadline.id))

    def scan(self, dispatch: Enqueued | None = None) -> list[int]:
        settings = self.runtime.settings
        return scan_due_reminders(
            self.runtime.sessions,
            dispatch or Enqueued(),
            settings=settings.reminders,
            zone=settings.zone,
            catch_up=timedelta(hours=settings.clock.catch_up_hours),
            time_source=self.time_source,
        )

    def fan_out_and_send(self, trigger_id: int) -> None:
        dispatch = Enqueued(on_batch=lambda ids: send_batch(self.runtime, ids))
        runtime = self.runtime
        fan_out(runtime.sessions, dispatch, trigger_id, settings=runtime.settings.delivery)

    def tick(self, local_time: str) -> list[int]:
        """Move the clock, run the scan and deliver what it fired."""
        self.time_source.set(at(local_time))
        fired = self.scan()
        for trigger_id in fired:
            self.fan_out_and_send(trigger_id)
        return fired

    def sent_to(self, trigger_id: int) -> list[str]:
        with self.runtime.sessions() as session:
            rows = session.scalars(
                select(Delivery).where(
                    Delivery.trigger_id == trigger_id, Delivery.status == DeliveryStatus.SENT
                )
            )
            return sorted(d.enterprise.credit_code for d in rows)

    def trigger(self, trigger_id: int) -> Trigger:
        with self.runtime.sessions() as session:
            trigger = session.get(Trigger, trigger_id)
            session.expunge(trigger)
            return trigger

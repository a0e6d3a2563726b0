"""Reach in tests: a policy published and sent for real, a firm's id by its number."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from notifier.cli.policies import embedded_worker
from notifier.inputs.firm_answers import Question
from notifier.inputs.policy_file import parse_policy
from notifier.services.delivery.progress import follow
from notifier.services.policies.publishing import publish_policy
from notifier.services.reach import events
from notifier.store import enterprises as enterprise_store

from support.factories import REGION, Firm, acting, credit_code, enter_plain_years, policy
from support.web_harness import seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=SHANGHAI)
WEDNESDAY = datetime(2031, 3, 5, 9, 0, tzinfo=SHANGHAI)
THURSDAY = datetime(2031, 3, 6, 9, 0, tzinfo=SHANGHAI)  # 3 working days after Monday
STREET = REGION.rsplit("/", 1)[0]  # 大碶街道
ELSEWHERE = f"{STREET}/新碶工业社区"
OTHER_STREET = "浙江省/宁波市/北仑区/小港街道/渡头社区"
__all__ = ["ELSEWHERE", "MONDAY", "REGION", "THURSDAY", "WEDNESDAY", "seed_district"]


def publish_and_send(runtime, **fields) -> int:
    """Publish a policy (``fields`` over the factory's) and send it for real, as
    ``notifier policies publish --wait`` does (the embedded worker, the outbox providers);
    its id."""
    draft = parse_policy(policy(**fields), zone=runtime.settings.zone)
    with embedded_worker(runtime):
        published = publish_policy(acting(runtime), draft)
        follow(runtime.sessions, published.trigger_id, show=False, timeout=60)
    return published.policy_id


def firm_id(runtime, number: int) -> int:
    """The id of the factory's firm ``number``."""
    with runtime.sessions() as session:
        enterprise = enterprise_store.get_by_credit_code(session, credit_code(number))
        assert enterprise is not None
        return enterprise.id


def seed_district(runtime) -> tuple[int, int]:
    """Firms 1, 3, 4, 6 reachable and 2 with no channel in 灵峰工业社区 (``REGION``); 5 (no
    channel) in another community of the street, 7 (no channel) in another street. Two
    policies published (on the runtime's clock, ``MONDAY`` say) and sent: ``near`` due on 10
    March 2031, ``far`` with no deadline; firm 3 opened both, firm 4 asked about ``near``.
    Returns (near, far)."""
    seed(
        runtime,
        [Firm(1), Firm(2, channels=""), Firm(3), Firm(4), Firm(5, channels="", region=ELSEWHERE),
         Firm(6), Firm(7, channels="", region=OTHER_STREET)],
    )  # fmt: skip
    enter_plain_years(runtime, 2031)
    far = publish_and_send(runtime, ref="far", title="数字化改造奖励")
    near = publish_and_send(
        runtime, ref="near", deadlines=[{"title": "申报截止", "due_at": "2031-03-10"}]
    )
    context = acting(runtime)
    for policy_id in (near, far):
        events.record_opened(context, policy_id, firm_id(runtime, 3))
    events.ask(context, near, firm_id(runtime, 4), Question("二手设备可以申报吗？", "13800001234"))
    return near, far

"""A number's daily cap per message class, through the real sending path and a loopback SMS
gateway: with a cap of 3 a day, a firm with 5 notices gets 3 and then, at the next day's
opening, the other 2 (defer) or one digest SMS carrying both (digest). Nothing is dropped and
nothing goes twice. The clock is moved; nothing sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from notifier.domain.time_source import ManualTime
from notifier.runtime import Runtime
from notifier.store.models import Delivery, PolicyReach

from support.deliveries import SMS_KEY, SMS_SECRET, fanned_out, gateway_entry
from support.deliveries import deliveries as unordered
from support.factories import Firm, send_batch
from support.peers import SmsGateway

SHANGHAI = ZoneInfo("Asia/Shanghai")
NUMBER = "+8613800000001"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _default_quiet_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    # SMS rests 21:00-08:00 as deployed: the next day opens at 08:00.
    monkeypatch.delenv("NOTIFIER_QUIET_HOURS__SMS")


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with SmsGateway(key=SMS_KEY, secret=SMS_SECRET) as peer:
        yield peer


def deliveries(runtime: Runtime, ids: list[int]) -> list[Delivery]:
    return sorted(unordered(runtime, ids), key=lambda row: row.id)


def five_notices(runtime: Runtime) -> list[int]:
    """Five notices to one firm (SMS only), published and fanned out on the same morning."""
    ids: list[int] = []
    for number in range(1, 6):
        ids += fanned_out(runtime, [Firm(1, channels="sms")], title=f"第{number}号政策通知",
                          url=f"https://www.bl.gov.cn/policy/{number}")
    return ids


def capped_runtime(make_runtime: Any, database_url: str, gateway: SmsGateway, mode: str,
                   time_source: ManualTime) -> Runtime:
    return make_runtime(
        time_source, database_url=database_url,
        providers=[gateway_entry("gw", gateway, 1)],
        number_caps={"notice_per_day": 3, "over_cap": mode},
    )


def test_with_a_cap_of_3_five_notices_go_3_today_and_2_at_the_next_days_opening(
    database_url: str, make_runtime: Any, gateway: SmsGateway
) -> None:
    time_source = ManualTime(at("2026-12-08 10:00"))
    runtime = capped_runtime(make_runtime, database_url, gateway, "defer", time_source)
    ids = five_notices(runtime)
    assert len(ids) == 5

    retries = send_batch(runtime, ids)

    rows = deliveries(runtime, ids)
    assert [r.status for r in rows] == ["sent"] * 3 + ["deferred"] * 2
    assert len(gateway.messages) == 3
    later = rows[3:]
    assert all(r.next_attempt_at == at("2026-12-09 08:00") and r.attempts == 0 for r in later)
    assert all("over the number's daily cap of 3 notice SMS" in (r.last_error or "")
               for r in later)
    assert sorted(r.delivery_id for r in retries) == [r.id for r in later]

    time_source.set(at("2026-12-08 15:00"))  # the same day: still over the cap
    send_batch(runtime, [r.id for r in later])
    assert [r.status for r in deliveries(runtime, ids)][3:] == ["deferred"] * 2

    time_source.set(at("2026-12-09 08:00"))
    send_batch(runtime, [r.id for r in later])
    assert [r.status for r in deliveries(runtime, ids)] == ["sent"] * 5
    assert len(gateway.messages) == 5
    assert all(r.digest_id is None for r in deliveries(runtime, ids))


def test_in_digest_mode_the_two_over_the_cap_go_as_one_digest_sms_the_next_morning(
    database_url: str, make_runtime: Any, gateway: SmsGateway
) -> None:
    time_source = ManualTime(at("2026-12-08 10:00"))
    runtime = capped_runtime(make_runtime, database_url, gateway, "digest", time_source)
    ids = five_notices(runtime)

    send_batch(runtime, ids)
    rows = deliveries(runtime, ids)
    assert [(r.status, r.held) for r in rows] == [("sent", None)] * 3 + [("deferred", "digest")] * 2
    assert "merged into a digest the next day" in (rows[3].last_error or "")

    time_source.set(at("2026-12-09 08:00"))
    # Each held delivery's own message comes back; the first carries both, the second finds
    # itself already sent.
    send_batch(runtime, [rows[3].id])
    send_batch(runtime, [rows[4].id])

    assert len(gateway.messages) == 4  # 3 yesterday, one digest today
    digest = gateway.messages[-1]
    assert digest["to"] == NUMBER
    assert "您有 2 条政策通知，详见 http" in digest["text"] and "/p/" in digest["text"]
    carrier, merged = deliveries(runtime, ids)[3:]
    assert (carrier.status, merged.status) == ("sent", "sent")
    assert (carrier.digest_id, merged.digest_id) == (carrier.id, carrier.id)
    assert merged.provider_message_id == carrier.provider_message_id
    assert f"carried by digest #{carrier.id}" in (merged.last_error or "")
    with runtime.sessions() as session:  # the firm's reach of all five policies counts sent
        states = session.scalars(select(PolicyReach.state)).all()
        assert sorted(states) == ["sent"] * 5

    # The digest counted once toward today's cap: two more notices today still go.
    more = fanned_out(runtime, [Firm(1, channels="sms")], title="第6号政策通知")
    more += fanned_out(runtime, [Firm(1, channels="sms")], title="第7号政策通知")
    send_batch(runtime, more)
    assert [r.status for r in deliveries(runtime, more)] == ["sent", "sent"]
    assert len(gateway.messages) == 6


def test_marketing_has_its_own_cap_and_notices_are_not_held_by_it(
    database_url: str, make_runtime: Any, gateway: SmsGateway
) -> None:
    time_source = ManualTime(at("2026-12-08 10:00"))
    runtime = make_runtime(
        time_source, database_url=database_url, providers=[gateway_entry("gw", gateway, 1)],
        number_caps={"notice_per_day": 3, "marketing_per_day": 1},
    )
    ids = five_notices(runtime)[:4]
    with runtime.sessions.begin() as session:  # two marketing, two notices
        for row in session.scalars(select(Delivery).where(Delivery.id.in_(ids[:2]))):
            row.message_class = "marketing"
    send_batch(runtime, ids)
    assert [r.status for r in deliveries(runtime, ids)] == ["sent", "deferred", "sent", "sent"]



def test_in_digest_mode_a_vendor_account_needs_a_digest_template(make_settings: Any) -> None:
    from notifier.channels.sources import provider_configs_from_settings
    from notifier.services.providers.catalog import built_or_why, worker_environment

    from support.factories import ALIYUN_TEMPLATES, KEY_ID, KEY_SECRET

    def account(templates: dict[str, Any]) -> dict[str, Any]:
        return {"name": "ali", "channel": "sms", "kind": "aliyun-sms",
                "options": {"access_key_id": KEY_ID, "sign_name": "北仑企服",
                            "endpoint": "http://127.0.0.1:9", "templates": templates},
                "secrets": {"access_key_secret": KEY_SECRET}}

    def why(settings: Any) -> str | None:
        [config] = [c for c in provider_configs_from_settings(settings) if c.name == "ali"]
        return built_or_why(config, worker_environment(settings))[1]

    deferring = make_settings(providers=[account(ALIYUN_TEMPLATES)])
    assert why(deferring) is None
    digesting = make_settings(providers=[account(ALIYUN_TEMPLATES)],
                              number_caps={"over_cap": "digest"})
    assert "no template for sms_digest" in (why(digesting) or "")
    digest_template = {"sms_digest": {"template_code": "SMS_460009",
                                      "text": "您有${count}条政策通知，详见 https://zc.bl.gov.cn/p/${token}",
                                      "params": {"count": "{{ count }}",
                                                 "token": "{{ page_token }}"}}}
    with_template = make_settings(providers=[account({**ALIYUN_TEMPLATES, **digest_template})],
                                  number_caps={"over_cap": "digest"})
    assert why(with_template) is None

"""Importing enterprises into the database, on SQLite and PostgreSQL.

What staff see after an import: the good rows stored with everything they carry, every bad row
reported, re-imports that update in place, and unsubscribes that no import undoes.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from notifier.errors import InputError
from notifier.inputs.enterprise_csv import HEADER, parse_enterprise_csv
from notifier.services.enterprises import importing
from notifier.services.enterprises.importing import (
    ImportReport,
    detect_encoding,
    import_enterprises,
)
from notifier.store import enterprises as store
from notifier.store.models import Contact, Enterprise, Subscription

from support.factories import Firm, credit_code, enterprise_csv


@pytest.fixture
def sessions(database_url, make_runtime):
    return make_runtime(database_url=database_url).sessions


def run_import(sessions, text: str, *, dry_run: bool = False) -> ImportReport:
    return import_enterprises(sessions, io.StringIO(text), dry_run=dry_run)


def load(sessions, number: int) -> Enterprise:
    with sessions() as session:
        enterprise = session.scalar(
            select(Enterprise)
            .where(Enterprise.credit_code == credit_code(number))
            .options(
                selectinload(Enterprise.sectors),
                selectinload(Enterprise.tags),
                selectinload(Enterprise.topics),
                selectinload(Enterprise.contacts),
                selectinload(Enterprise.subscriptions),
            )
        )
    assert enterprise is not None, f"enterprise {number} was not stored"
    return enterprise


def stored_codes(sessions) -> list[str]:
    with sessions() as session:
        query = select(Enterprise.credit_code).order_by(Enterprise.credit_code)
        return list(session.scalars(query))


def contacts(enterprise: Enterprise) -> set[tuple[str, str]]:
    return {(c.channel, c.address) for c in enterprise.contacts}


def subscribed(enterprise: Enterprise) -> dict[str, bool]:
    return {s.channel: s.subscribed for s in enterprise.subscriptions}


def raw_row(number: int, **cells: str) -> list[str]:
    """``Firm(number)``'s row with some cells replaced, by column name."""
    row = Firm(number).row()
    for column, value in cells.items():
        row[HEADER.index(column)] = value
    return row


def csv_of(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def test_good_rows_are_stored_with_sectors_tags_topics_contacts_and_subscriptions(sessions):
    firm = Firm(1, sectors="C3670;c3610", topics="补贴；税费", tags="专精特新;规上", size="中型")

    report = run_import(sessions, enterprise_csv([firm, Firm(2, channels="email")]))

    assert (report.created, report.updated, report.errors) == (2, 0, [])
    first = load(sessions, 1)
    assert first.name == "测试企业1有限公司"
    assert (first.region, first.size) == (firm.region, "medium")
    assert sorted(s.code for s in first.sectors) == ["C3610", "C3670"]
    assert sorted(t.tag for t in first.tags) == ["专精特新", "规上"]
    assert sorted(t.topic for t in first.topics) == ["税费", "补贴"]
    assert contacts(first) == {
        ("sms", "+8613800000001"),
        ("email", "firm1@example.cn"),
        ("webhook", "https://hooks.example.cn/1"),
    }
    assert subscribed(first) == {"sms": True, "email": True, "webhook": True}
    assert first.unsubscribed_at is None
    assert subscribed(load(sessions, 2)) == {"email": True}


def test_a_file_with_bad_rows_keeps_every_good_row_and_reports_every_bad_one(sessions, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK", 2)  # good rows span several commits
    rows = [
        Firm(1).row(),  # row 2
        raw_row(2, phone="12345"),  # row 3
        Firm(3).row(),  # row 4
        raw_row(4, sectors="Z99", size="huge"),  # row 5
        Firm(5).row(),  # row 6
        Firm(1, name="重复").row(),  # row 7: the same credit code as row 2
        Firm(6).row(),  # row 8
    ]

    report = run_import(sessions, csv_of(rows))

    assert [(e.row, e.field) for e in report.errors] == [
        (3, "phone"),
        (5, "sectors"),
        (5, "size"),
        (7, "credit_code"),
    ]
    assert "row 2" in report.errors[-1].reason
    assert report.as_dict()["bad_rows"] == 3
    assert report.created == 4
    assert stored_codes(sessions) == [credit_code(n) for n in (1, 3, 5, 6)]
    assert load(sessions, 1).name == "测试企业1有限公司"  # the duplicate did not overwrite it


def test_a_dry_run_counts_exactly_but_stores_nothing(sessions):
    run_import(sessions, enterprise_csv([Firm(1)]))
    text = enterprise_csv([Firm(1, name="新名字"), Firm(2)])

    report = run_import(sessions, text, dry_run=True)

    assert (report.created, report.updated) == (1, 1)
    assert stored_codes(sessions) == [credit_code(1)]
    assert load(sessions, 1).name == "测试企业1有限公司"


def test_a_reimport_updates_the_enterprise_found_by_credit_code(sessions):
    run_import(sessions, enterprise_csv([Firm(1, sectors="C3670", tags="规上", topics="补贴")]))

    changed = Firm(
        1, name="宁波改名有限公司", sectors="C3670;C3812", tags="", topics="税费", size="large"
    )
    report = run_import(sessions, enterprise_csv([changed]))

    assert (report.created, report.updated) == (0, 1)
    enterprise = load(sessions, 1)
    assert (enterprise.name, enterprise.size) == ("宁波改名有限公司", "large")
    assert sorted(s.code for s in enterprise.sectors) == ["C3670", "C3812"]
    assert enterprise.tags == []
    assert [t.topic for t in enterprise.topics] == ["税费"]
    assert stored_codes(sessions) == [credit_code(1)]


def test_the_same_file_imported_twice_changes_nothing(sessions):
    text = enterprise_csv([Firm(1, tags="规上", topics="补贴"), Firm(2)])
    run_import(sessions, text)
    before = load(sessions, 1)

    report = run_import(sessions, text)

    after = load(sessions, 1)
    assert (report.created, report.updated, report.errors) == (0, 2, [])
    assert {c.id for c in after.contacts} == {c.id for c in before.contacts}
    assert {s.id for s in after.sectors} == {s.id for s in before.sectors}
    assert subscribed(after) == subscribed(before)


def test_contacts_removed_from_the_file_are_removed(sessions):
    run_import(sessions, enterprise_csv([Firm(1)]))
    kept_email = {c.id for c in load(sessions, 1).contacts if c.channel == "email"}

    # The phone changes, the webhook goes; the email address stays as it was.
    row = raw_row(1, phone="13900000001", webhook_url="", channels="sms;email")
    run_import(sessions, csv_of([row]))

    enterprise = load(sessions, 1)
    assert contacts(enterprise) == {("sms", "+8613900000001"), ("email", "firm1@example.cn")}
    assert {c.id for c in enterprise.contacts if c.channel == "email"} == kept_email


def test_a_channel_dropped_from_channels_stops(sessions):
    run_import(sessions, enterprise_csv([Firm(1, channels="sms;email;webhook")]))

    run_import(sessions, enterprise_csv([Firm(1, channels="email")]))

    assert {ch for ch, on in subscribed(load(sessions, 1)).items() if on} == {"email"}


def test_a_channel_dropped_and_later_chosen_again_is_subscribed_again(sessions):
    # Staff took the channel out of the file; the enterprise never asked to leave it.
    run_import(sessions, enterprise_csv([Firm(1, channels="sms;email")]))
    run_import(sessions, enterprise_csv([Firm(1, channels="email")]))

    report = run_import(sessions, enterprise_csv([Firm(1, channels="sms;email")]))

    assert subscribed(load(sessions, 1)) == {"sms": True, "email": True}
    assert report.kept_unsubscribed == 0


def test_an_unsubscribe_survives_every_reimport(sessions):
    run_import(sessions, enterprise_csv([Firm(1), Firm(2), Firm(3, channels="sms")]))
    with sessions.begin() as session:
        store.unsubscribe(session, [credit_code(1)])
        store.unsubscribe(session, [credit_code(2)], channel="sms")
        store.unsubscribe(session, [credit_code(3)], channel="email")  # not chosen yet

    again = [Firm(1), Firm(2), Firm(3, channels="sms;email")]
    report = run_import(sessions, enterprise_csv(again))
    report_twice = run_import(sessions, enterprise_csv(again))

    first, second, third = load(sessions, 1), load(sessions, 2), load(sessions, 3)
    assert first.unsubscribed_at is not None
    assert not any(subscribed(first).values())
    assert subscribed(second) == {"sms": False, "email": True, "webhook": True}
    assert subscribed(third) == {"sms": True, "email": False}
    assert report.kept_unsubscribed == report_twice.kept_unsubscribed == 3


def test_an_enterprise_unsubscribed_from_everything_gets_no_new_channel(sessions):
    run_import(sessions, enterprise_csv([Firm(1, channels="email")]))
    with sessions.begin() as session:
        store.unsubscribe(session, [credit_code(1)])

    run_import(sessions, enterprise_csv([Firm(1, channels="sms;email;webhook")]))

    assert not any(subscribed(load(sessions, 1)).values())


def test_unsubscribe_returns_the_credit_codes_it_does_not_know(sessions):
    run_import(sessions, enterprise_csv([Firm(1)]))

    with sessions.begin() as session:
        missing = store.unsubscribe(session, [credit_code(1), credit_code(8), credit_code(9)])

    assert missing == [credit_code(8), credit_code(9)]
    assert load(sessions, 1).unsubscribed_at is not None


def test_unsubscribe_from_an_unknown_channel_is_refused(sessions):
    with sessions.begin() as session, pytest.raises(ValueError, match="fax"):
        store.unsubscribe(session, [credit_code(1)], channel="fax")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_a_file_saved_by_excel_in_utf8_or_gbk_is_read_as_the_same_text(tmp_path, encoding):
    path = tmp_path / "enterprises.csv"
    path.write_bytes(enterprise_csv([Firm(1, name="宁波北仑精密模具有限公司")]).encode(encoding))

    with path.open(encoding=detect_encoding(path), newline="") as stream:
        records, errors = parse_enterprise_csv(stream)

    assert errors == []
    assert records[0].name == "宁波北仑精密模具有限公司"


def test_a_file_in_neither_utf8_nor_gb18030_is_refused_before_anything_is_imported(tmp_path):
    path = tmp_path / "enterprises.csv"
    path.write_bytes(enterprise_csv([Firm(1)]).encode("utf-8") + b"\x81\x20\xff\xfe")

    with pytest.raises(InputError, match="UTF-8 or GB18030"):
        detect_encoding(path)


def subscriptions_by_code(sessions) -> dict[str, dict[str, bool]]:
    with sessions() as session:
        query = select(Enterprise.credit_code, Subscription.channel, Subscription.subscribed).join(
            Subscription, Subscription.enterprise_id == Enterprise.id
        )
        found: dict[str, dict[str, bool]] = {}
        for code, channel, on in session.execute(query):
            found.setdefault(code, {})[channel] = on
        return found


def contact_ids(sessions) -> dict[tuple[str, str, str], int]:
    with sessions() as session:
        query = select(Enterprise.credit_code, Contact.channel, Contact.address, Contact.id).join(
            Contact, Contact.enterprise_id == Enterprise.id
        )
        return {
            (code, channel, address): cid for code, channel, address, cid in session.execute(query)
        }


def test_a_reimport_of_3000_rows_counts_and_keeps_every_subscription_and_contact_exactly(sessions):
    # By number % 10 - 1: left everything; 2: now email only; 3: renamed; 5: left sms;
    # 6: new phone; 7: left sms, which the file no longer chooses; others: unchanged.
    everything, left_sms = range(1, 3001, 10), [*range(5, 3001, 10), *range(7, 3001, 10)]
    run_import(sessions, enterprise_csv([Firm(n) for n in range(1, 3001)]))
    with sessions.begin() as session:
        store.unsubscribe(session, [credit_code(n) for n in everything])
        store.unsubscribe(session, [credit_code(n) for n in left_sms], channel="sms")
    contacts_before, subscriptions_before = contact_ids(sessions), subscriptions_by_code(sessions)

    def row(n: int) -> list[str]:
        changes = {
            2: {"channels": "email"},
            3: {"name": f"改名{n}"},
            6: {"phone": f"1390000{n:04d}"},
        }
        if n > 3000:
            return Firm(n).row()
        if n % 10 == 7:
            return Firm(n, channels="email;webhook").row()
        if n % 10 == 2:
            return Firm(n, channels="email").row()
        return raw_row(n, **changes.get(n % 10, {}))

    text = csv_of([row(n) for n in range(1, 3201)])  # 3001-3200 are new
    dry = run_import(sessions, text, dry_run=True)
    assert (contact_ids(sessions), subscriptions_by_code(sessions)) == (
        contacts_before,
        subscriptions_before,
    )
    report = run_import(sessions, text)

    assert (report.created, report.updated, report.kept_unsubscribed) == (200, 3000, 600)
    assert dry.as_dict() == {**report.as_dict(), "dry_run": True}
    on = {"sms": True, "email": True, "webhook": True}
    expected = {credit_code(n): dict(on) for n in range(1, 3201)}
    for n in range(1, 3001):
        if n % 10 == 1:
            expected[credit_code(n)] = dict.fromkeys(on, False)
        elif n % 10 == 2:
            expected[credit_code(n)] = {"email": True}
        elif n % 10 in (5, 7):
            expected[credit_code(n)]["sms"] = False
    assert subscriptions_by_code(sessions) == expected
    contacts_after = contact_ids(sessions)
    for (code, channel, address), cid in contacts_before.items():
        n = int(code[11:17])
        gone = (n % 10 == 6 and channel == "sms") or (n % 10 == 2 and channel == "webhook")
        assert contacts_after.get((code, channel, address)) == (None if gone else cid)
    assert contacts_after[(credit_code(6), "sms", "+8613900000006")] not in contacts_before.values()
    assert len(contacts_after) == len(contacts_before) - 300 + 200 * 3
    assert load(sessions, 3).name == "改名3"


def test_storing_the_same_credit_code_twice_in_one_call_is_refused(sessions):
    [record], _ = parse_enterprise_csv(io.StringIO(enterprise_csv([Firm(1)])))
    with sessions() as session, pytest.raises(ValueError, match="more than once"):
        store.upsert_enterprises(session, [record, record])


def test_a_large_import_counts_the_tables_for_the_planner(sessions, monkeypatch):
    # Without counts PostgreSQL reads whole child tables for each chunk of the next re-import.
    monkeypatch.setattr(importing, "REFRESH_STATISTICS_AFTER", 3)
    run_import(sessions, enterprise_csv([Firm(n) for n in range(1, 4)]))

    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            query = text("SELECT reltuples FROM pg_class WHERE relname = 'contacts'")
            assert session.scalar(query) == 9

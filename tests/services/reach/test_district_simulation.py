"""Issue 17's acceptance: a simulated district of 4,000 firms in 12 communities.

A policy goes out for real (fan-out, sending to the dry-run outbox). Then, at random: a third
of the firms open the page link taken from their email in the outbox as a browser does (the
page, then its beacon), a sixth press 已知晓, some press 与我无关 or ask a question, and a set
of links is fetched as a chat app's link preview would (a GET, nothing more). Some firms have
no channel and some unsubscribed from everything. ``notifier policies reach --format json``
must equal the simulation's own record in every state and every community.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from notifier.cli.policies import embedded_worker
from notifier.inputs.policy_file import parse_policy
from notifier.services.delivery.progress import follow
from notifier.services.enterprises.subscriptions import unsubscribe
from notifier.services.policies.publishing import publish_policy

from support.cli import Notifier
from support.factories import Firm, acting, credit_code, policy
from support.web_harness import seed, web_app

KEY = "district-simulation-secret-key-0123456789"
FIRMS = 4_000
STREETS = ("大碶街道", "新碶街道", "小港街道", "霞浦街道")
COMMUNITIES = [
    f"浙江省/宁波市/北仑区/{street}/{street[:2]}{n}号社区" for street in STREETS for n in (1, 2, 3)
]
PREVIEW_AGENTS = (
    "WhatsApp/2.23.20 A",
    "Mozilla/5.0 (compatible; WeChat link preview)",
    "TelegramBot (like TwitterBot)",
)
ALL_STATES = (
    "targeted", "sent", "delivered", "opened", "confirmed", "done", "unreachable",
    "not_applicable", "question",
)  # fmt: skip


def _firm(number: int, rng: random.Random) -> Firm:
    # One firm in eight is in another sector (not for this policy); one in 25 has no channel.
    sector = "C3670" if number % 8 else "F5191"
    channels = "" if number % 25 == 0 else "sms;email"
    return Firm(number, sectors=sector, region=rng.choice(COMMUNITIES), channels=channels)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page carries its form value"
    return match.group(1)


# The district's 4,000 firms on PostgreSQL (what a district runs); the embedded SQLite default
# runs the same simulation on a park-sized register, to keep the suite's time.
SIZES = {"postgresql": FIRMS, "sqlite": 600}


@pytest.fixture
def district(make_runtime, database_url):
    runtime = make_runtime(database_url=database_url, secret_key=KEY)
    rng = random.Random(17)
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    firms = [_firm(n, rng) for n in range(1, SIZES[backend] + 1)]
    seed(runtime, firms)
    return runtime, firms, rng


def _links_from_outbox(runtime) -> dict[int, str]:
    """Each firm's page token, from the email it got (firm N's address is firmN@example.cn)."""
    links = {}
    for path in (runtime.settings.outbox_dir / "email").glob("*.json"):
        mail = json.loads(path.read_text())
        number = int(re.fullmatch(r"firm(\d+)@example\.cn", mail["to"]).group(1))
        links[number] = re.search(r"/p/([A-Za-z0-9._-]+)", mail["text"]).group(1)
    return links


@dataclass
class Behaviour:
    """What the simulation had the firms do; ``state`` is its own record of each firm."""

    reachable: set[int]
    opened: set[int] = field(default_factory=set)
    confirmed: set[int] = field(default_factory=set)
    not_applicable: set[int] = field(default_factory=set)
    asked: set[int] = field(default_factory=set)
    previewed: set[int] = field(default_factory=set)

    def choose(self, rng: random.Random) -> None:
        numbers = sorted(self.reachable)
        self.opened = set(rng.sample(numbers, len(numbers) // 3))
        self.confirmed = set(rng.sample(numbers, len(numbers) // 6))
        rest = [n for n in numbers if n not in self.confirmed]
        self.not_applicable = set(rng.sample(rest, len(rest) // 50))
        rest = [n for n in rest if n not in self.not_applicable]
        self.asked = set(rng.sample(rest, len(rest) // 60))
        self.previewed = set(rng.sample(numbers, len(numbers) // 4))

    def press(self, number: int, csrf: str) -> dict[str, str] | None:
        """The button the firm presses on its page, if any."""
        if number in self.confirmed:
            return {"csrf": csrf, "action": "confirmed"}
        if number in self.not_applicable:
            return {"csrf": csrf, "action": "not_applicable", "reason": "本企业不涉及"}
        if number in self.asked:
            return {
                "csrf": csrf, "action": "question",
                "question": f"第{number}号企业：设备发票是否需要原件？", "callback": "13800138000",
            }  # fmt: skip
        return None

    def state(self, number: int) -> str:
        if number not in self.reachable:
            return "unreachable"
        for state, firms in (
            ("not_applicable", self.not_applicable), ("confirmed", self.confirmed),
            ("question", self.asked), ("opened", self.opened),
        ):  # fmt: skip
            if number in firms:
                return state
        return "sent"


def _visit(client: TestClient, token: str, number: int, behaviour: Behaviour) -> None:
    """A person opens the page (its script sends the beacon) and maybe presses a button."""
    page = client.get(f"/p/{token}")
    assert page.status_code == 200
    csrf = _csrf(page.text)
    if number in behaviour.opened:
        assert client.post(f"/p/{token}/opened", data={"csrf": csrf}).status_code == 204
    press = behaviour.press(number, csrf)
    if press is not None:
        assert client.post(f"/p/{token}", data=press).status_code == 200


def test_policies_reach_equals_what_a_district_of_4000_firms_did(district, tmp_path):
    runtime, firms, rng = district
    # One firm in a hundred unsubscribed from everything before the policy.
    gone = {f.number for f in rng.sample([f for f in firms if f.channels], len(firms) // 100)}
    unsubscribe(acting(runtime), [credit_code(n) for n in sorted(gone)], channel=None)
    draft = parse_policy(
        policy(ref="district", targets={"sectors": ["C36"], "regions": ["浙江省/宁波市/北仑区"]}),
        zone=runtime.settings.zone,
    )
    with embedded_worker(runtime):
        published = publish_policy(acting(runtime), draft)
        follow(runtime.sessions, published.trigger_id, show=False, timeout=600)

    targeted = {f.number: f for f in firms if f.sectors == "C3670"}
    behaviour = Behaviour({n for n, f in targeted.items() if f.channels and n not in gone})
    links = _links_from_outbox(runtime)
    assert set(links) == behaviour.reachable, "every reachable firm got its link, no one else"
    behaviour.choose(rng)
    client = TestClient(web_app(runtime))
    for number in sorted(behaviour.previewed):  # a chat app unfurls the link: no person saw it
        agent = rng.choice(PREVIEW_AGENTS)
        assert client.get(f"/p/{links[number]}", headers={"User-Agent": agent}).status_code == 200
    b = behaviour
    for number in sorted(b.opened | b.confirmed | b.not_applicable | b.asked):
        _visit(client, links[number], number, behaviour)

    expected: dict[str, Counter[str]] = defaultdict(Counter)
    for number, firm in targeted.items():
        expected[firm.region][behaviour.state(number)] += 1
    overall = sum(expected.values(), Counter())
    cli = Notifier({"NOTIFIER_DATABASE_URL": runtime.settings.database_url}, tmp_path)
    report = cli.json("policies", "reach", str(published.policy_id))
    assert report["firms"] == len(targeted)
    assert report["states"] == {state: overall[state] for state in ALL_STATES}
    assert report["questions_open"] == len(behaviour.asked)
    assert {c["community"]: c["states"] for c in report["communities"]} == {
        region: {state: counts[state] for state in ALL_STATES}
        for region, counts in expected.items()
    }
    # The link previews alone counted as nothing: those firms are still only "sent".
    only_previewed = b.previewed - b.opened - b.confirmed - b.not_applicable - b.asked
    assert only_previewed and overall["sent"] >= len(only_previewed)

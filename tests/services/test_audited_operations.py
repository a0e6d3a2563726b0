"""Every change to policies, deadlines and campaigns is in the audit log whichever face made it:
the CLI (as ``cli:<user>``), the API and the console (as the staff key), a firm's own link (as
the firm). The record is written in the transaction of the change: a failure between the two
leaves neither."""

from __future__ import annotations

import getpass
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from notifier.inputs.campaign_file import parse_campaign
from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services.campaigns.operations import create_campaign, pause
from notifier.services.context import CLOCK
from notifier.services.policies.publishing import publish
from notifier.store import audit, migrate
from notifier.store.enterprises import get_by_credit_code
from notifier.store.models import AuditEntry, Campaign, Deadline, Policy, Trigger

from support.cli import Notifier
from support.factories import Enqueued, Firm, credit_code, policy
from support.forms import fields_of
from support.web_harness import CAMPAIGN_FORM, SECRET, make_key, seed, signed_in, web_app

SCHEDULED = "2099-06-01T09:00"  # policies not yet published: nothing is sent
DEADLINE = {"title": "申报截止", "due_at": "2099-06-30T17:00", "remind": ["1d"]}
CAMPAIGN = {
    "name": "tech-upgrade",
    "title": "技术改造补助申报提醒",
    "channels": ["sms"],
    "targets": {"sectors": ["C36"]},
    "templates": {"sms": {"body": "{{ enterprise.name }}：{{ campaign.title }}"}},
    "schedule": {"cron": "0 9 * * MON", "timezone": "Asia/Shanghai"},
}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A migrated SQLite database, copied for each test (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("audited") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@dataclass
class Faces:
    """One database, and the three ways staff change it: the CLI, the API, the console."""

    runtime: Runtime
    client: TestClient
    staff: str
    csrf: str
    env: dict[str, str]
    folder: Path

    def cli(self, *args: str) -> Any:
        return Notifier(dict(self.env), self.folder)(*args)

    def api(self, path: str, **kwargs: Any) -> Any:
        answer = self.client.post(
            path, headers={"Authorization": f"Bearer {self.staff}"}, **kwargs
        )
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def console(self, path: str, **data: str) -> Any:
        answer = self.client.post(path, data={"csrf": self.csrf, **data}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return answer

    def file(self, data: dict[str, Any]) -> str:
        path = self.folder / "upload.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return str(path)

    # What the operations act on, made without an audited face.
    def scheduled_policy(self, ref: str = "p1") -> int:
        draft = parse_policy(
            policy(ref=ref, published_at=SCHEDULED, deadlines=[DEADLINE]),
            zone=self.runtime.settings.zone,
        )
        return publish(self.runtime.sessions, Enqueued(), draft).policy_id

    def deadline(self) -> int:
        policy_id = self.scheduled_policy()
        with self.runtime.sessions() as session:
            found = session.scalar(select(Deadline.id).where(Deadline.policy_id == policy_id))
        assert found is not None
        return found

    def campaign(self, *, paused: bool = False) -> int:
        settings = self.runtime.settings
        draft = parse_campaign(CAMPAIGN, zone=settings.zone, now=self.runtime.time_source.now())
        context = self.runtime.context(CLOCK)
        campaign_id = create_campaign(context, draft)
        if paused:
            pause(context, campaign_id)
        return campaign_id

    def entries(self, action: str) -> list[AuditEntry]:
        with self.runtime.sessions() as session:
            query = select(AuditEntry).where(AuditEntry.action == action)
            return [e for e in session.scalars(query) if e.face != "clock"]


@pytest.fixture
def faces(migrated, make_runtime, tmp_path) -> Faces:
    path = tmp_path / "audited.db"
    shutil.copy(migrated, path)
    url = f"sqlite:///{path}"
    runtime = make_runtime(database_url=url, secret_key=SECRET)
    seed(runtime, [Firm(1), Firm(2)])
    client = TestClient(web_app(runtime), raise_server_exceptions=False)
    staff = make_key(runtime, "staff")
    env = {
        "NOTIFIER_DATABASE_URL": url,
        "NOTIFIER_VAR_DIR": str(tmp_path / "var"),
        "NOTIFIER_SECRET_KEY": SECRET,
        "NOTIFIER_ENVIRONMENT": "test",
    }
    return Faces(runtime, client, staff, signed_in(client, staff), env, tmp_path)


def _publish(faces: Faces, face: str) -> int:
    body = policy(ref="new", published_at=SCHEDULED)
    if face == "cli":
        faces.cli("policies", "publish", faces.file(body))
    elif face == "api":
        return int(faces.api("/api/v1/policies", json=body)["id"])
    else:
        fields = {k: body[k] for k in ("ref", "title", "department", "summary", "published_at")}
        faces.console("/console/policies", sectors="C36", **fields)
    with faces.runtime.sessions() as session:
        return int(session.scalar(select(func.max(Policy.id))) or 0)


def _revise(faces: Faces, face: str) -> int:
    policy_id = faces.scheduled_policy()
    body = policy(ref="p1", published_at=SCHEDULED, deadlines=[DEADLINE], summary="更正后的摘要")
    if face == "cli":
        faces.cli("policies", "revise", faces.file(body))
    elif face == "api":
        faces.api(f"/api/v1/policies/{policy_id}/revise", json=body)
    else:  # the correction form: filled with the policy, changed, compared, then saved
        path = f"/console/policies/{policy_id}/correct"
        sent = fields_of(faces.client.get(path).text)
        sent["summary"] = [body["summary"]]
        shown = faces.client.post(path, data=sent)
        saved = faces.client.post(path, data=fields_of(shown.text), follow_redirects=False)
        assert saved.status_code == 303, saved.text
    return policy_id


def _withdraw(faces: Faces, face: str) -> int:
    policy_id = faces.scheduled_policy()
    if face == "cli":
        faces.cli("policies", "cancel", str(policy_id))
    elif face == "api":
        faces.api(f"/api/v1/policies/{policy_id}/cancel")
    else:
        faces.console(f"/console/policies/{policy_id}/cancel")
    return policy_id


def _move(faces: Faces, face: str) -> int:
    deadline_id = faces.deadline()
    if face == "cli":
        faces.cli("deadlines", "move", str(deadline_id), "2099-07-15")
    else:
        faces.api(f"/api/v1/deadlines/{deadline_id}/move", json={"due_at": "2099-07-15"})
    return deadline_id


def _cancel_deadline(faces: Faces, face: str) -> int:
    deadline_id = faces.deadline()
    if face == "cli":
        faces.cli("deadlines", "cancel", str(deadline_id))
    else:
        faces.api(f"/api/v1/deadlines/{deadline_id}/cancel")
    return deadline_id


def _done(faces: Faces, face: str) -> int:
    deadline_id = faces.deadline()
    if face == "cli":
        faces.cli("deadlines", "done", str(deadline_id), credit_code(1))
    elif face == "api":
        faces.api(f"/api/v1/deadlines/{deadline_id}/done", json={"credit_code": credit_code(1)})
    else:  # the firm follows the link in its reminder
        url = faces.runtime.messages.deadline_done_url(deadline_id, enterprise_id=1)
        path = "/d/" + url.rsplit("/", 1)[1]
        page = faces.client.get(path).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        assert faces.client.post(path, data={"csrf": csrf.group(1)}).status_code == 200
    return deadline_id


def _create(faces: Faces, face: str) -> int:
    if face == "cli":
        faces.cli("campaigns", "create", faces.file(CAMPAIGN))
    elif face == "api":
        return int(faces.api("/api/v1/campaigns", json=CAMPAIGN)["id"])
    else:
        faces.console("/console/campaigns/new", **CAMPAIGN_FORM)
    with faces.runtime.sessions() as session:
        return int(session.scalar(select(func.max(Campaign.id))) or 0)


def _status_change(verb: str) -> Callable[[Faces, str], int]:
    def change(faces: Faces, face: str) -> int:
        campaign_id = faces.campaign(paused=verb == "resume")
        if face == "cli":
            faces.cli("campaigns", verb, str(campaign_id))
        elif face == "api":
            faces.api(f"/api/v1/campaigns/{campaign_id}/{verb}")
        else:
            faces.console(f"/console/campaigns/{campaign_id}/{verb}")
        return campaign_id

    return change


def _test_send(faces: Faces, face: str) -> int:
    campaign_id = faces.campaign()
    if face == "cli":
        faces.cli("campaigns", "test-send", str(campaign_id), "--to", "13800009999")
    elif face == "api":
        sent = {"channel": "短信", "to": "13800009999"}
        faces.api(f"/api/v1/campaigns/{campaign_id}/test-send", json=sent)
    else:
        path = f"/console/campaigns/{campaign_id}/test-send"
        answer = faces.client.post(path, data={"csrf": faces.csrf, "to_sms": "13800009999"})
        assert answer.status_code == 200 and 'id="tested-sms"' in answer.text, answer.text
    return campaign_id


def _update(faces: Faces, face: str) -> int:
    campaign_id = faces.campaign()
    edited = {**CAMPAIGN_FORM, "name": CAMPAIGN["name"], "repeat": "workdays"}
    faces.console(f"/console/campaigns/{campaign_id}/edit", **edited)
    return campaign_id


OPERATIONS: dict[str, tuple[Callable[[Faces, str], int], tuple[str, ...]]] = {
    "policy.publish": (_publish, ("cli", "api", "console")),
    "policy.revise": (_revise, ("cli", "api", "console")),
    "policy.cancel": (_withdraw, ("cli", "api", "console")),
    "deadline.move": (_move, ("cli", "api")),
    "deadline.cancel": (_cancel_deadline, ("cli", "api")),
    "deadline.done": (_done, ("cli", "api", "page")),
    "campaign.create": (_create, ("cli", "api", "console")),
    "campaign.pause": (_status_change("pause"), ("cli", "api", "console")),
    "campaign.resume": (_status_change("resume"), ("cli", "api", "console")),
    "campaign.cancel": (_status_change("cancel"), ("cli", "api", "console")),
    "campaign.test_send": (_test_send, ("cli", "api", "console")),
    "campaign.update": (_update, ("console",)),
}
CASES = [(action, face) for action, (_, offered) in OPERATIONS.items() for face in offered]


@pytest.mark.parametrize(("action", "face"), CASES, ids=[f"{a}-{f}" for a, f in CASES])
def test_each_operation_is_audited_from_each_face_that_offers_it(faces, action, face):
    operate, _ = OPERATIONS[action]
    target_id = operate(faces, face)

    (entry,) = faces.entries(action)
    assert (entry.target_type, entry.target_id) == (action.split(".")[0], str(target_id))
    assert entry.face == face
    if face == "cli":
        assert (entry.actor_prefix, entry.actor_role) == (f"cli:{getpass.getuser()}", "operator")
    elif face == "page":
        with faces.runtime.sessions() as session:
            firm = get_by_credit_code(session, credit_code(1))
        assert firm is not None
        assert (entry.actor_prefix, entry.actor_role) == (f"enterprise:{firm.id}", "enterprise")
    else:
        assert faces.staff.startswith(entry.actor_prefix) and entry.actor_role == "staff"


def _counts(runtime: Runtime) -> tuple[int, ...]:
    with runtime.sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Policy, Trigger, Campaign, AuditEntry)
        )


def _refuse_to_record(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("the audit log is down")


@pytest.mark.parametrize("face", ["cli", "api", "console"])
def test_a_publish_whose_audit_row_fails_leaves_no_policy_and_no_trigger(
    faces, monkeypatch, face
):
    before = _counts(faces.runtime)
    monkeypatch.setattr(audit, "record", _refuse_to_record)
    body = policy(ref="now")  # due at once: it would get its trigger in the same transaction
    if face == "cli":
        with pytest.raises(RuntimeError, match="the audit log is down"):
            faces.cli("policies", "publish", faces.file(body))
    elif face == "api":
        answer = faces.client.post(
            "/api/v1/policies", json=body, headers={"Authorization": f"Bearer {faces.staff}"}
        )
        assert answer.status_code == 500
    else:
        fields = {k: body[k] for k in ("ref", "title", "department", "summary")}
        answer = faces.client.post(
            "/console/policies", data={"csrf": faces.csrf, "sectors": "C36", **fields}
        )
        assert answer.status_code == 500
    assert _counts(faces.runtime) == before


def test_a_campaign_change_whose_audit_row_fails_is_not_made(faces, monkeypatch):
    campaign_id = faces.campaign()
    monkeypatch.setattr(audit, "record", _refuse_to_record)
    answer = faces.client.post(
        f"/api/v1/campaigns/{campaign_id}/cancel",
        headers={"Authorization": f"Bearer {faces.staff}"},
    )
    assert answer.status_code == 500
    with faces.runtime.sessions() as session:
        assert session.get(Campaign, campaign_id).status == "scheduled"


def test_a_deadline_cancel_whose_audit_row_fails_leaves_the_deadline_as_it_was(faces, monkeypatch):
    deadline_id = faces.deadline()
    monkeypatch.setattr(audit, "record", _refuse_to_record)
    with pytest.raises(RuntimeError, match="the audit log is down"):
        faces.cli("deadlines", "cancel", str(deadline_id))
    with faces.runtime.sessions() as session:
        assert session.get(Deadline, deadline_id).cancelled_at is None


def test_the_audit_log_over_the_api_names_the_face_of_each_change(faces):
    deadline_id = faces.deadline()
    faces.cli("deadlines", "move", str(deadline_id), "2099-07-15")
    faces.api(f"/api/v1/deadlines/{deadline_id}/cancel")
    admin = {"Authorization": f"Bearer {make_key(faces.runtime, 'admin')}"}
    items = faces.client.get("/api/v1/audit", headers=admin).json()["items"]
    shown = [(e["action"], e["face"], e["actor_prefix"]) for e in items]
    assert shown[:2] == [
        ("deadline.cancel", "api", faces.staff[: len(items[0]["actor_prefix"])]),
        ("deadline.move", "cli", f"cli:{getpass.getuser()}"),
    ]

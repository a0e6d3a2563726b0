"""Every administrative operation is audited, in its own transaction, whichever face does it:
the command line (as ``cli:<user>``), the API and the console (as the key), an enterprise's own
pages (as the enterprise). One row per operation and face, naming the action, target and face;
and an import that fails before its audit row is written leaves no enterprise behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from notifier.domain.secret_box import new_key
from notifier.domain.tokens import make_unsubscribe_token
from notifier.runtime import Runtime
from notifier.services.access.api_keys import create_key
from notifier.services.context import Actor
from notifier.services.providers.admin import ProviderDraft, add
from notifier.store import enterprises as enterprise_store
from notifier.store.models import AuditEntry, Enterprise

from support.cli import Notifier
from support.console_import import preset_mapping
from support.factories import Firm, acting, credit_code, enterprise_csv
from support.web_harness import SECRET, console_runtime, csrf_of, make_key, signed_in, web_app

KEY = new_key()
NOTICE = "国庆节 2032-10-01 至 2032-10-07\n"


@dataclass
class Faces:
    """One database, reached through the CLI, the API, the console and the firm's pages."""

    runtime: Runtime
    folder: Path
    client: TestClient
    admin: str = ""
    _csrf: str = ""
    expected: dict[str, str] = field(default_factory=dict)

    # --- the faces

    def cli(self, *args: str) -> str:
        env = {
            "NOTIFIER_DATABASE_URL": self.runtime.settings.database_url,
            "NOTIFIER_VAR_DIR": str(self.folder / "var"),
            "NOTIFIER_SECRET_KEY": SECRET,
            "NOTIFIER_SECRETS__KEYS": json.dumps([KEY]),
        }
        result = Notifier(dict(env), self.folder)(*args)
        self.expected["cli"] = Actor.operator().name
        return result.stdout

    def api(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> Any:
        key = key or self.admin
        answer = self.client.request(
            method, f"/api/v1{path}", headers={"Authorization": f"Bearer {key}"}, **kwargs
        )
        assert answer.status_code < 300, answer.text
        self.expected["api"] = key[:14]
        return answer.json()

    def console(self, path: str, **data: str) -> str:
        if not self._csrf:
            self._csrf = signed_in(self.client, self.admin)
        files = data.pop("files", None)
        answer = self.client.post(f"/console{path}", data={**data, "csrf": self._csrf}, files=files)  # type: ignore[arg-type]
        assert answer.status_code == 200, answer.text[-2000:]
        self.expected["console"] = self.admin[:14]
        return answer.text

    def page(self, *, one_click: bool = False, **data: str) -> None:
        enterprise_id = self.enterprise_id(1)
        token = make_unsubscribe_token(SECRET, enterprise_id=enterprise_id, channel="sms")
        if one_click:
            answer = self.client.post(
                f"/u/{token}",
                content="List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            csrf = csrf_of(self.client.get(f"/u/{token}").text)
            answer = self.client.post(f"/u/{token}", data={**data, "csrf": csrf})
        assert answer.status_code == 200, answer.text[-2000:]
        self.expected["page"] = f"enterprise:{enterprise_id}"

    # --- helpers

    def enterprise_id(self, number: int) -> int:
        with self.runtime.sessions() as session:
            found = enterprise_store.get_by_credit_code(session, credit_code(number))
            assert found is not None
            return found.id

    def firm_key(self) -> str:
        return create_key(
            self.runtime.sessions, role="enterprise", name="firm", credit_code=credit_code(1),
            secret=SECRET, time_source=self.runtime.time_source,
        ).key  # fmt: skip

    def staff_key(self) -> str:
        return make_key(self.runtime, "staff")

    def register(self, name: str) -> Path:
        path = self.folder / name
        path.write_text(enterprise_csv([Firm(40), Firm(41)]), encoding="utf-8")
        return path

    def provider(self, name: str) -> None:
        draft = ProviderDraft(name=name, channel="sms", kind="dry-run")
        add(acting(self.runtime), draft)


@pytest.fixture
def faces(make_runtime, tmp_path: Path) -> Faces:
    runtime = console_runtime(make_runtime, tmp_path / "db", secrets={"keys": [KEY]})
    made = Faces(runtime, tmp_path, TestClient(web_app(runtime)))
    made.admin = make_key(runtime, "admin")
    return made


# Each operation through one face: does it and returns the audit row's target id.
Do = Callable[[Faces], object]


def _import_cli(f: Faces) -> object:
    f.cli("enterprises", "import", str(f.register("名册.csv")))
    return "名册.csv"


def _import_api(f: Faces) -> object:
    upload = {"file": ("名册.csv", f.register("名册.csv").read_bytes(), "text/csv")}
    f.api("POST", "/enterprises/import", files=upload)
    return "名册.csv"


def _import_console(f: Faces) -> object:
    upload = {"file": ("名册.csv", f.register("名册.csv").read_bytes(), "text/csv")}
    mapping = f.console("/enterprises/import", files=upload)
    report = f.console("/enterprises/import/confirm", **preset_mapping(mapping))
    assert 'id="import-report"' in report
    return "名册.csv"


ENTERPRISE = {
    "credit_code": credit_code(30),
    "name": "新企业有限公司",
    "sectors": ["C3670"],
    "region": "浙江省/宁波市/北仑区/大碶街道/灵峰工业社区",
    "size": "小型",
    "phone": "13800000030",
    "channels": ["短信"],
}


def _save_api(f: Faces) -> object:
    f.api("POST", "/enterprises", json=ENTERPRISE)
    return credit_code(30)


def _update_api(f: Faces) -> object:
    f.api(
        "PUT", f"/enterprises/{credit_code(1)}", json={**ENTERPRISE, "credit_code": credit_code(1)}
    )
    return credit_code(1)


def _unsubscribe_cli(f: Faces) -> object:
    f.cli("enterprises", "unsubscribe", credit_code(2), "--channel", "email")
    return credit_code(2)


def _template_cli(f: Faces) -> object:
    body = f.folder / "body.txt"
    body.write_text("您好，这是测试模板。", encoding="utf-8")
    f.cli("templates", "set", "问候", "--channel", "sms", "--file", str(body))
    return "问候/sms"


def _template_api(f: Faces) -> object:
    f.api("PUT", "/templates/问候/sms", json={"body": "您好，这是测试模板。"})
    return "问候/sms"


def _template_console(f: Faces) -> object:
    f.console(
        "/templates", name="问候", channel="sms", body="您好，这是测试模板。", subject="", html=""
    )
    return "问候/sms"


def _provider_add_cli(f: Faces) -> object:
    f.cli("providers", "add", "dry-a", "--channel", "sms", "--kind", "dry-run")
    return "dry-a"


def _provider_add_console(f: Faces) -> object:
    f.console(
        "/admin/providers", name="dry-a", channel="短信", kind="dry-run", priority="0",
        enabled="1", options="", secrets="",
    )  # fmt: skip
    return "dry-a"


def _provider(verb: str, face: str) -> Do:
    def do(f: Faces) -> object:
        f.provider("dry-b")
        if face == "cli":
            f.cli(
                "providers", verb, "dry-b", *(("--to", "+8613800138000") if verb == "test" else ())
            )
        else:
            path = "test-send" if verb == "test" else verb
            extra = {"to": "+8613800138000"} if verb == "test" else {}
            f.console(f"/admin/providers/dry-b/{path}", **extra)
        return "dry-b"

    return do


def _rotate_cli(f: Faces) -> object:
    f.provider("dry-c")
    f.cli("providers", "rotate-secrets")
    return None


def _key_create_cli(f: Faces) -> object:
    made = json.loads(
        f.cli("keys", "create", "--role", "staff", "--name", "张三", "--format", "json")
    )
    return made["prefix"]


def _key_create_api(f: Faces) -> object:
    return f.api("POST", "/keys", json={"role": "staff", "name": "张三"})["prefix"]


def _key_create_console(f: Faces) -> object:
    page = f.console("/admin/keys", role="staff", name="张三", enterprise="")
    with f.runtime.sessions() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.target_id in page
        return entry.target_id


def _key_revoke(face: str) -> Do:
    def do(f: Faces) -> object:
        prefix = f.staff_key()[:14]
        if face == "cli":
            f.cli("keys", "revoke", prefix)
        elif face == "api":
            f.api("POST", f"/keys/{prefix}/revoke")
        else:
            f.console(f"/admin/keys/{prefix}/revoke")
        return prefix

    return do


def _preferences_api(f: Faces) -> object:
    f.api(
        "PUT", "/me/subscriptions", key=f.firm_key(), json={"channels": ["sms"], "topics": ["人才"]}
    )
    return credit_code(1)


def _preferences_page(f: Faces) -> object:
    f.page(channel="sms", topic="人才")
    return credit_code(1)


def _leave_page(f: Faces) -> object:
    f.page(one_click=True)
    return credit_code(1)


def _endpoint_id(f: Faces) -> str:
    with f.runtime.sessions() as session:
        from notifier.store.models import Contact

        contact = session.scalars(
            select(Contact).where(
                Contact.enterprise_id == f.enterprise_id(1), Contact.channel == "webhook"
            )
        ).one()
        return str(contact.id)


def _secret_api(f: Faces) -> object:
    taken = f.api("POST", "/me/webhook-secret", key=f.firm_key())
    assert taken["secret"].startswith("whsec_")
    return _endpoint_id(f)


def _secret_page(f: Faces) -> object:
    f.page(action="webhook_secret")
    return _endpoint_id(f)


def _overlap_api(f: Faces) -> object:
    key = f.firm_key()
    f.api("POST", "/me/webhook-secret", key=key)  # from the shared secret: an overlap begins
    f.api("DELETE", "/me/webhook-secret/previous", key=key)
    return _endpoint_id(f)


def _overlap_page(f: Faces) -> object:
    f.page(action="webhook_secret")
    f.page(action="end_overlap")
    return _endpoint_id(f)


def _calendar(verb: str, face: str) -> Do:
    def do(f: Faces) -> object:
        if verb == "remove":
            f.cli("calendar", "set", "2032-03-03", "holiday", "--name", "测试")
        if face == "cli":
            if verb == "notice":
                notice = f.folder / "notice.txt"
                notice.write_text(NOTICE, encoding="utf-8")
                f.cli("calendar", "import", str(notice), "--year", "2032")
            else:
                args = {
                    "set": ("set", "2032-03-03", "holiday", "--name", "测试"),
                    "remove": ("unset", "2032-03-03"),
                    "year": ("complete", "2032"),
                }[verb]
                f.cli("calendar", *args)
        else:
            path, data = {
                "notice": (
                    "/calendar/notice",
                    {"year": "2032", "notice": NOTICE, "complete": "1", "action": "save"},
                ),
                "set": (
                    "/calendar/days",
                    {"date": "2032-03-03", "kind": "holiday", "name": "测试", "year": "2032"},
                ),
                "remove": ("/calendar/days/2032-03-03/remove", {}),
                "year": ("/calendar/years/2032", {"complete": "1"}),
            }[verb]
            f.console(path, **data)
        return "2032" if verb in ("notice", "year") else "2032-03-03"

    return do


CASES: list[tuple[str, str, Do]] = [
    ("enterprise.import", "cli", _import_cli),
    ("enterprise.import", "api", _import_api),
    ("enterprise.import", "console", _import_console),
    ("enterprise.save", "api", _save_api),
    ("enterprise.update", "api", _update_api),
    ("enterprise.unsubscribe", "cli", _unsubscribe_cli),
    ("template.save", "cli", _template_cli),
    ("template.save", "api", _template_api),
    ("template.save", "console", _template_console),
    ("provider.add", "cli", _provider_add_cli),
    ("provider.add", "console", _provider_add_console),
    *[
        (f"provider.{verb}", face, _provider(verb, face))
        for verb in ("disable", "enable", "remove", "test")
        for face in ("cli", "console")
    ],
    ("provider.rotate_secrets", "cli", _rotate_cli),
    ("key.create", "cli", _key_create_cli),
    ("key.create", "api", _key_create_api),
    ("key.create", "console", _key_create_console),
    *[("key.revoke", face, _key_revoke(face)) for face in ("cli", "api", "console")],
    ("preferences.change", "api", _preferences_api),
    ("preferences.change", "page", _preferences_page),
    ("preferences.unsubscribe", "page", _leave_page),
    ("webhook_secret.take", "api", _secret_api),
    ("webhook_secret.take", "page", _secret_page),
    ("webhook_secret.end_overlap", "api", _overlap_api),
    ("webhook_secret.end_overlap", "page", _overlap_page),
    *[
        (action, face, _calendar(verb, face))
        for verb, action in (
            ("set", "calendar.day.set"),
            ("remove", "calendar.day.remove"),
            ("year", "calendar.year.set"),
            ("notice", "calendar.notice"),
        )
        for face in ("cli", "console")
    ],
]


@pytest.mark.parametrize(
    ("action", "face", "do"), CASES, ids=[f"{a}-{face}" for a, face, _ in CASES]
)
def test_each_operation_is_audited_by_each_face_that_offers_it(faces, action, face, do):
    target = do(faces)
    with faces.runtime.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
        ).first()
    assert entry is not None, f"no {action} audit row"
    assert (entry.face, entry.actor_prefix) == (face, faces.expected[face])
    assert entry.target_id == (None if target is None else str(target))


def test_no_audit_row_names_a_secret_or_a_key(faces):
    for _, _, do in [c for c in CASES if c[0] in ("key.create", "webhook_secret.take")]:
        do(faces)
    with faces.runtime.sessions() as session:
        rows = [(e.before, e.after) for e in session.scalars(select(AuditEntry))]
    text = json.dumps(rows, ensure_ascii=False, default=str)
    assert "whsec_" not in text and "ntf_" in text  # prefixes only
    assert not any(len(word) > 14 and word.startswith("ntf_") for word in text.split('"'))


def test_an_import_whose_audit_row_fails_stores_no_enterprise(faces, monkeypatch):
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the audit log is unavailable")

    with faces.runtime.sessions() as session:
        before = session.scalar(select(func.count()).select_from(Enterprise))
    monkeypatch.setattr("notifier.store.audit.record", broken)
    upload = {"file": ("名册.csv", faces.register("名册.csv").read_bytes(), "text/csv")}
    client = TestClient(web_app(faces.runtime), raise_server_exceptions=False)
    answer = client.post(
        "/api/v1/enterprises/import",
        files=upload,
        headers={"Authorization": f"Bearer {faces.admin}"},
    )
    assert answer.status_code == 500
    monkeypatch.undo()
    with faces.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Enterprise)) == before
        imported = enterprise_store.get_by_credit_code(session, credit_code(40))
        assert imported is None
        assert (
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == "enterprise.import")
            ).first()
            is None
        )

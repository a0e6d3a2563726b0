"""``/console/enterprises/import``: upload a register, map its columns to fields, import it,
then offer its bad rows (with 错误原因) as XLSX; and a template with the Chinese headings.

The upload is kept between the two steps in ``var_dir/imports`` under a random token (an hour
at most), as is the bad-rows file after the import. Handlers are plain ``def``: FastAPI runs
them in a worker thread, off the event loop.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from notifier.domain.xlsx_export import XLSX_MEDIA_TYPE
from notifier.errors import InputError
from notifier.inputs.enterprise_csv import FIELDS
from notifier.services.enterprises.bad_rows import bad_rows_xlsx, template_xlsx
from notifier.services.enterprises.importing import import_register
from notifier.services.enterprises.mapping import propose
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, StaffPost, StaffUser
from notifier.web.console.enterprises import import_page

router = APIRouter()

# Staged uploads and bad-rows files older than this are removed.
KEEP_SECONDS = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")
_BAD_ROWS = ".bad.xlsx"


def _folder(console: Console) -> Path:
    folder = console.runtime.settings.var_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _stage(console: Console, file: UploadFile) -> str:
    """Keep the upload under a new token; forget staged files older than ``KEEP_SECONDS``."""
    folder = _folder(console)
    cutoff = time.time() - KEEP_SECONDS
    for old in folder.iterdir():
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(16)
    descriptor = os.open(folder / token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        shutil.copyfileobj(file.file, out)
    return token


def _staged(console: Console, token: str, suffix: str = "") -> Path:
    path = _folder(console) / f"{token}{suffix}" if _TOKEN.match(token) else None
    if path is None or not path.is_file():
        raise InputError(
            "file: 上传的文件已过期，请重新上传 / the upload has expired; upload the file again",
            field="file",
        )
    return path


@router.get("/enterprises/template.xlsx")
def template(user: StaffUser) -> Response:
    """An empty register under the Chinese headings."""
    headers = {"Content-Disposition": "attachment; filename=register-template.xlsx"}
    return Response(template_xlsx(), media_type=XLSX_MEDIA_TYPE, headers=headers)


@router.post("/enterprises/import", response_class=HTMLResponse)
def upload(
    request: Request, user: StaffPost, form: PostedForm, console: ConsoleDep
) -> HTMLResponse:
    """Check the register whole (bounds, format) and show its columns to map."""
    file = form.get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise InputError("file: 请选择文件 / choose a file", field="file")
        proposal = propose(console.acting(user), file.file, name=file.filename)
        file.file.seek(0)
        token = _stage(console, file)
    except InputError as exc:
        return import_page(console, request, user, status_code=400, error=str(exc))
    return console.page(
        request,
        "console/enterprise_mapping.html",
        user,
        token=token,
        file_name=file.filename,
        proposal=proposal,
        columns=list(zip(proposal.headings, proposal.fields, strict=True)),
        fields=FIELDS,
        dry_run=form.get("dry_run") == "on",
    )


def _mapping(form: Any, width: int) -> list[str]:
    fields = [str(form.get(f"field_{index}") or "") for index in range(width)]
    unknown = [field for field in fields if field and field not in FIELDS]
    if unknown:
        raise InputError(f"header: 未知字段 / unknown field {unknown[0][:20]!r}", field="header")
    return fields


@router.post("/enterprises/import/confirm", response_class=HTMLResponse)
def confirm(
    request: Request, user: StaffPost, form: PostedForm, console: ConsoleDep
) -> HTMLResponse:
    """Import the staged register with the clerk's mapping; show the report."""
    token = str(form.get("token") or "")
    name = str(form.get("name") or "upload.csv")[:200]
    try:
        path = _staged(console, token)
        width = min(int(str(form.get("width") or "0")), 100)
        context = console.acting(user)
        with path.open("rb") as source:
            report = import_register(
                context, source, name=name, dry_run=form.get("dry_run") == "on",
                mapping=_mapping(form, width), keep_bad_rows=True,
            )  # fmt: skip
            if report.bad_rows:
                bad = bad_rows_xlsx(context, source, name=name, report=report)
                path.with_name(token + _BAD_ROWS).write_bytes(bad)
    except (InputError, ValueError) as exc:
        return import_page(console, request, user, status_code=400, error=str(exc))
    return import_page(console, request, user, report=report.as_dict(), token=token)


@router.get("/enterprises/import/{token}/bad-rows.xlsx")
def bad_rows(token: str, user: StaffUser, console: ConsoleDep) -> Response:
    """The bad rows of an import, each with its 错误原因."""
    try:
        path = _staged(console, token, _BAD_ROWS)
    except InputError:
        raise HTTPException(status_code=404, detail="no such file") from None
    headers = {"Content-Disposition": "attachment; filename=bad-rows.xlsx"}
    return Response(path.read_bytes(), media_type=XLSX_MEDIA_TYPE, headers=headers)

"""A secrets key of its own for a development install, so providers with secrets work at once.

``secrets.keys`` encrypts provider secrets in the database. In production it must be configured
(``NOTIFIER_SECRETS__KEYS``); elsewhere, when none is, ``notifier run`` and ``make run`` make one
at their first start and keep it in ``<var_dir>/secrets.key`` (mode 0600, said once). Every
command then reads that file, so the shell's ``notifier providers ...`` open the same secrets.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from notifier.config import Settings
from notifier.domain.secret_box import new_key

KEY_FILE = "secrets.key"


def key_path(settings: Settings) -> Path:
    """Where a development install keeps its own secrets key."""
    return settings.var_dir / KEY_FILE


def _eligible(settings: Settings) -> bool:
    # Production keeps its keys where the operator put them; a configured key always wins.
    return settings.environment != "production" and not settings.secrets.keys


def with_local_key(settings: Settings) -> Settings:
    """``settings`` with the kept key as ``secrets.keys`` when it applies and the file exists."""
    path = key_path(settings)
    if not _eligible(settings) or not path.is_file():
        return settings
    return _using(settings, path.read_text(encoding="ascii").strip())


def create_local_key(settings: Settings) -> tuple[Settings, Path | None]:
    """Make the key file if it applies and is missing; return the settings using it and the
    path made (None when nothing was made)."""
    if not _eligible(settings):
        return settings, None
    path = key_path(settings)
    if path.is_file():
        return with_local_key(settings), None
    key = new_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once do not both write; 0600 from the start.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return with_local_key(settings), None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return _using(settings, key), path


def announcement(path: Path) -> str:
    """The one line that says a key was made, and what production needs instead."""
    return (
        f"已生成服务商密钥加密密钥 / made a secrets key for provider secrets: {path} (0600); "
        "生产环境请设置 / in production set NOTIFIER_SECRETS__KEYS"
    )


def _using(settings: Settings, key: str) -> Settings:
    secrets = settings.secrets.model_copy(update={"keys": [SecretStr(key)]})
    return settings.model_copy(update={"secrets": secrets})

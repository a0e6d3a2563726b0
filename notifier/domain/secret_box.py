"""Provider secrets encrypted at rest: cryptography's MultiFernet over ``secrets.keys``.

The first key encrypts, every key decrypts, so a key is rotated by putting a new one first,
re-encrypting the rows (``notifier providers rotate-secrets``) and then dropping the old one.
A secret is a small mapping (``{"app_secret": "..."}``), stored as one Fernet token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from notifier.errors import ConfigError

KEYS_SETTING = "secrets.keys (NOTIFIER_SECRETS__KEYS)"


def new_key() -> str:
    """A fresh key for ``secrets.keys`` (32 random bytes, URL-safe base64)."""
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Encrypts and decrypts provider secrets with the configured keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        """Build from ``keys``, newest first; an empty list makes a box that refuses to work.

        Raises:
            ConfigError: a key is not a Fernet key (never quoted).
        """
        fernets = []
        for index, key in enumerate(keys):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise ConfigError(
                    f"{KEYS_SETTING}[{index}]: 不是有效的密钥 / not a valid key (32 bytes, "
                    "URL-safe base64; make one with `notifier providers new-key`)"
                ) from None
        self._fernet = MultiFernet(fernets) if fernets else None

    @property
    def configured(self) -> bool:
        """True when at least one key is set."""
        return self._fernet is not None

    def _required(self, what: str) -> MultiFernet:
        if self._fernet is None:
            raise ConfigError(f"{what}: 未配置加密密钥 / no key is configured: set {KEYS_SETTING}")
        return self._fernet

    def encrypt(self, secrets: Mapping[str, str], *, what: str) -> bytes:
        """One token holding ``secrets``, made with the first key.

        Raises:
            ConfigError: no key is configured; ``what`` names the provider.
        """
        plain = json.dumps(dict(secrets), ensure_ascii=False, sort_keys=True).encode("utf-8")
        return self._required(what).encrypt(plain)

    def decrypt(self, token: bytes, *, what: str) -> dict[str, str]:
        """The secrets in ``token``.

        Raises:
            ConfigError: no key is configured, or none of them opens the token.
        """
        try:
            plain = self._required(what).decrypt(token)
        except InvalidToken:
            raise ConfigError(
                f"{what}: 密钥无法解密 / its secret cannot be decrypted with any key in "
                f"{KEYS_SETTING} (was the key it was made with removed?)"
            ) from None
        values = json.loads(plain.decode("utf-8"))
        return {str(key): str(value) for key, value in values.items()}

    def rotate(self, token: bytes, *, what: str) -> bytes:
        """``token`` made again with the first key (its secrets unchanged).

        Raises:
            ConfigError: as :meth:`decrypt`.
        """
        try:
            return self._required(what).rotate(token)
        except InvalidToken:
            self.decrypt(token, what=what)  # raises the message that names the problem
            raise

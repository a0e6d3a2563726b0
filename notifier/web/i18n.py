"""The console's and the enterprise pages' words in Chinese and English.

``catalogue.toml`` beside this module holds every text a page shows, each key with its
``zh-CN`` and ``en`` wording side by side, so a translator edits one plain file. Simplified
Chinese is the default; English is chosen by the ``lang`` cookie (the switch on every page) or,
without the cookie, by a browser that prefers English (``Accept-Language``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ZH = "zh-CN"
EN = "en"
LANGUAGES = (ZH, EN)
DEFAULT = ZH
COOKIE = "lang"
CATALOGUE_FILE = Path(__file__).with_name("catalogue.toml")


class MissingText(KeyError):
    """A page asked for a key the catalogue lacks (a test renders every page to find these)."""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, str]]:
    entries: dict[str, dict[str, str]] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and set(value) <= set(LANGUAGES) and value:
            entries[name] = {lang: str(text) for lang, text in value.items()}
        elif isinstance(value, Mapping):
            entries.update(_flatten(value, f"{name}."))
        else:
            raise ValueError(f"catalogue: {name} must give zh-CN and en")
    return entries


@cache
def catalogue(path: Path = CATALOGUE_FILE) -> dict[str, dict[str, str]]:
    """Every key with its text per language, read once."""
    with path.open("rb") as file:
        return _flatten(tomllib.load(file))


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The page's language: the cookie when it names one we have, else the browser's first
    preference among ours, else Chinese."""
    if cookie in LANGUAGES:
        return cookie
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return ZH
        if tag.startswith("en"):
            return EN
    return DEFAULT


@dataclass(frozen=True)
class Translator:
    """The texts of one language: ``t("nav.dashboard")``, ``t("x.count", n=3)``."""

    language: str
    texts: Mapping[str, Mapping[str, str]]

    def __call__(self, key: str, **values: Any) -> str:
        try:
            text = self.texts[key][self.language]
        except KeyError:
            raise MissingText(f"{key} ({self.language})") from None
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether the catalogue holds ``key`` in this language."""
        return self.language in self.texts.get(key, {})


def translator(language: str) -> Translator:
    """The translator of ``language`` over the shipped catalogue."""
    return Translator(language, catalogue())

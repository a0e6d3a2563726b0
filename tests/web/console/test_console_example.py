"""The create form's example campaign file ships with the package (an installed copy shows it,
not an empty box) and is the one the docs show."""

from __future__ import annotations

import tomllib
from pathlib import PurePosixPath

from notifier.web.console.campaigns import EXAMPLE, example_text

from support.paths import REPO as ROOT

PACKAGED = ROOT / "notifier" / "web" / "console" / "examples" / "campaign.json"


def test_the_packaged_example_is_the_docs_example():
    docs = ROOT / "docs" / "examples" / "campaign.json"
    assert PACKAGED.read_bytes() == docs.read_bytes()
    assert example_text() == PACKAGED.read_text(encoding="utf-8")


def test_the_example_is_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["notifier"]
    relative = PurePosixPath(PACKAGED.relative_to(ROOT / "notifier").as_posix())
    assert any(relative.match(pattern) for pattern in patterns)
    assert EXAMPLE.is_file()


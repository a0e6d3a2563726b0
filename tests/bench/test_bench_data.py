"""The benchmark's generated registers are valid input: every row imports (no timing here)."""

from __future__ import annotations

import sys
from pathlib import Path

from notifier.inputs.enterprise_csv import parse_enterprise_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for bench/

from bench.data import Group, mixed_channel, region_of, write_enterprises  # noqa: E402


def test_generated_enterprises_are_valid(tmp_path: Path) -> None:
    path = write_enterprises(
        tmp_path / "register.csv",
        Group(range(1, 301), region_of, mixed_channel),
        Group(range(9_999_990, 10_000_000), region_of, "sms;email;webhook"),
    )
    with path.open(encoding="utf-8-sig", newline="") as stream:
        records, errors = parse_enterprise_csv(stream)
    assert errors == []
    assert len({r.credit_code for r in records}) == 310

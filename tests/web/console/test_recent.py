"""The dashboard's counts kept a few seconds: fresh once older, the newest key only."""

from __future__ import annotations

from notifier.web.console.recent import Recent


def test_a_value_is_kept_until_it_is_older_than_its_seconds_then_computed_again():
    now = [100.0]
    recent = Recent(5.0, monotonic=lambda: now[0])
    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return len(computed)

    assert recent.get("counts", compute) == 1
    now[0] += 4.9
    assert recent.get("counts", compute) == 1  # still fresh: no second scan
    now[0] += 0.2
    assert recent.get("counts", compute) == 2  # older than 5 s: counted again
    assert recent.get("other day", compute) == 3  # a new key (the day changed)
    assert recent.get("counts", compute) == 4  # only the newest key is kept

"""One page of a list: which rows a page number asks for, and what a pager shows.

Every console list pages the same way: offset paging by a page number from 1, a fixed page
size, and the total count of the list (so the last page is known and nothing is cut off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# The most pages a number may name (a bigger one is read as the last page).
MAX_PAGE = 1_000_000


def page_number(raw: str | int | None) -> int:
    """The page a query value asks for: a whole number from 1; anything else is page 1."""
    text = str(raw or "").strip()
    if not text.isdigit() or len(text) > 7:
        return 1
    return min(max(int(text), 1), MAX_PAGE)


def pages_of(total: int, size: int) -> int:
    """How many pages ``total`` rows fill (at least one, an empty list's)."""
    return max(1, -(-total // size))


def clamped(number: int, total: int, size: int) -> int:
    """``number``, or the last page when it names one past the end."""
    return min(max(number, 1), pages_of(total, size))


def offset_of(number: int, size: int) -> int:
    """How many rows come before page ``number``."""
    return (number - 1) * size


@dataclass(frozen=True)
class Paged(Generic[T]):
    """The rows of page ``number`` (of ``size`` rows) of a list of ``total`` rows."""

    rows: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the list has."""
        return pages_of(self.total, self.size)

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one."""
        return self.number > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.number < self.pages

    @property
    def first_row(self) -> int:
        """The position (from 1) of this page's first row in the list (0 when empty)."""
        return offset_of(self.number, self.size) + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        """The position of this page's last row in the list (0 when empty)."""
        return offset_of(self.number, self.size) + len(self.rows)

"""Figures, their median and range over repetitions, the rich table and bench/RESULTS.md."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.targets import TARGETS, Target

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ANALYSIS = Path(__file__).resolve().parent / "ANALYSIS.md"


@dataclass
class Figure:
    section: str
    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    note: str = ""
    key: str = ""  # what a target reads (bench/targets.py)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def quantile(self, q: float) -> float:
        """Inclusive quantile of the values (q = 0.95: the 95th percentile)."""
        if len(self.values) == 1:
            return self.values[0]
        cuts = statistics.quantiles(self.values, n=100, method="inclusive")
        return cuts[round(q * 100) - 1]


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass
class Results:
    label: str
    command: str
    figures: dict[tuple[str, str], Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    context: dict[str, dict[str, str]] = field(default_factory=dict)
    # Table rows of the scenarios not run this time, kept from the previous results.
    kept: list[str] = field(default_factory=list)
    # Tables of their own (title, header, rows), e.g. the scaling run's CPU per process group.
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)

    def table_rows(self, title: str, header: list[str]) -> list[list[str]]:
        """The rows of the extra table ``title`` (created empty on first use)."""
        for name, _, rows in self.tables:
            if name == title:
                return rows
        self.tables.append((title, header, []))
        return self.tables[-1][2]

    def add(
        self, section: str, name: str, unit: str, value: float, note: str = "", *, key: str = ""
    ) -> None:
        figure = self.figures.setdefault((section, name), Figure(section, name, unit, key=key))
        figure.values.append(value)
        if note:
            figure.note = note

    def target_rows(self, targets: tuple[Target, ...] = TARGETS) -> list[list[str]]:
        """target, figure (with where it was measured), met: from this run's figures only."""
        by_key = {figure.key: figure for figure in self.figures.values() if figure.key}
        rows = []
        for target in targets:
            figure = by_key.get(target.key)
            if figure is None:
                rows.append([target.text, "not measured in this run", "—"])
                continue
            value, met = target.judge(figure.values)
            how = "largest" if target.worst else "median"
            runs = f"{how} of {len(figure.values)}" if len(figure.values) > 1 else "1 run"
            shown = f"{_number(value)} {figure.unit} ({runs}; {figure.section}: {figure.name})"
            rows.append([target.text, shown, met])
        return rows

    def keep_others(self, path: Path) -> None:
        """Keep the rows of ``path`` (earlier results) whose scenario this run did not measure,
        so that a run of some parts (``--only``) does not drop the others' figures."""
        if not path.exists():
            return
        ran = {figure.section for figure in self.figures.values()}
        lines = path.read_text(encoding="utf-8").splitlines()
        earlier = {line for line in lines[:8] if line.startswith(("`", "**Machine"))}
        for line in lines:
            cells = line.split(" | ")
            figure = line.startswith("| ") and len(cells) == 7 and cells[0] != "| scenario"
            if figure and cells[0][2:] not in ran and not set(cells[1]) <= {"-", " "}:
                self.kept.append(line)
        if self.kept:
            self.notes.append(
                "rows of the scenarios not run this time are kept from the previous results: "
                + "; ".join(sorted(earlier))
            )

    def rows(self) -> list[list[str]]:
        rows = []
        for figure in self.figures.values():
            spread = f"{_number(min(figure.values))}–{_number(max(figure.values))}"
            extra = figure.note
            if figure.unit == "s" and figure.name.startswith("latency"):
                extra = f"p95 {_number(figure.quantile(0.95))} s" + (f"; {extra}" if extra else "")
            rows.append(
                [
                    figure.section,
                    figure.name,
                    _number(figure.median),
                    spread,
                    figure.unit,
                    str(len(figure.values)),
                    extra,
                ]
            )
        return rows

    def print_table(self) -> None:
        table = Table(title=f"notifier benchmark ({self.label})")
        for column in ("scenario", "figure", "median", "min–max", "unit", "runs", "note"):
            table.add_column(column, justify="right" if column in ("median", "runs") else "left")
        for row in self.rows():
            table.add_row(*row)
        targets = Table(title="targets of issue 19, from this run's figures")
        for column in ("target", "figure", "met"):
            targets.add_column(column)
        for row in self.target_rows():
            targets.add_row(*row)
        console = Console(width=180)
        console.print(table)
        for title, header, rows in self.tables:
            extra = Table(title=title)
            for column in header:
                extra.add_column(column)
            for row in rows:
                extra.add_row(*row)
            console.print(extra)
        console.print(targets)

    def markdown(self) -> str:
        lines = [f"# Benchmark results ({self.label})", "", f"`{self.command}`", ""]
        for title, values in self.context.items():
            lines.append(f"**{title}**: " + ", ".join(f"{k} {v}" for k, v in values.items()))
            lines.append("")
        lines += [
            "Every figure is the median of its runs, with the smallest and largest run beside it. "
            "The machine is shared and noisy, so compare ratios (notifier against a peer measured "
            "in the same run, interleaved) rather than absolute rates.",
            "",
            "| scenario | figure | median | min–max | unit | runs | note |",
            "| --- | --- | ---: | ---: | --- | ---: | --- |",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows()]
        lines += self.kept
        lines += [
            "",
            "## Targets",
            "",
            "Computed by `bench/targets.py` from this run's figures (rows kept from an earlier run "
            "are not judged). Where a figure was measured at a smaller size than the target names "
            "(`--quick`), the figure column says so.",
            "",
            "| target | figure | met |",
            "| --- | --- | --- |",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.target_rows()]
        for title, header, rows in self.tables:
            lines += ["", f"## {title}", "", "| " + " | ".join(header) + " |"]
            lines += ["| " + " | ".join("---" for _ in header) + " |"]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"* {note}" for note in self.notes]
        if ANALYSIS.exists():  # the profile behind each missed target, kept by hand
            lines += ["", ANALYSIS.read_text(encoding="utf-8").rstrip()]
        return "\n".join(lines) + "\n"

    def write(self, path: Path = RESULTS) -> None:
        path.write_text(self.markdown(), encoding="utf-8")

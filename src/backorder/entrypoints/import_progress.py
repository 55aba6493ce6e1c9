"""A progress bar for long imports: how far into the file, rows read, rows per second.

Shown only when stdout is a terminal, so never in a pipe, a log or a test's captured output;
drawn by rich (which Typer ships) and cleared at the end, where the summary gives the rate.
The bar measures bytes read (the row count is unknown until the end), refreshed at most ten
times a second so that drawing costs nothing next to the import.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator

from ..adapters.importers.csvstream import CsvFile, Entry

REFRESH_SECONDS = 0.1


class ImportProgress:
    def __init__(self, source: CsvFile, *, show: bool | None = None) -> None:
        self.source = source
        self.show = sys.stdout.isatty() if show is None else show
        self.started = time.perf_counter()
        self._bar = None

    def __enter__(self) -> ImportProgress:
        self.started = time.perf_counter()
        if self.show:
            self._bar = _bar()
            self._bar.start()
            size = self.source.path.stat().st_size
            self._task = self._bar.add_task(self.source.path.name, total=size, rows=0, rate=0.0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def track(self, entries: Iterable[Entry]) -> Iterator[Entry]:
        """The entries unchanged; the bar moves as they are taken."""
        if self._bar is None:
            yield from entries
            return
        shown = 0.0
        for entry in entries:
            yield entry
            now = time.perf_counter()
            if now - shown >= REFRESH_SECONDS:
                shown = now
                self._update(now)

    def _update(self, now: float) -> None:
        rows = self.source.rows_read
        rate = rows / max(now - self.started, 1e-9)
        self._bar.update(self._task, completed=self.source.bytes_read, rows=rows, rate=rate)

    def rate_line(self) -> str:
        seconds = time.perf_counter() - self.started
        rows = self.source.rows_read
        return f"{rows:,} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s)"


def _bar():
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TextColumn("{task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
    )

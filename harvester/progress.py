"""What a long crawl shows while it runs: a live line on a terminal, periodic log lines
otherwise, nothing with --quiet. Always on stderr: stdout may carry the records."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # rich loads only when a live line is drawn
    from rich.live import Live
    from rich.text import Text

PLAIN_INTERVAL = 10.0  # seconds between two log lines when stderr is not a terminal
LIVE_INTERVAL = 0.25


@dataclass
class Counts:
    fetched: int = 0
    failed: int = 0
    queued: int = 0
    written: int = 0
    stage: str = "crawling"


class Progress:
    """Call `update()` as often as you like; it redraws at most a few times a second."""

    def __init__(
        self, quiet: bool = False, stream: TextIO | None = None, live: bool = True
    ) -> None:
        """`live=False` when records go to the same terminal: a redrawn line would break
        them; periodic lines are shown instead."""
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()
        self.counts = Counts()
        self._last = 0.0
        self._live: Live | None = None
        self._terminal = live and self.stream.isatty()

    def __enter__(self) -> Progress:
        if not self.quiet and self._terminal:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream, stderr=True)
            # stdout carries the records: redirected into the live display, they would
            # land on the terminal (stderr) instead of in the file stdout goes to.
            self._live = Live(
                self._line(),
                console=console,
                transient=True,
                auto_refresh=False,
                redirect_stdout=False,
            )
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def update(self, queued: Callable[[], int] | None = None, **counts: int | str) -> None:
        for name, value in counts.items():
            setattr(self.counts, name, value)
        if self.quiet:
            return
        now = time.monotonic()
        interval = LIVE_INTERVAL if self._live is not None else PLAIN_INTERVAL
        if now - self._last < interval:
            return
        self._last = now
        if queued is not None:
            self.counts.queued = queued()
        try:
            if self._live is not None:
                self._live.update(self._line(), refresh=True)
            else:
                print(f"harvester: {self._line().plain}", file=self.stream, flush=True)
        except OSError:  # stderr is gone (a closed pipe, a full disk): go on without it
            self.quiet = True

    def _line(self) -> Text:
        from rich.text import Text

        c = self.counts
        elapsed = time.monotonic() - self.started
        rate = c.fetched / elapsed if elapsed > 0 else 0.0
        line = Text()
        line.append(f"{c.stage} ", style="bold")
        line.append(f"{c.fetched} fetched · {c.queued} queued · ")
        line.append(f"{c.failed} failed", style="red" if c.failed else "")
        line.append(f" · {c.written} records · {rate:.1f} pages/s · {_clock(elapsed)}")
        return line


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"

"""The library API: the same pipeline as the command line, records as Python objects.

import harvester
for record in harvester.harvest(["https://clinic.example/"], max_pages=50):
    print(record.title, len(record.qa))

record = harvester.extract_html("<html>...</html>", "https://clinic.example/faq/")

The keyword arguments are the command line's settings, named with underscores
(`max_pages`, `allow_domain`, `output`, `format`...; see harvester/settings.py).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from .dedup import DedupOptions, DedupStats, build_records
from .models import Record
from .page import process_page
from .pipeline import Crawl, Found, run
from .report import Summary
from .settings import Settings

Emit = Literal["pages", "qa", "changes"]


def extract_html(html: str | bytes, url: str) -> Record:
    """One page, on its own: its text, Q&A and metadata, without the site-level steps
    (templates and duplicate pages need the other pages of the site)."""
    body = html.encode("utf-8") if isinstance(html, str) else html
    page = process_page(body, url, None, "", "file")
    return next(build_records([page], DedupOptions(), DedupStats()))


BUFFER = 4  # records made ahead of the caller: a slow reader slows the run, not memory


class _Stopped(Exception):
    """The caller stopped reading: the run ends, its outputs left as they were."""


@dataclass
class _Channel:
    """Records from the run's thread to the caller, "done" or the run's error last."""

    items: queue.Queue[tuple[str, Any]] = field(default_factory=lambda: queue.Queue(BUFFER))
    stopped: threading.Event = field(default_factory=threading.Event)

    def put(self, kind: str, value: Any) -> None:
        while not self.stopped.is_set():
            try:
                self.items.put((kind, value), timeout=0.1)
                return
            except queue.Full:
                continue
        if kind == "item":
            raise _Stopped


def harvest(
    urls: list[str], *, emit: Emit = "pages", summary: Summary | None = None, **settings: Any
) -> Iterator[Found]:
    """Crawl the sites of `urls` and yield their records as they are made (or distinct
    Q&As, or with emit="changes" the change `Event`s of this run).

    Without `state` (a file path) the crawl is kept in memory and every record is then
    `created`; with it, the crawl resumes and revisits like the command line's. Pass a
    `Summary` to read the counts after. Errors are `harvester.RunError`.
    """
    channel = _start(urls, emit, summary, settings)
    try:
        while not _finished(item := channel.items.get()):
            yield item[1]
    finally:
        channel.stopped.set()


async def aharvest(
    urls: list[str], *, emit: Emit = "pages", summary: Summary | None = None, **settings: Any
) -> AsyncIterator[Found]:
    """`harvest` for asyncio code: the run goes on in a worker thread, and each record
    is yielded to the event loop as soon as it is made."""
    channel = _start(urls, emit, summary, settings)
    try:
        while not _finished(item := await asyncio.to_thread(channel.items.get)):
            yield item[1]
    finally:
        channel.stopped.set()


def _finished(item: tuple[str, Any]) -> bool:
    """Whether the run has ended: "done", or its error, raised in the caller's thread."""
    kind, value = item
    if kind == "error":
        raise value
    return kind == "done"


def _start(
    urls: list[str], emit: Emit, summary: Summary | None, values: dict[str, Any]
) -> _Channel:
    """The run, in a thread of its own (it runs its own event loop). Bad settings are
    raised here, in the caller."""
    if emit not in ("pages", "qa", "changes"):
        raise ValueError(f"emit={emit!r}: choose pages, qa or changes")
    if isinstance(urls, str):
        raise TypeError("urls: give a list of URLs, not one string")
    settings = Settings.for_library({**values, "emit": "pages" if emit == "changes" else emit})
    channel = _Channel()

    def work() -> None:
        try:
            run(
                Crawl(list(urls)),
                settings,
                summary=summary,
                collect=lambda item: channel.put("item", item),
                changes=emit == "changes",
            )
        except _Stopped:
            return
        except BaseException as exc:  # handed to the caller's thread
            channel.put("error", exc)
        else:
            channel.put("done", None)

    threading.Thread(target=work, name="harvester-run", daemon=True).start()
    return channel

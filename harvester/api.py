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
from collections.abc import AsyncIterator, Callable, Iterator
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


def harvest(
    urls: list[str], *, emit: Emit = "pages", summary: Summary | None = None, **settings: Any
) -> Iterator[Found]:
    """Crawl the sites of `urls` and yield their records as they are made (or distinct
    Q&As, or with emit="changes" the change `Event`s of this run).

    Without `state` (a file path) the crawl is kept in memory and every record is then
    `created`; with it, the crawl resumes and revisits like the command line's. Pass a
    `Summary` to read the counts after. Errors are `harvester.pipeline.RunError`.
    """
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    _start(urls, emit, summary, settings, lambda kind, value: items.put((kind, value)))
    while True:
        kind, value = items.get()
        if kind == "done":
            return
        if kind == "error":
            raise value
        yield value


async def aharvest(
    urls: list[str], *, emit: Emit = "pages", summary: Summary | None = None, **settings: Any
) -> AsyncIterator[Found]:
    """`harvest` for asyncio code: the run goes on in a worker thread, and each record
    is yielded to the event loop as soon as it is made."""
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(items.put_nowait, (kind, value))

    _start(urls, emit, summary, settings, put)
    while True:
        kind, value = await items.get()
        if kind == "done":
            return
        if kind == "error":
            raise value
        yield value


def _start(
    urls: list[str],
    emit: Emit,
    summary: Summary | None,
    values: dict[str, Any],
    put: Callable[[str, Any], None],
) -> None:
    """The run, in a thread of its own (it runs its own event loop); its records, then
    "done" or its error, go to `put`. Bad settings are raised here, in the caller."""
    if emit not in ("pages", "qa", "changes"):
        raise ValueError(f"emit={emit!r}: choose pages, qa or changes")
    if isinstance(urls, str):
        raise TypeError("urls: give a list of URLs, not one string")
    settings = Settings.for_library({**values, "emit": "pages" if emit == "changes" else emit})

    def work() -> None:
        try:
            run(
                Crawl(list(urls)),
                settings,
                summary=summary,
                collect=lambda item: put("item", item),
                changes=emit == "changes",
            )
        except BaseException as exc:  # handed to the caller's thread
            put("error", exc)
        else:
            put("done", None)

    threading.Thread(target=work, name="harvester-run", daemon=True).start()

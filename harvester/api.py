"""The library API: the same pipeline as the command line, records as Python objects.

import harvester
for record in harvester.harvest(["https://clinic.example/"], max_pages=50):
    print(record.title, len(record.qa))

record = harvester.extract_html("<html>...</html>", "https://clinic.example/faq/")
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Literal

from .changes import Event
from .crawler import CrawlOptions, crawl
from .dedup import DedupOptions, DedupStats, build_records, distinct_qa
from .deliver import evidence_of, record_changes
from .fetch import DEFAULT_DELAY, FetchConfig
from .models import QARecord, Record
from .page import process_page
from .report import Summary
from .state import CrawlState, MemoryState
from .state.sqlite import SqliteState
from .urls import Scope, normalize


def extract_html(html: str | bytes, url: str) -> Record:
    """One page, on its own: its text, Q&A and metadata, without the site-level steps
    (templates and duplicate pages need the other pages of the site)."""
    body = html.encode("utf-8") if isinstance(html, str) else html
    page = process_page(body, url, None, "", "file")
    return next(build_records([page], DedupOptions(), DedupStats()))


async def aharvest(
    urls: list[str],
    *,
    emit: Literal["pages", "qa", "changes"] = "pages",
    max_pages: int = 10_000,
    max_depth: int | None = None,
    delay: float = DEFAULT_DELAY,
    concurrency: int = 8,
    ignore_robots: bool = False,
    state: str | Path | None = None,
    dedup: DedupOptions | None = None,
    summary: Summary | None = None,
) -> AsyncIterator[Record | QARecord | Event]:
    """Crawl the sites of `urls` and yield their records (or distinct Q&As, or with
    emit="changes" the change `Event`s of this run: created, updated, deleted).

    With `state` (a file path) the crawl can be resumed and revisited like the CLI's;
    without it everything is kept in memory (every record is then `created`). Pass a
    `Summary` to read the counts after.
    """
    seeds = [normalize(url) for url in urls]
    options = CrawlOptions(
        max_pages=max_pages,
        max_depth=max_depth,
        concurrency=concurrency,
        ignore_robots=ignore_robots,
        fetch=FetchConfig(delay=delay),
    )
    summary = summary if summary is not None else Summary()
    store: CrawlState = SqliteState(Path(state)) if state is not None else MemoryState()
    try:
        pages = await crawl(seeds, options, summary, store, Scope.from_seeds(seeds))
        records = list(build_records(pages, dedup or DedupOptions(), DedupStats()))
        found: list[Record] | list[QARecord] | list[Event]
        if emit == "changes":
            redirects = store.pages.redirects()
            evidence = evidence_of(summary.failures, redirects, summary.over_limit == 0)
            found = record_changes(store, records, evidence)
        else:
            found = distinct_qa(records) if emit == "qa" else records
        store.run_done()
    finally:
        store.close()
    for record in found:
        yield record


def harvest(urls: list[str], **options: object) -> Iterator[Record | QARecord | Event]:
    """`aharvest` for code without an event loop (runs one in a worker thread)."""
    results: queue.Queue[tuple[str, object]] = queue.Queue()

    async def produce() -> None:
        async for record in aharvest(urls, **options):  # type: ignore[arg-type]
            results.put(("record", record))

    def run() -> None:
        try:
            asyncio.run(produce())
            results.put(("done", None))
        except BaseException as exc:  # handed to the caller's thread
            results.put(("error", exc))

    threading.Thread(target=run, daemon=True).start()
    while True:
        kind, value = results.get()
        if kind == "done":
            return
        if kind == "error":
            raise value  # type: ignore[misc]
        yield value  # type: ignore[misc]

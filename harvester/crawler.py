"""The crawl loop: frontier -> fetch -> parse -> extract, with state kept per page.

Each handled URL is one state transaction (ack, page, new links), so a crawl killed at
any point resumes without losing or repeating a page.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from .browser import Browser, RenderError, needs_render, open_browser
from .fetch import FetchConfig, Fetcher, FetchError, FetchResult
from .models import Page
from .page import process_page
from .parse import ParseError, charset_from_content_type, links, parse_html
from .progress import Progress
from .report import Failure, Summary
from .robots import Robots, origin_of
from .settings import DEFAULTS
from .sitemaps import MAX_SITEMAP_BYTES, discover
from .state import (
    CrawlState,
    FrontierItem,
    MemoryState,
    RunStart,
    SharedFrontier,
    StoredPage,
)
from .traps import TrapGuard
from .urls import Scope, host_of, site_key
from .warc import WarcWriter
from .workers import init_worker, start_fork_server

if TYPE_CHECKING:
    import httpx


@dataclass
class CrawlOptions:
    max_pages: int = DEFAULTS.max_pages
    max_depth: int | None = DEFAULTS.max_depth
    concurrency: int = DEFAULTS.concurrency
    max_per_template: int = DEFAULTS.max_per_template
    max_query_variants: int = DEFAULTS.max_query_variants
    ignore_robots: bool = DEFAULTS.ignore_robots
    sitemaps: bool = not DEFAULTS.no_sitemaps
    sitemap_only: bool = DEFAULTS.sitemap_only
    since: datetime | None = None  # sitemap entries last modified before are skipped
    max_time: float | None = DEFAULTS.max_time
    listing: bool = False  # `map`: list what would be fetched, extract nothing
    transport: httpx.AsyncBaseTransport | None = None  # instead of the network (tests)
    render: str = DEFAULTS.render
    workers: int = field(default_factory=DEFAULTS.resolved_workers)
    inline_first: int = 0  # pages read inline before the workers start (see _Pool)
    fetch: FetchConfig = field(default_factory=FetchConfig)


@dataclass
class _Blocked:
    """Never requested: robots.txt disallows the URL, or (`failure`) cannot be read."""

    failure: Failure | None = None


@dataclass
class _Read:
    """A fetched page and what the per-page stages made of it (or why they failed)."""

    result: FetchResult
    page: Page | str


@dataclass
class _Listed:
    """`map`: a URL the crawl would fetch, and the links of its page (with --sitemap-only
    the URL is not requested at all)."""

    result: FetchResult | None = None
    links: list[str] = field(default_factory=list)


class TimeLimit(Exception):
    """--max-time is up: the crawl stopped where it was, ready to resume."""


Outcome = FetchResult | Failure | _Blocked | _Read | _Listed
JOB_COUNT_EVERY = 1.0  # seconds between looks at a shared job's count of requests
GRACE = 5.0  # seconds that requests in flight at the time limit may take to finish
log = logging.getLogger("harvester")
ROBOTS_BYTES = 500 * 1024
SITEMAPS_READ = "sitemaps read"  # a flag in the run's stats: discovery finished
DISALLOWED = "disallowed"  # FetchError kind: a redirect into what robots.txt disallows
PageSource = Callable[[], Iterable[Page]]


async def crawl(
    seeds: list[str],
    options: CrawlOptions,
    summary: Summary,
    state: CrawlState | None = None,
    scope: Scope | None = None,
    start: RunStart | None = None,
    warc: WarcWriter | None = None,
    progress: Progress | None = None,
    listed: Callable[[str], None] | None = None,
    site_done: Callable[[str], None] | None = None,
) -> PageSource:
    """Fetch, parse and extract every in-scope page reachable from the seeds; returns
    a source that reads the pages again from the crawl state.

    `start` is the answer of `state.start(seeds)` when the caller needed it first. With
    `options.listing`, each URL that would be fetched goes to `listed` instead. Raises
    TimeLimit when `options.max_time` stops it.

    In a shared job (`start.joined`) only the worker that began the run queues the seeds
    and reads the sitemaps, holding the seeds' hosts meanwhile (a joining worker crawls
    the job's seeds); each worker calls `site_done` with each site whose last URL it
    handled.
    """
    state = state or MemoryState()
    start = start or state.start(seeds)
    summary.resumed = start.resumed
    crawler = _Crawler(scope or Scope.from_seeds(seeds), options, summary, state, warc)
    crawler.progress, crawler.listed = progress, listed
    crawler.joined, crawler.site_done = start.joined, site_done
    if start.joined and isinstance(state.frontier, SharedFrontier):
        crawler.leases = state.frontier
    if not start.joined and not start.resumed and not options.sitemap_only:
        crawler.add_seeds(seeds)
    await crawler.run(seeds, discover=not start.resumed)
    state.crawl_done()
    return crawler.finish()


@dataclass
class _Crawler:
    scope: Scope
    options: CrawlOptions
    summary: Summary
    state: CrawlState
    warc: WarcWriter | None = None
    skipped: set[str] = field(default_factory=set)
    traps: TrapGuard = field(init=False)
    robots: Robots = field(init=False)
    requests: int = 0
    progress: Progress | None = None
    pool: _Pool | None = None
    fetched: int = 0
    failed: int = 0
    listed: Callable[[str], None] | None = None
    stop_at: float | None = None  # time.monotonic() of --max-time
    browser: Browser | None = None
    joined: bool = False  # a worker of a shared job
    leases: SharedFrontier | None = None  # its frontier
    counted_at: float = -math.inf  # when the job's requests were last counted
    site_done: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self.traps = TrapGuard(self.options.max_per_template, self.options.max_query_variants)

    def enqueue(self, url: str, depth: int, parent: str | None, force: bool = False) -> None:
        if len(url) > self.scope.max_length:
            self.traps.capped["URL length"] += 1
            return
        if not force and not self.scope.allows(url):
            if url not in self.skipped:
                self.skipped.add(url)
                self.summary.out_of_scope += 1
            return
        if self.options.max_depth is not None and depth > self.options.max_depth:
            return
        if url in self.state.seen or not self.traps.admit(url, parent):
            return
        self.state.seen.add(url)
        self.state.frontier.push(FrontierItem(url, depth))

    def add_seeds(self, seeds: list[str]) -> None:
        """The seeds queued; a shared job's worker that began the run leases their hosts
        in the same transaction, so that no other worker fetches from them while it reads
        their sitemaps."""
        with self.state.transaction():
            for seed in seeds:
                self.enqueue(seed, 0, None, force=True)
            if self.leases is not None:
                self.leases.hold(sorted({host_of(seed) for seed in seeds}))

    async def run(self, seeds: list[str], discover: bool = True) -> None:
        """Crawl until the frontier is empty or --max-pages requests were made.

        Sitemap discovery is done again on resume until a run has recorded its end: its
        pages are queued in the transaction that records it. In a shared job only the
        worker that began the run (`discover`) reads the sitemaps.
        """
        run_stats = self.state.stats.get("*")
        self.requests = run_stats.get("requests", 0)
        if self.options.max_time is not None:
            self.stop_at = time.monotonic() + self.options.max_time
        with _worker_pool(self.options.workers, self.options.inline_first) as self.pool:
            async with (
                self.new_fetcher() as fetcher,
                self.browser_for(fetcher) as self.browser,
            ):
                if self.warc is not None:
                    fetcher.on_exchange = self.archive
                self.robots = Robots(
                    partial(
                        fetcher.get_bytes,
                        max_bytes=ROBOTS_BYTES,
                        truncate=True,
                        purpose="robots.txt",
                    ),
                    self.options.fetch.user_agent,
                    ignore=self.options.ignore_robots,
                )
                if self.leases is not None:  # a host's next holder waits for this one's delay
                    self.leases.wait_left = fetcher.gate.wait_left
                    if discover and not self.options.sitemap_only:
                        self.add_seeds(seeds)
                reads_sitemaps = discover or not self.joined
                if self.options.sitemaps and reads_sitemaps and not run_stats.get(SITEMAPS_READ):
                    await self.discover_in_time(fetcher, seeds)
                if self.leases is not None and discover:
                    self.leases.begun()
                await self.loop(fetcher)
        self.summary.over_limit += len(self.state.frontier)
        self.summary.trap_capped.update(self.traps.capped)

    async def loop(self, fetcher: Fetcher) -> None:
        """Requests count against --max-pages when handled, in the state's transaction:
        those in flight when a crawl is killed are not counted, and are made again."""
        pending: set[asyncio.Task[tuple[FrontierItem, Outcome]]] = set()
        done: set[asyncio.Task[tuple[FrontierItem, Outcome]]] = set()
        try:
            while True:
                self.count_job_requests()
                while (
                    len(pending) < self.options.concurrency
                    and self.requests + len(pending) < self.options.max_pages
                    and not self.out_of_time()
                ):
                    item = self.state.frontier.pop()
                    if item is None:
                        break
                    pending.add(asyncio.create_task(self.visit(fetcher, item)))
                if not pending:
                    wait = self.idle()
                    if wait is None:
                        break
                    await asyncio.sleep(wait)
                    continue
                done, pending = await asyncio.wait(
                    pending, timeout=self.poll_time(pending), return_when=asyncio.FIRST_COMPLETED
                )
                if not done and self.out_of_time(GRACE):
                    break  # what is still in flight is asked again on resuming
                for task in done:
                    with self.state.transaction():
                        self.handle(*task.result())
                    self.report()
                    self.sites_finished()
        finally:  # stopped (Ctrl-C, an error): what is in flight ends before the pool does
            await _settled(pending | done)
        if self.out_of_time() and len(self.state.frontier):
            raise TimeLimit()

    def count_job_requests(self) -> None:
        """In a shared job --max-pages counts the requests of every worker: looked up
        once a second (the limit may be passed by what the others ask meanwhile)."""
        if self.joined and time.monotonic() >= self.counted_at + JOB_COUNT_EVERY:
            self.requests = self.state.stats.get("*").get("requests", 0)
            self.counted_at = time.monotonic()

    def idle(self) -> float | None:
        """Nothing in flight and nothing popped: how long to wait for more (a shared job's
        other workers may still add URLs or hand back hosts); None to stop."""
        if self.requests >= self.options.max_pages or self.out_of_time():
            return None
        return self.state.frontier.idle()

    def poll_time(self, pending: set[asyncio.Task[tuple[FrontierItem, Outcome]]]) -> float | None:
        """How long to wait for a request in flight; a shared job's worker with room
        for more looks for a claimable host again meanwhile."""
        wait = self.wait_time()
        if not self.joined or len(pending) >= self.options.concurrency:
            return wait
        poll = self.state.frontier.idle()
        if poll is None:
            return wait
        return poll if wait is None else min(wait, poll)

    def sites_finished(self) -> None:
        """A shared job's sites whose last URL this worker handled: deduplicated now."""
        if self.site_done is None or self.leases is None:
            return
        for site in self.leases.finished_sites():
            self.site_done(site)

    def new_fetcher(self) -> Fetcher:
        return Fetcher(self.options.fetch, self.scope, transport=self.options.transport)

    def out_of_time(self, grace: float = 0.0) -> bool:
        return self.stop_at is not None and time.monotonic() >= self.stop_at + grace

    def wait_time(self) -> float | None:
        """How long to wait for a request in flight: at the time limit no new one starts,
        and those in flight get GRACE seconds more to finish."""
        if self.stop_at is None:
            return None
        end = self.stop_at + (GRACE if self.out_of_time() else 0.0)
        return max(0.0, end - time.monotonic())

    async def discover_in_time(self, fetcher: Fetcher, seeds: list[str]) -> None:
        """Sitemap discovery, within --max-time: cut short, it is done again on resuming."""
        try:
            async with asyncio.timeout(self.wait_time()):
                await self.add_sitemap_urls(fetcher, seeds)
        except TimeoutError:
            raise TimeLimit() from None

    def archive(self, result: FetchResult) -> None:
        """Every exchange, pages and robots.txt and sitemaps, errors and bodies given up."""
        assert self.warc is not None
        self.warc.write_exchange(
            url=result.url,
            method="GET",
            request_headers=result.request_headers,
            status=result.status,
            reason=result.reason,
            response_headers=result.headers,
            body=result.body,
            fetched_at=result.fetched_at,
            truncated=result.truncated,
            purpose=result.purpose,
        )

    async def add_sitemap_urls(self, fetcher: Fetcher, seeds: list[str]) -> None:
        """Pages listed only in a sitemap are found too: robots.txt's Sitemap: lines and
        /sitemap.xml of each seed's origin, in scope only (discover checks each one)."""
        roots: dict[str, None] = {}
        for seed in seeds:
            for url in await self.robots.sitemaps(seed):
                roots.setdefault(url, None)
            origin = origin_of(seed)
            if origin:
                roots.setdefault(origin + "/sitemap.xml", None)
        getter = partial(self.get_sitemap, fetcher)
        found = await discover(getter, list(roots), self.scope.allows, since=self.options.since)
        with self.state.transaction():
            for url in found:
                self.enqueue(url, 1, None)
            self.state.stats.incr("*", SITEMAPS_READ)

    async def get_sitemap(self, fetcher: Fetcher, url: str) -> tuple[int, bytes]:
        """A sitemap is a request like a page: under its origin's robots.txt, each
        redirect hop too; a refused one counts as failed (status 0)."""
        if not await self.robots.allowed(url):
            log.info("sitemap not read (robots.txt): %s", url)
            return 0, b""
        await self.pace(fetcher, url)
        hop = partial(self.check_hop, fetcher, url)
        return await fetcher.get_bytes(url, MAX_SITEMAP_BYTES, allow=hop)

    async def check_hop(self, fetcher: Fetcher, source: str, target: str) -> None:
        """A redirect from `source` leads to `target`: followed only if the target's
        origin's robots.txt (read first if new) allows it. Raises FetchError if not."""
        if await self.robots.allowed(target):
            await self.pace(fetcher, target)
            return
        if self.robots.unavailable(target):
            reason = _unreadable(fetcher, target)
            raise FetchError(source, "robots", f"redirect to {target} not followed: {reason}")
        raise FetchError(source, DISALLOWED, f"redirects to {target}, disallowed by robots.txt")

    async def pace(self, fetcher: Fetcher, url: str) -> None:
        """The Crawl-delay of the URL's origin holds for its host."""
        delay = await self.robots.crawl_delay(url)
        if delay:
            fetcher.gate.set_crawl_delay(host_of(url), delay)

    async def visit(self, fetcher: Fetcher, item: FrontierItem) -> tuple[FrontierItem, Outcome]:
        if not await self.robots.allowed(item.url):
            if self.robots.unavailable(item.url):
                return item, _Blocked(_robots_failure(fetcher, item.url))
            return item, _Blocked()
        if self.options.listing and not self.follows(item):
            return item, _Listed()  # its links would not be followed: no need to fetch it
        await self.pace(fetcher, item.url)
        stored = self.state.pages.get(item.url)
        hop = partial(self.check_hop, fetcher, item.url)
        try:
            if stored is None:
                result = await fetcher.fetch(item.url, allow=hop)
            else:
                result = await fetcher.fetch(item.url, stored.etag, stored.last_modified, hop)
        except FetchError as exc:
            return item, Failure(exc.url, exc.kind, exc.message)
        if self.options.listing:
            return item, _Listed(result, await asyncio.to_thread(_links_of, result))
        if result.status == 304 or not result.html:
            return item, result
        if result.redirects and result.final_url in self.state.seen:
            return item, result  # fetched under its own URL: only an alias here
        result = await self.rendered(result)  # --render: the page after its scripts ran
        return item, _Read(result, await self.read(result))

    # --- JavaScript rendering (--render) ------------------------------------------------

    def browser_for(self, fetcher: Fetcher) -> AbstractAsyncContextManager[Browser | None]:
        """One Chromium for the crawl when --render may use it (none for 'never'): its
        requests are the crawl's, under the same scope, robots.txt and per-host gate."""
        config = self.options.fetch
        return open_browser(
            self.options.render,
            self.scope,
            partial(self.may_load, fetcher),
            fetcher.gate.turn,
            user_agent=config.user_agent,
            timeout=config.timeout,
            max_bytes=config.max_bytes,
            request=config,
        )

    async def may_load(self, fetcher: Fetcher, url: str) -> bool:
        """A rendered page's request is asked of robots.txt, and keeps its Crawl-delay."""
        if not await self.robots.allowed(url):
            return False
        await self.pace(fetcher, url)
        return True

    async def rendered(self, result: FetchResult) -> FetchResult:
        """The page as a browser shows it when --render says so ('auto': `needs_render`);
        as fetched otherwise, or when it cannot be rendered."""
        if self.browser is None or result.status != 200:
            return result
        if self.options.render == "auto" and not needs_render(result.body):
            return result
        try:
            _, html = await self.browser.render(
                result.final_url,
                self.options.fetch.deadline,
                body=result.body,
                content_type=result.content_type,
            )
        except RenderError as exc:
            log.info("not rendered: %s: %s", result.final_url, exc)
            return result
        body = html.encode("utf-8", "replace")
        return replace(result, body=body, content_type="text/html; charset=utf-8")

    # --- end of JavaScript rendering -----------------------------------------------------

    async def read(self, result: FetchResult) -> Page | str:
        """Parse, extract and dedupe the page in a worker process: the error if it fails."""
        job = partial(
            process_page,
            result.body,
            result.final_url,
            charset_from_content_type(result.content_type),
            result.fetched_at,
            "http",
        )
        executor = self.pool.executor() if self.pool is not None else None
        try:
            if executor is None:
                return job()
            return await asyncio.get_running_loop().run_in_executor(executor, job)
        except ParseError as exc:
            return str(exc)

    def report(self) -> None:
        if self.progress is not None:
            self.progress.update(
                queued=lambda: len(self.state.frontier), fetched=self.fetched, failed=self.failed
            )

    def handle(self, item: FrontierItem, outcome: Outcome) -> None:
        self.state.frontier.ack(item.url)
        site = site_key(host_of(item.url))
        if isinstance(outcome, _Blocked):  # never requested: not counted by --max-pages
            if outcome.failure is None:
                log.info("disallowed by robots.txt: %s", item.url)
                self.summary.robots_blocked += 1
            else:
                self._failed(site, outcome.failure)
            return
        self.requests += 1
        self.state.stats.incr("*", "requests")
        if isinstance(outcome, Failure):
            self._failed(site, outcome)
        elif isinstance(outcome, _Listed):
            self._listed(item, outcome)
        elif isinstance(outcome, _Read):
            self._fetched(item, outcome.result, outcome.page)
        elif outcome.status == 304:
            self._unchanged(item, outcome)
        elif not outcome.html:
            self.summary.non_html += 1
        else:
            self._fetched(item, outcome, None)

    def _failed(self, site: str, failure: Failure) -> None:
        if failure.kind == "scope":  # a redirect off the site: not ours to fetch
            self.summary.out_of_scope += 1
            return
        if failure.kind == DISALLOWED:  # a redirect robots.txt forbids us to follow
            log.info("%s: %s", failure.url, failure.message)
            self.summary.robots_blocked += 1
            return
        self.state.stats.incr(site, "failed")
        self.failed += 1
        log.info("failed: %s: %s", failure.url, failure.message)
        self.state.pages.fail(failure.url, failure.kind, failure.message)

    def _unchanged(self, item: FrontierItem, result: FetchResult) -> None:
        stored = self.state.pages.get(item.url)
        if stored is None:  # a 304 we did not ask for
            self.state.pages.fail(item.url, "http", "HTTP 304 without a stored copy")
            return
        self.summary.not_modified += 1
        self.fetched += 1
        self.state.pages.keep(item.url)
        self._follow(item, stored.page)

    def _fetched(self, item: FrontierItem, result: FetchResult, page: Page | str | None) -> None:
        final = result.final_url
        for source in result.redirects:
            self.state.pages.redirect(source, final)
        if result.redirects and not self.state.seen.add(final):
            return  # the target is fetched (or queued) under its own URL
        if not isinstance(page, Page):
            self.state.pages.fail(final, "parse", page or "not read")
            return
        self.fetched += 1
        self.state.pages.put(
            StoredPage(page, result.header("etag"), result.header("last-modified"))
        )
        self._follow(item, page)

    def follows(self, item: FrontierItem) -> bool:
        """Whether the links of the item's page are followed."""
        depth = self.options.max_depth
        return not self.options.sitemap_only and (depth is None or item.depth < depth)

    def _listed(self, item: FrontierItem, listed: _Listed) -> None:
        """`map`: the URL (and where it redirects, if new), then its links."""
        self.fetched += 1
        result = listed.result
        urls = [item.url]
        if result is not None and result.redirects and self.state.seen.add(result.final_url):
            urls.append(result.final_url)
        if self.listed is not None:
            for url in urls:
                self.listed(url)
        if not self.options.sitemap_only:
            for link in listed.links:
                self.enqueue(link, item.depth + 1, urls[-1])

    def _follow(self, item: FrontierItem, page: Page) -> None:
        if self.options.sitemap_only:
            return  # only what the sitemaps list
        for link in page.links:
            self.enqueue(link, item.depth + 1, page.url)
        if page.canonical and self.scope.allows(page.canonical):
            self.enqueue(page.canonical, item.depth, None)

    def finish(self) -> PageSource:
        self.summary.pages_fetched = self.state.pages.count()
        self.summary.failures = [Failure(*f) for f in self.state.pages.failures()]
        redirects = self.state.pages.redirects()

        def pages() -> Iterator[Page]:
            """The crawl's pages from the store, with redirect aliases and in-scope
            canonicals: read again by each dedup pass."""
            for page in self.state.pages.current():
                page.aliases += [u for u in redirects.get(page.url, []) if u not in page.aliases]
                if page.canonical and not self.scope.allows(page.canonical):
                    page.canonical = None
                yield page

        return pages


def _links_of(result: FetchResult) -> list[str]:
    """The page links of a fetched page, for `map`: parsed, nothing extracted."""
    if result.status != 200 or not result.html:
        return []
    try:
        charset = charset_from_content_type(result.content_type)
        doc = parse_html(result.body, result.final_url, charset)
    except ParseError:
        return []
    return links(doc)[0]


def _robots_failure(fetcher: Fetcher, url: str) -> Failure:
    """Fail closed, and say why: the server is unreachable or robots.txt errs."""
    return Failure(url, "robots", f"not crawled: {_unreadable(fetcher, url)}")


def _unreadable(fetcher: Fetcher, url: str) -> str:
    robots_url = (origin_of(url) or "") + "/robots.txt"
    reason = fetcher.metadata_errors.get(robots_url, "it answered with an error")
    return f"cannot read {robots_url} ({reason})"


async def _settled(tasks: set[asyncio.Task[tuple[FrontierItem, Outcome]]]) -> None:
    """Cancel the tasks and wait for them, their errors retrieved: none goes on against a
    closed client or pool, and none is reported as 'Task exception was never retrieved'."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class _Pool:
    """Processes for the per-page stages, so that parsing and extraction use the other
    cores while the event loop fetches; 0 workers runs them inline. With `inline_first`,
    the first pages are read inline and the processes start only for a larger crawl: a
    small site is read before a pool would have started."""

    workers: int
    inline_first: int = 0
    inline: int = 0
    started: ProcessPoolExecutor | None = None

    def executor(self) -> Executor | None:
        if self.workers <= 0:
            return None
        if self.started is None and self.inline < self.inline_first:
            self.inline += 1
            return None
        if self.started is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["harvester.page"])
            start_fork_server()
            self.started = ProcessPoolExecutor(
                self.workers, context, initializer=init_worker, initargs=(os.getpid(),)
            )
        return self.started


@contextmanager
def _worker_pool(workers: int, inline_first: int = 0) -> Iterator[_Pool]:
    pool = _Pool(workers, inline_first)
    try:
        yield pool
    finally:
        if pool.started is not None:
            pool.started.shutdown(wait=True, cancel_futures=True)

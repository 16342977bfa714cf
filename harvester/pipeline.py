"""The pipeline end to end: fetch -> parse -> extract -> dedup -> emit.

This module only wires the stages together; each stage lives in its own module.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from .dedup import Candidate, TemplateModel, distinct_qa, drop_repeats, fold, learn
from .dedup.template import top_blocks
from .extract import extract_page
from .extract.blocks import render
from .fetch import FetchConfig, Fetcher, FetchError, FetchResult
from .models import Block, Page, QARecord, Record
from .parse import ParseError, charset_from_content_type, parse_html
from .state import (
    Frontier,
    FrontierItem,
    MemoryFrontier,
    MemorySeenSet,
    MemorySiteStats,
    SeenSet,
    SiteStats,
)
from .urls import Scope, host_of, site_key

QA_SHARE_FOR_KIND = 0.5  # a page whose text is mostly its Q&A is a "qa" page


@dataclass
class CrawlOptions:
    max_pages: int = 10_000
    max_depth: int | None = None
    concurrency: int = 8
    fetch: FetchConfig = field(default_factory=FetchConfig)


@dataclass
class DedupOptions:
    similarity: float = 0.9
    template_min_pages: int = 3
    template_min_fraction: float = 0.25


@dataclass
class Failure:
    url: str
    kind: str
    message: str


@dataclass
class Summary:
    """What a run did, for the end-of-run report and the exit code."""

    pages_fetched: int = 0
    non_html: int = 0
    out_of_scope: int = 0
    over_limit: int = 0
    failures: list[Failure] = field(default_factory=list)
    records: int = 0
    qa: int = 0
    aliases: int = 0
    template_removed: int = 0
    repeats_removed: int = 0
    top_templates: list[tuple[str, int]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def exit_code(self) -> int:
        """0 complete, 1 partial (some pages failed), 3 nothing could be read."""
        if not self.failures:
            return 0
        return 1 if self.pages_fetched else 3


def page_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


async def crawl(
    seeds: list[str],
    options: CrawlOptions,
    summary: Summary,
    frontier: Frontier | None = None,
    seen: SeenSet | None = None,
) -> list[Page]:
    """Fetch, parse and extract every in-scope page reachable from the seeds."""
    crawler = _Crawler(
        Scope.from_seeds(seeds),
        options,
        summary,
        frontier or MemoryFrontier(),
        seen or MemorySeenSet(),
    )
    for seed in seeds:
        crawler.enqueue(seed, 0)
    await crawler.run()
    return crawler.finish()


@dataclass
class _Crawler:
    scope: Scope
    options: CrawlOptions
    summary: Summary
    frontier: Frontier
    seen: SeenSet
    stats: SiteStats = field(default_factory=MemorySiteStats)
    pages: list[Page] = field(default_factory=list)
    redirect_aliases: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    skipped: set[str] = field(default_factory=set)

    def enqueue(self, url: str, depth: int) -> None:
        if not self.scope.allows(url):
            if url not in self.skipped:
                self.skipped.add(url)
                self.summary.out_of_scope += 1
            return
        if self.options.max_depth is not None and depth > self.options.max_depth:
            return
        if self.seen.add(url):
            self.frontier.push(FrontierItem(url, depth))

    async def run(self) -> None:
        started = 0
        pending: set[asyncio.Task[tuple[FrontierItem, FetchResult | Failure]]] = set()
        async with Fetcher(self.options.fetch, self.scope) as fetcher:
            while True:
                while len(pending) < self.options.concurrency:
                    if started >= self.options.max_pages:
                        break
                    item = self.frontier.pop()
                    if item is None:
                        break
                    started += 1
                    pending.add(asyncio.create_task(_visit(fetcher, item)))
                if not pending:
                    break
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    self.handle(*task.result())
        self.summary.over_limit += len(self.frontier)

    def handle(self, item: FrontierItem, outcome: FetchResult | Failure) -> None:
        self.frontier.ack(item.url)
        site = site_key(host_of(item.url))
        if isinstance(outcome, Failure):
            if outcome.kind == "scope":  # a redirect off the site: not ours to fetch
                self.summary.out_of_scope += 1
                return
            self.stats.incr(site, "failed")
            self.summary.failures.append(outcome)
            return
        self.stats.incr(site, "fetched")
        if not outcome.html:
            self.summary.non_html += 1
            return
        final = outcome.final_url
        if outcome.redirects and not self.seen.add(final):
            self.redirect_aliases[final] += outcome.redirects
            return
        try:
            doc = parse_html(outcome.body, final, charset_from_content_type(outcome.content_type))
        except ParseError as exc:
            self.summary.failures.append(Failure(final, "parse", str(exc)))
            return
        page = extract_page(doc, outcome.fetched_at, "http")
        page.aliases = list(outcome.redirects)
        self.pages.append(page)
        self.summary.pages_fetched += 1
        for link in page.links:
            self.enqueue(link, item.depth + 1)
        if page.canonical and self.scope.allows(page.canonical):
            self.enqueue(page.canonical, item.depth)

    def finish(self) -> list[Page]:
        for page in self.pages:
            page.aliases += [
                u for u in self.redirect_aliases.pop(page.url, []) if u not in page.aliases
            ]
            if page.canonical and not self.scope.allows(page.canonical):
                page.canonical = None
        return self.pages


async def _visit(
    fetcher: Fetcher, item: FrontierItem
) -> tuple[FrontierItem, FetchResult | Failure]:
    try:
        return item, await fetcher.fetch(item.url)
    except FetchError as exc:
        return item, Failure(exc.url, exc.kind, exc.message)


def build_records(pages: list[Page], options: DedupOptions, summary: Summary) -> list[Record]:
    """Dedup stage over a whole crawl: repeats, templates, duplicate pages."""
    for page in pages:
        page.blocks, removed = drop_repeats(page.blocks)
        summary.repeats_removed += len(removed)
    by_site: dict[str, list[Page]] = defaultdict(list)
    for page in pages:
        by_site[site_key(host_of(page.url))].append(page)
    for site_pages in by_site.values():
        model = learn(
            [p.blocks for p in site_pages],
            options.template_min_pages,
            options.template_min_fraction,
        )
        summary.top_templates += top_blocks(model)
        for page in site_pages:
            kept = [b for b in page.blocks if not _is_template(model, b, page)]
            summary.template_removed += len(page.blocks) - len(kept)
            page.blocks = kept
    texts = [render(p.blocks) for p in pages]
    groups = fold(
        [Candidate(p.url, p.canonical, t) for p, t in zip(pages, texts, strict=True)],
        options.similarity,
    )
    records = [_record(pages, texts, group) for group in sorted(groups, key=min)]
    summary.aliases += sum(len(r.aliases) for r in records)
    summary.top_templates.sort(key=lambda item: -item[1])
    return records


def _is_template(model: TemplateModel, block: Block, page: Page) -> bool:
    """The page's own title repeats in other pages' link lists; it is still content."""
    if block.kind == "heading" and (block.level == 1 or block.text == page.title):
        return False
    return model.is_template(block)


def _record(pages: list[Page], texts: list[str], group: list[int]) -> Record:
    keeper = pages[group[0]]
    url = keeper.canonical or keeper.url
    aliases: dict[str, None] = {}
    for index in group:
        for alias in [pages[index].url, *pages[index].aliases]:
            if alias != url:
                aliases.setdefault(alias, None)
    text = texts[group[0]]
    qa_chars = sum(len(q.question) + len(q.answer) for q in keeper.qa)
    kind: Literal["qa", "article"] = (
        "qa" if keeper.qa and qa_chars >= QA_SHARE_FOR_KIND * len(text) else "article"
    )
    return Record(
        id=page_id(url),
        url=url,
        aliases=list(aliases),
        title=keeper.title,
        section=keeper.section,
        kind=kind,
        qa=keeper.qa,
        text=text,
        site=keeper.site,
        published=keeper.published,
        modified=keeper.modified,
        language=keeper.language,
        fetched_at=keeper.fetched_at,
        source=keeper.source,
    )


def qa_records(records: list[Record], summary: Summary) -> list[QARecord]:
    found = distinct_qa(records)
    summary.qa = len(found)
    return found

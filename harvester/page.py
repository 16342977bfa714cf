"""One page through the per-page stages: parse -> extract -> in-page dedup.

Pure and picklable, so that the crawler can run it in worker processes (the second core)
while the event loop keeps fetching.
"""

from __future__ import annotations

from .dedup.inpage import drop_repeats
from .extract import extract_page
from .models import Page, Repeat, Source
from .parse import parse_html


def dedupe_page(page: Page) -> Page:
    """Sections rendered several times in the page are kept once; what went is noted
    for --explain."""
    page.blocks, removed = drop_repeats(page.blocks)
    page.repeats = [Repeat(r.block.text, r.copy_of) for r in removed]
    return page


def process_page(
    body: bytes, url: str, charset: str | None, fetched_at: str, source: Source
) -> Page:
    """Raises parse.ParseError for content that is not an HTML page."""
    return dedupe_page(extract_page(parse_html(body, url, charset), fetched_at, source))

"""One page through the per-page stages: parse -> extract -> in-page dedup.

Pure and picklable, so that the crawler can run it in worker processes (the second core)
while the event loop keeps fetching.
"""

from __future__ import annotations

import logging

from .dedup.inpage import drop_repeats
from .extract import extract_page
from .models import Page, Repeat, Source
from .parse import ParseError, parse_html

log = logging.getLogger(__name__)


def dedupe_page(page: Page) -> Page:
    """Sections rendered several times in the page are kept once; what went is noted
    for --explain."""
    page.blocks, removed = drop_repeats(page.blocks)
    page.repeats = [Repeat(r.block.text, r.copy_of) for r in removed]
    return page


def process_page(
    body: bytes, url: str, charset: str | None, fetched_at: str, source: Source
) -> Page:
    """Raises parse.ParseError for content that is not an HTML page, or that could not be
    read: whatever goes wrong with one page is that page's failure, never the run's."""
    try:
        return dedupe_page(extract_page(parse_html(body, url, charset), fetched_at, source))
    except ParseError:
        raise
    except Exception as exc:  # contained: recorded as this page's failure
        log.warning("could not read %s", url, exc_info=True)
        raise ParseError(f"could not be read: {type(exc).__name__}: {exc}"[:300]) from None

"""Listing pages (blog home, category, date archive): their entries are their content.

An entry is a linked title to another page of the site, with the teaser's date and
excerpt below it. The same teasers recur on the home page, the category and the archive
of their month, so template learning would count them as template; on a listing page
they are kept, and the record lists them for the migrator who rebuilds the archive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..extract.metadata import iso_date
from ..models import Block, Entry, Page
from .sketch import fingerprint

MIN_ENTRIES = 2
MIN_SHARE = 0.6  # of the page's own words (entries and kept text) in its entries
TITLE_LINKS = 0.6  # link density of a linked title
MAX_TITLE_WORDS = 25
MIN_EXCERPT_WORDS = 4  # shorter lines under a title are "Read more" and the like
MAX_DATE_WORDS = 8
MAX_EXCERPT_BLOCKS = 3
SLUG_WORD = re.compile(r"[a-z]+")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
DATE = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\s+\d{{4}}|\d{{1,2}}/\d{{1,2}}/\d{{4}})",
    re.I,
)


@dataclass
class Target:
    """A page an entry can link to: its URL and publication date."""

    url: str
    published: str | None


@dataclass
class Listing:
    entries: list[Entry]
    blocks: set[int] = field(default_factory=set)  # indices of the entries' blocks

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(e.url for e in self.entries)


def might_list(blocks: list[Block]) -> bool:
    """Cheap first look: enough linked lines to be entries."""
    return sum(b.link_density >= TITLE_LINKS for b in blocks) >= MIN_ENTRIES


def find_listing(
    page: Page, kept: set[int], targets: Mapping[str, Target | None], everywhere: set[int]
) -> Listing | None:
    """The page's entries if it is a listing: at least MIN_ENTRIES linked titles to pages
    of the site, which with their teasers hold most of the page's own words. `kept`: the
    blocks that template removal keeps; `everywhere`: blocks on most of the site's pages
    (a sidebar's "recent posts" lists titles too, on every page)."""
    blocks = page.blocks
    titles = {
        i: target
        for i, b in enumerate(blocks)
        if i not in everywhere and (target := _linked_title(b, page.links, targets))
    }
    if len(titles) < MIN_ENTRIES:
        return None
    listing = _entries(blocks, titles, everywhere)
    words = [len(b.text.split()) for b in blocks]
    own = sum(words[i] for i in listing.blocks)
    total = own + sum(words[i] for i in kept - listing.blocks)
    return listing if total and own >= MIN_SHARE * total else None


def _linked_title(
    block: Block, links: list[str], targets: Mapping[str, Target | None]
) -> Target | None:
    """The page a block's text is the linked title of: a page of the site with that
    title that the listing links to, else a link whose slug is made of the title's words."""
    if block.link_density < TITLE_LINKS or len(block.text.split()) > MAX_TITLE_WORDS:
        return None
    key = fingerprint(block.text)
    target = targets.get(key)
    if target is not None and target.url in links:
        return target
    words = set(key.split())
    for link in links:
        slug = SLUG_WORD.findall(link.rstrip("/").rsplit("/", 1)[-1].split("?")[0].lower())
        if len(slug) >= 2 and set(slug) <= words:
            return Target(link, None)
    return None


def _entries(blocks: list[Block], titles: dict[int, Target], everywhere: set[int]) -> Listing:
    """Each title with the date and excerpt under it, up to the next heading."""
    listing = Listing([])
    starts = sorted(titles)
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(blocks)
        excerpt: list[str] = []
        date: str | None = None
        listing.blocks.add(start)
        for i in range(start + 1, end):
            block = blocks[i]
            if block.kind == "heading" or len(excerpt) == MAX_EXCERPT_BLOCKS:
                break
            size = len(block.text.split())
            found = DATE.search(block.text) if size <= MAX_DATE_WORDS else None
            if i in everywhere or not (found or size >= MIN_EXCERPT_WORDS):
                continue
            if found and date is None:
                date = iso_date(found.group(0))
            else:
                excerpt.append(block.text)
            listing.blocks.add(i)
        target = titles[start]
        listing.entries.append(
            Entry(
                blocks[start].text, target.url, " ".join(excerpt) or None, date or target.published
            )
        )
    return listing

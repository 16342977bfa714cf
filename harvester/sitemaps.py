"""Sitemaps (sitemaps.org): page URLs a site lists, found before any link is followed.

Sitemaps are untrusted input fetched from the web, so XML is parsed with entities,
DTDs and the network off, and gzip bodies are expanded only up to a cap.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from lxml import etree

from .robots import Getter
from .urls import InvalidURL, normalize

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for one uncompressed file
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1024 * 1024


def _parser() -> etree.XMLParser:
    """No entity expansion, no DTD, no network: XXE and billion laughs yield nothing."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )


def gunzip(body: bytes, cap: int = MAX_SITEMAP_BYTES) -> bytes | None:
    """Decompressed body, or None when corrupt or larger than `cap` (a gzip bomb
    stops after `cap` bytes instead of being expanded whole)."""
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            while chunk := stream.read(CHUNK):
                out += chunk
                if len(out) > cap:
                    return None
    except (OSError, EOFError, zlib.error):
        return None
    return bytes(out)


def _http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")


Entry = tuple[str, datetime | None]
"""A page URL a sitemap lists, and its <lastmod> if it has a readable one."""

W3C_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def parse_date(text: str) -> datetime | None:
    """A W3C datetime as sitemaps write <lastmod> (2024, 2024-05, 2024-05-01,
    2024-05-01T12:00:00+02:00, ...Z), in UTC; a date without a zone is read as UTC."""
    text = text.strip()
    if W3C_DATE.fullmatch(text):
        text += "-01-01"[len(text) - 4 :] if len(text) < 10 else ""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _entries(root: etree._Element, entry: str) -> list[Entry]:
    """<loc> and <lastmod> of each <entry> child of the root, in the root's namespace (so
    that <image:loc> and the like are not read as pages)."""
    namespace = etree.QName(root).namespace

    def tag(name: str) -> str:
        return f"{{{namespace}}}{name}" if namespace else name

    found: list[Entry] = []
    for item in root.iterchildren(tag(entry)):
        loc = item.find(tag("loc"))
        # A <loc> with child nodes holds an unexpanded entity: never a URL of its own.
        if loc is None or len(loc) or not loc.text:
            continue
        url = loc.text.strip()
        if _http(url):
            lastmod = item.findtext(tag("lastmod"))
            found.append((url, parse_date(lastmod) if lastmod else None))
    return found


def _parse_xml(body: bytes) -> tuple[list[Entry], list[str]]:
    try:
        root = etree.fromstring(body, _parser())
    except (etree.LxmlError, ValueError):
        return [], []
    if root is None:
        return [], []
    kind = etree.QName(root).localname
    if kind == "urlset":
        return _entries(root, "url"), []
    if kind == "sitemapindex":
        return [], [url for url, _ in _entries(root, "sitemap")]
    return [], []


def _parse_text(body: bytes) -> list[Entry]:
    lines = body.decode("utf-8-sig", errors="replace").splitlines()
    return [(line.strip(), None) for line in lines if _http(line.strip())]


def sitemap_entries(body: bytes) -> tuple[list[Entry], list[str]]:
    """(page entries, child sitemap URLs) of one sitemap document.

    XML (<urlset> or <sitemapindex>, with or without the sitemaps.org namespace), or
    plain text with one URL a line; gzip is recognised by its magic bytes, since servers
    often send .xml.gz without saying so. Anything malformed yields nothing.
    """
    if body.startswith(GZIP_MAGIC):
        unpacked = gunzip(body)
        if unpacked is None:
            return [], []
        body = unpacked
    start = body.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
    if start.startswith(b"<"):
        return _parse_xml(start)  # whitespace before <?xml is a common, harmless slip
    return _parse_text(body), []


def parse_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, child sitemap URLs) of one sitemap document."""
    entries, children = sitemap_entries(body)
    return [url for url, _ in entries], children


def _normal(url: str) -> str | None:
    try:
        return normalize(url)
    except InvalidURL:
        return None


async def discover(
    getter: Getter,
    roots: list[str],
    allowed: Callable[[str], bool],
    *,
    max_sitemaps: int = 500,
    max_urls: int = 1_000_000,
    since: datetime | None = None,
) -> list[str]:
    """Allowed page URLs of the sitemaps at `roots` and the indexes below them, in order.

    Depth first, so pages come in the order the indexes list them. Each sitemap is
    fetched at most once (index loops end), at most `max_sitemaps` in all; sitemaps that
    `allowed` (the crawl's scope) refuses are not fetched, so their hosts are never
    contacted, and failed ones are skipped: robots.txt is the getter's to apply, to each
    sitemap and each redirect, answering status 0 for what it refuses. With `since`,
    entries whose <lastmod> is older are left out (those without one are kept).
    """
    pending = list(reversed(roots))  # a stack: depth first
    visited: set[str] = set()
    pages: dict[str, None] = {}  # ordered set
    fetched = 0
    while pending and fetched < max_sitemaps and len(pages) < max_urls:
        url = _normal(pending.pop())
        if url is None or url in visited or not allowed(url):
            continue
        visited.add(url)
        fetched += 1
        status, body = await getter(url)
        if not 200 <= status < 300:
            continue
        found, children = sitemap_entries(body)
        pending.extend(reversed(children))
        fresh = [url for url, lastmod in found if not (since and lastmod and lastmod < since)]
        for page in filter(None, map(_normal, fresh)):
            if len(pages) < max_urls and allowed(page):
                pages.setdefault(page)
    return list(pages)

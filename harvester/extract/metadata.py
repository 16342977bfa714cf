"""Page metadata: title, section, site name, dates, language, canonical URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from ..models import Block
from ..parse import Document, select
from ..urls import resolve
from . import structured
from .blocks import clean_text
from .vocabulary import class_tokens

# Attribute steps, not a predicate on every element: libxml2 walks attributes faster.
_BREADCRUMBS = etree.XPath(
    "//@class[contains(., 'readcrumb')]/.. | //@aria-label[contains(., 'readcrumb')]/.."
)
_XML_SPACES = str.maketrans("\t\n\r", "   ")  # what XPath's normalize-space collapses
TITLE_SEPARATORS = re.compile(r"\s+[|–—·•»:]\s+|\s+-\s+|\s*::\s*")
COPYRIGHT_OWNER = re.compile(
    r"(?:©|&copy;|\(c\)|copyright)\s*(?:©\s*)?(?:copyright\s*)?(?:\d{4}\s*(?:[-–]\s*\d{4})?\s*)?"
    r"(?P<owner>[A-Z][\w&'’.,\- ]*?)\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?)?\s*[.,]?\s*"
    r"(?:all rights reserved\.?)?$",
    re.I,
)
POSTED_ON = re.compile(
    r"\b(?:posted|published|updated|written)\s+(?:on\s+)?(?P<date>[A-Z][a-z]+\.?\s+\d{1,2},?\s+\d{4}"
    r"|\d{1,2}\s+[A-Z][a-z]+\.?\s+\d{4}|\d{4}-\d{2}-\d{2})",
    re.I,
)
DATE_FORMATS = (
    "%B %d, %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%Y-%m-%d",
)


@dataclass
class Metadata:
    title: str | None
    section: str | None
    site: str | None
    published: str | None
    modified: str | None
    language: str | None
    canonical: str | None
    author: str | None = None
    description: str | None = None


def _metas(tree: HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (
            (
                meta.get("property")
                or meta.get("name")
                or meta.get("itemprop")
                or meta.get("http-equiv")
                or ""
            )
            .strip()
            .lower()
        )
        value = (meta.get("content") or "").strip()
        if key and value:
            found.setdefault(key, value)
    return found


def iso_date(value: str | None) -> str | None:
    """ISO 8601 as written when it parses; "March 3, 2021" becomes "2021-03-03"."""
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.date().isoformat() if len(value) == 10 else parsed.isoformat()
    except ValueError:
        pass
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value).replace(".", "")
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def site_name(tree: HtmlElement, metas: dict[str, str], blocks: list[Block]) -> str | None:
    for key in ("og:site_name", "application-name"):
        if metas.get(key):
            return metas[key]
    for node in structured.page_nodes(tree):
        if node.get("@type") in (
            "WebSite",
            "Organization",
            "MedicalClinic",
            "LocalBusiness",
        ) and isinstance(node.get("name"), str):
            return str(node["name"])
    for block in reversed(blocks):
        for line in block.text.split("\n"):
            match = COPYRIGHT_OWNER.search(line)
            if match and len(line) < 160:
                return match.group("owner").strip(" .,")
    return None


def _title_parts(raw: str) -> list[str]:
    return [p.strip() for p in TITLE_SEPARATORS.split(raw) if p.strip()]


def _first_h1(blocks: list[Block]) -> str | None:
    for block in blocks:
        if block.kind == "heading" and block.level == 1 and not block.chrome:
            return block.text.replace("\n", " ")
    return None


def title_and_section(
    tree: HtmlElement, metas: dict[str, str], blocks: list[Block], site: str | None
) -> tuple[str | None, str | None]:
    """The page's own title (no " | Site" suffix) and the section the <title> names."""
    raw_title = clean_text(tree.findtext(".//title") or "").replace("\n", " ")
    parts = [p for p in _title_parts(raw_title) if not site or p.lower() != site.lower()]
    headings = {b.text.lower() for b in blocks if b.kind == "heading" and not b.chrome}
    title = _first_h1(blocks) or metas.get("og:title")
    if title:
        title_parts = [p for p in _title_parts(title) if not site or p.lower() != site.lower()]
        title = " - ".join(title_parts) if title_parts else title
    elif parts:
        title = next((p for p in parts if p.lower() in headings), parts[0])
    others = [p for p in parts if not title or p.lower() != title.lower()]
    section = _breadcrumb_section(tree, title) or (others[0] if len(others) == 1 else None)
    return title or None, section


def _breadcrumb_section(tree: HtmlElement, title: str | None) -> str | None:
    for crumbs in select(_BREADCRUMBS, tree):
        if not (
            {"breadcrumb", "breadcrumbs"} & class_tokens(crumbs)
            or crumbs.get("aria-label", "").lower() == "breadcrumb"
        ):
            continue
        items = [
            clean_text(a.text_content())
            for a in crumbs.iter("a", "li", "span")
            if clean_text(a.text_content())
        ]
        items = [i for i in dict.fromkeys(items) if not title or i.lower() != title.lower()]
        if len(items) >= 2:
            return items[-1]
    return None


def dates(
    tree: HtmlElement, metas: dict[str, str], blocks: list[Block]
) -> tuple[str | None, str | None]:
    published = metas.get("article:published_time") or metas.get("datepublished")
    modified = (
        metas.get("article:modified_time")
        or metas.get("og:updated_time")
        or metas.get("datemodified")
    )
    for node in structured.page_nodes(tree):
        published = published or structured.first_text(node.get("datePublished"))
        modified = modified or structured.first_text(node.get("dateModified"))
    published = published or next(structured.microdata_texts(tree, "datePublished"), None)
    modified = modified or next(structured.microdata_texts(tree, "dateModified"), None)
    if not published:
        published = next(
            (value for time in tree.iter("time") if (value := time.get("datetime")) is not None),
            None,
        )
    if not published:
        for block in blocks:
            match = POSTED_ON.search(block.text)
            if match:
                published = match.group("date")
                break
    return iso_date(published), iso_date(modified)


def language(tree: HtmlElement, metas: dict[str, str]) -> str | None:
    value = (
        tree.get("lang")
        or tree.get("xml:lang")
        or metas.get("content-language")
        or metas.get("og:locale")
    )
    if not value:
        return None
    value = value.split(",")[0].strip().replace("_", "-")
    return value or None


def canonical(doc: Document) -> str | None:
    """The first <link rel="canonical" href>, found by a tag scan (cheaper than XPath)."""
    for link in doc.tree.iter("link"):
        href, rel = link.get("href"), link.get("rel")
        if href is not None and rel and "canonical" in rel.translate(_XML_SPACES).split(" "):
            return resolve(doc.base_url, href)
    return None


def read_metadata(doc: Document, blocks: list[Block]) -> Metadata:
    metas = _metas(doc.tree)
    site = site_name(doc.tree, metas, blocks)
    title, section = title_and_section(doc.tree, metas, blocks, site)
    published, modified = dates(doc.tree, metas, blocks)
    return Metadata(
        title=title,
        section=section,
        site=site,
        published=published,
        modified=modified,
        language=language(doc.tree, metas),
        canonical=canonical(doc),
        author=author(doc.tree, metas),
        description=description(metas),
    )


def description(metas: dict[str, str]) -> str | None:
    for key in ("description", "og:description", "twitter:description"):
        if metas.get(key):
            return clean_text(metas[key]).replace("\n", " ")
    return None


def author(tree: HtmlElement, metas: dict[str, str]) -> str | None:
    """Who wrote the page: meta tags, JSON-LD, then a visible byline."""
    for key in ("author", "article:author", "twitter:creator", "dc.creator"):
        value = metas.get(key, "")
        if value and not value.startswith(("http://", "https://", "@")):
            return _person(value)
    for node in structured.page_nodes(tree):
        if "Question" in structured.types(node):
            continue  # who asked is not who wrote the page
        name = _jsonld_name(node.get("author"))
        if name:
            return name
    for value in structured.microdata_texts(tree, "author"):
        name = _person(value)
        if name:
            return name
    for xpath in _BYLINES:
        for el in select(xpath, tree):
            text = _person(el.text_content())
            if text:
                return text
    return None


# Attribute steps, compiled once: libxml2 walks attributes faster than it tests predicates.
_BYLINES = (
    etree.XPath(
        "//@rel[.='author']/.. | //@itemprop[.='author']/.."
        " | //@class[contains(., 'author-name')]/.."
    ),
    etree.XPath("//@class[contains(., 'byline')]/.."),
)
_BY = re.compile(r"^(?:written\s+)?(?:by|par|von|door|por|di)\s+", re.I)


def _person(value: str) -> str | None:
    text = _BY.sub("", clean_text(value).replace("\n", " ")).strip(" ,|")
    return text if 0 < len(text) <= 100 else None


def _jsonld_name(value: Any) -> str | None:
    """ "Jane", {"name": "Jane"}, or a list of those (one level: names, not trees)."""
    values = value[: structured.MAX_LIST] if isinstance(value, list) else [value]
    names = [n for n in (_one_name(v) for v in values) if n]
    return ", ".join(names) or None


def _one_name(value: Any) -> str | None:
    if isinstance(value, dict):
        value = structured.first_text(value.get("name"))
    return _person(value) if isinstance(value, str) else None

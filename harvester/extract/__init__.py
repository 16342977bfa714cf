"""Extract stage: a parsed page in, a `Page` (blocks, Q&A, metadata) out. Pure."""

from __future__ import annotations

from lxml.html import HtmlElement

from ..models import Image, Page, Source
from ..parse import Document, links
from ..urls import host_of, resolve, site_key
from .blocks import linearize_page, select_main
from .metadata import read_metadata
from .qa import find_qa

MIN_IMAGE_SIDE = 48  # smaller is an icon, a spacer or a tracking pixel


def extract_page(doc: Document, fetched_at: str, source: Source) -> Page:
    walk = linearize_page(doc.tree)
    blocks, images = walk.blocks, walk.images
    qa = find_qa(doc.tree, blocks)  # reads every block: before the main text is chosen
    select_main(blocks, qa, walk.aside)
    meta = read_metadata(doc, blocks)
    pages, documents = links(doc)
    return Page(
        url=doc.url,
        canonical=meta.canonical,
        title=meta.title,
        section=meta.section,
        site=meta.site,
        published=meta.published,
        modified=meta.modified,
        language=meta.language,
        blocks=[b for b in blocks if b.main and not b.chrome],
        qa=qa,
        fetched_at=fetched_at,
        source=source,
        links=pages,
        attachments=documents,
        author=meta.author,
        description=meta.description,
        images=content_images(doc, images),
    )


def content_images(doc: Document, images: list[HtmlElement]) -> list[Image]:
    """Images of the main content on the page's own site, once each, icons left out."""
    site = site_key(host_of(doc.url))
    found: dict[str, Image] = {}
    for img in images:
        src = img.get("src") or img.get("data-src") or ""
        url = resolve(doc.base_url, src)
        if url is None or site_key(host_of(url)) != site or url in found:
            continue
        if any(_pixels(img.get(side)) < MIN_IMAGE_SIDE for side in ("width", "height")):
            continue
        found[url] = Image(src=url, alt=" ".join((img.get("alt") or "").split()))
    return list(found.values())


def _pixels(value: str | None) -> int:
    digits = (value or "").strip().removesuffix("px")
    return int(digits) if digits.isdigit() else MIN_IMAGE_SIDE


__all__ = ["extract_page"]

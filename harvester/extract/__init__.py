"""Extract stage: a parsed page in, a `Page` (blocks, Q&A, metadata) out. Pure."""

from __future__ import annotations

from ..models import Page, Source
from ..parse import Document, links
from .blocks import linearize
from .metadata import read_metadata
from .qa import find_qa


def extract_page(doc: Document, fetched_at: str, source: Source) -> Page:
    blocks = linearize(doc.tree)
    qa = find_qa(doc.tree, blocks)
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
    )


__all__ = ["extract_page"]

"""The pipeline end to end: fetch -> parse -> extract -> dedup -> emit.

This module only wires the stages together; each stage lives in its own module.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from .crawler import CrawlOptions, crawl
from .dedup import Candidate, TemplateModel, distinct_qa, drop_repeats, fold, learn
from .dedup.template import top_blocks
from .emit import JsonlWriter
from .extract.blocks import render
from .models import Attachment, Block, Page, QARecord, Record
from .report import Failure, Summary
from .state import EmitLog
from .urls import host_of, site_key

QA_SHARE_FOR_KIND = 0.5  # a page whose text is mostly its Q&A is a "qa" page


@dataclass
class DedupOptions:
    similarity: float = 0.9
    template_min_pages: int = 3
    template_min_fraction: float = 0.25


def page_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


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
        attachments=_attachments(pages, group),
        author=keeper.author,
        description=keeper.description,
        images=keeper.images,
    )


def qa_records(records: list[Record], summary: Summary) -> list[QARecord]:
    found = distinct_qa(records)
    summary.qa = len(found)
    return found


def _attachments(pages: list[Page], group: list[int]) -> list[Attachment]:
    found: dict[str, Attachment] = {}
    for index in group:
        for attachment in pages[index].attachments:
            found.setdefault(attachment.url, attachment)
    return list(found.values())


def emit(
    records: list[Record] | list[QARecord],
    writer: JsonlWriter,
    log: EmitLog,
    summary: Summary,
    full: bool = False,
    already_written: set[str] | None = None,
) -> None:
    """Write each record once: skip what this run already wrote before it was interrupted,
    and (unless `full`) what an earlier run emitted with the same content."""
    for record in records:
        content = record.content_hash()
        if already_written and record.id in already_written:
            continue
        if not full and log.emitted(record.id) == content:
            summary.unchanged += 1
            continue
        writer.write(record.to_dict())
        log.mark(record.id, content)
        summary.written += 1


__all__ = [
    "CrawlOptions",
    "DedupOptions",
    "Failure",
    "Summary",
    "build_records",
    "crawl",
    "emit",
    "qa_records",
]

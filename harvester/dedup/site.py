"""The dedup stage over a whole crawl, in passes over the stored pages.

1. learn the site templates (block statistics per site);
2. drop in-page repeats and template blocks, sketch each page's text;
3. fold near-duplicate pages and build one record per group.

Each pass reads the pages again from their store instead of holding them all: memory
grows with distinct blocks and one small sketch per page, not with the site's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from datasketch import LeanMinHash

from ..extract.blocks import qa_share, render
from ..models import Attachment, Block, Page, Record
from ..urls import host_of, site_key
from .pages import fold_sketches, url_preference
from .sketch import sketch_all, word_shingles
from .template import TemplateLearner, TemplateModel

PageSource = Callable[[], Iterable[Page]]
QA_SHARE_FOR_KIND = 0.5  # a page whose text is mostly its Q&A is a "qa" page
EXPLAIN_CHARS = 200


@dataclass
class DedupOptions:
    similarity: float = 0.9
    num_perm: int = 128
    shingle_size: int = 3
    template_min_pages: int = 3
    template_min_share: float = 0.25


@dataclass
class Removal:
    """One thing dedup removed, and why: for --explain."""

    url: str
    reason: Literal["template", "repeat", "duplicate-page"]
    text: str
    detail: dict[str, Any]
    record_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "url": self.url,
            "reason": self.reason,
            "text": self.text[:EXPLAIN_CHARS],
            **self.detail,
        }


@dataclass
class DedupStats:
    repeats: int = 0
    template: int = 0
    aliases: int = 0
    top_templates: list[tuple[str, int]] = field(default_factory=list)


def page_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def _site(page: Page) -> str:
    return site_key(host_of(page.url))


def _qa_text(page: Page) -> str:
    return "\n".join(f"{q.question}\n{q.answer}" for q in page.qa)


def learn_templates(source: PageSource, options: DedupOptions) -> dict[str, TemplateModel]:
    """Pass 1: template statistics per site."""
    learners: dict[str, TemplateLearner] = {}
    for page in source():
        learner = learners.setdefault(
            _site(page), TemplateLearner(options.template_min_pages, options.template_min_share)
        )
        learner.add(page.blocks)
    return {site: learner.model() for site, learner in learners.items()}


def clean_blocks(
    page: Page, model: TemplateModel | None, explain: Callable[[Removal], None] | None = None
) -> tuple[list[Block], int, int]:
    """The page's blocks without template (in-page repeats went when it was read); and
    how many of each went."""
    blocks, repeats = page.blocks, page.repeats
    record_id = page_id(page.canonical or page.url)
    if explain:
        for repeat in repeats:
            detail = {"copy_of": repeat.copy_of}
            explain(Removal(page.url, "repeat", repeat.text, detail, record_id))
    drop = model.template_in(blocks, _qa_text(page), page.title) if model else set()
    if explain and model:
        for index in sorted(drop):
            text = blocks[index].text
            detail = {"pages": model.pages_with(blocks[index])}
            explain(Removal(page.url, "template", text, detail, record_id))
    return [b for i, b in enumerate(blocks) if i not in drop], len(repeats), len(drop)


@dataclass
class _Seen:
    """What pass 2 keeps of a page: enough to fold it, not its text."""

    url: str
    canonical: str | None
    aliases: list[str]
    attachments: list[Attachment]
    sketch: LeanMinHash | None


def build_records(
    source: PageSource | list[Page],
    options: DedupOptions,
    stats: DedupStats,
    explain: Callable[[Removal], None] | None = None,
) -> Iterator[Record]:
    """Records of a crawl, one per group of duplicate pages, in crawl order."""
    pages_of: PageSource = (lambda: source) if isinstance(source, list) else source
    models = learn_templates(pages_of, options)
    for model in models.values():
        stats.top_templates += model.top()
    stats.top_templates.sort(key=lambda item: -item[1])
    seen: list[_Seen] = []
    for page in pages_of():
        blocks, repeats, template = clean_blocks(page, models.get(_site(page)), explain)
        stats.repeats += repeats
        stats.template += template
        text = render(blocks)
        shingles = word_shingles(text, options.shingle_size)
        sketch = LeanMinHash(sketch_all([shingles], options.num_perm)[0]) if shingles else None
        seen.append(_Seen(page.url, page.canonical, page.aliases, page.attachments, sketch))
    groups = fold_sketches(
        [(s.url, s.canonical, s.sketch) for s in seen], options.similarity, options.num_perm
    )
    keeper_of = {group[0]: group for group in groups}
    for index, page in enumerate(pages_of()):
        group = keeper_of.get(index)
        if group is None:
            continue
        blocks = clean_blocks(page, models.get(_site(page)))[0]
        record = _record(page, render(blocks), [seen[i] for i in group])
        stats.aliases += len(record.aliases)
        if explain:
            for other in group[1:]:
                explain(_folded(seen[other], seen[index], record))
        yield record


def _folded(page: _Seen, keeper: _Seen, record: Record) -> Removal:
    similarity = (
        round(float(page.sketch.jaccard(keeper.sketch)), 3)
        if page.sketch is not None and keeper.sketch is not None
        else None
    )
    return Removal(
        page.url,
        "duplicate-page",
        "",
        {"folded_into": record.url, "similarity": similarity},
        record.id,
    )


def _record(keeper: Page, text: str, group: list[_Seen]) -> Record:
    url = keeper.canonical or keeper.url
    aliases: dict[str, None] = {}
    attachments: dict[str, Attachment] = {}
    for member in group:
        for alias in [member.url, *member.aliases]:
            if alias != url:
                aliases.setdefault(alias, None)
        for attachment in member.attachments:
            attachments.setdefault(attachment.url, attachment)
    # Decided on the record's whole text (intro and every Q&A), counting only Q&A text
    # that the text shows, in the same characters on both sides.
    kind: Literal["qa", "article"] = (
        "qa" if qa_share(keeper.qa, text) >= QA_SHARE_FOR_KIND else "article"
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
        attachments=list(attachments.values()),
        author=keeper.author,
        description=keeper.description,
        images=keeper.images,
    )


__all__ = ["DedupOptions", "DedupStats", "Removal", "build_records", "page_id", "url_preference"]

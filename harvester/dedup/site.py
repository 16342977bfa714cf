"""The dedup stage over a whole crawl, in passes over the stored pages.

1. learn the site templates (block statistics per site);
2. drop in-page repeats and template blocks, sketch each page's text;
3. fold near-duplicate pages and build one record per group.

Each pass reads the pages again from their store instead of holding them all: memory
grows with distinct blocks and one small sketch per page, not with the site's text.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from datasketch import LeanMinHash

from ..extract.blocks import qa_share, render
from ..models import Attachment, Block, Page, Record, Repeat
from ..settings import DEFAULTS
from ..urls import host_of, site_key
from .pages import fold_sketches, url_preference
from .sketch import fingerprint, sketch_all, word_shingles
from .template import TemplateLearner, TemplateModel

PageSource = Callable[[], Iterable[Page]]
QA_SHARE_FOR_KIND = 0.5  # a page whose text is mostly its Q&A is a "qa" page
EXPLAIN_CHARS = 200
KEPT_CHARS = 80  # of the kept block a repeat is a copy of, for --explain
TOP_TEMPLATES = 50


@dataclass
class DedupOptions:
    similarity: float = DEFAULTS.similarity
    num_perm: int = DEFAULTS.num_perm
    shingle_size: int = DEFAULTS.shingle_size
    template_min_pages: int = DEFAULTS.template_min_pages
    template_min_share: float = DEFAULTS.template_min_share


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
    aliases: int = 0  # pages folded into another page's record
    # What went as template: a removed block's own text, and on how many pages it went.
    top_templates: list[tuple[str, int]] = field(default_factory=list)
    sitewide_attachments: int = 0  # listed once per site instead of on every page


def page_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def _site(page: Page) -> str:
    return site_key(host_of(page.url))


def _qa_text(page: Page) -> str:
    return "\n".join(f"{q.question}\n{q.answer}" for q in page.qa)


def learn_templates(source: PageSource, options: DedupOptions) -> dict[str, TemplateModel]:
    """Pass 1: template statistics per site."""
    return learn_sites(source, options)[0]


Sitewide = dict[str, dict[str, Attachment]]  # site -> url -> attachment


def learn_sites(
    source: PageSource, options: DedupOptions
) -> tuple[dict[str, TemplateModel], Sitewide]:
    """Pass 1: template statistics per site, and the attachments that enough of a site's
    pages link (by the template rule: a menu's PDF) to be the site's, not each page's."""
    learners: dict[str, TemplateLearner] = {}
    linked: dict[str, Counter[str]] = {}
    first: Sitewide = {}
    for page in source():
        site = _site(page)
        learner = learners.setdefault(
            site, TemplateLearner(options.template_min_pages, options.template_min_share)
        )
        learner.add(page.blocks)
        if page.attachments:
            linked.setdefault(site, Counter()).update({a.url for a in page.attachments})
            known = first.setdefault(site, {})
            for attachment in page.attachments:
                known.setdefault(attachment.url, attachment)
    models = {site: learner.model() for site, learner in learners.items()}
    sitewide: Sitewide = {}
    for site, counts in linked.items():
        found = {u: a for u, a in first[site].items() if counts[u] >= models[site].needed}
        if found:
            sitewide[site] = found
    return models, sitewide


class TemplateTally:
    """Blocks removed as template: on how many pages each went, and the text of its first
    removal (template matching masks digits and case; people read the original)."""

    def __init__(self) -> None:
        self.pages: Counter[str] = Counter()
        self.texts: dict[str, str] = {}

    def add(self, removed: Iterable[tuple[str, str]]) -> None:
        """One page's removed blocks, as (fingerprint, text)."""
        keys: dict[str, str] = {}  # one count per page, the first text of each
        for key, text in removed:
            keys.setdefault(key, text)
        self.pages.update(keys.keys())
        for key, text in keys.items():
            self.texts.setdefault(key, text)

    def top(self, limit: int = TOP_TEMPLATES) -> list[tuple[str, int]]:
        return [(self.texts[k], n) for k, n in self.pages.most_common(limit)]


def clean_blocks(
    page: Page,
    model: TemplateModel | None,
    explain: Callable[[Removal], None] | None = None,
    tally: TemplateTally | None = None,
) -> tuple[list[Block], int, int]:
    """The page's blocks without template (in-page repeats went when it was read); and
    how many of each went."""
    blocks, repeats = page.blocks, page.repeats
    record_id = page_id(page.canonical or page.url)
    keys = [fingerprint(b.text) for b in blocks] if model else []
    drop = model.template_in(blocks, _qa_text(page), page.title, keys) if model else set()
    if tally is not None and drop:
        tally.add((keys[i], blocks[i].text) for i in sorted(drop))
    if explain:
        for repeat in repeats:
            detail = _copy_of(repeat, blocks, drop)
            explain(Removal(page.url, "repeat", repeat.text, detail, record_id))
    if explain and model:
        for index in sorted(drop):
            text = blocks[index].text
            detail = {"pages": model.counts.get(keys[index], 0)}
            explain(Removal(page.url, "template", text, detail, record_id))
    return [b for i, b in enumerate(blocks) if i not in drop], len(repeats), len(drop)


def _copy_of(repeat: Repeat, blocks: list[Block], drop: set[int]) -> dict[str, Any]:
    """The kept block a repeat copies: its index among the record's blocks (None if it
    went too, as template) and the start of its text."""
    if not 0 <= repeat.copy_of < len(blocks):
        return {"copy_of": None, "kept": ""}
    index = (
        None if repeat.copy_of in drop else repeat.copy_of - sum(i < repeat.copy_of for i in drop)
    )
    return {"copy_of": index, "kept": blocks[repeat.copy_of].text[:KEPT_CHARS]}


def own_attachments(
    attachments: list[Attachment], sitewide: dict[str, Attachment] | None, text: str
) -> list[Attachment]:
    """A page's attachments without the site's (see `build_records`), except those whose
    link text the page's own kept text shows: linked from its content too."""
    if not sitewide:
        return attachments
    folded = text.casefold()
    return [
        a for a in attachments if a.url not in sitewide or (a.text and a.text.casefold() in folded)
    ]


@dataclass
class _Seen:
    """What pass 2 keeps of a page: enough to fold it, not its text."""

    url: str
    canonical: str | None
    aliases: list[str]
    attachments: list[Attachment]
    sketch: LeanMinHash | None
    site: str = ""


def build_records(
    source: PageSource | list[Page],
    options: DedupOptions,
    stats: DedupStats,
    explain: Callable[[Removal], None] | None = None,
) -> Iterator[Record]:
    """Records of a crawl, one per group of duplicate pages, in crawl order.

    Attachments that a site's pages link from everywhere (on at least as many pages as a
    template block: `template_min_pages` and `template_min_share`) are the site's, not
    each page's: they are listed once, on the record of the site's home page (its record
    with the shortest URL), and left off the others, unless a page's own kept text shows
    the link's text (linked from its content too)."""
    pages_of: PageSource = (lambda: source) if isinstance(source, list) else source
    models, sitewide = learn_sites(pages_of, options)
    tally = TemplateTally()
    seen: list[_Seen] = []
    for page in pages_of():
        site = _site(page)
        blocks, repeats, template = clean_blocks(page, models.get(site), explain, tally)
        stats.repeats += repeats
        stats.template += template
        text = render(blocks)
        shingles = word_shingles(text, options.shingle_size)
        sketch = LeanMinHash(sketch_all([shingles], options.num_perm)[0]) if shingles else None
        attachments = own_attachments(page.attachments, sitewide.get(site), text)
        seen.append(_Seen(page.url, page.canonical, page.aliases, attachments, sketch, site))
    stats.top_templates = tally.top()
    groups = fold_sketches(
        [(s.url, s.canonical, s.sketch) for s in seen], options.similarity, options.num_perm
    )
    keeper_of = {group[0]: group for group in groups}
    homes = _homes(seen, keeper_of, sitewide)
    for index, page in enumerate(pages_of()):
        group = keeper_of.get(index)
        if group is None:
            continue
        blocks = clean_blocks(page, models.get(_site(page)))[0]
        record = _record(page, render(blocks), [seen[i] for i in group])
        if index in homes:
            record.attachments = _merged(record.attachments, sitewide[homes[index]].values())
            stats.sitewide_attachments += len(sitewide[homes[index]])
        stats.aliases += len(group) - 1
        if explain:
            for other in group[1:]:
                explain(_folded(seen[other], seen[index], record))
        yield record


def _homes(seen: list[_Seen], keepers: Iterable[int], sitewide: Sitewide) -> dict[int, str]:
    """Keeper index -> site, for the record of each site's home page: the site's record
    with the shortest URL, which gets the site's attachments."""
    best: dict[str, int] = {}
    for index in keepers:
        site = seen[index].site
        if site in sitewide and (
            site not in best or _url_rank(seen[index]) < _url_rank(seen[best[site]])
        ):
            best[site] = index
    return {index: site for site, index in best.items()}


def _url_rank(page: _Seen) -> tuple[int, int, str]:
    return url_preference(page.canonical or page.url)


def _merged(attachments: list[Attachment], more: Iterable[Attachment]) -> list[Attachment]:
    known = {a.url for a in attachments}
    return attachments + [a for a in more if a.url not in known]


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
        extra=keeper.extra,
        author=keeper.author,
        description=keeper.description,
        images=keeper.images,
    )


__all__ = ["DedupOptions", "DedupStats", "Removal", "build_records", "page_id", "url_preference"]

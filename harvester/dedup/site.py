"""The dedup stage over a whole crawl, in passes over the stored pages.

1. learn the site templates (block statistics per site), the pages' titles (what a
   listing's entries link to) and which URLs look like copies of each other;
2. drop in-page repeats and template blocks (a listing keeps its entries), sketch each
   page's text;
3. fold near-duplicate pages (see evidence.py) and build one record per group.

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
from .evidence import PageEvidence, resolve_canonical, title_words, twin_key, word_vector
from .listing import Listing, Target, find_listing, might_list
from .pages import fold_sketches, url_preference
from .sketch import fingerprint, shingles_of, sketch_all, words_of
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
    return learn_sites(source, options).models


Sitewide = dict[str, dict[str, Attachment]]  # site -> url -> attachment
Targets = dict[str, Target | None]  # title fingerprint -> its page; None: several pages


@dataclass
class Learned:
    """What pass 1 learns of each site."""

    models: dict[str, TemplateModel]
    sitewide: Sitewide
    targets: dict[str, Targets]
    twins: Counter[str]  # pages per `twin_key`


def learn_sites(source: PageSource, options: DedupOptions) -> Learned:
    """Pass 1: template statistics per site; the attachments that enough of a site's
    pages link (by the template rule: a menu's PDF) to be the site's, not each page's;
    the pages' titles; and the URL twin keys."""
    learners: dict[str, TemplateLearner] = {}
    linked: dict[str, Counter[str]] = {}
    first: Sitewide = {}
    targets: dict[str, Targets] = {}
    twins: Counter[str] = Counter()
    for page in source():
        site = _site(page)
        learner = learners.setdefault(
            site, TemplateLearner(options.template_min_pages, options.template_min_share)
        )
        learner.add(page.blocks)
        twins[twin_key(page.url)] += 1
        if page.title:
            _add_target(targets.setdefault(site, {}), page)
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
    return Learned(models, sitewide, targets, twins)


def _add_target(targets: Targets, page: Page) -> None:
    key = fingerprint(page.title or "")
    known = targets.get(key)
    if key not in targets:
        targets[key] = Target(page.url, page.published)
    elif known is not None and known.url != page.url:
        targets[key] = None


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


@dataclass
class Cleaned:
    """A page's blocks as dedup keeps them, what went, and its entries if a listing."""

    blocks: list[Block]
    repeats: int
    template: int
    listing: Listing | None = None


def clean_blocks(
    page: Page,
    model: TemplateModel | None,
    explain: Callable[[Removal], None] | None = None,
    tally: TemplateTally | None = None,
    targets: Targets | None = None,
) -> Cleaned:
    """The page's blocks without template (in-page repeats went when it was read); and
    how many of each went. With the site's `targets`, a listing page keeps its entries."""
    blocks, repeats = page.blocks, page.repeats
    record_id = page_id(resolve_canonical(page.url, page.canonical) or page.url)
    keys = [fingerprint(b.text) for b in blocks] if model else []
    drop = model.template_in(blocks, _qa_text(page), page.title, keys) if model else set()
    listing = _listing(page, model, keys, drop, targets) if targets else None
    if listing is not None:
        drop -= listing.blocks
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
    kept = [b for i, b in enumerate(blocks) if i not in drop]
    return Cleaned(kept, len(repeats), len(drop), listing)


def _listing(
    page: Page, model: TemplateModel | None, keys: list[str], drop: set[int], targets: Targets
) -> Listing | None:
    """The page's entries if it is a listing page (see listing.py)."""
    if not might_list(page.blocks):
        return None
    everywhere = (
        {i for i, key in enumerate(keys) if model.counts.get(key, 0) >= model.everywhere}
        if model
        else set()
    )
    kept = set(range(len(page.blocks))) - drop
    return find_listing(page, kept, targets, everywhere)


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

    evidence: PageEvidence
    aliases: list[str]
    attachments: list[Attachment]

    @property
    def url(self) -> str:
        return self.evidence.url

    @property
    def site(self) -> str:
        return self.evidence.site


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
    learned = learn_sites(pages_of, options)
    tally = TemplateTally()
    seen = [_seen(page, learned, options, stats, tally, explain) for page in pages_of()]
    stats.top_templates = tally.top()
    groups, signals = fold_sketches(
        [s.evidence for s in seen], options.similarity, options.num_perm
    )
    keeper_of = {group[0]: group for group in groups}
    homes = _homes(seen, keeper_of, learned.sitewide)
    for index, page in enumerate(pages_of()):
        group = keeper_of.get(index)
        if group is None:
            continue
        site = _site(page)
        cleaned = clean_blocks(page, learned.models.get(site), targets=learned.targets.get(site))
        record = _record(page, cleaned, [seen[i] for i in group])
        if index in homes:
            record.attachments = _merged(
                record.attachments, learned.sitewide[homes[index]].values()
            )
            stats.sitewide_attachments += len(learned.sitewide[homes[index]])
        stats.aliases += len(group) - 1
        if explain:
            for other in group[1:]:
                explain(_folded(seen[other], seen[index], record, signals[other]))
        yield record


def _seen(
    page: Page,
    learned: Learned,
    options: DedupOptions,
    stats: DedupStats,
    tally: TemplateTally,
    explain: Callable[[Removal], None] | None,
) -> _Seen:
    """Pass 2 for one page: clean it, count what went, sketch what is left."""
    site = _site(page)
    cleaned = clean_blocks(
        page, learned.models.get(site), explain, tally, learned.targets.get(site)
    )
    stats.repeats += cleaned.repeats
    stats.template += cleaned.template
    text = render(cleaned.blocks)
    words = words_of(text)
    shingles = shingles_of(words, options.shingle_size)
    sketch = LeanMinHash(sketch_all([shingles], options.num_perm)[0]) if shingles else None
    evidence = PageEvidence(
        url=page.url,
        canonical=resolve_canonical(page.url, page.canonical),
        site=site,
        words=len(words),
        shingles=len(shingles),
        sketch=sketch,
        title=title_words(page.title),
        listing=cleaned.listing.urls if cleaned.listing else None,
        vector=word_vector(words) if learned.twins[twin_key(page.url)] > 1 else None,
    )
    attachments = own_attachments(page.attachments, learned.sitewide.get(site), text)
    return _Seen(evidence, page.aliases, attachments)


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


def _url_rank(page: _Seen) -> tuple[bool, bool, int, str]:
    return url_preference(page.evidence.canonical or page.url)


def _merged(attachments: list[Attachment], more: Iterable[Attachment]) -> list[Attachment]:
    known = {a.url for a in attachments}
    return attachments + [a for a in more if a.url not in known]


def _folded(page: _Seen, keeper: _Seen, record: Record, signals: dict[str, Any]) -> Removal:
    """A folded page, for --explain: where it went, its Jaccard with the keeper's page,
    and the signals of the fold (`decided_by` names those that decided it)."""
    a, b = page.evidence.sketch, keeper.evidence.sketch
    similarity = round(float(a.jaccard(b)), 3) if a is not None and b is not None else None
    detail = {"folded_into": record.url, "similarity": similarity, "signals": signals}
    return Removal(page.url, "duplicate-page", "", detail, record.id)


def _record(keeper: Page, cleaned: Cleaned, group: list[_Seen]) -> Record:
    url = group[0].evidence.canonical or keeper.url
    aliases: dict[str, None] = {}
    attachments: dict[str, Attachment] = {}
    for member in group:
        for alias in [member.url, *member.aliases]:
            if alias != url:
                aliases.setdefault(alias, None)
        for attachment in member.attachments:
            attachments.setdefault(attachment.url, attachment)
    text = render(cleaned.blocks)
    return Record(
        id=page_id(url),
        url=url,
        aliases=list(aliases),
        title=keeper.title,
        section=keeper.section,
        kind=_kind(keeper, text, cleaned.listing),
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
        entries=cleaned.listing.entries if cleaned.listing else [],
    )


def _kind(page: Page, text: str, listing: Listing | None) -> Literal["qa", "article", "listing"]:
    """Decided on the record's whole text (intro and every Q&A), counting only Q&A text
    that the text shows, in the same characters on both sides."""
    if listing is not None:
        return "listing"
    return "qa" if qa_share(page.qa, text) >= QA_SHARE_FOR_KIND else "article"


__all__ = ["DedupOptions", "DedupStats", "Removal", "build_records", "page_id", "url_preference"]

"""A shared job's dedup and records: per site once its frontier is done, across sites once
the job is, and read back for `harvester export`.

A site's template learning and page folding need all of that site's pages, so they run
when its last URL is handled, by whichever worker handled it, under the site's advisory
lock, and their records replace the site's earlier ones in one transaction. When the
frontier is empty, the worker that takes the job's lock first dedups any site left over
(its last page was handled by a worker that died), folds copies across sites, and marks
the job done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from .dedup import DedupOptions, DedupStats, build_records
from .dedup.crosssite import fold_across_sites, sketch_text, sketched
from .dedup.site import PageSource
from .models import Page, Record
from .state.job import SharedJob, StoredRecord

log = logging.getLogger("harvester")
SITE_IN_MEMORY = 2000  # pages of a site held at once for its dedup; a bigger one is streamed


def dedup_site(state: SharedJob, site: str, options: DedupOptions) -> None:
    """The site's records from its pages, unless they are current already."""
    with state.transaction(), state.site_lock(site):
        state.durable()
        newest, count = state.newest_page(site)
        if not newest or newest <= state.deduped_seq(site):
            return
        if count <= SITE_IN_MEMORY:  # read once, not once a pass
            pages: list[Page] | PageSource = list(state.site_pages(site, newest))
        else:
            pages = lambda: state.site_pages(site, newest)  # noqa: E731
        made = build_records(pages, options, DedupStats())
        records = [_stored(record, options) for record in made]
        state.put_site_records(site, records, newest)
    log.info("site %s: %d records", site, len(records))


def _stored(record: Record, options: DedupOptions) -> StoredRecord:
    sketch = sketch_text(record.text, options.shingle_size, options.num_perm)
    return StoredRecord(record, sketch.words, sketch.sketch, sketch.bands)


def finish(state: SharedJob, options: DedupOptions, limit_reached: bool = False) -> bool:
    """Bring the job's records up to date and mark it done; True for the worker that did
    (the others find it done, or wait on the lock until it is). With `limit_reached`
    (--max-pages), what is left in the frontier stays unfetched."""
    for site in state.stale_sites():
        dedup_site(state, site, options)
    with state.transaction(), state.job_lock():
        state.durable()
        if state.status() == "done" or state.starting():
            return False
        if len(state.frontier) and not limit_reached:
            return False
        for site in state.stale_sites():  # a worker that stopped left one behind
            dedup_site(state, site, options)
        fold_sites(state, options)
        state.mark_done()
    return True


def fold_sites(state: SharedJob, options: DedupOptions) -> int:
    """Copies across sites folded into one record each; returns how many were folded."""
    groups = state.shared_bands()
    wanted = sorted({i for group in groups for i in group})
    items = {row[0]: sketched(*row) for row in state.sketches(wanted)}
    folded = fold_across_sites(groups, items, options.similarity)
    state.set_folds(folded)
    return len(folded)


def job_records(state: SharedJob) -> Iterator[Record]:
    """The job's records, each copy from another site an alias of the one it folds into."""
    kept: dict[str, Record] = {}
    copies: list[tuple[Record, str]] = []
    for record, folded_into in state.stored_records():
        if folded_into is None:
            kept[record.id] = record
        else:
            copies.append((record, folded_into))
    for copy, keeper_id in copies:
        keeper = kept.get(keeper_id)
        if keeper is None:
            kept[copy.id] = copy  # its keeper is gone: the copy stands for itself
            continue
        for url in [copy.url, *copy.aliases]:
            if url not in keeper.aliases and url != keeper.url:
                keeper.aliases.append(url)
    yield from kept.values()


__all__ = ["dedup_site", "finish", "fold_sites", "job_records"]

"""Site templates: blocks that recur, exactly or nearly, on many pages of a site.

Statistics come from a pass over the stored pages (`TemplateLearner.add` per page), so
memory grows with the number of distinct blocks, not with pages. A block is judged in
its page: frequent blocks at the edges of the main text (menus, sign-offs, footers) are
template; a frequent block in the middle of page-specific text is content quoted again,
unless it is on most pages; blocks of a detected Q&A are always content.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..models import Block
from .sketch import char_shingles, fingerprint, lsh_params, sketch_all

MIN_PAGES = 3
MIN_SHARE = 0.25
EVERYWHERE_SHARE = 0.5  # a block on half the pages is template wherever it stands
NEAR_SIMILARITY = 0.7
NEAR_MIN_CHARS = 16  # below this, near-matching joins unrelated short labels
NEAR_MAX_CHARS = 300  # template lines are short; long paragraphs are matched exactly
NUM_PERM = 64
CHAR_SHINGLE = 4
SKETCH_BATCH = 2000


@dataclass
class TemplateModel:
    """Fingerprints seen on enough pages to be template, with their page counts."""

    pages: int
    needed: int
    everywhere: int
    counts: dict[str, int] = field(default_factory=dict)

    def pages_with(self, block: Block) -> int:
        return self.counts.get(fingerprint(block.text), 0)

    def is_template(self, block: Block) -> bool:
        return self.pages_with(block) >= self.needed

    def template_in(
        self,
        blocks: list[Block],
        qa_text: str = "",
        title: str | None = None,
        keys: list[str] | None = None,
    ) -> set[int]:
        """Indices of this page's template blocks, judged with their neighbourhood. The
        page's own title and its Q&A are content even where other pages repeat them.
        `keys`: the blocks' fingerprints, when the caller has them already."""
        keys = keys if keys is not None else [fingerprint(b.text) for b in blocks]
        pages = [self.counts.get(key, 0) for key in keys]
        frequent = [
            pages[i] >= self.needed
            and not (qa_text and b.text in qa_text)
            and not (b.kind == "heading" and (b.level == 1 or b.text == title))
            for i, b in enumerate(blocks)
        ]
        found = {i for i in range(len(blocks)) if frequent[i] and pages[i] >= self.everywhere}
        start = 0
        while start < len(blocks) and frequent[start]:
            found.add(start)
            start += 1
        end = len(blocks) - 1
        while end >= start and frequent[end]:
            found.add(end)
            end -= 1
        return found

    def top(self, limit: int = 5) -> list[tuple[str, int]]:
        return [(k, n) for k, n in Counter(self.counts).most_common(limit) if n >= self.needed]


class TemplateLearner:
    """Counts, page by page, on how many pages each block (or a near copy) appears."""

    def __init__(self, min_pages: int = MIN_PAGES, min_share: float = MIN_SHARE) -> None:
        self.min_pages, self.min_share = min_pages, min_share
        self.pages = 0
        self.counts: Counter[str] = Counter()

    def add(self, blocks: list[Block]) -> None:
        self.pages += 1
        self.counts.update({key for key in (fingerprint(b.text) for b in blocks) if key})

    def model(self) -> TemplateModel:
        needed = max(self.min_pages, math.ceil(self.min_share * self.pages))
        everywhere = max(needed, math.ceil(EVERYWHERE_SHARE * self.pages))
        clusters = _near_clusters(
            [k for k in self.counts if NEAR_MIN_CHARS <= len(k) <= NEAR_MAX_CHARS]
        )
        cluster_counts: Counter[str] = Counter()
        for key, count in self.counts.items():
            cluster_counts[clusters.get(key, key)] += count
        counts = {
            key: min(cluster_counts[clusters.get(key, key)], self.pages) for key in self.counts
        }
        return TemplateModel(
            self.pages, needed, everywhere, {k: n for k, n in counts.items() if n >= needed}
        )


def learn(
    page_blocks: list[list[Block]], min_pages: int = MIN_PAGES, min_share: float = MIN_SHARE
) -> TemplateModel:
    learner = TemplateLearner(min_pages, min_share)
    for blocks in page_blocks:
        learner.add(blocks)
    return learner.model()


def _near_clusters(keys: list[str]) -> dict[str, str]:
    """Key -> representative key of its near-duplicate cluster (LSH banding, pairs
    confirmed by their estimated Jaccard, union-find).

    A site has many distinct short lines, so the sketches live in one array (256 bytes a
    key) and the bands are bucketed one at a time, keeping only a bucket's first key:
    memory stays a small multiple of the keys, where a general LSH index takes ~5 KB each.
    """
    count = len(keys)
    if count < 2:
        return {}
    values = np.empty((count, NUM_PERM), dtype=np.uint32)
    for start in range(0, count, SKETCH_BATCH):
        batch = keys[start : start + SKETCH_BATCH]
        shingles = [char_shingles(k, CHAR_SHINGLE) for k in batch]
        for offset, sketch in enumerate(sketch_all(shingles, NUM_PERM)):
            values[start + offset] = sketch.hashvalues
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    bands, rows = lsh_params(NEAR_SIMILARITY, NUM_PERM)
    for band in range(bands):
        first: dict[bytes, int] = {}
        for i, row in enumerate(values[:, band * rows : (band + 1) * rows]):
            j = first.setdefault(row.tobytes(), i)
            if j != i and root(i) != root(j) and _similar(values[i], values[j]):
                parent[root(i)] = root(j)
    return {keys[i]: keys[root(i)] for i in range(count)}


def _similar(a: np.ndarray, b: np.ndarray) -> bool:
    return float(np.count_nonzero(a == b)) / len(a) >= NEAR_SIMILARITY

"""Site templates: blocks that recur, exactly or nearly, on many pages of a site."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from datasketch import MinHashLSH

from ..models import Block
from .sketch import char_shingles, fingerprint, sketch_all

MIN_PAGES = 3
MIN_FRACTION = 0.25
NEAR_SIMILARITY = 0.7
NEAR_MIN_CHARS = 16  # below this, near-matching joins unrelated short labels
NUM_PERM = 64
CHAR_SHINGLE = 4


@dataclass
class TemplateModel:
    """Fingerprints judged to be template, with the number of pages each was seen on."""

    pages: int
    template: dict[str, int] = field(default_factory=dict)

    def is_template(self, block: Block) -> bool:
        return fingerprint(block.text) in self.template

    def pages_with(self, block: Block) -> int:
        return self.template.get(fingerprint(block.text), 0)


def _threshold(pages: int, min_pages: int, min_fraction: float) -> int:
    return max(min_pages, math.ceil(min_fraction * pages))


def learn(
    page_blocks: list[list[Block]], min_pages: int = MIN_PAGES, min_fraction: float = MIN_FRACTION
) -> TemplateModel:
    """Count on how many pages each block (or a near copy of it) appears."""
    pages_of: dict[str, set[int]] = defaultdict(set)
    for page, blocks in enumerate(page_blocks):
        for block in blocks:
            key = fingerprint(block.text)
            if key:
                pages_of[key].add(page)
    clusters = _near_clusters([k for k in pages_of if len(k) >= NEAR_MIN_CHARS])
    cluster_pages: dict[str, set[int]] = defaultdict(set)
    for key, pages in pages_of.items():
        cluster_pages[clusters.get(key, key)] |= pages
    needed = _threshold(len(page_blocks), min_pages, min_fraction)
    model = TemplateModel(pages=len(page_blocks))
    for key in pages_of:
        count = len(cluster_pages[clusters.get(key, key)])
        if count >= needed:
            model.template[key] = count
    return model


def _near_clusters(keys: list[str]) -> dict[str, str]:
    """Key -> representative key of its near-duplicate cluster (union-find over LSH)."""
    if len(keys) < 2:
        return {}
    parent = {k: k for k in keys}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    lsh = MinHashLSH(threshold=NEAR_SIMILARITY, num_perm=NUM_PERM)
    sketches = sketch_all([char_shingles(k, CHAR_SHINGLE) for k in keys], NUM_PERM)
    for key, sketch in zip(keys, sketches, strict=True):
        for other in lsh.query(sketch):
            parent[root(other)] = root(key)
        lsh.insert(key, sketch)
    return {k: root(k) for k in keys}


def top_blocks(model: TemplateModel, limit: int = 5) -> list[tuple[str, int]]:
    return Counter(model.template).most_common(limit)

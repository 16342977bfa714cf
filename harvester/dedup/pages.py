"""Near-duplicate pages: one record per real page, the other URLs become aliases."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from datasketch import MinHashLSH

from .sketch import sketch_all, word_shingles

SIMILARITY = 0.9
NUM_PERM = 128
SHINGLE = 3


@dataclass
class Candidate:
    """What folding needs to know of a page."""

    url: str
    canonical: str | None  # rel=canonical, already checked to be in scope
    text: str


def url_preference(url: str) -> tuple[int, int, str]:
    """Shortest clean URL without a query wins."""
    parts = urlsplit(url)
    return (bool(parts.query), len(url), url)


def fold(
    pages: list[Candidate], similarity: float = SIMILARITY, num_perm: int = NUM_PERM
) -> list[list[int]]:
    """Groups of page indices that are one page; the first index of each is the keeper."""
    parent = list(range(len(pages)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_url = {p.url: i for i, p in enumerate(pages)}
    for i, page in enumerate(pages):
        target = by_url.get(page.canonical or "")
        if target is not None:
            parent[root(i)] = root(target)
    texts = [i for i, p in enumerate(pages) if p.text.strip()]
    sketches = sketch_all([word_shingles(pages[i].text, SHINGLE) for i in texts], num_perm)
    sketch_of = dict(zip(texts, sketches, strict=True))
    lsh = MinHashLSH(threshold=similarity, num_perm=num_perm)
    for i, sketch in sketch_of.items():
        for j in lsh.query(sketch):
            if sketch.jaccard(sketch_of[j]) >= similarity:
                parent[root(i)] = root(j)
        lsh.insert(i, sketch)
    groups: dict[int, list[int]] = {}
    for i in range(len(pages)):
        groups.setdefault(root(i), []).append(i)
    return [_keeper_first(g, pages) for g in groups.values()]


def _keeper_first(group: list[int], pages: list[Candidate]) -> list[int]:
    urls = {pages[i].url for i in group}
    declared = [pages[i].canonical for i in group if pages[i].canonical in urls]
    if declared:
        keeper = next(i for i in group if pages[i].url == max(set(declared), key=declared.count))
    else:
        keeper = min(group, key=lambda i: url_preference(pages[i].url))
    return [keeper] + [i for i in group if i != keeper]

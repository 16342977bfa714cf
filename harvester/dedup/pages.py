"""Near-duplicate pages: one record per real page, the other URLs become aliases.

LSH banding is set below the decision threshold (a MinHashLSH at threshold 0.9 finds a
pair of true Jaccard 0.9 only about a third of the time), and every candidate pair is
confirmed with the estimated Jaccard, allowing for the estimate's error.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from datasketch import LeanMinHash, MinHashLSH

SIMILARITY = 0.9
NUM_PERM = 128
ROWS_PER_BAND = 8  # 16 bands of 8 rows for 128 permutations: candidates from ~0.7

Item = tuple[str, str | None, LeanMinHash | None]  # url, in-scope rel=canonical, sketch


def url_preference(url: str) -> tuple[int, int, str]:
    """Shortest clean URL without a query wins."""
    parts = urlsplit(url)
    return (bool(parts.query), len(url), url)


def lsh_params(num_perm: int) -> tuple[int, int]:
    rows = min(ROWS_PER_BAND, num_perm)
    return num_perm // rows, rows


def estimate_error(similarity: float, num_perm: int) -> float:
    """One standard deviation of the MinHash estimate at the threshold. Confirming at the
    bare threshold would miss about half the pairs that are just above it."""
    return math.sqrt(similarity * (1 - similarity) / num_perm)


def fold_sketches(
    items: list[Item], similarity: float = SIMILARITY, num_perm: int = NUM_PERM
) -> list[list[int]]:
    """Groups of item indices that are one page; the first index of each is the keeper."""
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_url = {url: i for i, (url, _, _) in enumerate(items)}
    for i, (_, canonical, _) in enumerate(items):
        target = by_url.get(canonical or "")
        if target is not None:
            parent[root(i)] = root(target)
    accept = similarity - estimate_error(similarity, num_perm)
    lsh = MinHashLSH(num_perm=num_perm, params=lsh_params(num_perm))
    for i, (_, _, sketch) in enumerate(items):
        if sketch is None:
            continue
        for j in lsh.query(sketch):
            other = items[j][2]
            if other is not None and sketch.jaccard(other) >= accept:
                parent[root(i)] = root(j)
        lsh.insert(i, sketch)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(root(i), []).append(i)
    return sorted((_keeper_first(g, items) for g in groups.values()), key=min)


def _keeper_first(group: list[int], items: list[Item]) -> list[int]:
    urls = {items[i][0] for i in group}
    declared = [items[i][1] for i in group if items[i][1] in urls]
    if declared:
        chosen = max(set(declared), key=declared.count)
        keeper = next(i for i in group if items[i][0] == chosen)
    else:
        keeper = min(group, key=lambda i: url_preference(items[i][0]))
    return [keeper] + [i for i in group if i != keeper]

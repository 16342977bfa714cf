"""Near-duplicate pages: one record per real page, the other URLs become aliases.

Candidate pairs come from LSH over the page sketches and from URLs that look like copies
of each other (`evidence.twin_key`); `evidence.judge` decides each pair. LSH banding is
set below the decision threshold (a MinHashLSH at threshold 0.9 finds a pair of true
Jaccard 0.9 only about a third of the time), and the estimated Jaccard is confirmed
allowing for the estimate's error.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from datasketch import MinHashLSH

from .evidence import PageEvidence, is_backup, judge, twin_key

SIMILARITY = 0.9
NUM_PERM = 128
ROWS_PER_BAND = 8  # 16 bands of 8 rows for 128 permutations: candidates from ~0.7

Signals = dict[str, Any]


def url_preference(url: str) -> tuple[bool, bool, int, str]:
    """Shortest clean URL without a query wins, and never a backup's (`_old.htm`,
    `/temp/`): the draft or backup is the copy, whatever its length."""
    parts = urlsplit(url)
    return (is_backup(url), bool(parts.query), len(url), url)


def lsh_params(num_perm: int) -> tuple[int, int]:
    rows = min(ROWS_PER_BAND, num_perm)
    return num_perm // rows, rows


def estimate_error(similarity: float, num_perm: int) -> float:
    """One standard deviation of the MinHash estimate at the threshold. Confirming at the
    bare threshold would miss about half the pairs that are just above it."""
    return math.sqrt(similarity * (1 - similarity) / num_perm)


def fold_sketches(
    items: list[PageEvidence], similarity: float = SIMILARITY, num_perm: int = NUM_PERM
) -> tuple[list[list[int]], dict[int, Signals]]:
    """Groups of item indices that are one page, the first index of each the keeper; and
    for each folded item, the signals of the pair that folded it."""
    parent = list(range(len(items)))
    signals: dict[int, Signals] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int, found: Signals) -> None:
        if root(i) != root(j):
            signals.setdefault(i, found)
            signals.setdefault(j, found)
            parent[root(i)] = root(j)

    by_url = {item.url: i for i, item in enumerate(items)}
    for i, item in enumerate(items):
        target = by_url.get(item.canonical or "")
        if target is not None:
            join(i, target, {"url": "canonical", "decided_by": ["url"]})
    accept = similarity - estimate_error(similarity, num_perm)
    for i, j in _candidates(items, num_perm):
        if root(i) != root(j):
            found = judge(items[i], items[j], accept)
            if found is not None:
                join(i, j, found)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(root(i), []).append(i)
    ordered = sorted((_keeper_first(g, items) for g in groups.values()), key=min)
    return ordered, {i: signals[i] for group in ordered for i in group[1:]}


def _candidates(items: list[PageEvidence], num_perm: int) -> Iterator[tuple[int, int]]:
    """Pairs worth judging: similar sketches (LSH), then URLs that look like copies."""
    lsh = MinHashLSH(num_perm=num_perm, params=lsh_params(num_perm))
    for i, item in enumerate(items):
        if item.sketch is None:
            continue
        for j in lsh.query(item.sketch):
            yield j, i
        lsh.insert(i, item.sketch)
    for group in twin_groups(items).values():
        for n, i in enumerate(group):
            for j in group[n + 1 :]:
                yield i, j


def twin_groups(items: list[PageEvidence]) -> dict[str, list[int]]:
    """Items by `twin_key`, for keys that more than one item has."""
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(twin_key(item.url), []).append(i)
    return {key: group for key, group in groups.items() if len(group) > 1}


def _keeper_first(group: list[int], items: list[PageEvidence]) -> list[int]:
    urls = {items[i].url for i in group}
    declared = [items[i].canonical for i in group if items[i].canonical in urls]
    if declared:
        chosen = max(set(declared), key=declared.count)
        keeper = next(i for i in group if items[i].url == chosen)
    else:
        keeper = min(group, key=lambda i: url_preference(items[i].url))
    return [keeper] + [i for i in group if i != keeper]

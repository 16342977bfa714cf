"""Near-duplicate records across sites: the same article on every location site of a chain.

Within a site, folding looks at URLs and several similarities (pages.py). Across sites
only the text can tell, so a record folds into another site's record only when both have
enough words to compare, their titles do not name different things, and their MinHash
Jaccard clears the page threshold (allowing for the estimate's error, as within a site).

Candidates come from LSH band hashes that are stored, so that a database can group them
(`GROUP BY band, hash`) without any worker holding every sketch; the groups are judged
pair by pair and joined with union-find. The kept record of a group is chosen by its URL
alone (`url_preference`: shortest clean URL, then alphabetical), so any worker, in any
order, chooses the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash

from .evidence import MIN_WORDS, names_differ, title_words
from .pages import SIMILARITY, estimate_error, lsh_params, url_preference
from .sketch import shingles_of, sketch_all, words_of


@dataclass(frozen=True)
class Sketched:
    """What the cross-site fold knows of a record."""

    id: str
    site: str
    url: str
    words: int
    title: frozenset[str]
    hashvalues: np.ndarray | None


@dataclass(frozen=True)
class RecordSketch:
    """A record's text, summarised for storage: word count, sketch bytes, band hashes."""

    words: int
    sketch: bytes | None
    bands: list[int]


def sketch_text(text: str, shingle_size: int, num_perm: int) -> RecordSketch:
    """Too short a text gets no sketch and no bands: it never folds on text."""
    words = words_of(text)
    shingles = shingles_of(words, shingle_size)
    if len(words) < MIN_WORDS or not shingles:
        return RecordSketch(len(words), None, [])
    values = LeanMinHash(sketch_all([shingles], num_perm)[0]).hashvalues.astype(np.uint64)
    bands, rows = lsh_params(num_perm)
    hashes = [_band_hash(values[b * rows : (b + 1) * rows]) for b in range(bands)]
    return RecordSketch(len(words), values.tobytes(), hashes)


def _band_hash(rows: np.ndarray) -> int:
    """A band's rows as one signed 64-bit integer (a PostgreSQL bigint)."""
    digest = hashlib.blake2b(rows.tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def sketched(
    record_id: str, site: str, url: str, words: int, title: str, sketch: bytes | None
) -> Sketched:
    values = np.frombuffer(sketch, dtype=np.uint64) if sketch else None
    return Sketched(record_id, site, url, words, title_words(title), values)


def same_text(a: Sketched, b: Sketched, similarity: float = SIMILARITY) -> float | None:
    """The estimated Jaccard of two records of different sites if they are one text."""
    if a.site == b.site or a.hashvalues is None or b.hashvalues is None:
        return None
    if min(a.words, b.words) < MIN_WORDS or names_differ(a.title, b.title):
        return None
    if len(a.hashvalues) != len(b.hashvalues):
        return None
    jaccard = float(np.mean(a.hashvalues == b.hashvalues))
    accept = similarity - estimate_error(similarity, len(a.hashvalues))
    return jaccard if jaccard >= accept else None


def fold_across_sites(
    groups: Iterable[list[str]], items: dict[str, Sketched], similarity: float = SIMILARITY
) -> dict[str, str]:
    """Record id -> id of the record it is a copy of, from groups of ids sharing a band."""
    parent: dict[str, str] = {}

    def root(i: str) -> str:
        while parent.get(i, i) != i:
            parent[i] = parent.get(parent[i], parent[i])
            i = parent[i]
        return i

    for group in groups:
        members = sorted(i for i in set(group) if i in items)
        for n, a in enumerate(members):
            for b in members[n + 1 :]:
                if root(a) != root(b) and same_text(items[a], items[b], similarity):
                    parent[root(a)] = root(b)
    clusters: dict[str, list[str]] = {}
    for i in parent:
        clusters.setdefault(root(i), []).append(i)
    folded: dict[str, str] = {}
    for members in clusters.values():
        everyone = sorted(set(members) | {root(members[0])})
        keeper = min(everyone, key=lambda i: url_preference(items[i].url))
        folded.update({i: keeper for i in everyone if i != keeper})
    return folded


__all__ = ["RecordSketch", "Sketched", "fold_across_sites", "same_text", "sketch_text", "sketched"]

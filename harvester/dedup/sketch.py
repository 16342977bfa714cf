"""MinHash sketches with a fast hash: the one similarity primitive every dedup step uses."""

from __future__ import annotations

import re
from functools import cache

import xxhash
from datasketch import MinHash, MinHashLSH

WORD = re.compile(r"\w+")
DIGITS = re.compile(r"\d+")


def _hash32(data: bytes) -> int:
    return xxhash.xxh32_intdigest(data)


def fingerprint(text: str) -> str:
    """Text reduced to what a template keeps constant: words, case-folded, digits masked."""
    return " ".join(WORD.findall(DIGITS.sub("0", text.lower())))


def words_of(text: str) -> list[str]:
    return WORD.findall(text.lower())


def word_shingles(text: str, size: int) -> set[bytes]:
    return shingles_of(words_of(text), size)


def shingles_of(words: list[str], size: int) -> set[bytes]:
    if len(words) <= size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def char_shingles(text: str, size: int) -> set[bytes]:
    if len(text) <= size:
        return {text.encode()} if text else set()
    return {text[i : i + size].encode() for i in range(len(text) - size + 1)}


@cache
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's (bands, rows) for a threshold, computed once: choosing them costs
    milliseconds of numerical integration, too much to repeat for every page."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return int(lsh.b), int(lsh.r)


def new_lsh(threshold: float, num_perm: int) -> MinHashLSH:
    return MinHashLSH(num_perm=num_perm, params=lsh_params(threshold, num_perm))


@cache
def _empty(num_perm: int) -> MinHash:
    """An empty sketch to copy: making the permutations is most of the cost of sketching
    one short page, and every sketch of a run shares them."""
    return MinHash(num_perm=num_perm, hashfunc=_hash32)


def sketch_all(shingle_sets: list[set[bytes]], num_perm: int) -> list[MinHash]:
    empty = _empty(num_perm)
    sketches = []
    for shingles in shingle_sets:
        sketch = empty.copy()
        sketch.update_batch(shingles)
        sketches.append(sketch)
    return sketches

"""In-page repeats: the same section rendered for desktop, tablet and mobile, kept once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from ..models import Block
from .sketch import fingerprint, new_lsh, sketch_all, word_shingles

MIN_SECTION_CHARS = 80  # shorter sections are single lines: exact matching handles them
MIN_BLOCK_CHARS = 20  # "Q:" labels and "Read more" links may repeat legitimately
SIMILARITY = 0.8
NUM_PERM = 64
SHINGLE = 3


@dataclass
class Removal:
    block: Block
    copy_of: int  # index, in the blocks kept, of the block this one repeats


def _sections(blocks: list[Block]) -> dict[int, list[int]]:
    """Element id -> indices of the blocks inside it."""
    sections: dict[int, list[int]] = defaultdict(list)
    for index, block in enumerate(blocks):
        for element in block.path:
            sections[element].append(index)
    return sections


def drop_repeats(blocks: list[Block]) -> tuple[list[Block], list[Removal]]:
    """Keep the most complete copy of each repeated section, then of each repeated block.
    Each removal names the kept block it repeats by its index in the kept blocks, so that
    it can be shown beside the text that stayed."""
    removed: dict[int, int] = {}
    _drop_repeated_sections(blocks, removed)
    seen: dict[str, int] = {}
    for index, block in enumerate(blocks):
        if index in removed or len(block.text) < MIN_BLOCK_CHARS:
            continue
        key = fingerprint(block.text)
        if key in seen:
            removed[index] = seen[key]
        else:
            seen[key] = index
    kept = [i for i in range(len(blocks)) if i not in removed]
    position = {index: n for n, index in enumerate(kept)}
    return [blocks[i] for i in kept], [
        Removal(blocks[i], position[_kept(k, removed)]) for i, k in sorted(removed.items())
    ]


def _kept(index: int, removed: dict[int, int]) -> int:
    """The kept block at the end of a chain of copies (a block of a kept section may
    itself have gone as a copy of a later match)."""
    for _ in range(len(removed)):
        if index not in removed:
            break
        index = removed[index]
    return index


def _counterparts(
    blocks: list[Block], copy: list[int], kept: list[int]
) -> Iterator[tuple[int, int]]:
    """Each block of a dropped copy of a section, with the block of the kept copy that
    says the same: the one with its text, else the one at its place."""
    by_text: dict[str, int] = {}
    for index in kept:
        by_text.setdefault(fingerprint(blocks[index].text), index)
    for offset, index in enumerate(copy):
        match = by_text.get(fingerprint(blocks[index].text))
        yield index, match if match is not None else kept[min(offset, len(kept) - 1)]


def _drop_repeated_sections(blocks: list[Block], removed: dict[int, int]) -> None:
    sections = _sections(blocks)
    texts = {el: "\n".join(blocks[i].text for i in idx) for el, idx in sections.items()}
    candidates = sorted(
        (el for el, t in texts.items() if len(t) >= MIN_SECTION_CHARS),
        key=lambda el: (-len(texts[el]), sections[el][0]),
    )
    if len(candidates) < 2:
        return
    sketches = sketch_all([word_shingles(texts[el], SHINGLE) for el in candidates], NUM_PERM)
    lsh = new_lsh(SIMILARITY, NUM_PERM)
    members = {el: set(sections[el]) for el in candidates}
    for el, sketch in zip(candidates, sketches, strict=True):
        if members[el] & removed.keys():
            continue
        match = next(
            (other for other in lsh.query(sketch) if not members[other] & members[el]), None
        )
        if match is None:
            lsh.insert(el, sketch)
            continue
        removed.update(_counterparts(blocks, sections[el], sections[match]))

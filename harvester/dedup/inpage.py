"""In-page repeats: the same section rendered for desktop, tablet and mobile, kept once."""

from __future__ import annotations

from collections import defaultdict
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
    copy_of: int  # index (in the page's blocks) of the first block of the kept copy


def _sections(blocks: list[Block]) -> dict[int, list[int]]:
    """Element id -> indices of the blocks inside it."""
    sections: dict[int, list[int]] = defaultdict(list)
    for index, block in enumerate(blocks):
        for element in block.path:
            sections[element].append(index)
    return sections


def drop_repeats(blocks: list[Block]) -> tuple[list[Block], list[Removal]]:
    """Keep the most complete copy of each repeated section, then of each repeated block."""
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
    kept = [b for i, b in enumerate(blocks) if i not in removed]
    return kept, [Removal(blocks[i], k) for i, k in sorted(removed.items())]


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
        for index in sections[el]:
            removed[index] = sections[match][0]

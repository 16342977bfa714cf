"""Q&A detection: every detector reads the whole page (the one parsed tree and all its
blocks) and returns the Q&As it recognises; copies of one Q&A are then merged.

Detectors run before any pruning, so that nothing they need (answers hidden until
clicked, questions inside buttons, structured data) has been thrown away. A page often
holds one Q&A several times — JSON-LD and HTML, microdata and HTML, a desktop and a mobile
template — and `merge_copies` keeps one, the most complete, at the first copy's place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from lxml.html import HtmlElement

from ..models import QA, Block
from .qa_common import POSITION_LAST, PageBlocks
from .qa_html import definition_qa, details_qa, heading_qa
from .qa_labels import labelled_qa
from .qa_segment import segment_qa
from .qa_structured import jsonld_qa, microdata_qa, rdfa_qa
from .qa_widgets import disclosure_qa, widget_qa

Detector = Callable[[HtmlElement, PageBlocks], list[QA]]

DETECTORS: tuple[Detector, ...] = (
    labelled_qa,
    details_qa,
    definition_qa,
    heading_qa,
    segment_qa,
    widget_qa,
    disclosure_qa,
    microdata_qa,
    rdfa_qa,
    jsonld_qa,
)
SAME_QUESTION = 0.9
SAME_ANSWER = 0.8  # share of the shorter answer's words found in the other


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _same_question(a: str, b: str) -> bool:
    if a == b:
        return True
    if 2 * min(len(a), len(b)) < SAME_QUESTION * (len(a) + len(b)):
        return False  # the ratio cannot reach the threshold: spare the matcher
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= SAME_QUESTION and matcher.ratio() >= SAME_QUESTION


def _same_answer(a: set[str], b: set[str]) -> bool:
    """One answer, perhaps flattened (JSON-LD) or signed in one copy only; not the same
    question answered differently (two locations' opening hours)."""
    shorter = min(len(a), len(b))
    return shorter == 0 or len(a & b) >= SAME_ANSWER * shorter


@dataclass
class _Copies:
    key: str
    words: set[str]
    qas: list[QA]


def _rank(qa: QA) -> tuple[int, int, int]:
    """Copies compete on their text: a signature split off it, then structure, then
    length. Structured data is metadata: its author never outranks a page's text."""
    signed = qa.answered_by is not None and qa.position < POSITION_LAST
    return (signed, qa.answer.count("\n"), len(qa.answer) + len(qa.question))


def _best(copies: list[QA]) -> QA:
    best = max(copies, key=_rank)
    signer = best.answered_by or next((q.answered_by for q in copies if q.answered_by), None)
    return replace(best, answered_by=signer, position=copies[0].position)


def merge_copies(found: list[QA]) -> list[QA]:
    """One QA per distinct question and answer: the most complete copy, in page order."""
    groups: list[_Copies] = []
    by_key: dict[str, list[_Copies]] = {}
    for qa in sorted(found, key=lambda q: q.position):
        key, words = _key(qa.question), set(_key(qa.answer).split())
        same = (g for g in by_key.get(key, []) if _same_answer(words, g.words))
        group = next(same, None) or next(
            (
                g
                for g in groups
                if g.key != key and _same_answer(words, g.words) and _same_question(key, g.key)
            ),
            None,
        )
        if group is None:
            group = _Copies(key, words, [])
            groups.append(group)
            by_key.setdefault(key, []).append(group)
        group.qas.append(qa)
    return [_best(group.qas) for group in groups]


def find_qa(tree: HtmlElement, blocks: list[Block]) -> list[QA]:
    page = PageBlocks(tree, blocks)
    found: list[QA] = []
    for detector in DETECTORS:
        found += detector(tree, page)
    return merge_copies(found)

"""Q&A detection: every detector reads the whole page (the one parsed tree and all its
blocks) and returns the Q&As it recognises; copies of one Q&A are then merged.

Detectors run before any pruning, so that nothing they need (answers hidden until
clicked, questions inside buttons, structured data) has been thrown away. A page often
holds one Q&A several times — JSON-LD and HTML, microdata and HTML, a desktop and a mobile
template — and `merge_copies` keeps one, the most complete, at the first copy's place.
"""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)
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
SAME_ANSWER = 0.8  # share of the longer answer's words found in the other
# A structured-data pair and a visible one are one Q&A when their wording is close
# enough: the question reworded for search engines ("Is the Foot BBL safe?" for "Is it
# safe?"), the answer shortened or flattened.
TWIN_QUESTION = 0.5  # share of the shorter question's word stems in the other
TWIN_ANSWER = 0.3  # share of the shorter answer's words in the other (reworded too)
SAME_WORDING = 0.85  # either alone, this high, is enough
CUT_COPY_HEAD = 60  # characters two copies of one answer open with alike
STEM = 5  # "treated" and "treat", "bunions" and "bunion": one stem


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
    """One answer shown twice (a desktop and a mobile template, one copy signed); not
    the same question answered differently (two locations' opening hours, a section
    heading and an FAQ item that ask alike)."""
    longer = max(len(a), len(b))
    return longer == 0 or len(a & b) >= SAME_ANSWER * longer


def _cut_copy(a: str, b: str, words_a: set[str], words_b: set[str]) -> bool:
    """One answer, one copy cut short (a template that shows the first paragraph): it
    starts as the other starts, and its words are in the other."""
    shorter, longer = sorted((a, b), key=len)
    head = shorter[:CUT_COPY_HEAD]
    return longer.startswith(head) and _overlap(words_a, words_b) >= SAME_ANSWER


def _overlap(a: set[str], b: set[str]) -> float:
    shorter = min(len(a), len(b))
    return len(a & b) / shorter if shorter else 0.0


def _stems(text: str) -> set[str]:
    return {word[:STEM] for word in _key(text).split()}


@dataclass
class _Copies:
    key: str
    words: set[str]
    qas: list[QA]


def _rank(qa: QA) -> tuple[int, int, int]:
    """Copies compete on their text: a signature split off it, then structure, then
    length."""
    return (qa.answered_by is not None, qa.answer.count("\n"), len(qa.answer) + len(qa.question))


def _best(copies: list[QA]) -> QA:
    best = max(copies, key=_rank)
    signer = best.answered_by or next((q.answered_by for q in copies if q.answered_by), None)
    return replace(best, answered_by=signer, position=copies[0].position)


def _merge_visible(found: list[QA]) -> list[QA]:
    """One QA per distinct question and answer shown on the page, in page order."""
    groups: list[_Copies] = []
    by_key: dict[str, list[_Copies]] = {}
    for qa in sorted(found, key=lambda q: q.position):
        key, words = _key(qa.question), set(_key(qa.answer).split())
        # One question element read by two detectors is one Q&A, though one took its
        # answer further; elsewhere on the page, a copy has the same answer.
        same = (
            g
            for g in by_key.get(key, [])
            if _same_answer(words, g.words)
            or _cut_copy(qa.answer, g.qas[0].answer, words, g.words)
            or (g.qas[0].position == qa.position and _overlap(words, g.words) >= SAME_ANSWER)
        )
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


def _twin_score(structured: QA, visible: QA) -> float:
    """How alike a structured-data pair and a visible one are; 0 when not twins."""
    question = _overlap(_stems(structured.question), _stems(visible.question))
    answer = _overlap(set(_key(structured.answer).split()), set(_key(visible.answer).split()))
    twins = (question >= TWIN_QUESTION and answer >= TWIN_ANSWER) or max(
        question, answer
    ) >= SAME_WORDING
    return question + answer if twins else 0.0


def _fold_structured(visible: list[QA], structured: list[QA]) -> list[QA]:
    """Structured data describing the visible FAQ adds nothing but a signer: the page's
    wording and answer text stay. Pairs found only in structured data are kept."""
    scores = sorted(
        (
            (_twin_score(s, v), i, j)
            for i, s in enumerate(structured)
            for j, v in enumerate(visible)
        ),
        reverse=True,
    )
    twin_of: dict[int, int] = {}
    taken: set[int] = set()
    for score, i, j in scores:
        if score <= 0:
            break
        if i in twin_of or j in taken:
            continue
        twin_of[i] = j
        taken.add(j)
    merged = list(visible)
    for i, j in twin_of.items():
        if merged[j].answered_by is None and structured[i].answered_by is not None:
            merged[j] = replace(merged[j], answered_by=structured[i].answered_by)
    alone = [s for i, s in enumerate(structured) if i not in twin_of]
    return merged + _merge_visible(alone)


def merge_copies(found: list[QA]) -> list[QA]:
    """One QA per distinct question and answer: the most complete visible copy, in page
    order, then what only structured data holds."""
    visible = _merge_visible([q for q in found if q.position < POSITION_LAST])
    return _fold_structured(visible, [q for q in found if q.position >= POSITION_LAST])


def find_qa(tree: HtmlElement, blocks: list[Block]) -> list[QA]:
    page = PageBlocks(tree, blocks)
    found: list[QA] = []
    for detector in DETECTORS:
        try:
            found += detector(tree, page)
        except Exception:  # one detector's failure must not cost the others' Q&A
            log.warning("Q&A detector %s failed on this page", detector.__name__, exc_info=True)
    return merge_copies(found)

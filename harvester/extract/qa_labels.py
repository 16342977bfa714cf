"""Q&A written out with labels: "Q:" / "A:" or "Question:" / "Answer:", in paragraphs,
headings, bold runs, lines split by <br> and table cells (2004-era "Ask the therapist"
pages, and "Ask a Pro" posts whose question and answer sit under Q: and A: headings).
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from ..models import QA
from .qa_common import (
    A_LABEL,
    Q_LABEL,
    Q_WORDS,
    Line,
    PageBlocks,
    common_prefix,
    ends_answer,
    join_lines,
    make_qa,
)
from .qa_segment import attribute_from_intro

COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)", re.I)
MAX_QUESTION_LINES = 12


# Where a "Q:" label may start a line: a cheap test before the page is cut into lines.
_ANY_Q_LABEL = re.compile(rf"^{Q_WORDS}", re.M)


def _lines(page: PageBlocks) -> list[Line]:
    if not any(_ANY_Q_LABEL.search(b.text) for b in page if not b.chrome):
        return []
    return [
        Line(i, text, b.kind == "item")
        for i, b in enumerate(page)
        if not b.chrome
        for text in b.text.split("\n")
    ]


def _is_label(text: str) -> bool:
    return bool(Q_LABEL.match(text) or A_LABEL.match(text))


def _answer_end(page: PageBlocks, lines: list[Line], start: int, scope: tuple[int, ...]) -> int:
    """Index after the last answer line: the answer stops at the next label, heading,
    copyright line, or the edge of the element holding both labels."""
    k = start
    while k < len(lines):
        line, block = lines[k], page[lines[k].key]
        if (
            _is_label(line.text)
            or block.kind == "heading"
            or block.path[: len(scope)] != scope
            or COPYRIGHT.match(line.text)
            or ends_answer(line.text)
        ):
            break
        k += 1
    return k


def _after_label(label: re.Pattern[str], line: Line) -> list[Line]:
    """The text after "Q:" on the label's own line, if any."""
    match = label.match(line.text)
    rest = match.group(1).strip() if match else ""
    return [Line(line.key, rest, line.item)] if rest else []


def labelled_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """Each "Q:" followed (within a few lines) by an "A:"; the answer runs to the next
    label, heading or copyright line."""
    lines = _lines(page)
    found: list[QA] = []
    i = 0
    while i < len(lines):
        if not Q_LABEL.match(lines[i].text):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and j - i <= MAX_QUESTION_LINES and not _is_label(lines[j].text):
            j += 1
        if j >= len(lines) or not A_LABEL.match(lines[j].text):
            i = j
            continue
        scope = common_prefix(page[lines[i].key].path, page[lines[j].key].path)
        if lines[i].key == lines[j].key:
            scope = scope[:-1]  # "Q: …<br>A: …" in one paragraph: the answer may go on
        end = _answer_end(page, lines, j + 1, scope)
        question = join_lines(_after_label(Q_LABEL, lines[i]) + lines[i + 1 : j])
        answer = _after_label(A_LABEL, lines[j]) + lines[j + 1 : end]
        qa = make_qa(question, answer, position=lines[i].key)
        if qa:
            found.append(qa)
        i = end
    return attribute_from_intro(page, found)

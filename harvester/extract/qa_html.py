"""Q&A in plain HTML: <details><summary> disclosures (also WordPress's Details block and
Elementor's nested accordion, both built on them), <dl> definition lists whose terms are
questions, and headings that ask a question followed by their answer.
"""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from ..models import QA
from .qa_common import (
    A_LABEL,
    Q_LABEL,
    Candidate,
    Line,
    PageBlocks,
    accept,
    block_lines,
    common_prefix,
    element_lines,
    faq_context,
    in_chrome,
    is_question,
    make_qa,
    next_key,
    visible_text,
)

# A disclosure holding disclosures (an FAQ category) is not itself a Q&A.
_HAS_DETAILS = etree.XPath("boolean(.//details)")
QUESTION_LEVELS = range(2, 6)
MIN_QUESTION_HEADINGS = 2


def _previous_element(el: HtmlElement) -> HtmlElement | None:
    sibling = el.getprevious()
    while sibling is not None and not isinstance(sibling.tag, str):
        sibling = sibling.getprevious()
    return sibling


def details_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """<details><summary>Question</summary>answer</details>. Adjacent disclosures are one
    group (block editors put every block of a post side by side in one container)."""
    candidates: list[Candidate] = []
    run: HtmlElement | None = None
    for details in tree.iter("details"):
        previous = _previous_element(details)
        run = run if previous is not None and previous.tag == "details" else details
        summary = details.find("summary")
        if summary is None or _HAS_DETAILS(details) or in_chrome(details):
            continue
        lines = element_lines(page, details, skip=summary)
        qa = make_qa(visible_text(summary), lines, page.position(summary))
        if qa:
            candidates.append(Candidate(qa, run))
    return accept(page, candidates)


def _is_label_only(text: str) -> bool:
    """ "Q:" or "A:" as a term: a labelled Q&A laid out as a list, read elsewhere."""
    match = Q_LABEL.match(text) or A_LABEL.match(text)
    return bool(match and not match.group(1).strip())


def definition_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """<dl><dt>Question?</dt><dd>answer</dd></dl> (also Drupal's FAQ field)."""
    candidates: list[Candidate] = []
    for dl in tree.iter("dl"):
        if in_chrome(dl):
            continue
        for dt in dl.iter("dt"):
            if next(dt.iterancestors("dl"), None) is not dl:
                continue  # a nested list's term
            question = visible_text(dt)
            if _is_label_only(question):
                continue
            lines: list[Line] = []
            for dd in dt.itersiblings():
                if dd.tag != "dd":
                    break
                lines += element_lines(page, dd, first_key=next_key(lines))
            qa = make_qa(question, lines, page.position(dt))
            if qa:
                candidates.append(Candidate(qa, dl))
    return accept(page, candidates)


def _section_lines(page: PageBlocks, index: int) -> list[Line]:
    """The blocks after heading `index`, up to the next heading of the same or a higher
    level, or the edge of the element that holds the heading and its first paragraph."""
    heading = page[index]
    scope: tuple[int, ...] | None = None
    lines: list[Line] = []
    for j in range(index + 1, len(page)):
        block = page[j]
        if block.chrome or (block.kind == "heading" and block.level <= heading.level):
            break
        if scope is None:
            scope = common_prefix(heading.path, block.path)
        elif block.path[: len(scope)] != scope:
            break
        lines += block_lines(j, block)
    return lines


def _sibling_headings(page: PageBlocks) -> dict[tuple[int, int], list[int]]:
    """Headings of levels 2-5 grouped by (enclosing heading, level)."""
    groups: dict[tuple[int, int], list[int]] = {}
    stack: list[tuple[int, int]] = []  # (index, level) of the open sections
    for i, block in enumerate(page):
        if block.kind != "heading" or block.chrome:
            continue
        while stack and stack[-1][1] >= block.level:
            stack.pop()
        if block.level in QUESTION_LEVELS:
            groups.setdefault((stack[-1][0] if stack else -1, block.level), []).append(i)
        stack.append((i, block.level))
    return groups


def _is_faq_section(page: PageBlocks, members: list[int], questions: list[int]) -> bool:
    """Question headings are an FAQ when there are several and most of their sibling
    headings ask too, or when the section (or its container) is named for it. A lone
    "What Does Foam Rolling Do?" among an article's headings is not."""
    if len(questions) >= MIN_QUESTION_HEADINGS and 2 * len(questions) > len(members):
        return True
    first = page[questions[0]]
    return faq_context(page, page.heading(first), questions[0], first.level)


def heading_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """<h2>–<h5> ending in "?", answered by the paragraphs up to the next heading."""
    found: list[QA] = []
    for members in _sibling_headings(page).values():
        questions = [i for i in members if is_question(page[i].text)]
        if not questions or not _is_faq_section(page, members, questions):
            continue
        for i in questions:
            qa = make_qa(" ".join(page[i].text.split("\n")), _section_lines(page, i), i)
            if qa:
                found.append(qa)
    return found

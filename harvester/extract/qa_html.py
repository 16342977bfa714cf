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
    NUMBERING,
    Q_LABEL,
    Candidate,
    Line,
    PageBlocks,
    accept,
    block_lines,
    common_prefix,
    element_lines,
    ends_answer,
    faq_context,
    introduces_faq,
    is_question,
    make_qa,
    next_key,
    strip_numbering,
    visible_text,
)
from .qa_segment import attribute_from_intro
from .vocabulary import in_chrome

# A disclosure holding disclosures (an FAQ category) is not itself a Q&A.
_HAS_DETAILS = etree.XPath("boolean(.//details)")
QUESTION_LEVELS = range(1, 7)
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


def _section_lines(page: PageBlocks, index: int, stop: int) -> list[Line]:
    """The blocks after heading `index`, up to the next question of its run (`stop`), the
    next heading of the same or a higher level, the page's trailer ("Sources"), or the
    edge of the element that holds the heading and its first paragraph."""
    heading = page[index]
    scope: tuple[int, ...] | None = None
    lines: list[Line] = []
    for j in range(index + 1, stop):
        block = page[j]
        if (
            block.chrome
            or (block.kind == "heading" and block.level <= heading.level)
            or ends_answer(block.text)
        ):
            break
        if scope is None:
            scope = common_prefix(heading.path, block.path)
        elif block.path[: len(scope)] != scope:
            break
        lines += block_lines(j, block)
    return lines


def _sibling_headings(page: PageBlocks) -> dict[tuple[int, int], list[int]]:
    """Headings grouped by (enclosing heading, level); numbered ones ("1. …", "2. …") by
    the element that holds them, whatever their levels (sites mix h5 and h6 in one list)."""
    groups: dict[tuple[int, int], list[int]] = {}
    stack: list[tuple[int, int]] = []  # (index, level) of the open sections
    numbers: dict[int, tuple[int, int]] = {}  # container -> (last number, its series)
    for i, block in enumerate(page):
        if block.kind != "heading" or block.chrome:
            continue
        while stack and stack[-1][1] >= block.level:
            stack.pop()
        numbered = NUMBERING.match(block.text)
        if block.level in QUESTION_LEVELS and numbered:
            # A series restarts at a number no higher than the last: how-to steps
            # "1. Gather the seeds" and an FAQ "1. Can I…?" under one container.
            container = block.path[-2] if len(block.path) > 1 else -1
            last, series = numbers.get(container, (0, i))
            number = int(numbered.group(1))
            series = series if number > last else i
            numbers[container] = (number, series)
            groups.setdefault((container, -series - 1), []).append(i)
        elif block.level in QUESTION_LEVELS:
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
        members = [i for i in members if not introduces_faq(page[i].text)]
        questions = [i for i in members if is_question(page[i].text)]
        if not questions or not _is_faq_section(page, members, questions):
            continue
        numbered = all(NUMBERING.match(page[i].text) for i in members)
        asked = members if numbered else questions
        group: list[QA] = []
        for k, i in enumerate(asked):
            stop = asked[k + 1] if k + 1 < len(asked) else len(page)
            question = strip_numbering(" ".join(page[i].text.split("\n")))
            qa = make_qa(question, _section_lines(page, i, stop), i)
            if qa:
                group.append(qa)
        found += attribute_from_intro(page, group)
    return found

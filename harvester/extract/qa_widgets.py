"""Q&A in CMS and framework widgets: FAQ blocks and accordions recognised by the class
names their plugins print (whole class tokens, never substrings), and any disclosure
button wired to the region it opens (aria-controls, Bootstrap's data-toggle) — which is
how Wix, Bootstrap and hand-made accordions mark up a question and its hidden answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree
from lxml.html import HtmlElement

from ..models import QA
from ..parse import select
from .qa_common import (
    MAX_QUESTION_CHARS,
    Candidate,
    Line,
    PageBlocks,
    accept,
    common_ancestor,
    contains,
    element_lines,
    is_question,
    make_qa,
    next_key,
    visible_text,
)
from .vocabulary import FAQ_WORDS, class_tokens, in_chrome, looks_hidden, words_of


@dataclass(frozen=True)
class Widget:
    """An accordion or FAQ block: the classes of its question and its answer element."""

    name: str
    question: frozenset[str]
    answer: frozenset[str]
    faq: bool = False  # made only for Q&A: every item counts, questions or not

    def part(self, toks: set[str]) -> str | None:
        """ "question", "answer" or None: what an element with these classes is."""
        if not toks.isdisjoint(self.answer):
            return "answer"
        return "question" if not toks.isdisjoint(self.question) else None


@dataclass(frozen=True)
class ClassWords(Widget):
    """Any other FAQ markup whose class names say question and answer in the page's
    language, as whole words of the class: "qa-question", "faq-item__title", "frage",
    "reponse". Quizzes and polls name their questions too, so their items are not read.
    """

    def part(self, toks: set[str]) -> str | None:
        words = words_of(toks)
        if not words.isdisjoint(_NOT_FAQ):
            return None
        faq = not words.isdisjoint(FAQ_WORDS)
        if not words.isdisjoint(self.answer) or (faq and not words.isdisjoint(_ANSWER_PARTS)):
            return "answer"
        if not words.isdisjoint(self.question) or (faq and not words.isdisjoint(_TITLE_PARTS)):
            return "question"
        return None


def _widget(name: str, question: str, answer: str, faq: bool = False) -> Widget:
    return Widget(name, frozenset(question.split()), frozenset(answer.split()), faq)


# Each with the markup its plugin prints, outermost first.
WIDGETS = (
    # div.schema-faq-section > strong.schema-faq-question + p.schema-faq-answer
    _widget("Yoast FAQ block", "schema-faq-question", "schema-faq-answer", faq=True),
    # .rank-math-list-item > .rank-math-question + .rank-math-answer
    _widget("Rank Math FAQ block", "rank-math-question", "rank-math-answer", faq=True),
    # .elementor-accordion-item (or -toggle-item) > .elementor-tab-title + .elementor-tab-content
    _widget("Elementor accordion, toggle", "elementor-tab-title", "elementor-tab-content"),
    # .et_pb_toggle > h5.et_pb_toggle_title + .et_pb_toggle_content (toggles, accordions)
    _widget("Divi toggle", "et_pb_toggle_title", "et_pb_toggle_content"),
    # .accordion-item > .accordion-header > button; .accordion-collapse > .accordion-body
    _widget("Bootstrap 5 accordion", "accordion-header", "accordion-collapse accordion-body"),
    # .panel > .panel-heading > .panel-title > a[data-toggle]; .panel-collapse > .panel-body
    _widget("Bootstrap 3 panel", "panel-title", "panel-collapse"),
    # li.accordion-item > h4 > button > .accordion-item__title; .accordion-item__description
    _widget("Squarespace accordion", "accordion-item__title", "accordion-item__description"),
    # .faq-question-answer > .faq-question + .faq-answer (Drupal 7: faq_question, faq_answer)
    _widget("Drupal FAQ module", "faq-question faq_question", "faq-answer faq_answer", faq=True),
    # h3.faqfield-question + div.faqfield-answer (Drupal FAQ field, simple and accordion)
    _widget("Drupal FAQ field", "faqfield-question", "faqfield-answer", faq=True),
)
_TITLE_PARTS = frozenset("title header heading head toggle trigger summary q".split())
_ANSWER_PARTS = frozenset("content body text panel description collapse a".split())
# Class words of things that name a question without being an FAQ.
_NOT_FAQ = frozenset(
    "quiz poll survey vote votes voting umfrage sondage trivia hyperlink link icon fa count "
    "circle".split()
)
CLASS_WORDS = ClassWords(
    "Class names",
    frozenset("question questions frage fragen pregunta domanda".split()),
    frozenset("answer answers antwort antworten reponse réponse respuesta risposta".split()),
)
HEADING_TAGS = frozenset(f"h{n}" for n in range(1, 7))
MAX_CLIMB = 4  # from a question to the item holding its answer: span, button, h4, li


def _widget_of(el: HtmlElement) -> Widget | None:
    toks = class_tokens(el)
    widget = next((w for w in WIDGETS if not toks.isdisjoint(w.question)), None)
    if widget is None and CLASS_WORDS.part(toks) == "question":
        return CLASS_WORDS
    return widget


def _first_part(root: HtmlElement, widget: Widget) -> tuple[str, HtmlElement] | None:
    for node in root.iter():
        part = widget.part(class_tokens(node)) if isinstance(node.tag, str) else None
        if part is not None:
            return part, node
    return None


def _answer_of(question: HtmlElement, widget: Widget) -> HtmlElement | None:
    """The first answer element after the question, in its item: climbing a few levels
    and stopping at the next question (an item without an answer takes no other's)."""
    node: HtmlElement | None = question
    for _ in range(MAX_CLIMB):
        if node is None:
            return None
        for sibling in node.itersiblings():
            part = _first_part(sibling, widget)
            if part is not None:
                return part[1] if part[0] == "answer" else None
        node = node.getparent()
    return None


def _answer_parts(answer: HtmlElement, widget: Widget) -> list[HtmlElement]:
    """A <p> answer cannot hold a list: the parser closes it, and the list (and what
    follows: more answer paragraphs, a signature) become its siblings, up to the next
    question."""
    parts = [answer]
    if answer.tag == "p":
        for sibling in answer.itersiblings():
            if not isinstance(sibling.tag, str):
                continue
            part = _first_part(sibling, widget)
            if part is not None and part[0] == "question":
                break
            parts.append(sibling)
    return parts


def _questions(page: PageBlocks) -> Iterator[tuple[HtmlElement, Widget]]:
    """Question elements in page order; one nested in another (a button in a header
    that carries the same class family) is the same question."""
    last: HtmlElement | None = None
    for el in page.marked:
        widget = _widget_of(el)
        if widget is None or (last is not None and contains(last, el)):
            continue
        last = el
        yield el, widget


def widget_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """FAQ blocks and accordions of WordPress plugins, page builders and frameworks."""
    candidates: list[Candidate] = []
    for question, widget in _questions(page):
        answer = _answer_of(question, widget)
        if answer is None or (not widget.faq and in_chrome(question)):
            continue
        lines: list[Line] = []
        for part in _answer_parts(answer, widget):
            lines += element_lines(page, part, first_key=next_key(lines))
        qa = make_qa(visible_text(question), lines, page.position(question))
        item = common_ancestor(question, answer)
        if qa and item is not None:
            candidates.append(Candidate(qa, item.getparent(), widget.faq))
    return accept(page, candidates)


_WITH_ID = etree.XPath("descendant-or-self::*/@id/..")
_HAS_DISCLOSURES = etree.XPath("boolean(.//details | .//*[@aria-expanded])")


def _next_region(toggle: HtmlElement) -> HtmlElement | None:
    """An unwired button's answer: the region right after it (or after its heading)."""
    node: HtmlElement | None = toggle
    for _ in range(2):
        if node is None:
            return None
        sibling = node.getnext()
        while sibling is not None and not isinstance(sibling.tag, str):
            sibling = sibling.getnext()
        if sibling is not None and (sibling.get("role") == "region" or looks_hidden(sibling)):
            return sibling
        node = node.getparent()
    return None


_PANELS = frozenset({"div", "section", "p", "dd", "article"})


def _plain_buttons(tree: HtmlElement) -> list[HtmlElement]:
    """<button>s with no ARIA or framework wiring: script-driven accordions ("a button,
    then a panel") that older sites copied from tutorials."""
    return [
        b
        for b in tree.iter("button")
        if b.get("aria-expanded") is None and b.get("data-toggle") is None
    ]


def _panel_after(button: HtmlElement) -> HtmlElement | None:
    """The panel right after an unwired button (or after the heading holding it)."""
    node = button
    parent = button.getparent()
    if parent is not None and parent.tag in HEADING_TAGS and len(parent) == 1:
        node = parent
    sibling = node.getnext()
    while sibling is not None and not isinstance(sibling.tag, str):
        sibling = sibling.getnext()
    if sibling is None or sibling.tag not in _PANELS:
        return None
    return sibling if sibling.text_content().strip() else None


def _is_toggle(el: HtmlElement) -> bool:
    """A disclosure button: aria-expanded on a button (or anything wired to a region by
    aria-controls), or a Bootstrap collapse toggle. <summary> is read with its details."""
    if el.tag == "summary":
        return False
    if el.get("aria-expanded") is not None and (
        el.get("aria-controls") or el.tag == "button" or el.get("role") == "button"
    ):
        return True
    return bool(el.get("data-toggle") == "collapse")


def _refs(toggle: HtmlElement) -> list[str]:
    href = toggle.get("href", "")
    refs = [
        *toggle.get("aria-controls", "").split()[:1],
        toggle.get("data-bs-target", ""),
        toggle.get("data-target", ""),
        href if href.startswith("#") else "",
    ]
    return [r for r in (ref.strip().lstrip("#") for ref in refs) if r]


class _Ids:
    """Elements by id, scanned for once, and only if some toggle names a target."""

    def __init__(self, tree: HtmlElement) -> None:
        self.tree = tree
        self.found: dict[str, HtmlElement] | None = None

    def get(self, ref: str) -> HtmlElement | None:
        if self.found is None:
            self.found = {str(el.get("id")): el for el in select(_WITH_ID, self.tree)}
        return self.found.get(ref)


def _target(toggle: HtmlElement, ids: _Ids) -> HtmlElement | None:
    for ref in _refs(toggle):
        target = ids.get(ref)
        if target is not None:
            return target
    return _next_region(toggle)


def disclosure_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """A button (or link) that opens a region: its text is the question, the region the
    answer, whether the region is hidden or shown. Menus are weeded out by where they
    sit, tabs and the rest by `accept` (their labels are not questions)."""
    ids = _Ids(tree)
    candidates: list[Candidate] = []
    toggles = [el for el in page.marked if _is_toggle(el)]
    for toggle in toggles + _plain_buttons(tree):
        if in_chrome(toggle):
            continue
        question = visible_text(toggle)
        if not question or len(question) > MAX_QUESTION_CHARS:
            continue
        wired = toggle.get("aria-expanded") is not None or toggle.get("data-toggle") is not None
        if not wired and not is_question(question):
            continue  # an unwired button is a question only if it asks
        target = _target(toggle, ids) if wired else _panel_after(toggle)
        if target is None or contains(target, toggle) or contains(toggle, target):
            continue
        item = common_ancestor(toggle, target)
        if item is None or item.tag in ("html", "body") or _HAS_DISCLOSURES(target):
            continue
        qa = make_qa(question, element_lines(page, target), page.position(toggle))
        if qa:
            candidates.append(Candidate(qa, item.getparent()))
    return accept(page, candidates)

"""Q&A declared as schema.org data: FAQPage and QAPage in JSON-LD (several scripts, inside
@graph, @type as a list, nodes referenced by @id), microdata (itemscope, itemtype,
itemprop) and RDFa (typeof, property).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from ..models import QA, Person
from . import structured
from .blocks import clean_text
from .qa_common import (
    POSITION_LAST,
    Line,
    PageBlocks,
    element_lines,
    is_question,
    join_lines,
    linearized_lines,
    make_qa,
    visible_text,
)
from .structured import MICRODATA, RDFA, Syntax, item_prop, item_props, item_types

_BLANK_LINE = re.compile(r"\n\s*\n")


def fragment_lines(text: str) -> list[Line]:
    """A JSON-LD text value: plain text (paragraphs apart by blank lines) or HTML."""
    if "<" not in text and "&" not in text:
        paragraphs = [clean_text(p) for p in _BLANK_LINE.split(text)]
        return [
            Line(-1 - k, line)
            for k, p in enumerate(filter(None, paragraphs))
            for line in p.split("\n")
        ]
    try:
        root = lxml.html.fragment_fromstring(text, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    return linearized_lines(root)


def _first(value: Any, by_id: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The first object of a value that may be a list, an {"@id": ...} reference, or
    (for an answer) its bare text."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        value = {"text": value}
    if isinstance(value, dict) and set(value) == {"@id"}:
        value = by_id.get(str(value["@id"]), value)
    return value if isinstance(value, dict) else None


def _author(answer: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> Person | None:
    author = _first(answer.get("author"), by_id)
    if author is None or not {"Person"} >= structured.types(author):
        return None
    name = clean_text(structured.text(author.get("name")))
    if not name:
        return None
    credentials = clean_text(structured.text(author.get("honorificSuffix"))) or None
    title = clean_text(structured.text(author.get("jobTitle"))) or None
    return Person(name, credentials, title)


def _answers(node: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every answer of a question, the accepted one first (a QAPage lists several)."""
    found = []
    for prop in ("acceptedAnswer", "suggestedAnswer"):
        value = node.get(prop)
        for item in value if isinstance(value, list) else [value]:
            answer = _first(item, by_id)
            if answer is not None:
                found.append(answer)
    return found


def _question_qas(
    node: dict[str, Any], by_id: dict[str, dict[str, Any]], position: int
) -> list[QA]:
    # A QAPage question's "name" is a short title; "text" is the question as asked.
    asked = structured.text(node.get("text")) or structured.text(node.get("name"))
    question = join_lines(fragment_lines(asked))
    found = []
    for answer in _answers(node, by_id):
        qa = make_qa(question, fragment_lines(structured.text(answer.get("text"))), position)
        if qa is not None and qa.answered_by is None:
            qa = replace(qa, answered_by=_author(answer, by_id))
        if qa is not None:
            found.append(qa)
    return found


def jsonld_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """schema.org Question nodes in every JSON-LD script of the page."""
    nodes = [node for data in structured.scripts(tree) for node in structured.nodes(data)]
    by_id = {str(n["@id"]): n for n in nodes if "@id" in n and len(n) > 1}
    found: list[QA] = []
    for node in nodes:
        if "Question" not in structured.types(node):
            continue
        found += _question_qas(node, by_id, POSITION_LAST + len(found))
    return found


def _value_lines(page: PageBlocks, el: HtmlElement) -> list[Line]:
    content = el.get("content")
    return fragment_lines(content) if content is not None else element_lines(page, el)


def _signer(answer: HtmlElement, syntax: Syntax) -> Person | None:
    """schema.org Answer.author: the person who answered (never the asker or an editor,
    whose cards sit outside the answer item)."""
    author = item_prop(answer, "author", syntax)
    if author is None:
        return None
    name_el = item_prop(author, "name", syntax) if syntax.opens(author) else author
    if name_el is None:
        return None
    name = clean_text(name_el.get("content") or visible_text(name_el))
    return Person(name) if name else None


def _asked(item: HtmlElement, syntax: Syntax) -> HtmlElement | None:
    """The question: its title when that asks (a Q&A site's), else the text as asked."""
    name, text = item_prop(item, "name", syntax), item_prop(item, "text", syntax)
    if name is not None and is_question(name.get("content") or visible_text(name)):
        return name
    return text if text is not None else name


def _attribute_qa(tree: HtmlElement, page: PageBlocks, syntax: Syntax) -> list[QA]:
    found: list[QA] = []
    for item in page.marked:
        if not syntax.opens(item) or "Question" not in item_types(item.get(syntax.type_attr)):
            continue
        asked = _asked(item, syntax)
        answers = item_props(item, "acceptedAnswer", syntax) + item_props(
            item, "suggestedAnswer", syntax
        )
        if asked is None:
            continue
        question = asked.get("content") or visible_text(asked)
        for answer in answers:
            text = item_prop(answer, "text", syntax)
            lines = _value_lines(page, text if text is not None else answer)
            qa = make_qa(question, lines, page.position(asked))
            if qa and qa.answered_by is None:
                qa = replace(qa, answered_by=_signer(answer, syntax))
            if qa:
                found.append(qa)
    return found


def microdata_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """itemtype=".../Question" with itemprop name and acceptedAnswer > itemprop text."""
    return _attribute_qa(tree, page, MICRODATA)


def rdfa_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """typeof="Question" with property name and acceptedAnswer > property text."""
    return _attribute_qa(tree, page, RDFA)

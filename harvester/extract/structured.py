"""The one reader of schema.org data, for metadata and Q&A alike: JSON-LD, tolerant of
how sites print it (in HTML comments or CDATA, with trailing commas) and of any value's
shape, and the items of microdata (itemscope, itemprop) and RDFa (typeof, property).

JSON-LD lets a value be a string, {"@value": ...}, a list of either, a number or an
object; a page nested thousands of arrays deep is still a page. Nothing here raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from lxml import etree
from lxml.html import HtmlElement

from ..parse import select

_OPENING = re.compile(r"\s*(?:<!--|/\*\s*<!\[CDATA\[\s*\*/|<!\[CDATA\[)")
_CLOSING = re.compile(r"(?:-->|/\*\s*\]\]>\s*\*/|\]\]>)\s*$")
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def load(text: str) -> Any:
    """The document, or None when it cannot be read (broken, or nested too deep)."""
    text = text.strip()
    opening = _OPENING.match(text)
    if opening:
        text = text[opening.end() :]
    closing = _CLOSING.search(text, max(0, len(text) - 40))
    if closing:
        text = text[: closing.start()]
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            return json.loads(attempt, strict=False)
        except (ValueError, RecursionError):
            continue
    return None


# Per page tree, its JSON-LD documents: metadata and Q&A ask for them five times a page.
# Readers only read them; the entry goes with the tree.
_SCRIPTS: WeakKeyDictionary[HtmlElement, list[Any]] = WeakKeyDictionary()


def scripts(tree: HtmlElement) -> list[Any]:
    """Every readable <script type="application/ld+json"> of the page, in page order."""
    found = _SCRIPTS.get(tree)
    if found is None:
        found = _SCRIPTS[tree] = list(_read_scripts(tree))
    return found


def _read_scripts(tree: HtmlElement) -> Iterator[Any]:
    for script in tree.iter("script"):
        if script.get("type", "").split(";")[0].strip().lower() == "application/ld+json":
            data = load(script.text or "")
            if data is not None:
                yield data


def nodes(data: Any, follow: frozenset[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every object in a JSON-LD document, in document order (a stack, not recursion:
    depth is the page's to choose); with `follow`, only the objects reached through
    those properties (the page's own nodes, not every nested image or address)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(
                reversed(
                    [
                        v
                        for k, v in item.items()
                        if isinstance(v, list | dict) and (follow is None or k in follow)
                    ]
                )
            )
        elif isinstance(item, list):
            stack.extend(reversed(item))


def page_nodes(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """The page's top-level JSON-LD objects, and those of @graph, publisher, isPartOf:
    what describes the page itself."""
    for data in scripts(tree):
        yield from nodes(data, _PAGE_PROPERTIES)


_PAGE_PROPERTIES = frozenset({"@graph", "publisher", "isPartOf"})


def local(name: str) -> str:
    """ "https://schema.org/Question", "schema:Question" -> "Question"."""
    return name.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type", [])
    return {local(str(t)) for t in (value if isinstance(value, list) else [value])}


def text(value: Any, depth: int = 0) -> str:
    """A text value: a string, {"@value": ...}, or a list of them (joined as paragraphs);
    anything else (numbers, booleans, other objects) is no text."""
    if isinstance(value, str):
        return value
    if depth > MAX_VALUE_DEPTH:
        return ""
    if isinstance(value, dict):
        return text(value.get("@value"), depth + 1)
    if isinstance(value, list):
        return "\n\n".join(filter(None, (text(v, depth + 1) for v in value)))
    return ""


def first_text(value: Any) -> str | None:
    """The first text of a value that may be a list ("datePublished": ["2020-01-01"])."""
    if isinstance(value, list):
        return next((t for t in (first_text(v) for v in value[:MAX_LIST]) if t), None)
    found = text(value) if not isinstance(value, list) else ""
    return found or None


MAX_VALUE_DEPTH = 20  # a text value nested deeper is not text anyone wrote
MAX_LIST = 20


@dataclass(frozen=True)
class Syntax:
    """How an HTML attribute syntax opens an item, names its type and its properties."""

    opens: Callable[[HtmlElement], bool]
    type_attr: str
    prop_attr: str


MICRODATA = Syntax(lambda el: el.get("itemscope") is not None, "itemtype", "itemprop")
RDFA = Syntax(lambda el: el.get("typeof") is not None, "typeof", "property")


def item_types(value: str | None) -> set[str]:
    """ "http://schema.org/Question schema:Answer" -> {"Question", "Answer"}."""
    return {local(v) for v in (value or "").split()}


def item_prop(item: HtmlElement, name: str, syntax: Syntax) -> HtmlElement | None:
    """The item's first property `name`, not looking inside nested items."""
    for child in item.iterchildren():
        if not isinstance(child.tag, str):
            continue
        if name in item_types(child.get(syntax.prop_attr)):
            return child
        if not syntax.opens(child):
            found = item_prop(child, name, syntax)
            if found is not None:
                return found
    return None


def item_props(item: HtmlElement, name: str, syntax: Syntax) -> list[HtmlElement]:
    """All of the item's properties `name`, in page order, not inside nested items."""
    found = []
    for child in item.iterchildren():
        if not isinstance(child.tag, str):
            continue
        if name in item_types(child.get(syntax.prop_attr)):
            found.append(child)
        elif not syntax.opens(child):
            found += item_props(child, name, syntax)
    return found


_ITEMS = etree.XPath("//@itemscope/..")  # attribute steps: libxml2 walks these fast
_NOT_THE_PAGE = frozenset({"Question", "Answer", "Comment"})  # their authors ask or reply


# Per page tree, its microdata items: the date and author readers each ask.
_ITEM_LISTS: WeakKeyDictionary[HtmlElement, list[HtmlElement]] = WeakKeyDictionary()


def _items(tree: HtmlElement) -> list[HtmlElement]:
    found = _ITEM_LISTS.get(tree)
    if found is None:
        found = _ITEM_LISTS[tree] = select(_ITEMS, tree)
    return found


def microdata_texts(tree: HtmlElement, name: str) -> Iterator[str]:
    """The values of property `name` on the page's microdata items (not on questions,
    answers or comments), in page order: an attribute value (content, datetime) or the
    element's text; a nested item (an author Person) gives its name."""
    for item in _items(tree):
        if _NOT_THE_PAGE & item_types(item.get("itemtype")):
            continue
        found = item_prop(item, name, MICRODATA)
        if found is not None and MICRODATA.opens(found):
            found = item_prop(found, "name", MICRODATA)
        if found is not None:
            value = found.get("content") or found.get("datetime") or found.text_content()
            if value and value.strip():
                yield " ".join(value.split())

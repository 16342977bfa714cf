"""The one JSON-LD reader, for metadata and Q&A alike: tolerant of how sites print it
(in HTML comments or CDATA, with trailing commas), and of any value's shape.

JSON-LD lets a value be a string, {"@value": ...}, a list of either, a number or an
object; a page nested thousands of arrays deep is still a page. Nothing here raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lxml.html import HtmlElement

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


def scripts(tree: HtmlElement) -> Iterator[Any]:
    """Every readable <script type="application/ld+json"> of the page, in page order."""
    for script in tree.iter("script"):
        if script.get("type", "").split(";")[0].strip().lower() == "application/ld+json":
            data = load(script.text or "")
            if data is not None:
                yield data


def nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON-LD document, in document order (a stack, not recursion:
    depth is the page's to choose)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed([v for v in item.values() if isinstance(v, list | dict)]))
        elif isinstance(item, list):
            stack.extend(reversed(item))


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

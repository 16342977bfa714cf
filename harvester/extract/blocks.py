"""Linearise a parsed page into paragraph-level blocks, marking chrome and main content.

One walk over the tree serves everything downstream: Q&A detectors read all blocks,
the text keeps the non-chrome ones in the main container, dedup compares them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from lxml import etree
from lxml.html import HtmlElement

from ..models import Block, BlockKind

ID_ATTR = "data-harvester-id"

INLINE = frozenset(
    [
        "a",
        "abbr",
        "acronym",
        "b",
        "bdi",
        "bdo",
        "big",
        "br",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "img",
        "input",
        "ins",
        "kbd",
        "label",
        "mark",
        "nobr",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
        "wbr",
    ]
)
SKIP = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "math",
        "head",
        "iframe",
        "object",
        "embed",
        "canvas",
        "video",
        "audio",
        "map",
        "select",
        "option",
        "textarea",
        "datalist",
        "title",
        "meta",
        "link",
    ]
)
HEADINGS = {f"h{n}": n for n in range(1, 7)}
CELLS = frozenset({"td", "th"})
_HAS_BLOCKS = etree.XPath(
    "boolean(.//*[self::p or self::div or self::table or self::ul or self::ol or self::br"
    " or self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6])"
)

CHROME_TAGS = frozenset({"nav", "aside", "form", "dialog", "button"})
CHROME_ROLES = frozenset(
    {
        "navigation",
        "banner",
        "contentinfo",
        "complementary",
        "search",
        "menu",
        "menubar",
        "dialog",
        "alertdialog",
    }
)
# Whole words of class/id tokens split on - and _ (never substrings: "widget" in
# "elementor-widget" or "hide" in "elementor-hidden-mobile" mean nothing).
CHROME_WORDS = frozenset(
    [
        "nav",
        "navbar",
        "navigation",
        "menu",
        "menubar",
        "breadcrumb",
        "breadcrumbs",
        "footer",
        "cookie",
        "cookies",
        "consent",
        "gdpr",
        "newsletter",
        "subscribe",
        "signup",
        "sidebar",
        "share",
        "sharing",
        "social",
        "comments",
        "comment",
        "respond",
        "pagination",
        "pager",
        "skip",
        "advert",
        "advertisement",
        "ads",
        "sponsored",
        "popup",
        "modal",
        "masthead",
        "topbar",
        "toolbar",
    ]
)
CHROME_TOKENS = frozenset({"header", "site-header", "top-bar", "related", "related-posts"})
NEVER_CHROME = frozenset({"html", "body", "main", "article"})
MAIN_XPATHS = (
    "//main",
    "//*[@role='main']",
    "//article",
    "//*[@id='content']",
    "//*[@id='main']",
    "//*[@id='main-content']",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' entry-content ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' post-content ')]",
)
# A chrome-looking wrapper holding this share of the page is the page itself.
MAX_CHROME_SHARE = 0.5
MIN_MAIN_SHARE = 0.3

_SPACE = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def clean_text(raw: str) -> str:
    """Collapse whitespace per line, drop empty lines, NFC."""
    lines = (_SPACE.sub(" ", line).strip() for line in raw.split("\n"))
    return unicodedata.normalize("NFC", "\n".join(line for line in lines if line))


def tokens(el: HtmlElement) -> set[str]:
    values = f"{el.get('class', '')} {el.get('id', '')}".lower().split()
    return set(values)


def _words(toks: set[str]) -> set[str]:
    return {w for t in toks for w in re.split(r"[-_]+", t) if w}


def looks_like_chrome(el: HtmlElement, in_article: bool) -> bool:
    tag = el.tag
    if tag in NEVER_CHROME:
        return False
    if tag in CHROME_TAGS or (tag in ("header", "footer") and not in_article):
        return True
    if el.get("role", "").lower() in CHROME_ROLES:
        return True
    toks = tokens(el)
    return bool(toks & CHROME_TOKENS or _words(toks) & CHROME_WORDS)


def element_id(el: HtmlElement) -> int | None:
    value = el.get(ID_ATTR)
    return int(value) if value is not None else None


class _Walker:
    """Depth-first walk with a stack of open block elements and an inline buffer."""

    def __init__(self, body_chars: int, main: HtmlElement | None) -> None:
        self.blocks: list[Block] = []
        self.path: list[int] = []
        self.chrome_depth = 0
        self.article_depth = 0
        self.main = main
        self.main_depth = 0
        self.body_chars = max(body_chars, 1)
        self.buf: list[str] = []
        self.owner: list[HtmlElement] = []
        self.next_id = 0

    def flush(self) -> None:
        if not self.buf:
            return
        text = clean_text("".join(self.buf))
        self.buf = []
        if not text:
            return
        owner = self.owner[-1] if self.owner else None
        tag = owner.tag if owner is not None else "div"
        kind: BlockKind = "para"
        level = 0
        if tag in HEADINGS:
            kind, level = "heading", HEADINGS[tag]
        elif tag == "li":
            kind = "item"
        elif tag == "pre":
            kind = "pre"
        self.blocks.append(
            Block(
                text=text,
                kind=kind,
                level=level,
                path=tuple(self.path),
                chrome=self.chrome_depth > 0,
                main=self.main is None or self.main_depth > 0,
            )
        )

    def _is_chrome(self, el: HtmlElement) -> bool:
        if not looks_like_chrome(el, self.article_depth > 0):
            return False
        if el.tag in CHROME_TAGS or el.tag in ("header", "footer"):
            return True
        share = len(el.text_content()) / self.body_chars
        return share < MAX_CHROME_SHARE

    def walk(self, el: HtmlElement) -> None:
        tag = el.tag
        if not isinstance(tag, str) or tag in SKIP:
            return
        if tag == "br":
            self.buf.append("\n")
            return
        if tag in CELLS and not _HAS_BLOCKS(el):
            self.buf.append(" | " if self.buf and "".join(self.buf).strip() else "")
            self._children(el)
            return
        if tag in INLINE:
            self._children(el)
            return
        self._block(el)

    def _block(self, el: HtmlElement) -> None:
        self.flush()
        el.set(ID_ATTR, str(self.next_id))
        self.path.append(self.next_id)
        self.next_id += 1
        chrome = self._is_chrome(el)
        self.chrome_depth += chrome
        article = el.tag == "article"
        self.article_depth += article
        is_main = el is self.main
        self.main_depth += is_main
        self.owner.append(el)
        self._children(el)
        self.flush()
        self.owner.pop()
        self.main_depth -= is_main
        self.article_depth -= article
        self.chrome_depth -= chrome
        self.path.pop()

    def _children(self, el: HtmlElement) -> None:
        if el.text:
            self.buf.append(el.text)
        for child in el:
            self.walk(child)
            if child.tail:
                self.buf.append(child.tail)


def find_main(body: HtmlElement, body_chars: int) -> HtmlElement | None:
    """The main content container, if the page has a credible one."""
    for xpath in MAIN_XPATHS:
        for el in body.xpath(xpath):
            if len(el.text_content()) >= MIN_MAIN_SHARE * body_chars:
                return el
    return None


def linearize(tree: HtmlElement) -> list[Block]:
    """All text blocks of the page in document order."""
    body = tree.find("body")
    root = body if body is not None else tree
    body_chars = len(root.text_content())
    walker = _Walker(body_chars, find_main(root, body_chars))
    walker._block(root)
    return walker.blocks


def blocks_within(blocks: list[Block], el: HtmlElement) -> Iterator[tuple[int, Block]]:
    """The blocks inside an element the walk has visited."""
    el_id = element_id(el)
    if el_id is None:
        return
    for index, block in enumerate(blocks):
        if el_id in block.path:
            yield index, block


def render(blocks: list[Block]) -> str:
    """Paragraphs apart by a blank line, items as "- " lines, headings as "#" lines."""
    out: list[str] = []
    for block in blocks:
        text = block.render()
        if out and block.kind == "item" and out[-1].startswith("- "):
            out[-1] += "\n" + text
        else:
            out.append(text)
    return "\n\n".join(out)

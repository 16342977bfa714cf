"""Linearise a parsed page into paragraph-level blocks, marking chrome and main content.

One walk over the tree serves everything downstream: Q&A detectors read all blocks,
the text keeps the non-chrome ones in the main container, dedup compares them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator

from lxml import etree
from lxml.html import HtmlElement

from ..models import Block, BlockKind

ID_ATTR = "data-harvester-id"

INLINE = frozenset(
    "a abbr acronym b bdi bdo big br cite code data del dfn em font i img input ins kbd "
    "label mark nobr q s samp small span strike strong sub sup time tt u var wbr".split()
)
SKIP = frozenset(
    "script style noscript template svg math head iframe object embed canvas video "
    "audio map select option textarea datalist title meta link".split()
)
HEADINGS = {f"h{n}": n for n in range(1, 7)}
CELLS = frozenset({"td", "th"})
_HAS_BLOCKS = etree.XPath(
    "boolean(.//*[self::p or self::div or self::table or self::ul or self::ol or self::br"
    " or self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6])"
)

CHROME_TAGS = frozenset({"nav", "aside", "dialog"})
CHROME_ROLES = frozenset(
    "navigation banner contentinfo complementary search menu menubar dialog alertdialog".split()
)
# Whole words of class/id tokens split on - and _ (never substrings: "widget" in
# "elementor-widget" or "hide" in "elementor-hidden-mobile" mean nothing). Strong words
# name a thing that is never content; weak words also describe layouts ("has-sidebar",
# "content-with-nav"), so they count only for link lists or small boxes.
STRONG_WORDS = frozenset(
    "breadcrumb breadcrumbs cookie cookies consent gdpr newsletter subscribe signup share "
    "sharing social comments comment respond advert advertisement sponsored popup "
    "skip".split()
)
WEAK_WORDS = frozenset(
    "nav navbar navigation menu menubar footer sidebar pagination pager ads modal masthead "
    "topbar toolbar related widget-area".split()
)
CHROME_TOKENS = frozenset({"header", "site-header", "top-bar", "related-posts"})
NEVER_CHROME = frozenset({"html", "body", "main", "article"})
MAIN_XPATHS = (
    "//main",
    "//*[@role='main']",
    "//article",
    "//*[@itemprop='articleBody']",
    "//*[@id='content']",
    "//*[@id='main']",
    "//*[@id='main-content']",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' entry-content ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' post-content ')]",
)
# A chrome-looking wrapper holding this share of the page is the page itself.
MAX_CHROME_SHARE = 0.5
SMALL_BOX_SHARE = 0.1
LINK_LIST_DENSITY = 0.35
MAX_FORM_SHARE = 0.3  # ASP.NET pages wrap the whole page in one <form>
MAX_BUTTON_CHARS = 30  # longer button text is content (accordion questions)
MIN_MAIN_SHARE = 0.3
GOOD_PARAGRAPH_CHARS = 80
MAX_GOOD_LINK_DENSITY = 0.3
MIN_RUNNING_TEXT = 400  # below this a page is too short to second-guess
STRONG_CONTAINER_SHARE = 0.3

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


Sizes = dict[HtmlElement, tuple[int, int]]


def measure(root: HtmlElement) -> Sizes:
    """Visible characters and characters inside links, per element (scripts excluded)."""
    sizes: Sizes = {}
    for el in reversed(list(root.iter())):
        if not isinstance(el.tag, str) or el.tag in SKIP:
            sizes[el] = (0, 0)
            continue
        chars = len((el.text or "").strip())
        links = 0
        for child in el:
            child_chars, child_links = sizes.get(child, (0, 0))
            chars += child_chars + len((child.tail or "").strip())
            links += child_links
        sizes[el] = (chars, chars if el.tag == "a" else links)
    return sizes


def looks_like_chrome(el: HtmlElement, in_article: bool, share: float, density: float) -> bool:
    """Navigation, footers, forms, banners: by tag, ARIA role or whole class words, with
    guards so that a layout wrapper named "has-sidebar" is not mistaken for a sidebar."""
    tag = el.tag
    if tag in NEVER_CHROME or share >= MAX_CHROME_SHARE:
        return False
    if tag in CHROME_TAGS or (tag in ("header", "footer") and not in_article):
        return True
    if tag == "form":
        return share < MAX_FORM_SHARE
    if el.get("role", "").lower() in CHROME_ROLES:
        return True
    toks = tokens(el)
    words = _words(toks)
    if toks & CHROME_TOKENS or words & STRONG_WORDS:
        return True
    return bool(words & WEAK_WORDS) and (density >= LINK_LIST_DENSITY or share < SMALL_BOX_SHARE)


def element_id(el: HtmlElement) -> int | None:
    value = el.get(ID_ATTR)
    return int(value) if value is not None else None


class _Walker:
    """Depth-first walk with a stack of open block elements and an inline buffer."""

    def __init__(self, sizes: Sizes, body_chars: int, main: HtmlElement | None) -> None:
        self.sizes = sizes
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
        chars, links = self.sizes.get(owner, (0, 0)) if owner is not None else (0, 0)
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
                link_density=round(links / chars, 3) if chars else 0.0,
            )
        )

    def _is_chrome(self, el: HtmlElement) -> bool:
        chars, links = self.sizes.get(el, (0, 0))
        if el.tag == "button":
            return chars <= MAX_BUTTON_CHARS
        share, density = chars / self.body_chars, links / max(chars, 1)
        return looks_like_chrome(el, self.article_depth > 0, share, density)

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


def find_main(body: HtmlElement, sizes: Sizes, body_chars: int) -> HtmlElement | None:
    """The main content container, if the page has a credible one."""
    for xpath in MAIN_XPATHS:
        for el in body.xpath(xpath):
            if sizes.get(el, (0, 0))[0] >= MIN_MAIN_SHARE * body_chars:
                return el
    return None


def linearize(tree: HtmlElement) -> list[Block]:
    """All text blocks of the page in document order."""
    body = tree.find("body")
    root = body if body is not None else tree
    sizes = measure(root)
    body_chars = max(sizes[root][0], 1)
    walker = _Walker(sizes, body_chars, find_main(root, sizes, body_chars))
    walker._block(root)
    focus_main(walker.blocks)
    return walker.blocks


def _is_good(block: Block) -> bool:
    """A paragraph of running text: long, and not mostly a link."""
    return (
        block.kind == "para"
        and len(block.text) >= GOOD_PARAGRAPH_CHARS
        and block.link_density < MAX_GOOD_LINK_DENSITY
        and block.main
        and not block.chrome
    )


def focus_main(blocks: list[Block]) -> None:
    """Narrow the main content to the element that holds the article's running text.

    Pages without a usable <main> (and <main>s that also hold teasers and link lists)
    are narrowed the way a reader's eye does it: find the container whose own paragraphs
    hold the most running text, then widen it while the widening adds more of the same
    (article text split by ads) rather than one-paragraph teasers and link lists. Short
    pages are left alone.
    """
    good = {i: len(b.text) for i, b in enumerate(blocks) if _is_good(b)}
    if sum(good.values()) < MIN_RUNNING_TEXT:
        return
    own: dict[int, int] = defaultdict(int)  # container -> running text of its paragraphs
    for i in good:
        own[_container(blocks[i])] += good[i]
    best = max(own, key=own.__getitem__)
    strong, weak, parent = _tally(blocks, good, own, STRONG_CONTAINER_SHARE * own[best])
    core = best
    ancestor = parent.get(core)
    while ancestor is not None:
        gained_strong = strong[ancestor] - strong[core]
        gained_weak = weak[ancestor] - weak[core]
        if gained_weak > gained_strong:
            break
        if gained_strong:
            core = ancestor
        ancestor = parent.get(ancestor)
    _keep_only(blocks, good, core, parent.get(core))


def _container(block: Block) -> int:
    return block.path[-2] if len(block.path) > 1 else block.path[-1]


def _tally(
    blocks: list[Block], good: dict[int, int], own: dict[int, int], threshold: float
) -> tuple[dict[int, int], dict[int, int], dict[int, int | None]]:
    """Per element: running text from strong containers, and everything else below it
    (teaser paragraphs fully, short lines and links at half weight)."""
    strong: dict[int, int] = defaultdict(int)
    weak: dict[int, int] = defaultdict(int)
    parent: dict[int, int | None] = {}
    for i, block in enumerate(blocks):
        for depth, element in enumerate(block.path):
            parent.setdefault(element, block.path[depth - 1] if depth else None)
        if block.chrome or not block.main:
            continue
        if i in good and own[_container(block)] >= threshold:
            target, size = strong, good[i]
        else:
            target, size = weak, good.get(i, len(block.text) // 2)
        for element in block.path:
            target[element] += size
    return strong, weak, parent


def _keep_only(blocks: list[Block], good: dict[int, int], core: int, parent: int | None) -> None:
    """Blocks outside `core` leave the main text, except the page title and loose
    paragraphs right beside it."""
    title_seen = False
    for i, block in enumerate(blocks):
        if core in block.path:
            continue
        is_title = block.kind == "heading" and block.level == 1 and not title_seen
        loose_text = i in good and parent is not None and block.path[-2:-1] == (parent,)
        title_seen = title_seen or is_title
        block.main = block.main and (is_title or loose_text)


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

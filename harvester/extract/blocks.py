"""Linearise a parsed page into paragraph-level blocks, marking chrome and main content.

One walk over the tree serves everything downstream: Q&A detectors read all blocks,
the text keeps the non-chrome ones in the main container, dedup compares them.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from lxml import etree
from lxml.html import HtmlElement

from ..models import QA, Block, BlockKind
from .vocabulary import (
    ASIDE,
    ASIDE_TAGS,
    NEVER_CHROME,
    chrome_role,
    chrome_tag,
    hidden_attributes,
    name_marks,
    tokens,
)

ID_ATTR = "data-harvester-id"
# lxml's own setter: HtmlElement.set wraps it in Python, a call per element of the walk.
_set_attribute = etree.ElementBase.set

INLINE = frozenset(
    "a abbr acronym b bdi bdo big br cite code data del dfn em font i img input ins kbd "
    "label mark nobr q s samp small span strike strong sub sup time tt u var wbr".split()
)
SKIP = frozenset(
    "script style noscript template svg math head iframe object embed canvas video "
    "audio map select option textarea datalist title meta link".split()
)
ITEM_WRAPPERS = frozenset({"p", "div", "span", "section", "figure", "blockquote", "dd"})
_BLANK_LINE = re.compile(r"\n[ \t\u00a0]*\n")
HEADINGS = {f"h{n}": n for n in range(1, 7)}
CELLS = frozenset({"td", "th"})
# What makes a table cell a container of blocks rather than one line of a row.
CELL_BLOCKS = ("p", "div", "table", "ul", "ol", "br", "h1", "h2", "h3", "h4", "h5", "h6")


def _has_blocks(cell: HtmlElement) -> bool:
    """A block element below the cell: lxml's tag iteration stops at the first, without
    the set-up an XPath call costs per cell."""
    return next(cell.iter(*CELL_BLOCKS), None) is not None


# Semantic main-content containers, most telling first: (attribute, value) on an element.
MAIN_MARKS = (
    ("tag", "main"),
    ("role", "main"),
    ("tag", "article"),
    ("itemprop", "articleBody"),
    ("id", "content"),
    ("id", "main"),
    ("id", "main-content"),
    ("class", "entry-content"),
    ("class", "post-content"),
)
# A chrome-looking wrapper holding this share of the page is the page itself.
MAX_CHROME_SHARE = 0.5
SMALL_BOX_SHARE = 0.1
LINK_LIST_DENSITY = 0.35
MAX_FORM_SHARE = 0.3  # ASP.NET pages wrap the whole page in one <form>
MAX_BUTTON_CHARS = 30  # longer button text is content (accordion questions)
MIN_MAIN_SHARE = 0.3
TRAILING_LINK_DENSITY = 0.5  # a line this much link, after the running text, is a teaser
MAX_ASIDE_SHARE = 0.25  # a box named "comments" holding more is the page's container
GOOD_PARAGRAPH_CHARS = 80
MAX_GOOD_LINK_DENSITY = 0.3
MIN_RUNNING_TEXT = 400  # below this a page is too short to second-guess
STRONG_CONTAINER_SHARE = 0.3
QA_WORD_SHARE = 0.8  # a block this much made of a Q&A's words is part of it
LAST_QA_SCAN = 2  # the last Q&A is looked for within twice its length of text...
LAST_QA_SLACK = 200  # ...and this many characters more
_WORD = re.compile(r"\w+")
_MARKUP = re.compile(r"^(?:#+ |- )")
_LABEL = re.compile(r"^[^:\n]{1,40}:\s+")  # "Q: ", "DEAR ABBY: ", "PAULO SERGIO: "


def clean_text(raw: str) -> str:
    """Collapse whitespace per line, drop empty lines, NFC."""
    if "\u200b" in raw:
        raw = raw.replace("\u200b", "")
    if "\n" in raw:
        lines = (" ".join(line.split()) for line in raw.split("\n"))
        text = "\n".join(line for line in lines if line)
    else:
        text = " ".join(raw.split())  # str.split knows Unicode spaces, NBSP included
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def looks_like_chrome(span: _Span, share: float, density: float) -> bool:
    """Navigation, footers, forms, banners: by tag, ARIA role or whole class words, with
    guards so that a layout wrapper named "has-sidebar" is not mistaken for a sidebar."""
    tag = span.tag
    if tag in NEVER_CHROME or share >= MAX_CHROME_SHARE:
        return False
    if chrome_tag(tag, span.in_article):
        return True
    if tag == "form":
        return share < MAX_FORM_SHARE
    if span.role and chrome_role(span.role):  # most elements have no role: no call
        return True
    if span.names == " ":
        return False
    strength = name_marks(span.names) & 3  # the chrome strength
    if strength == 2:
        return True
    return strength == 1 and (density >= LINK_LIST_DENSITY or share < SMALL_BOX_SHARE)


def element_id(el: HtmlElement) -> int | None:
    value = el.get(ID_ATTR)
    return int(value) if value is not None else None


@dataclass(slots=True)
class _Span:
    """What the walk learned of one block-level element, for decisions made after it."""

    first: int  # index of its first block
    end: int  # index after its last block
    chars: int  # visible characters below it (scripts excluded)
    links: int  # of which inside links
    tag: str
    names: str  # class and id attributes
    role: str
    in_article: bool
    itemprop: str = ""
    hidden: bool = False

    def marked(self, attribute: str, value: str) -> bool:
        if attribute == "tag":
            return self.tag == value
        if attribute == "class":
            return value in tokens(self.names)
        if attribute == "id":
            return self.names.rsplit(" ", 1)[-1] == value
        if attribute == "role":
            return self.role == value
        return self.itemprop == value


def _attributes(el: HtmlElement) -> tuple[str, str, str, bool]:
    """An element's class and id (as `names_of` joins them), role, itemprop and hidden
    state, from one read of its attributes: most elements have none, and one call then
    answers all six lookups."""
    found = el.items()
    if not found:
        return " ", "", "", False
    attrs = dict(found)
    get = attrs.get
    return (
        f"{get('class', '')} {get('id', '')}",
        get("role") or "",
        get("itemprop") or "",
        hidden_attributes(get("hidden"), get("style")),
    )


class _Walker:
    """One depth-first pass: blocks out of an inline buffer, and the size of every element.

    Chrome and main-content decisions need each element's share of the page, known only
    when the walk is over, so they are taken afterwards over the recorded spans.
    """

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.owners: list[int] = []  # per block, the element it was flushed from
        self.path: list[int] = []
        self.spans: dict[int, _Span] = {}
        self.article_depth = 0
        self.pre_depth = 0
        self.link_depth = 0
        self.chars = 0
        self.links = 0
        self.buf: list[str] = []
        self.owner: list[tuple[int, str]] = []
        self.next_id = 0
        self.images: list[tuple[tuple[int, ...], HtmlElement]] = []

    def text(self, value: str | None) -> None:
        if value:
            if not self.buf and value.isspace():
                return  # indentation between blocks: nothing to read, nothing to flush
            if not self.pre_depth and ("\n" in value or "\r" in value):
                value = value.replace("\r", " ").replace("\n", " ")  # only <br> breaks lines
            self.buf.append(value)
            size = len(value.strip())
            self.chars += size
            if self.link_depth:
                self.links += size

    def flush(self) -> None:
        if not self.buf:
            return
        raw = "".join(self.buf)
        self.buf = []
        # Two <br> in a row end a paragraph, as they do on the screen.
        chunks = _BLANK_LINE.split(raw) if not self.pre_depth and "\n" in raw else [raw]
        kind, level = self._kind()
        for chunk in chunks:
            text = clean_text(chunk)
            if text:
                self.blocks.append(Block(text, kind, level, tuple(self.path)))
                self.owners.append(self.owner[-1][0])

    def _kind(self) -> tuple[BlockKind, int]:
        """A heading, a list item (also a <p> inside an <li>), preformatted, or a paragraph."""
        tag = self.owner[-1][1]
        if tag in HEADINGS:
            return "heading", HEADINGS[tag]
        if tag == "pre":
            return "pre", 0
        for _, outer in reversed(self.owner):
            if outer == "li":
                return "item", 0
            if outer not in ITEM_WRAPPERS:
                break
        return "para", 0

    def block(self, el: HtmlElement) -> None:
        if self.buf:
            self.flush()
        el_id, tag = self.next_id, el.tag
        self.next_id += 1
        names, role, itemprop, hidden = _attributes(el)  # before the walk's own id is set
        _set_attribute(el, ID_ATTR, str(el_id))
        self.path.append(el_id)
        article = tag == "article"
        self.article_depth += article
        self.pre_depth += tag == "pre"
        first, chars, links = len(self.blocks), self.chars, self.links
        self.owner.append((el_id, tag))
        self.children(el)
        if self.buf:
            self.flush()
        self.owner.pop()
        self.article_depth -= article
        self.pre_depth -= tag == "pre"
        self.spans[el_id] = _Span(
            first,
            len(self.blocks),
            self.chars - chars,
            self.links - links,
            tag,
            names,
            role,
            self.article_depth > 0,
            itemprop,
            hidden,
        )
        self.path.pop()

    def children(self, el: HtmlElement) -> None:
        # Texts are tested here, not in text(): most nodes have no text or tail, and a
        # call per node is a tenth of the walk.
        # A blank between blocks (most texts and tails) is dropped here, before the call.
        text = el.text
        if text and (self.buf or not text.isspace()):
            self.text(text)
        text_of = self.text
        for child in el:
            tag = child.tag
            if tag.__class__ is str and tag not in SKIP:
                if tag == "br":
                    self.buf.append("\n")
                elif tag == "img":
                    self.images.append((tuple(self.path), child))
                elif tag == "a":
                    self.link_depth += 1
                    self.children(child)
                    self.link_depth -= 1
                elif tag in INLINE:
                    self.children(child)
                elif tag in CELLS and not _has_blocks(child):
                    if self.buf and "".join(self.buf).strip():
                        self.buf.append(" | ")
                    self.children(child)
                else:
                    self.block(child)
            tail = child.tail
            if tail and (self.buf or not tail.isspace()):
                text_of(tail)


def _mark(walker: _Walker) -> tuple[set[int], set[int]]:
    """Chrome, main content and link density, now that every element's size is known.
    Returns the ids of the chrome elements, and the indices of the blocks that stand
    beside an article's text (see `looks_aside`)."""
    blocks, spans = walker.blocks, walker.spans
    chrome_ids: set[int] = set()
    aside: set[int] = set()
    body_chars = max(spans[0].chars, 1)
    for el_id, span in spans.items():
        if span.end == span.first:
            continue  # no text: chrome or not, only its images ask (`_image_in_chrome`)
        if (
            span.chars <= MAX_BUTTON_CHARS
            if span.tag == "button"
            else looks_like_chrome(span, span.chars / body_chars, span.links / (span.chars or 1))
        ):
            chrome_ids.add(el_id)
            for block in blocks[span.first : span.end]:
                block.chrome = True
        elif looks_aside(span, span.chars / body_chars, walker):
            aside.update(range(span.first, span.end))
    for block, owner in zip(blocks, walker.owners, strict=True):
        span = spans[owner]
        block.link_density = round(span.links / span.chars, 3) if span.chars else 0.0
    return chrome_ids, aside


def _is_chrome(span: _Span, body_chars: int) -> bool:
    if span.tag == "button":
        return span.chars <= MAX_BUTTON_CHARS
    return looks_like_chrome(span, span.chars / body_chars, span.links / max(span.chars, 1))


def _image_in_chrome(path: tuple[int, ...], walker: _Walker, chrome_ids: set[int]) -> bool:
    """An image inside chrome: elements holding text were judged by `_mark`; those that
    hold none (a logo's link, an icon row) are judged here, for their images only."""
    spans, body_chars = walker.spans, max(walker.spans[0].chars, 1)
    for el_id in path:
        span = spans[el_id]
        if el_id in chrome_ids or (span.end == span.first and _is_chrome(span, body_chars)):
            return True
    return False


def looks_aside(span: _Span, share: float, walker: _Walker) -> bool:
    """Beside the article, though often inside its container: never shown (display:none
    metadata copies), a figure and its caption (not a figure of code or a table), or a
    box named for teasers, an author's bio, comments, a newsletter (whole class words,
    and only a small part of the page)."""
    if span.tag in NEVER_CHROME:
        return False
    if span.hidden:
        return True
    if span.tag in ASIDE_TAGS:
        return not _holds_data(span, walker)
    return share < MAX_ASIDE_SHARE and span.names != " " and bool(name_marks(span.names) & ASIDE)


def _holds_data(span: _Span, walker: _Walker) -> bool:
    """Code or a table: what a figure shows as text, not as a caption."""
    spans = walker.spans
    return any(
        block.kind == "pre" or any(spans[el].tag == "table" for el in block.path)
        for block in walker.blocks[span.first : span.end]
    )


def find_main(
    spans: dict[int, _Span], aside: set[int] | frozenset[int] = frozenset()
) -> int | None:
    """The main content container, if the page has a credible one (read off the walk's
    record of every element: no search of the tree). Never one that is not shown: a
    hidden copy of the article body is metadata."""
    least = MIN_MAIN_SHARE * max(spans[0].chars, 1)
    large = [
        (el_id, span)
        for el_id, span in sorted(spans.items())
        if span.chars >= least
        and not (span.end > span.first and span.first in aside and span.end - 1 in aside)
    ]
    for attribute, value in MAIN_MARKS:
        for el_id, span in large:
            if span.marked(attribute, value):
                return el_id
    return None


def linearize(tree: HtmlElement) -> list[Block]:
    """All text blocks of the page in document order."""
    return linearize_page(tree).blocks


@dataclass
class Linearized:
    """A page's blocks, the <img>s of its main content, and the blocks beside its text."""

    blocks: list[Block]
    images: list[HtmlElement]
    aside: set[int]


def linearize_page(tree: HtmlElement) -> Linearized:
    """All text blocks in document order, and the <img>s of the main content. `main`
    marks the semantic main container only: `select_main` narrows it once the page's
    Q&As are known."""
    body = tree.find("body")
    root = body if body is not None else tree
    walker = _Walker()
    try:
        walker.block(root)
    except RecursionError:  # thousands of levels deep: read its text flat instead
        return Linearized(_flat_blocks(root), [], set())
    chrome_ids, aside = _mark(walker)
    main_id = find_main(walker.spans, aside)
    if main_id is not None:
        main = walker.spans[main_id]
        for index, block in enumerate(walker.blocks):
            block.main = main.first <= index < main.end
    images = [
        img
        for path, img in walker.images
        if (main_id is None or main_id in path) and not _image_in_chrome(path, walker, chrome_ids)
    ]
    return Linearized(walker.blocks, images, aside)


def _flat_blocks(root: HtmlElement) -> list[Block]:
    """The text of a tree too deep to walk, one block per text node, in page order: no
    chrome or main-content marks (those need the walk), but nothing lost."""
    root.set(ID_ATTR, "0")
    texts: list[str] = []
    for el in root.iter():  # lxml's own iteration: no recursion
        if isinstance(el.tag, str) and el.tag not in SKIP and el.text:
            texts.append(el.text)
        if el is not root and el.tail:
            texts.append(el.tail)
    return [Block(text, "para", 0, (0,)) for text in map(clean_text, texts) if text]


def _is_good(block: Block) -> bool:
    """A paragraph of running text: long, and not mostly a link."""
    return (
        block.kind == "para"
        and len(block.text) >= GOOD_PARAGRAPH_CHARS
        and block.link_density < MAX_GOOD_LINK_DENSITY
        and block.main
        and not block.chrome
    )


def focus_main(blocks: list[Block], aside: set[int] | frozenset[int] = frozenset()) -> int | None:
    """Narrow the main content to the element that holds the article's running text.

    Pages without a usable <main> (and <main>s that also hold teasers and link lists)
    are narrowed the way a reader's eye does it: find the container whose own paragraphs
    hold the most running text, then widen it while the widening adds more of the same
    (article text split by ads) rather than one-paragraph teasers and link lists. Short
    pages are left alone (None); otherwise returns the chosen element's id.
    """
    good = {i: len(b.text) for i, b in enumerate(blocks) if _is_good(b)}
    if sum(good.values()) < MIN_RUNNING_TEXT:
        return None
    good = {i: size for i, size in good.items() if i not in aside}  # captions, bios: no vote
    if not good:
        return None
    own: dict[int, int] = defaultdict(int)  # container -> running text of its paragraphs
    for i in good:
        own[_container(blocks[i])] += good[i]
    best = max(own, key=own.__getitem__)
    member = next(blocks[i] for i in good if _container(blocks[i]) == best)
    chain = member.path[: member.path.index(best) + 1]  # the page root down to `best`
    strong, weak = _tally(blocks, good, own, STRONG_CONTAINER_SHARE * own[best], chain)
    depth = len(chain) - 1
    for above in range(depth - 1, -1, -1):
        gained_strong = strong[above] - strong[depth]
        if weak[above] - weak[depth] > gained_strong:
            break
        if gained_strong:
            depth = above
    _keep_only(blocks, good, chain[depth], chain[depth - 1] if depth else None)
    _drop_trailing_links(blocks, max(good))
    return chain[depth]


def _drop_trailing_links(blocks: list[Block], last_text: int) -> None:
    """The link lists ("Read more", related stories) that end the main text after the
    article's last paragraph of running text, and the headings that title them, are not
    the article. Only the trailing run goes: a list with text after it stays whole."""
    for i in range(len(blocks) - 1, last_text, -1):
        block = blocks[i]
        if not block.main or block.chrome:
            continue
        if block.link_density < TRAILING_LINK_DENSITY and block.kind != "heading":
            return
        block.main = False


def _container(block: Block) -> int:
    return block.path[-2] if len(block.path) > 1 else block.path[-1]


def _tally(
    blocks: list[Block],
    good: dict[int, int],
    own: dict[int, int],
    threshold: float,
    chain: tuple[int, ...],
) -> tuple[list[int], list[int]]:
    """Per element of `chain` (by depth): running text from strong containers below it,
    and everything else below it (teaser paragraphs fully, short lines and links at half
    weight)."""
    strong = [0] * (len(chain) + 1)  # at k: blocks sharing the first k elements of chain
    weak = [0] * (len(chain) + 1)
    for i, block in enumerate(blocks):
        if block.chrome or not block.main:
            continue
        if i in good and own[_container(block)] >= threshold:
            strong[_shared(block.path, chain)] += good[i]
        else:
            weak[_shared(block.path, chain)] += good.get(i, len(block.text) // 2)
    for k in range(len(chain) - 1, -1, -1):  # element at depth d holds every k > d
        strong[k] += strong[k + 1]
        weak[k] += weak[k + 1]
    return strong[1:], weak[1:]


def _shared(path: tuple[int, ...], chain: tuple[int, ...]) -> int:
    """How many leading elements two paths share. Ids grow with depth and differ past a
    fork, so the first mismatch is found by bisection."""
    low, high = 0, min(len(path), len(chain))
    if high and path[high - 1] == chain[high - 1]:
        return high
    while low < high:
        middle = (low + high) // 2
        if path[middle] == chain[middle]:
            low = middle + 1
        else:
            high = middle
    return low


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


def select_main(
    blocks: list[Block], qa: Sequence[QA], aside: set[int] | frozenset[int] = frozenset()
) -> None:
    """Narrow `main` to the page's text: the running-text core (`focus_main`), every Q&A
    shown on the page with what stands between them, and, on a page whose running text
    is its Q&As, the intro between the title and the first question.

    The core alone is not enough for an FAQ: each answer sits in its own container, so
    the core is one answer, and the other answers and the intro would be dropped."""
    semantic = [block.main for block in blocks]
    members = _qa_members(blocks, qa)
    core = focus_main(blocks, aside)
    prune(blocks, aside)
    if not members:
        return
    first, last = _titled(blocks, semantic, members[0]), members[-1]
    for i in members:
        blocks[i].chrome = False  # a question in a short <button> is still the question
    for i in range(first, last + 1):
        blocks[i].main = semantic[i]
    if core is not None and _starts_at_or_after(blocks, core, first):
        _keep_intro(blocks, semantic, first)


def prune(blocks: list[Block], aside: set[int] | frozenset[int]) -> None:
    """Take out of the main text what stands beside the article: `aside` blocks, and
    headlines or decks repeating the page title. Q&As shown on the page are put back
    afterwards by `select_main`."""
    title = _first_title(blocks)
    for i, block in enumerate(blocks):
        if not block.main:
            continue
        if i in aside or (title is not None and i > title and block.text == blocks[title].text):
            block.main = False


def _first_title(blocks: list[Block]) -> int | None:
    return next(
        (
            i
            for i, b in enumerate(blocks)
            if b.kind == "heading" and b.level == 1 and b.main and not b.chrome
        ),
        None,
    )


def _qa_members(blocks: list[Block], qa: Sequence[QA]) -> list[int]:
    """Indices of the main blocks holding a shown Q&A's question, answer or signature,
    in page order. Each Q&A is looked for from its position to the next Q&A's; the last
    one within a budget of text, so that a stray line far below is not taken for it."""
    words_at: dict[int, set[str]] = defaultdict(set)
    chars_at: dict[int, int] = defaultdict(int)
    for item in qa:
        if item.position < len(blocks):
            words_at[item.position] |= _qa_words(item)
            chars_at[item.position] += len(item.question) + len(item.answer)
    starts = sorted(words_at)
    members: list[int] = []
    for start, end in zip(starts, [*starts[1:], len(blocks)], strict=False):
        budget = LAST_QA_SLACK + LAST_QA_SCAN * chars_at[start]
        found: list[int] = []
        for i in range(start, end):
            block = blocks[i]
            if block.main and _made_of(block.text, words_at[start]):
                found.append(i)
            budget -= len(block.text)
            if end == len(blocks) and budget < 0:
                break
        shown = [i for i in found if not blocks[i].chrome]
        if shown:
            members += [i for i in found if i <= shown[-1]]
    return members


def _titled(blocks: list[Block], semantic: list[bool], first: int) -> int:
    """Headings right above the first question title the Q&As ("Questions about this
    article"): they start them."""
    while first and semantic[first - 1] and blocks[first - 1].kind == "heading":
        if blocks[first - 1].chrome:
            break
        first -= 1
    return first


def _qa_words(qa: QA) -> set[str]:
    person = qa.answered_by
    signed = f"{person.name} {person.credentials or ''} {person.title or ''}" if person else ""
    return set(_WORD.findall(f"{qa.question} {qa.answer} {signed}".lower()))


def _made_of(text: str, words: set[str]) -> bool:
    """The block's words are (nearly all) the Q&A's: it is part of it."""
    found = _WORD.findall(text.lower())
    return bool(found) and sum(w in words for w in found) >= QA_WORD_SHARE * len(found)


def _starts_at_or_after(blocks: list[Block], core: int, first: int) -> bool:
    """The core begins at or after the first question: the Q&As are the running text."""
    return next((i for i, block in enumerate(blocks) if core in block.path), first) >= first


def _keep_intro(blocks: list[Block], semantic: list[bool], first: int) -> None:
    """What stands between the title and the first question is the FAQ's intro (link
    lists left out)."""
    title = next(
        (
            i
            for i in range(first)
            if blocks[i].kind == "heading" and blocks[i].level == 1 and semantic[i]
        ),
        -1,
    )
    for i in range(title + 1, first):
        if semantic[i] and blocks[i].link_density < MAX_GOOD_LINK_DENSITY:
            blocks[i].main = True


def qa_share(qa: Iterable[QA], text: str) -> float:
    """The share of a rendered text's characters (markup left out) that are its Q&As'
    questions and answers. Q&As the text does not show count for nothing; a speaker's
    label before a line ("DEAR ABBY:", "Q:") does not hide it."""
    parts = sorted(
        {
            part.removeprefix("- ")
            for item in qa
            for part in (item.question, *item.answer.split("\n"))
            if part.strip()
        },
        key=len,
    )
    blob = "\n".join(parts)
    sizes = [len(part) for part in parts]
    total = shown = 0
    for raw in text.split("\n"):
        line = _MARKUP.sub("", raw)
        total += len(line)
        if blob and _is_qa_line(line, blob, parts, sizes):
            shown += len(line)
    return shown / total if total else 0.0


def _is_qa_line(line: str, blob: str, parts: list[str], sizes: list[int]) -> bool:
    """Part of a Q&A, a Q&A after a label, or mostly one Q&A line with something around
    it (numbering, a signature)."""
    if line in blob or _LABEL.sub("", line, count=1) in blob:
        return True
    longest = bisect_right(sizes, len(line))
    return any(part in line for part in parts[bisect_left(sizes, (len(line) + 1) // 2) : longest])


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

"""What every Q&A detector shares: the page's blocks indexed by element, answer text that
keeps its paragraphs and lists, question text read from an element, signatures, and the
evidence that tells an FAQ from any other accordion or heading.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from itertools import accumulate

from lxml import etree
from lxml.html import HtmlElement

from ..models import QA, Block
from ..parse import select
from .blocks import ID_ATTR, INLINE, SKIP, clean_text, element_id, linearize
from .signature import split_signature
from .vocabulary import FAQ_WORDS, UNSEEN_CLASSES, class_tokens, class_words

POSITION_LAST = 10**9  # structured data has no place in the page: after HTML copies
MAX_QUESTION_CHARS = 400  # longer "questions" in a button are something else

# "Q:" / "Question:" / "Frage:" / "F:" and their answers, in English, German and French.
# "F." and "R." start names ("F. Scott"): the German and French letters need a colon.
Q_WORDS = r"(?:(?:Q|[Qq]uestion|QUESTION|[Ff]rage|FRAGE)\s*\d{0,3}\s*[:.]|F\s*\d{0,3}\s*:)"
Q_LABEL = re.compile(rf"^{Q_WORDS}\s*(?:\|\s*)?(.*)$", re.S)
A_LABEL = re.compile(
    r"^(?:(?:A|[Aa]nswer|ANSWER|[Aa]ntwort|ANTWORT|[Rr][ée]ponse|R[ÉE]PONSE)\s*\d{0,3}\s*[:.]"
    r"|R\s*\d{0,3}\s*:)\s*(?:\|\s*)?(.*)$",
    re.S,
)
# Numbering before a question in a run: "1.", "2)", "Q3)", "Q 4:", "#5".
NUMBERING = re.compile(r"^(?:Q\s*|#\s*)?(\d{1,3})\s*[.):]\s+(?=\S)")
# The asker's signature after a letter's last sentence: "— a reader in Ohio".
_ASKER = re.compile(r"(?<=[.?!…\"”’)])\s*(?:--|—|–)\s*[^?\n]{1,60}$")
# Toggle glyphs and arrows that accordions print beside a question.
_GLYPHS = "+−–—▼▲▾▴▸▹►◄›‹»«❯❮⌄⌃✚✕×"
_QUESTION_END = re.compile(r"[?？][\"'”’»)\]]*$")
# The label of a control, not a question: "Read more", "Show all", "Menu".
_CONTROL = re.compile(
    r"^(?:(?:read|show|see|view|learn|load)\s+(?:more|less|all)|more|less|expand|collapse"
    r"|close|open|menu|toggle|details|transcript)\b",
    re.I,
)
FAQ_TITLE = re.compile(
    r"\b(?:faqs?|f\.a\.q\b|frequently[\s-]+asked|questions|q\s*&\s*a|q\s+and\s+a)", re.I
)
# A heading that introduces an FAQ is its title, not one of its questions.
_FAQ_INTRO = re.compile(
    r"^(?:(?:do you |still )?(?:have|got) (?:a |any |more |other |further )?questions?"
    r"|any (?:other |more |further )?questions|questions\s*(?:and|&)\s*answers"
    r"|(?:frequently asked|common|popular|top|your) questions|faqs?|f\.a\.q\.?"
    r"|(?:noch |weitere )?fragen|haben sie (?:noch )?fragen|häufig gestellte fragen"
    r"|häufige fragen|fragen und antworten|une question|des questions|questions fréquentes"
    r"|foire aux questions)\b[^.!]{0,40}$",
    re.I,
)

NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"
PARTICLE = r"(?:de|da|di|du|van|von|der|den|la|le|al|bin|ibn)"
NAME = rf"(?:(?:Dr|Prof|Mr|Mrs|Ms)\.?\s+)?{NAME_WORD}(?:\s+(?:{PARTICLE}\s+)?{NAME_WORD}){{1,3}}"
# What follows the last answer and is not part of it.
TRAILER = re.compile(
    r"^(?:want to (?:know|learn|read) more|more information|further information|"
    r"related(?: articles| posts| stories)?\b|read (?:more|also)|see also|share (?:this|on)|"
    r"follow us|back to top|sources?\b|references?\b|footnotes?\b|"
    r"(?:have|got) a question\b.{0,20}(?:email|write|send|contact|call)|send (?:us )?your question|"
    r"weitere (?:informationen|infos|artikel)|mehr zum thema|lesen sie (?:auch|mehr)|quellen?\b|"
    r"zum seitenanfang|nach oben|en savoir plus|à lire (?:aussi|également)|lire aussi|"
    r"pour aller plus loin|retour en haut)",
    re.I,
)
CREDIT = re.compile(rf"\b(?:is|was) (?:written|edited) by ({NAME})")
_SEPARATOR = re.compile(r"^[\s*_~=—–-]{3,}$")
# A <br> whose next non-blank sibling is another <br>: a paragraph break typed as two.
_DOUBLE_BR = etree.XPath(
    ".//br[following-sibling::node()[not(self::text()[normalize-space()=''])][1][self::br]]"
)


# The one scan of the page's attributes, shared by every detector that starts from an
# attribute: widget questions (whose classes all contain one of CLASS_HINTS), disclosure
# toggles (aria-expanded; Bootstrap 3's bare data-toggle; Bootstrap 5 always prints
# aria-expanded), schema.org items (microdata, RDFa). Each further scan of a large page
# costs about as much as this one, so detectors filter its short result instead.
CLASS_HINTS = ("question", "title", "header", "frage", "faq")
_MARKING_ATTRIBUTES = ("aria-expanded", "data-toggle", "itemscope", "typeof")
# A union of attribute steps: libxml2 walks attribute nodes faster than it tests
# predicates on every element.
_MARKED = etree.XPath(
    " | ".join(
        [
            "descendant-or-self::*/@class["
            + " or ".join(f"contains(., '{hint}')" for hint in CLASS_HINTS)
            + "]/..",
            *(f"descendant-or-self::*/@{name}/.." for name in _MARKING_ATTRIBUTES),
        ]
    )
)


_WALKED = etree.XPath(f"descendant-or-self::*[@{ID_ATTR}]")


class PageBlocks(list[Block]):
    """The page's blocks, able to find the blocks inside any element the walk visited.

    Ids are handed out in document order as elements open, so the running maximum of
    block owners' ids is sorted: an element's blocks start where it reaches the
    element's id, and run while the element is on their path.
    """

    def __init__(self, tree: HtmlElement, blocks: Iterable[Block]) -> None:
        super().__init__(blocks)
        self.tree = tree
        self._reach_ids: list[int] | None = None
        self._marked: list[HtmlElement] | None = None
        self._elements: dict[int, HtmlElement] | None = None

    @property
    def _reach(self) -> list[int]:
        if self._reach_ids is None:
            owners = (b.path[-1] if b.path else -1 for b in self)
            self._reach_ids = list(accumulate(owners, max))
        return self._reach_ids

    def within(self, el: HtmlElement) -> list[tuple[int, Block]]:
        el_id = element_id(el)
        if el_id is None:
            return []
        found = []
        for index in range(bisect_left(self._reach, el_id), len(self)):
            if el_id not in self[index].path:
                break
            found.append((index, self[index]))
        return found

    def position(self, el: HtmlElement) -> int:
        """Index of the first block at or after `el` (or its nearest visited ancestor)."""
        for node in (el, *el.iterancestors()):
            el_id = element_id(node)
            if el_id is not None:
                return min(bisect_left(self._reach, el_id), max(len(self) - 1, 0))
        return 0

    @property
    def marked(self) -> list[HtmlElement]:
        if self._marked is None:
            self._marked = select(_MARKED, self.tree)
        return self._marked

    def element(self, block: Block) -> HtmlElement | None:
        """The element a block was read from (the walked elements, indexed once)."""
        if self._elements is None:
            found = select(_WALKED, self.tree)
            self._elements = {int(str(el.get(ID_ATTR))): el for el in found}
        return self._elements.get(block.path[-1]) if block.path else None

    def heading(self, block: Block) -> HtmlElement | None:
        """The <hN> element of a heading block (found by tag: a cheap scan)."""
        wanted = str(block.path[-1])
        return next(
            (h for h in self.tree.iter(f"h{block.level}") if h.get(ID_ATTR) == wanted), None
        )


@dataclass(frozen=True, slots=True)
class Line:
    """One line of answer text; lines with one key are one paragraph (or list item)."""

    key: int
    text: str
    item: bool = False


def block_lines(index: int, block: Block, item: bool | None = None) -> list[Line]:
    is_item = block.kind == "item" if item is None else item
    return [Line(index, text, is_item) for text in block.text.split("\n")]


def join_lines(lines: list[Line]) -> str:
    """Lines of a paragraph on adjacent lines, paragraphs apart by a blank line, list
    items as "- " lines (as blocks.render does)."""
    parts: list[tuple[int, bool, list[str]]] = []
    for line in lines:
        if parts and parts[-1][0] == line.key:
            parts[-1][2].append(line.text)
        else:
            parts.append((line.key, line.item, [line.text]))
    out: list[str] = []
    previous_item = False
    for _, item, texts in parts:
        if item:
            text = "- " + " ".join(texts)
            if previous_item:
                out[-1] += "\n" + text
            else:
                out.append(text)
        else:
            out.append("\n".join(texts))
        previous_item = item
    return "\n\n".join(out)


def _item_ids(root: HtmlElement) -> set[int]:
    """Ids of the list items inside `root`: a <p> inside an <li> is still an item."""
    found = set()
    for li in root.iter("li"):
        el_id = element_id(li)
        if li is not root and el_id is not None:
            found.add(el_id)
    return found


def linearized_lines(root: HtmlElement, first_key: int = -1) -> list[Line]:
    """Lines of a detached element (a copy, or a JSON-LD fragment): two <br> in a row
    become a paragraph break, as they look in a browser. Keys count down from
    `first_key`, apart from the page's block indices."""
    for br in select(_DOUBLE_BR, root):
        parent = br.getparent()
        if parent is not None:
            mark = br.makeelement("div", {})
            mark.tail = br.tail
            parent.replace(br, mark)
    blocks = linearize(root)
    items = _item_ids(root)
    return [
        line
        for k, block in enumerate(blocks)
        for line in block_lines(first_key - k, block, not items.isdisjoint(block.path))
    ]


def element_lines(
    page: PageBlocks, el: HtmlElement, skip: HtmlElement | None = None, first_key: int = -1
) -> list[Line]:
    """An answer element's lines, hidden or not, chrome-flagged or not (an answer
    hidden until clicked is content). `skip` is a part that is not answer (a summary)."""
    skip_id = element_id(skip) if skip is not None else None
    within = page.within(el)
    if not within or _DOUBLE_BR(el):  # an inline element, or paragraphs split by <br><br>
        copy = deepcopy(el)
        copy.tail = None
        if skip_id is not None:
            for part in copy.iter():
                if part.get(ID_ATTR) == str(skip_id) and part is not copy:
                    part.drop_tree()
                    break
        return linearized_lines(copy, first_key)
    items = _item_ids(el)
    lines: list[Line] = []
    for index, block in within:
        if skip_id is not None and skip_id in block.path:
            continue
        lines += block_lines(index, block, not items.isdisjoint(block.path))
    return lines


def next_key(lines: list[Line]) -> int:
    """A key for a further detached element, apart from every key in `lines`."""
    return min([0, *(line.key for line in lines)]) - 1


def _unseen(el: HtmlElement) -> bool:
    if not isinstance(el.tag, str) or el.tag in SKIP or el.get("aria-hidden") == "true":
        return True
    return not UNSEEN_CLASSES.isdisjoint(class_tokens(el))  # icons, screen-reader labels


def _collect(el: HtmlElement, parts: list[str]) -> None:
    if el.text:
        parts.append(el.text)
    for child in el:
        if not _unseen(child):
            if child.tag == "br":
                parts.append("\n")
            elif child.tag not in INLINE:
                parts.append("\n")
                _collect(child, parts)
                parts.append("\n")
            else:
                _collect(child, parts)
        if child.tail:
            parts.append(child.tail)


def visible_text(el: HtmlElement) -> str:
    """The one-line text a reader sees in `el`: no scripts, icons or screen-reader labels."""
    parts: list[str] = []
    _collect(el, parts)
    return " ".join(clean_text("".join(parts)).split("\n"))


def ends_answer(text: str) -> bool:
    """The page's trailer after the last answer: "More information", sources, "* * *",
    a column's credit line, an invitation to send questions."""
    return bool(TRAILER.match(text) or _SEPARATOR.match(text) or CREDIT.search(text))


def is_question(text: str) -> bool:
    return bool(_QUESTION_END.search(text.strip()))


def introduces_faq(text: str) -> bool:
    """ "Have a question?", "Frequently asked questions": a section's title."""
    return bool(_FAQ_INTRO.match(text.strip()))


def _without_label(label: re.Pattern[str], text: str) -> str:
    match = label.match(text)
    return match.group(1).strip() if match else text


def strip_glyphs(text: str) -> str:
    """ "+ Is it safe? ▼" -> "Is it safe?": toggle icons are not part of a question."""
    return text.strip().strip(_GLYPHS + " \u00a0").strip()


def strip_numbering(text: str) -> str:
    return NUMBERING.sub("", text, count=1)


def without_asker(question: str) -> str:
    """A reader's question signed by the reader ("… Is it safe? — a reader in Ohio",
    "-- FEELING LIKE SECOND RATE"): the signature is not part of the question, and the
    asker is never the one who answers."""
    return _ASKER.sub("", question)


def make_qa(question: str, lines: list[Line], position: int) -> QA | None:
    """A Q&A from a question and its answer lines: labels ("Q:", "A:") and toggle glyphs
    dropped, and a signature at the end of the answer (never a list item) split into
    answered_by."""
    question = without_asker(_without_label(Q_LABEL, strip_glyphs(question)))
    if _CONTROL.match(question) and not is_question(question):
        return None
    if lines and A_LABEL.match(lines[0].text):
        first = _without_label(A_LABEL, lines[0].text)
        lines = ([Line(lines[0].key, first, lines[0].item)] if first else []) + lines[1:]
    trailing = 0
    while trailing < min(2, len(lines)) and not lines[-1 - trailing].item:
        trailing += 1
    texts, person = split_signature([line.text for line in lines], max_lines=trailing)
    answer = join_lines(lines[: len(texts)])
    if not question or not answer:
        return None
    return QA(question=question, answer=answer, answered_by=person, position=position)


def enclosing_headings(page: PageBlocks, index: int, level: int = 7) -> Iterator[Block]:
    """The headings whose sections hold block `index`, nearest first."""
    for i in range(index - 1, -1, -1):
        block = page[i]
        if block.kind == "heading" and not block.chrome and block.level < level:
            yield block
            level = block.level
            if level <= 1:
                return


def faq_context(page: PageBlocks, el: HtmlElement | None, index: int, level: int = 7) -> bool:
    """Is this spot of the page an FAQ: inside an element named for it ("faq-list"), or
    in a section whose heading says so ("FAQ", "Frequently Asked Questions")?"""
    if el is not None:
        for node in (el, *el.iterancestors()):
            if not FAQ_WORDS.isdisjoint(class_words(node)):
                return True
    return any(FAQ_TITLE.search(h.text) for h in enclosing_headings(page, index, level))


@dataclass
class Candidate:
    """A Q&A a detector found, before the evidence that its group is an FAQ is weighed."""

    qa: QA
    group: HtmlElement | None  # the element holding it and its sibling Q&As
    explicit: bool = False  # markup made only for Q&A (an FAQ block, schema.org)


def accept(page: PageBlocks, candidates: list[Candidate]) -> list[QA]:
    """Keep the candidates of groups that are an FAQ: markup made for it, titles that are
    mostly questions, or an FAQ context. An accordion of services is not an FAQ, nor is
    "Services" with one "Why choose us?"."""
    groups: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(id(candidate.group), []).append(candidate)
    kept: list[QA] = []
    for members in groups.values():
        questions = sum(is_question(c.qa.question) for c in members)
        if (
            all(c.explicit for c in members)
            or 2 * questions > len(members)
            or faq_context(page, members[0].group, members[0].qa.position)
        ):
            kept += [c.qa for c in members]
    return kept


def common_ancestor(a: HtmlElement, b: HtmlElement) -> HtmlElement | None:
    chain = [a, *a.iterancestors()]  # held, so that each node keeps one proxy (and id)
    ancestors = {id(node) for node in chain}
    for node in (b, *b.iterancestors()):
        if id(node) in ancestors:
            return node
    return None


def contains(outer: HtmlElement, inner: HtmlElement) -> bool:
    return any(node is outer for node in inner.iterancestors())


def common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The elements two blocks' paths share: the deepest element holding both."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]

"""The general Q&A segmenter: what no widget rule names, read off the page's blocks.

A question is a block that stands out by its shape, not its class names: a paragraph
that is all bold (or starts with a bold line), a heading, a speaker label. One such block
proves nothing; a *run* of blocks of the same shape (same tag and classes under the same
kind of parent), each followed by answer-like text, is how interviews, FAQ sections and
transcripts are laid out. Inside a run a prompt without "?" still counts and numbering is
dropped; a lone bold question in an article stays article text.

An answer runs from its question to the next question of its run. It takes the
paragraphs and lists laid out as the question's siblings, skips what sits between them
(promo boxes, captions, teaser rows, subheadings), and stops at the page's trailer after
the last answer ("More information", sources, a credit line, "* * *").

Conversations are the same model with speakers: a label ("The Economist:", "Mr Malone:",
a name in its own element, "DEAR ABBY:") starts a turn, unlabelled paragraphs continue
it; the speaker who asks is the interviewer, the others answer, and consecutive answer
turns join. Who answered comes from the answer's label, else from the title or intro
("Interview with X", "X: quote", "Ask X"), never from a byline.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from lxml.html import HtmlElement

from ..models import QA, Block, Person
from .blocks import ID_ATTR
from .qa_common import (
    A_LABEL,
    CREDIT,
    NAME,
    NAME_WORD,
    PARTICLE,
    Q_LABEL,
    Line,
    PageBlocks,
    block_lines,
    ends_answer,
    faq_context,
    introduces_faq,
    is_question,
    join_lines,
    make_qa,
    strip_numbering,
    visible_text,
)

Shape = tuple[str, ...]

MIN_RUN = 2
# Bold lines are a weaker mark than headings: outside an FAQ section, two bold questions
# are a product page's subheads as often as an interview.
MIN_BOLD_QUESTIONS = 3
INTRO_BLOCKS = 15  # how far before the first question the title and intro may be
MAX_LABEL_CHARS = 40
MAX_OWN_LABEL_CHARS = 60  # a name and a timestamp
# Inline wrappers a bold run may sit in: <p><em><strong>…</strong></em></p>.
_WRAPPERS = frozenset({"em", "i", "span", "u", "font", "a"})
# Elements that hold an answer's text beside its question: paragraphs, lists, tables.
_ANSWER_TAGS = frozenset({"p", "ul", "ol", "dl", "table", "blockquote", "pre"})
# "The Economist: …", "Mr Malone: …", "PAULO SERGIO: …", "AZ: …", "fluter.de: …".
SPEAKER = re.compile(
    rf"^((?:{NAME_WORD}|[a-z][\w-]*\.[a-z]{{2,4}})(?:\s+(?:{PARTICLE}\s+)?{NAME_WORD}){{0,3}})"
    r"\s*:\s+(?=\S)"
)
# A speaker named in an element of its own, perhaps with a timestamp: "Calvin 2m 8s".
_OWN_LABEL = re.compile(
    rf"^({NAME})\s*:?\s*(?:\(?\d{{1,2}}:\d{{2}}(?::\d{{2}})?\)?|\d+m\s*\d+s)?\s*:?$"
)
# Labels that name a part in a conversation, not the person in it.
ROLES = frozenset(
    "host guest interviewer interviewee moderator presenter reporter journalist caller "
    "speaker audience participant respondent gast moderatorin interviewerin invité "
    "animateur journaliste".split()
)
# A salutation opens a letter or its reply: "DEAR ABBY:", "Liebe Frau Müller:".
_SALUTATION = re.compile(r"^(?:dear|liebe|lieber|cher|chère)\s+", re.I)
_SECOND_PERSON = frozenset(
    "you your yours yourself vous votre vos sie ihr ihre ihren ihnen du dein deine dir dich".split()
)
# Where the title or intro names who answers.
_INTRO_NAMES = (
    re.compile(
        rf"\b(?:interview|conversation|talk|chat|q\s*&\s*a|entretien|gespräch|interview)s?"
        rf"\s+(?:with|avec|mit)\s+(?:[a-zäöüéè-]+\s+){{0,2}}({NAME})"
    ),
    re.compile(rf"\b(?:avec|with|mit)\s+({NAME})\s*[.!»”\"]?\s*$"),
    re.compile(rf"\b(?i:ask|meet|introducing|fragen sie|demandez à)\s+({NAME})"),
    re.compile(rf"\b(?i:questions? (?:for|to)|fragen an|questions? à)\s+({NAME})"),
    re.compile(rf"({NAME})\s+(?:answers|responds|antwortet|répond)\b"),
    re.compile(rf"^({NAME})\s*:\s"),  # "Steve Forbes: Trump is indeed a billionaire."
)


@dataclass
class Prompt:
    """A question candidate: a block whose shape could open a Q&A."""

    index: int
    shape: Shape
    row: tuple[str, str]  # the parent's tag and classes: where its answer's blocks sit
    question: str
    element: HtmlElement
    inline: list[Line] = field(default_factory=list)  # answer text in the same paragraph


def _shape(el: HtmlElement) -> tuple[Shape, tuple[str, str]]:
    parent = el.getparent()
    row = (str(parent.tag), parent.get("class", "")) if parent is not None else ("", "")
    return (str(el.tag), el.get("class", ""), *row), row


def _squash(text: str) -> str:
    return " ".join(text.split())


def _bold_lead(el: HtmlElement) -> str | None:
    """The text of a bold run that opens `el`, if it does."""
    node = el
    while True:
        if (node.text or "").strip():
            return None
        child = next((c for c in node if isinstance(c.tag, str)), None)
        if child is None:
            return None
        if child.tag in ("strong", "b"):
            return _squash(visible_text(child))
        if child.tag not in _WRAPPERS:
            return None
        node = child


def _bold_prompt(index: int, block: Block, el: HtmlElement) -> Prompt | None:
    """`<p><strong>Question?</strong></p>`, `<p><strong>Question?<br></strong>Answer</p>`,
    or a run-in `<p><strong>Question?</strong> Answer</p>`."""
    lead = _bold_lead(el)
    label = SPEAKER.match(lead + " x") if lead else None
    if not lead or (label and label.end() > len(lead)):
        return None  # no bold run, or only a speaker's label ("The Economist:")
    first, *rest = block.text.split("\n")
    first = _squash(first)
    if first == lead:
        inline, form = rest, "line"
    elif first.startswith(lead) and is_question(lead):
        inline, form = [first[len(lead) :].strip(), *rest], "run-in"
    else:
        return None
    shape, row = _shape(el)
    shape = (*shape, form)  # a bold line and a run-in bold question are not one series
    lines = [Line(index, text) for text in inline if text]
    return Prompt(index, shape, row, lead, el, lines)


def _in_row(page: PageBlocks, block: Block, row: tuple[str, str], tag: str) -> bool:
    """Is the block one of the paragraphs, lists or tables laid out beside the question
    (children of a parent shaped like the question's), not a box between them?"""
    node = page.element(block)
    while node is not None:
        parent = node.getparent()
        if parent is None:
            return False
        if (parent.tag, parent.get("class", "")) == row:
            return node.tag in _ANSWER_TAGS or node.tag == tag
        node = parent
    return False


def _answer(page: PageBlocks, prompt: Prompt, end: int, last: bool) -> list[Line]:
    """The prompt's answer: its own paragraph's rest, then the blocks beside it up to
    `end`. After the last question, the first block that is not beside it ends it."""
    lines = list(prompt.inline)
    for j in range(prompt.index + 1, end):
        block = page[j]
        if block.chrome:
            continue
        if ends_answer(block.text):
            break
        if block.kind == "heading" or not _in_row(page, block, prompt.row, prompt.shape[0]):
            if last and lines:
                break
            continue
        lines += block_lines(j, block)
    return lines


def _runs(prompts: list[Prompt]) -> list[list[Prompt]]:
    by_shape: dict[Shape, list[Prompt]] = {}
    for prompt in prompts:
        by_shape.setdefault(prompt.shape, []).append(prompt)
    return [run for run in by_shape.values() if len(run) >= MIN_RUN]


def _is_faq_run(questions: list[str], least: int = MIN_RUN) -> bool:
    asked = sum(is_question(q) for q in questions)
    return asked >= least and 2 * asked > len(questions)


@dataclass
class _Pair:
    question: str
    lines: list[Line]
    position: int
    speaker: str | None = None


def _speaker_of(lines: list[Line]) -> tuple[list[Line], str | None]:
    """An answer that opens with its speaker's label: the label off, the name kept."""
    if not lines:
        return lines, None
    match = SPEAKER.match(lines[0].text)
    if not match or not _is_speaker(match.group(1)):
        return lines, None
    rest = lines[0].text[match.end() :]
    return [replace(lines[0], text=rest), *lines[1:]], match.group(1)


def _without_speaker(text: str) -> str:
    match = SPEAKER.match(text)
    return text[match.end() :] if match and len(match.group(1)) <= MAX_LABEL_CHARS else text


def _bold_opened(tree: HtmlElement) -> list[HtmlElement]:
    """The walked elements that a <strong>/<b> may open (through inline wrappers), found
    from the bold elements: a tag search is far cheaper than testing every element."""
    found: dict[int, HtmlElement] = {}
    for bold in tree.iter("strong", "b"):
        parent = bold.getparent()
        while parent is not None and parent.get(ID_ATTR) is None and parent.tag in _WRAPPERS:
            parent = parent.getparent()
        if parent is not None and parent.get(ID_ATTR) is not None:
            found.setdefault(id(parent), parent)
    return list(found.values())


def _bold_prompts(page: PageBlocks) -> list[Prompt]:
    """Paragraphs that open with a bold run (most pages have few)."""
    first_block: dict[int, int] = {}
    for i, block in enumerate(page):
        if block.path:
            first_block.setdefault(block.path[-1], i)
    prompts = []
    for el in _bold_opened(page.tree):
        index = first_block.get(int(str(el.get(ID_ATTR))))
        if index is None or page[index].kind != "para" or page[index].chrome:
            continue
        prompt = _bold_prompt(index, page[index], el)
        if prompt is not None and not introduces_faq(prompt.question):
            prompts.append(prompt)
    return sorted(prompts, key=lambda p: p.index)


def bold_runs(page: PageBlocks) -> list[_Pair]:
    prompts = _bold_prompts(page)
    pairs: list[_Pair] = []
    for run in _runs(prompts):
        questions = [_without_speaker(strip_numbering(p.question)) for p in run]
        least = MIN_RUN if faq_context(page, run[0].element, run[0].index) else MIN_BOLD_QUESTIONS
        if not _is_faq_run(questions, least):
            continue
        run_pairs = []
        for k, prompt in enumerate(run):
            end = run[k + 1].index if k + 1 < len(run) else len(page)
            lines, speaker = _speaker_of(_answer(page, prompt, end, k + 1 == len(run)))
            if lines:
                run_pairs.append(_Pair(questions[k], lines, prompt.index, speaker))
        pairs += _attribute_run(page, run_pairs)
    return pairs


def _person(label: str) -> Person:
    name = label.title() if label.isupper() else label
    return Person(name=name)


def _attribute_run(page: PageBlocks, pairs: list[_Pair]) -> list[_Pair]:
    """One conversation has one answerer: the first answer's label names it for all."""
    speaker = next((p.speaker for p in pairs if p.speaker and _is_name(p.speaker)), None)
    if speaker is None and pairs and _conversational([p.question for p in pairs]):
        speaker = intro_name(page, pairs[0].position)
    for pair in pairs:
        pair.speaker = speaker
    return pairs


def _is_name(label: str) -> bool:
    return bool(re.fullmatch(NAME, label.title() if label.isupper() else label))


def _conversational(questions: list[str]) -> bool:
    """Questions put to someone ("you", "vous", "Sie"): an interview, not a reader's FAQ."""
    asking = sum(not _SECOND_PERSON.isdisjoint(re.findall(r"\w+", q.lower())) for q in questions)
    return 2 * asking > len(questions)


def attribute_from_intro(page: PageBlocks, qas: list[QA]) -> list[QA]:
    """An interview's pairs without a signature: the answerer the title or intro names."""
    if not qas or not _conversational([q.question for q in qas]):
        return qas
    name = intro_name(page, qas[0].position)
    if name is None:
        return qas
    return [q if q.answered_by else replace(q, answered_by=_person(name)) for q in qas]


def intro_name(page: PageBlocks, first: int) -> str | None:
    """The answerer named in the title or intro above the first question."""
    for block in page[max(0, first - INTRO_BLOCKS) : first]:
        if block.chrome:
            continue
        text = " ".join(block.text.split("\n"))
        for pattern in _INTRO_NAMES:
            match = pattern.search(text)
            if match:
                return match.group(1)
    return None


# Conversations: turns opened by speaker labels.


@dataclass
class _Turn:
    speaker: str
    index: int
    lines: list[Line]

    @property
    def asks(self) -> bool:
        return any("?" in line.text for line in self.lines)


def _is_speaker(label: str) -> bool:
    """A speaker's name, not "Q:" / "Answer:" (read by the label detector)."""
    return len(label) <= MAX_LABEL_CHARS and not (
        Q_LABEL.match(label + ": x") or A_LABEL.match(label + ": x")
    )


def _label(page: PageBlocks, index: int, block: Block) -> tuple[str, list[Line], int] | None:
    """(speaker, the turn's first lines, index of its first block) for a labelled block."""
    text = block.text
    if block.kind != "para":
        return None
    match = SPEAKER.match(text) if text.find(":", 0, MAX_LABEL_CHARS + 2) > 0 else None
    if match and _is_speaker(match.group(1)):
        rest = text[match.end() :].split("\n")
        return match.group(1), [Line(index, t) for t in rest if t], index
    own = _OWN_LABEL.match(text) if len(text) <= MAX_OWN_LABEL_CHARS else None
    if own and index + 1 < len(page) and page[index + 1].kind == "para":
        return own.group(1), [], index + 1
    return None


def _turns(page: PageBlocks) -> list[_Turn]:
    labelled = {}
    for i, block in enumerate(page):
        found = _label(page, i, block)
        if found and not page[found[2]].chrome:
            labelled[i] = found
    counts = Counter(_family(speaker) for speaker, _, _ in labelled.values())
    speakers = {
        s for s, _, _ in labelled.values() if counts[_family(s)] >= MIN_RUN or _SALUTATION.match(s)
    }
    if not speakers:
        return []
    turns: list[_Turn] = []
    row: tuple[str, str] | None = None
    last = max((i for i, f in labelled.items() if f[0] in speakers), default=-1)
    i = 0
    while i < len(page):
        found = labelled.get(i)
        block = page[i]
        if found and found[0] in speakers:
            speaker, lines, first = found
            if first != i:
                lines = block_lines(first, page[first])
            el = page.element(page[first])
            row = _shape(el)[1] if el is not None else None
            turns.append(_Turn(speaker, first, lines))
            i = first + 1
            continue
        if turns and row is not None and not block.chrome:
            if ends_answer(block.text):
                if i > last:
                    break
            elif block.kind != "heading" and _in_row(page, block, row, "p"):
                turns[-1].lines += block_lines(i, block)
            elif i > last:
                break
        i += 1
    return turns


def _family(speaker: str) -> str:
    """ "Thomas Malone" and "Mr Malone" are one speaker: the last word names them."""
    return speaker.split()[-1].lower()


def conversation_pairs(page: PageBlocks) -> list[_Pair]:
    turns = _turns(page)
    if len(turns) < 2 * MIN_RUN:
        return []
    letters = [t for t in turns if _SALUTATION.match(t.speaker)]
    if letters:
        asker = Counter(_family(t.speaker) for t in letters).most_common(1)[0][0]
        askers = {asker}
    else:
        askers = _interviewers(turns)
    if not askers:
        return []
    names: dict[str, str] = {}
    for turn in turns:  # the longest form of each speaker's name: "Thomas Malone"
        family = _family(turn.speaker)
        if len(turn.speaker) > len(names.get(family, "")):
            names[family] = turn.speaker
    last_asker = max(k for k, t in enumerate(turns) if _family(t.speaker) in askers)
    pairs: list[_Pair] = []
    for k, turn in enumerate(turns):
        if _family(turn.speaker) not in askers:
            continue
        answers = []
        for reply in turns[k + 1 :]:
            if _family(reply.speaker) in askers:
                break
            answers.append(reply)
        if not answers:
            continue
        if not (letters or turn.asks) and k == last_asker:
            continue  # a sign-off ("Thank you both for coming on"), not a prompt
        question = join_lines(turn.lines)
        lines = [line for reply in answers for line in reply.lines]
        answerer = names[_family(answers[0].speaker)]
        speaker = None if letters or _is_role(answerer) else answerer
        pairs.append(_Pair(question, lines, turn.index, speaker))
    if letters:
        columnist = _columnist(page, turns, asker)
        for pair in pairs:
            pair.speaker = columnist
    elif pairs and any(pair.speaker is None for pair in pairs):
        named = intro_name(page, pairs[0].position)  # "GUEST:" names nobody
        for pair in pairs:
            pair.speaker = pair.speaker or named
    return pairs


def _is_role(label: str) -> bool:
    """ "HOST", "Guest", "Interviewer": a part in the conversation, not a name."""
    return not ROLES.isdisjoint(label.lower().split())


def _interviewers(turns: list[_Turn]) -> set[str]:
    """The speaker who asks: most of their turns hold a question, more than anyone else's."""
    asked: Counter[str] = Counter()
    spoke: Counter[str] = Counter()
    for turn in turns:
        family = _family(turn.speaker)
        spoke[family] += 1
        asked[family] += turn.asks
    if len(spoke) < 2:
        return set()
    ratio = {s: asked[s] / spoke[s] for s in spoke}
    best = max(ratio, key=lambda s: (ratio[s], asked[s]))
    others = max(r for s, r in ratio.items() if s != best)
    if asked[best] < MIN_RUN or ratio[best] < 0.5 or ratio[best] <= others:
        return set()
    return {best}


def _columnist(page: PageBlocks, turns: list[_Turn], asker: str) -> str:
    """An advice column's answerer: its credit line ("… is written by X"), else the name
    the letters are addressed to ("DEAR ABBY" -> Abby)."""
    for block in page[turns[-1].index :]:
        match = CREDIT.search(block.text)
        if match:
            return match.group(1)
    return asker.title()


def segment_qa(tree: HtmlElement, page: PageBlocks) -> list[QA]:
    """Q&A in bold-prompt runs and in conversations between labelled speakers."""
    found: list[QA] = []
    for pair in bold_runs(page) + conversation_pairs(page):
        qa = make_qa(pair.question, pair.lines, pair.position)
        if qa is None:
            continue
        if qa.answered_by is None and pair.speaker:
            qa = replace(qa, answered_by=_person(pair.speaker))
        found.append(qa)
    return found

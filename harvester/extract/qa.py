"""Q&A detectors. Each reads the whole page (tree and all blocks) and returns QAs.

They run before any pruning so that nothing a detector needs has been thrown away;
copies of one Q&A (JSON-LD and HTML, template variants) are merged in `merge_copies`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from difflib import SequenceMatcher
from typing import Any

import lxml.html
from lxml.html import HtmlElement

from ..models import QA, Block
from .blocks import blocks_within, clean_text, element_id, linearize, render
from .signature import split_signature

Detector = Callable[[HtmlElement, list[Block]], list[QA]]

Q_LABEL = re.compile(r"^(?:Q|[Qq]uestion)\s*[:.]\s*(.*)$", re.S)
A_LABEL = re.compile(r"^(?:A|[Aa]nswer)\s*[:.]\s*(.*)$", re.S)
COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)", re.I)
MAX_QUESTION_LINES = 12
POSITION_LAST = 10**9  # structured data has no place in the page: after HTML copies


class _Line:
    __slots__ = ("block", "text")

    def __init__(self, block: int, text: str) -> None:
        self.block, self.text = block, text


def _lines(blocks: list[Block]) -> list[_Line]:
    return [
        _Line(i, line) for i, b in enumerate(blocks) if not b.chrome for line in b.text.split("\n")
    ]


def _join(lines: list[_Line], blocks: list[Block]) -> str:
    """Lines of one block stay on adjacent lines; blocks are paragraphs."""
    parts: list[tuple[int, list[str]]] = []
    for line in lines:
        if parts and parts[-1][0] == line.block:
            parts[-1][1].append(line.text)
        else:
            parts.append((line.block, [line.text]))
    out: list[str] = []
    for block_index, texts in parts:
        text = "\n".join(texts)
        if block_index >= 0 and blocks[block_index].kind == "item":
            text = "- " + text.replace("\n", " ")
            if out and out[-1].startswith("- "):
                out[-1] += "\n" + text
                continue
        out.append(text)
    return "\n\n".join(out)


def _common_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _answer_end(lines: list[_Line], blocks: list[Block], start: int, scope: tuple[int, ...]) -> int:
    """Index after the last answer line: the answer stops at the next label, heading,
    copyright line, or the edge of the element holding both labels."""
    k = start
    while k < len(lines):
        line, block = lines[k], blocks[lines[k].block]
        if (
            Q_LABEL.match(line.text)
            or A_LABEL.match(line.text)
            or block.kind == "heading"
            or block.path[: len(scope)] != scope
            or COPYRIGHT.match(line.text)
        ):
            break
        k += 1
    return k


def labelled_qa(tree: HtmlElement, blocks: list[Block]) -> list[QA]:
    """ "Q:" / "A:" (or "Question:" / "Answer:") labels in paragraphs, headings, cells."""
    lines = _lines(blocks)
    found: list[QA] = []
    i = 0
    while i < len(lines):
        q_match = Q_LABEL.match(lines[i].text)
        if not q_match:
            i += 1
            continue
        q_start = i
        j = i + 1
        while (
            j < len(lines)
            and j - i <= MAX_QUESTION_LINES
            and not Q_LABEL.match(lines[j].text)
            and not A_LABEL.match(lines[j].text)
        ):
            j += 1
        a_match = A_LABEL.match(lines[j].text) if j < len(lines) else None
        if not a_match:
            i = j
            continue
        scope = _common_prefix(blocks[lines[i].block].path, blocks[lines[j].block].path)
        end = _answer_end(lines, blocks, j + 1, scope)
        q_lines = ([_Line(lines[i].block, q_match.group(1))] if q_match.group(1) else []) + lines[
            q_start + 1 : j
        ]
        a_lines = ([_Line(lines[j].block, a_match.group(1))] if a_match.group(1) else []) + lines[
            j + 1 : end
        ]
        qa = _make_qa(q_lines, a_lines, blocks, position=lines[q_start].block)
        if qa:
            found.append(qa)
        i = end
    return found


def _make_qa(
    q_lines: list[_Line], a_lines: list[_Line], blocks: list[Block], position: int
) -> QA | None:
    texts, person = split_signature([line.text for line in a_lines])
    a_lines = a_lines[: len(texts)]
    question, answer = _join(q_lines, blocks), _join(a_lines, blocks)
    if not question or not answer:
        return None
    return QA(question=question, answer=answer, answered_by=person, position=position)


def details_qa(tree: HtmlElement, blocks: list[Block]) -> list[QA]:
    """<details><summary>Question</summary>answer</details> (also WordPress's Details block)."""
    found: list[QA] = []
    for details in tree.iter("details"):
        summary = details.find("summary")
        summary_id = element_id(summary) if summary is not None else None
        if summary is None or summary_id is None:
            continue
        question = clean_text(summary.text_content()).replace("\n", " ")
        inner = [(i, b) for i, b in blocks_within(blocks, details) if summary_id not in b.path]
        lines = [_Line(i, line) for i, b in inner for line in b.text.split("\n")]
        qa = _make_qa(
            [_Line(-1, question)] if question else [],
            lines,
            blocks,
            position=inner[0][0] if inner else 0,
        )
        if qa:
            found.append(qa)
    return found


def definition_qa(tree: HtmlElement, blocks: list[Block]) -> list[QA]:
    """<dl> whose terms are questions: <dt>Question?</dt><dd>answer</dd>."""
    found: list[QA] = []
    for dt in tree.iter("dt"):
        question = clean_text(dt.text_content()).replace("\n", " ")
        if not question.endswith("?"):
            continue
        lines: list[_Line] = []
        sibling = dt.getnext()
        while sibling is not None and sibling.tag == "dd":
            lines += [
                _Line(i, line)
                for i, b in blocks_within(blocks, sibling)
                for line in b.text.split("\n")
            ]
            sibling = sibling.getnext()
        qa = _make_qa([_Line(-1, question)], lines, blocks, position=lines[0].block if lines else 0)
        if qa:
            found.append(qa)
    return found


def _jsonld_nodes(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _jsonld_nodes(item)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity"):
            if key in data:
                yield from _jsonld_nodes(data[key])


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type", [])
    return set(value if isinstance(value, list) else [value])


def _html_text(fragment: str) -> list[str]:
    """JSON-LD answers may hold HTML: keep its paragraphs and list items."""
    if "<" not in fragment:
        return [clean_text(fragment)] if clean_text(fragment) else []
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return [render([b]) for b in linearize(root)]


def _answer_of(question: dict[str, Any]) -> str:
    answer = question.get("acceptedAnswer") or question.get("suggestedAnswer") or {}
    if isinstance(answer, list):
        answer = answer[0] if answer else {}
    text = answer.get("text", "") if isinstance(answer, dict) else str(answer)
    return str(text)


def jsonld_qa(tree: HtmlElement, blocks: list[Block]) -> list[QA]:
    """schema.org Question nodes in JSON-LD (FAQPage, QAPage, inside @graph)."""
    found: list[QA] = []
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for node in _jsonld_nodes(data):
            if "Question" not in _types(node):
                continue
            question = clean_text(str(node.get("name") or node.get("text") or ""))
            paragraphs = _html_text(_answer_of(node))
            texts, person = split_signature(paragraphs)
            if question and texts:
                found.append(
                    QA(
                        question.replace("\n", " "),
                        "\n\n".join(texts),
                        person,
                        POSITION_LAST + len(found),
                    )
                )
    return found


DETECTORS: tuple[Detector, ...] = (labelled_qa, details_qa, definition_qa, jsonld_qa)


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _same_question(a: str, b: str) -> bool:
    if a == b:
        return True
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= 0.9 and matcher.ratio() >= 0.9


def merge_copies(found: list[QA]) -> list[QA]:
    """One QA per distinct question: the most complete copy, at the first copy's place."""
    kept: list[tuple[str, QA]] = []
    for qa in sorted(found, key=lambda q: q.position):
        key = _key(qa.question)
        for index, (other_key, other) in enumerate(kept):
            if _same_question(key, other_key):
                if qa.completeness() > other.completeness():
                    qa.position = other.position
                    kept[index] = (other_key, qa)
                break
        else:
            kept.append((key, qa))
    return [qa for _, qa in kept]


def find_qa(tree: HtmlElement, blocks: list[Block]) -> list[QA]:
    found: list[QA] = []
    for detector in DETECTORS:
        found += detector(tree, blocks)
    return merge_copies(found)

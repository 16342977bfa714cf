"""The data that flows between stages. Plain dataclasses: stages stay pure and testable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Source = Literal["http", "file"]
BlockKind = Literal["heading", "para", "item", "pre"]


@dataclass(frozen=True)
class Person:
    """Who answered a question, parsed from the signature under the answer."""

    name: str
    credentials: str | None = None
    title: str | None = None


@dataclass
class QA:
    question: str
    answer: str
    answered_by: Person | None = None
    position: int = 0  # block index in the page, for page order

    def completeness(self) -> tuple[int, int, int]:
        """Rank copies of one Q&A: attributed first, then structure, then length."""
        return (
            self.answered_by is not None,
            self.answer.count("\n"),
            len(self.answer) + len(self.question),
        )


@dataclass
class Block:
    """One paragraph-level unit of a page's text, with where it sits in the DOM."""

    text: str
    kind: BlockKind
    level: int  # heading level, 0 otherwise
    path: tuple[int, ...]  # ids of the enclosing elements, outermost first
    chrome: bool = False  # inside nav/header/footer/form/cookie banner...
    main: bool = True  # inside the page's main content container

    def render(self) -> str:
        if self.kind == "heading":
            return "#" * max(self.level, 1) + " " + self.text.replace("\n", " ")
        if self.kind == "item":
            return "- " + self.text.replace("\n", " ")
        return self.text


@dataclass
class Page:
    """One fetched (or read) HTML page after extraction, before cross-page dedup."""

    url: str
    canonical: str | None
    title: str | None
    section: str | None
    site: str | None
    published: str | None
    modified: str | None
    language: str | None
    blocks: list[Block]
    qa: list[QA]
    fetched_at: str
    source: Source
    aliases: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


@dataclass
class Record:
    """One emitted page record: the contract in harvester/schema/record.schema.json."""

    id: str
    url: str
    aliases: list[str]
    title: str | None
    section: str | None
    kind: Literal["qa", "article"]
    qa: list[QA]
    text: str
    site: str | None
    published: str | None
    modified: str | None
    language: str | None
    fetched_at: str
    source: Source

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["qa"] = [qa_dict(q) for q in self.qa]
        return data


def qa_dict(qa: QA) -> dict[str, Any]:
    return {
        "question": qa.question,
        "answer": qa.answer,
        "answered_by": asdict(qa.answered_by) if qa.answered_by else None,
    }


@dataclass
class QARecord:
    """One distinct Q&A across a crawl: the `--emit qa` contract."""

    id: str
    question: str
    answer: str
    answered_by: Person | None
    urls: list[str]
    site: str | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["answered_by"] = asdict(self.answered_by) if self.answered_by else None
        return data

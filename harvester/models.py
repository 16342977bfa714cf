"""The data that flows between stages. Plain dataclasses: stages stay pure and testable."""

from __future__ import annotations

import hashlib
import json
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
    link_density: float = 0.0  # share of the text inside links

    def render(self) -> str:
        if self.kind == "heading":
            return "#" * max(self.level, 1) + " " + self.text.replace("\n", " ")
        if self.kind == "item":
            return "- " + self.text.replace("\n", " ")
        return self.text


@dataclass(frozen=True)
class Attachment:
    """A document the page links to (PDF, office file, image): listed, not parsed."""

    url: str
    text: str
    type: str


@dataclass(frozen=True)
class Image:
    """A content image of the page (not a logo, icon or tracking pixel)."""

    src: str
    alt: str


@dataclass(frozen=True)
class Repeat:
    """A block dropped as a copy of an earlier block of the same page."""

    text: str
    copy_of: int


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
    attachments: list[Attachment] = field(default_factory=list)
    author: str | None = None
    description: str | None = None
    images: list[Image] = field(default_factory=list)
    repeats: list[Repeat] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # input fields this tool does not know

    def to_json(self) -> str:
        """For the crawl state: a resumed or incremental run reuses extracted pages."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Page:
        data = json.loads(text)
        data["blocks"] = [Block(**{**b, "path": tuple(b["path"])}) for b in data["blocks"]]
        data["qa"] = [
            QA(**{**q, "answered_by": Person(**q["answered_by"]) if q["answered_by"] else None})
            for q in data["qa"]
        ]
        data["attachments"] = [Attachment(**a) for a in data["attachments"]]
        data["images"] = [Image(**i) for i in data.get("images", [])]
        data["repeats"] = [Repeat(**r) for r in data.get("repeats", [])]
        return cls(**data)


@dataclass(frozen=True)
class Entry:
    """One item of a listing page (blog home, category, archive): a linked title, with
    the teaser's excerpt and date when it shows them."""

    title: str
    url: str
    excerpt: str | None = None
    date: str | None = None


@dataclass
class Record:
    """One emitted page record: the contract in harvester/schema/record.schema.json."""

    id: str
    url: str
    aliases: list[str]
    title: str | None
    section: str | None
    kind: Literal["qa", "article", "listing"]
    qa: list[QA]
    text: str
    site: str | None
    published: str | None
    modified: str | None
    language: str | None
    fetched_at: str
    source: Source
    attachments: list[Attachment] = field(default_factory=list)
    author: str | None = None
    description: str | None = None
    images: list[Image] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)  # of a listing page
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The record's fields, then `extra`: fields of an input record (`harvester dedup`)
        that this tool does not know, carried through unchanged. Known fields win."""
        data = asdict(self)
        extra = data.pop("extra")
        data["qa"] = [qa_dict(q) for q in self.qa]
        return {**data, **{k: v for k, v in extra.items() if k not in data}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """A record as `to_dict` wrote it (the shared job's record store)."""
        known = {name for name in cls.__dataclass_fields__ if name != "extra"}
        values = {k: v for k, v in data.items() if k in known}
        values["qa"] = [
            QA(q["question"], q["answer"], Person(**q["answered_by"]) if q["answered_by"] else None)
            for q in data.get("qa", [])
        ]
        values["attachments"] = [Attachment(**a) for a in data.get("attachments", [])]
        values["images"] = [Image(**i) for i in data.get("images", [])]
        values["entries"] = [Entry(**e) for e in data.get("entries", [])]
        values["extra"] = {k: v for k, v in data.items() if k not in known}
        return cls(**values)

    def content_hash(self) -> str:
        """Identifies what a record says, not when it was fetched: for incremental runs."""
        data = self.to_dict()
        data.pop("fetched_at")
        if not data.get("entries"):
            data.pop("entries", None)  # as before listings had entries: hashes stay
        return _hash(data)


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

    def content_hash(self) -> str:
        return _hash(self.to_dict())


def _hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

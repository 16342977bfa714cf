"""One record as a Markdown document that Hugo (and Jekyll, Astro...) builds as it is meant.

- Front matter has no null values and no key that Hugo reads as draft or publish state:
  `date`/`lastmod` only when they parse and the date is not in the future (a future
  date hides a page); the source values stay under `source_published`/`source_modified`.
- `url` is the page's address on the new site, `aliases` every old path that differs
  from it (paths with a query only go to the redirect map: Hugo would make junk file
  names of them).
- The title comes from the front matter: the body never adds a second H1. A leading
  heading equal to the title is dropped, the others are demoted one level.
- Page text is escaped so that it renders literally (`a*b*c`, `__init__`, `[x](y)`,
  `<b>`, a leading `#`, `>`, `-`, `1.`), while the headings and list items that the
  record's text carries as `# ` and `- ` lines (models.Block.render) stay headings and
  lists.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from ..models import QA, Person, QARecord, Record
from .slugs import site_path, slug_path, stem_of, text_slug

TITLE_CHARS = 120
_INLINE = re.compile(r"([\\`*_\[\]{}<>&|~])")
_LEAD = re.compile(r"^([#+=-])")
_ORDERED = re.compile(r"^(\d+)([.)])")
_HEADING = re.compile(r"(#{1,6}) (.+)")


# --- names and addresses -----------------------------------------------------------


def natural_stem(record: Record | QARecord) -> str:
    """The page's name before uniqueness: the URL path mirrored (the site root is ""),
    or `qa/<the question>` for a Q&A record."""
    if isinstance(record, QARecord):
        return "qa/" + text_slug(record.question)
    stem = slug_path(record.url)
    if stem == "index":
        return ""
    head, _, last = stem.rpartition("/")
    if last in ("index", "_index"):  # would make its folder a Hugo leaf bundle
        return f"{head}/{last}-page" if head else f"{last}-page"
    return stem


def page_url(relative: str) -> str:
    """The address Hugo serves a file at, as written in its front matter (not encoded:
    Hugo encodes it in links and names the output folder with it)."""
    stem = stem_of(relative)
    return f"/{stem}/" if stem else "/"


def hugo_target(path: str) -> str:
    """The file Hugo writes for a page url or an alias: `/x/` and `/x` -> `x/index.html`,
    `/x.html` -> `x.html`. Compared case-insensitively, as some file systems do."""
    clean = posixpath.normpath("/" + path).lstrip("/")
    if not clean or clean == ".":
        return "index.html"
    return (clean if clean.endswith(".html") else clean + "/index.html").casefold()


def alias_paths(record: Record, url: str) -> list[str]:
    """Old paths of a page that differ from its new `url`, decoded, without a query."""
    own = hugo_target(url)
    seen = {own}
    kept: list[str] = []
    for old in [record.url, *record.aliases]:
        parts = urlsplit(old)
        path = unquote(parts.path or "/")
        if parts.query or path == "/" or ".." in path.split("/") or _has_control(path):
            continue
        target = hugo_target(path)
        if target not in seen:
            seen.add(target)
            kept.append(path)
    return kept


def _has_control(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


# --- the document ------------------------------------------------------------------


def markdown_of(
    record: Record | QARecord, relative: str | None = None, aliases: list[str] | None = None
) -> str:
    """A record as one Markdown document: `---` front matter `---`, then the body.

    `relative` is the file's path in the folder (it gives `url`), by default the
    record's own name; `aliases` the old paths to list, by default all of the record's.
    """
    relative = relative or natural_stem(record) + ".md"
    url = page_url(relative)
    if isinstance(record, QARecord):
        front = qa_record_front(record, url)
    else:
        front = page_front(record, url, alias_paths(record, url) if aliases is None else aliases)
    return document(front, body_of(record))


def document(front: dict[str, Any], body: str) -> str:
    dumped = yaml.safe_dump(_pruned(front), allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"---\n{dumped}---\n\n{body.strip()}\n"


def page_front(record: Record, url: str, aliases: list[str]) -> dict[str, Any]:
    return {
        "title": _flat(record.title) if record.title else None,
        "url": url,
        "aliases": aliases,
        "date": _date(record.published, future=False),
        "lastmod": _date(record.modified, future=True),
        "description": record.description,
        "author": record.author,
        "source_url": record.url,
        "source_published": record.published,
        "source_modified": record.modified,
        "source_section": record.section,
        "page_kind": record.kind,
        "language": record.language,
    }


def qa_record_front(record: QARecord, url: str) -> dict[str, Any]:
    return {
        "title": _shorten(record.question, TITLE_CHARS),
        "url": url,
        "source_urls": list(record.urls),
        "answered_by": _person(record.answered_by),
        "page_kind": "qa-record",
    }


def _pruned(value: Any) -> Any:
    """No null and no empty list or mapping: Hugo reads some null keys as false."""
    if isinstance(value, dict):
        pruned = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        return [_pruned(v) for v in value if v is not None]
    return value


def _date(value: str | None, future: bool) -> str | None:
    """An ISO date Hugo can parse; a publication date in the future is left out, since
    Hugo would not build the page."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not future and parsed > datetime.now(UTC) + timedelta(days=1):
        return None
    return value


def _person(person: Person | None) -> dict[str, str | None] | None:
    if person is None:
        return None
    return {"name": person.name, "credentials": person.credentials, "title": person.title}


# --- the body ----------------------------------------------------------------------


def body_of(record: Record | QARecord) -> str:
    if isinstance(record, QARecord):
        question = _flat(record.question)
        lead = [] if _shorten(question, TITLE_CHARS) == question else [escape_text(question)]
        single = QA(record.question, record.answer, record.answered_by)
        return _join([*lead, qa_body(single, heading=False)])
    if record.kind == "qa" and record.qa:
        return qa_page_body(record)
    if record.kind == "listing" and record.entries:
        return listing_body(record)
    return blocks_markdown(record.text, title=record.title)


def listing_body(record: Record) -> str:
    """A listing page (blog home, archive): the text before its first entry, then each
    entry as a link to its page on the new site, with its date and excerpt."""
    titles = {_key(entry.title) for entry in record.entries}
    intro: list[str] = []
    for chunk in _chunks(record.text):
        if _key(chunk.lstrip("#- ")) in titles:
            break
        intro.append(chunk)
    return _join([blocks_markdown("\n\n".join(intro), title=record.title), _entries(record)])


def _entries(record: Record) -> str:
    lines = []
    for entry in record.entries:
        # Where the entry's page lands by its URL; a renamed page is reached by redirect.
        target = site_path(slug_path(entry.url) + ".md")
        link = f"[{escape_line(_flat(entry.title))}]({target})"
        date = f" ({escape_line(entry.date)})" if entry.date else ""
        excerpt = f": {escape_line(_flat(entry.excerpt))}" if entry.excerpt else ""
        lines.append(f"- {link}{date}{excerpt}")
    return "\n".join(lines)


def qa_page_body(record: Record) -> str:
    """A Q&A page: its intro and every Q&A. When the page text holds the questions (in
    page order, with whatever surrounds them), it is rendered as it is, each question
    as a `##` heading; otherwise the intro (the text before any Q&A) then each Q&A."""
    questions = {_key(qa.question) for qa in record.qa}
    text = _key(record.text)
    if all(question in text for question in questions):
        return blocks_markdown(record.text, title=record.title, questions=questions)
    said = [_key(part) for qa in record.qa for part in (qa.question, qa.answer)]
    intro: list[str] = []
    for chunk in _chunks(record.text):
        if any(_key(chunk) in part or part in _key(chunk) for part in said):
            break
        intro.append(chunk)
    return _join(
        [blocks_markdown("\n\n".join(intro), title=record.title), *map(qa_body, record.qa)]
    )


def qa_body(qa: QA, heading: bool = True) -> str:
    """`## question`, the answer, `— Name, credentials, title`."""
    parts = ["## " + escape_heading(qa.question)] if heading else []
    parts.append(blocks_markdown(qa.answer, min_level=3))
    credit = attribution(qa.answered_by)
    if credit:
        parts.append(escape_text(credit))
    return _join(parts)


def attribution(person: Person | None) -> str:
    """`— Name, credentials, title`, with the parts that are known; empty when nobody."""
    if person is None:
        return ""
    parts = (person.name, person.credentials, person.title)
    return "— " + ", ".join(part for part in parts if part)


def blocks_markdown(
    text: str,
    title: str | None = None,
    questions: Iterable[str] = (),
    min_level: int = 2,
) -> str:
    """Text made of blocks (paragraphs apart by a blank line, `# ` headings, `- ` item
    lines) as Markdown: headings demoted below the title, everything else literal."""
    asked = set(questions)
    out: list[str] = []
    for chunk in _chunks(text):
        heading = _HEADING.fullmatch(chunk)
        if heading is not None:
            content = heading.group(2)
            if not out and title and _key(content) == _key(title):
                continue
            level = min(max(len(heading.group(1)) + 1, min_level), 6)
            out.append("#" * level + " " + escape_heading(content))
        elif all(line.startswith("- ") for line in chunk.split("\n")):
            out.append("\n".join("- " + escape_line(line[2:]) for line in chunk.split("\n")))
        elif _key(chunk) in asked:
            out.append("## " + escape_heading(chunk))
        else:
            out.append(escape_text(chunk))
    return _join(out)


def escape_text(text: str) -> str:
    """A paragraph rendered literally, line by line."""
    return "\n".join(escape_line(line) for line in text.strip().split("\n"))


def escape_line(line: str) -> str:
    """One line rendered literally: Markdown's inline characters and line-start markers
    are backslash-escaped (`{` too, so Hugo never sees a shortcode or an attribute)."""
    escaped = _INLINE.sub(r"\\\1", line.strip())
    escaped = _LEAD.sub(r"\\\1", escaped)
    return _ORDERED.sub(r"\1\\\2", escaped)


def escape_heading(text: str) -> str:
    """A heading's text on one line; `#` escaped, so none is taken as a closing one."""
    return escape_line(_flat(text)).replace("#", "\\#")


def _chunks(text: str) -> list[str]:
    return [chunk.strip("\n") for chunk in re.split(r"\n\s*\n", text or "") if chunk.strip()]


def _join(parts: Iterable[str]) -> str:
    return "\n\n".join(part.strip("\n") for part in parts if part.strip())


def _key(text: str) -> str:
    """Text compared as read: spacing and case do not matter."""
    return " ".join(text.split()).casefold()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    flat = _flat(text)
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"

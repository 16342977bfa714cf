"""Read a saved copy of a site from disk: the offline counterpart of fetch.py.

A saved copy is HTML files (a mirror) or WARC files (an archive's capture of the HTTP
exchanges); pages from a WARC are extracted exactly as the crawler extracts a fetch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .extract import extract_page
from .fetch import REDIRECTS
from .models import QA, Block, Page, Person
from .page import dedupe_page
from .parse import ParseError, charset_from_content_type, is_html, parse_html
from .report import Failure, Summary
from .urls import InvalidURL, normalize, resolve
from .warc import WarcError, WarcResponse, is_warc, read_warc

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml", ".php", ".asp", ".aspx")
MAX_FILE_BYTES = 10 * 1024 * 1024
NOT_MODIFIED = 304  # a revalidation: the URL's earlier capture still stands


class InputError(ValueError):
    """A path the user gave that cannot be read."""


def input_files(paths: list[Path]) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """HTML files with the root they are relative to, and WARC files; folders in sorted order."""
    html: list[tuple[Path, Path]] = []
    warcs: list[Path] = []
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.is_file() and is_warc(found):
                    warcs.append(found)
                elif found.is_file() and found.suffix.lower() in HTML_SUFFIXES:
                    html.append((found, path))
        elif path.is_file():
            if is_warc(path):
                warcs.append(path)
            else:
                html.append((path, path.parent))
        else:
            raise InputError(f"no such file or folder: {path}")
    if not html and not warcs:
        raise InputError("no HTML files or WARC files in " + ", ".join(str(p) for p in paths))
    return html, warcs


def file_url(path: Path, root: Path, base_url: str | None) -> str:
    """The URL a saved file stood at: index.html is its folder."""
    if base_url is None:
        return path.resolve().as_uri()
    relative = path.relative_to(root).as_posix()
    if relative == "index.html" or relative.endswith("/index.html"):
        relative = relative[: -len("index.html")]
    return normalize(base_url.rstrip("/") + "/" + quote(relative))


def read_files(paths: list[Path], base_url: str | None, summary: Summary) -> list[Page]:
    html, warcs = input_files(paths)
    pages = read_warcs(warcs, summary)
    for path, root in html:
        url = file_url(path, root, base_url)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ParseError(f"larger than {MAX_FILE_BYTES} bytes")
            doc = parse_html(path.read_bytes(), url)
        except (OSError, ParseError) as exc:
            summary.failures.append(Failure(url, "read", str(exc)))
            continue
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
        pages.append(dedupe_page(extract_page(doc, mtime, "file")))
        summary.pages_fetched += 1
    return pages


@dataclass
class _Capture:
    """What the last capture of one URL gives: a page, a failure, a redirect, or nothing."""

    page: Page | None = None
    failure: Failure | None = None
    redirect: str | None = None  # resolved Location of a 3xx
    non_html: bool = False


def read_warcs(paths: list[Path], summary: Summary) -> list[Page]:
    """Pages of WARC captures, as the live crawl would have made them; the last capture of
    a URL wins (a 304 leaves the one before), and redirects captured on the way become
    aliases of the page they reach."""
    captures: dict[str, _Capture] = {}
    for path in paths:
        try:
            for response in read_warc(path, MAX_FILE_BYTES):
                url = _normalized(response.url)
                if url is not None and response.status != NOT_MODIFIED:
                    captures.pop(url, None)  # keep capture order: the last one's place
                    captures[url] = _capture(url, response)
        except WarcError as exc:
            raise InputError(str(exc)) from None
    pages = {url: c.page for url, c in captures.items() if c.page is not None}
    _add_redirect_aliases(captures, pages)
    summary.pages_fetched += len(pages)
    summary.non_html += sum(c.non_html for c in captures.values())
    summary.failures += [c.failure for c in captures.values() if c.failure is not None]
    return list(pages.values())


def _normalized(url: str) -> str | None:
    try:
        return normalize(url)
    except ValueError:
        return None


def _capture(url: str, response: WarcResponse) -> _Capture:
    """What the crawler makes of one fetch, made offline from its capture."""
    if response.status in REDIRECTS:
        return _Capture(redirect=resolve(url, response.location or ""))
    if response.status != 200:
        return _Capture()
    content_type = response.headers.get("content-type")
    if not is_html(content_type):
        return _Capture(non_html=True)
    if response.too_large:
        return _Capture(failure=Failure(url, "too-large", f"larger than {MAX_FILE_BYTES} bytes"))
    try:
        doc = parse_html(response.body, url, charset_from_content_type(content_type))
    except ParseError as exc:
        return _Capture(failure=Failure(url, "parse", str(exc)))
    return _Capture(page=dedupe_page(extract_page(doc, response.fetched_at, "http")))


def _add_redirect_aliases(captures: dict[str, _Capture], pages: dict[str, Page]) -> None:
    """Each redirect source, followed hop by hop, becomes an alias of the page it reaches."""
    for url, capture in captures.items():
        hops = [url]
        target = capture.redirect
        while target is not None and target not in pages and target not in hops:
            hops.append(target)
            target = captures[target].redirect if target in captures else None
        page = pages.get(target) if target is not None else None
        if page is not None and url != page.url and url not in page.aliases:
            page.aliases.append(url)


def read_records(paths: list[Path], summary: Summary) -> list[Page]:
    """Records of another run or tool (JSON Lines with at least `url` and `text`) as
    pages, so that dedup can run over them as over a crawl."""
    pages: list[Page] = []
    for path in paths:
        try:
            lines = path.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        for number, line in enumerate(lines, 1):
            if line.strip():
                pages.append(dedupe_page(_page_of(_record_of(line, f"{path}:{number}"))))
    summary.pages_fetched = len(pages)
    if not pages:
        raise InputError("no records in " + ", ".join(str(p) for p in paths))
    return pages


def _record_of(line: str, where: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        raise InputError(f"{where}: not JSON") from None
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("url"), str)
        or not isinstance(record.get("text"), str)
    ):
        raise InputError(f"{where}: a record needs a 'url' and a 'text' string")
    try:  # an empty or relative url would key every such record as one page
        record["url"] = normalize(record["url"])
    except InvalidURL:
        raise InputError(f"{where}: 'url' must be an absolute http(s) URL") from None
    return record


def _page_of(record: dict[str, Any]) -> Page:
    def text(key: str) -> str | None:
        value = record.get(key)
        return value if isinstance(value, str) else None

    qa = [
        QA(q["question"], q["answer"], _person(q.get("answered_by")))
        for q in record.get("qa") or []
        if isinstance(q, dict)
        and isinstance(q.get("question"), str)
        and q.get("question")
        and isinstance(q.get("answer"), str)
        and q.get("answer")
    ]
    aliases = [a for a in record.get("aliases") or [] if isinstance(a, str)]
    return Page(
        url=record["url"],
        canonical=None,
        title=text("title"),
        section=text("section"),
        site=text("site"),
        published=text("published"),
        modified=text("modified"),
        language=text("language"),
        blocks=text_blocks(record["text"]),
        qa=qa,
        fetched_at=text("fetched_at") or _now(),
        source="http" if record.get("source") == "http" else "file",
        aliases=aliases,
        author=text("author"),
        description=text("description"),
    )


def _person(value: Any) -> Person | None:
    """answered_by as the schema writes it; anything else names nobody."""
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    extra = {k: v for k, v in value.items() if k in ("credentials", "title") and isinstance(v, str)}
    return Person(value["name"], **extra)


def text_blocks(text: str) -> list[Block]:
    """Blocks back from a record's text: blank-line paragraphs, "#" headings, "- " items."""
    blocks: list[Block] = []
    for chunk in (c.strip() for c in text.split("\n\n")):
        if not chunk:
            continue
        lines = chunk.split("\n")
        if chunk.startswith("#"):
            level = len(chunk) - len(chunk.lstrip("#"))
            blocks.append(Block(chunk.lstrip("#").strip(), "heading", level, (0, len(blocks) + 1)))
        elif all(line.startswith("- ") for line in lines):
            blocks += [
                Block(line[2:], "item", 0, (0, len(blocks) + i + 1)) for i, line in enumerate(lines)
            ]
        else:
            blocks.append(Block(chunk, "para", 0, (0, len(blocks) + 1)))
    return blocks


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

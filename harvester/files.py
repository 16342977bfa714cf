"""Read a saved copy of a site from disk: the offline counterpart of fetch.py.

A saved copy is HTML files (a mirror) or WARC files (an archive's capture of the HTTP
exchanges); pages from a WARC are extracted exactly as the crawler extracts a fetch.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .extract import extract_page
from .fetch import REDIRECTS
from .models import QA, Attachment, Block, Image, Page, Person, Record
from .page import dedupe_page
from .parse import ParseError, charset_from_content_type, is_html, parse_html
from .report import Failure, Summary
from .urls import InvalidURL, normalize, resolve
from .warc import WarcError, WarcResponse, is_warc, read_warc

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml", ".php", ".asp", ".aspx")
MAX_FILE_BYTES = 10 * 1024 * 1024
NOT_MODIFIED = 304  # a revalidation: the URL's earlier capture still stands
TRUNCATED_FAILURES = {  # WARC-Truncated of a page: the failure the crawl reported
    "length": ("too-large", "larger than the crawl's --max-bytes"),
    "time": ("deadline", "no complete response within the crawl's deadline"),
    "disconnect": ("network", "the connection was lost during the response"),
    "": ("truncated", "the capture holds only part of the response"),
}
SNIFF_BYTES = 8192
CSV_LINES = 6
MAGIC = (
    (b"%PDF-", "PDF"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive or office document"),
    (b"\xd0\xcf\x11\xe0", "an office document"),
    (b"{\\rtf", "RTF"),
    (b"\x1f\x8b", "gzip data"),
)
JSONL = "JSON Lines: use `harvester dedup`"
PLAIN = "plain text"
HTML_MARKERS = ("<html", "<!doctype html", "<head", "<body")
TAG = re.compile(r"<[a-zA-Z!/][^<>]*>")


class InputError(ValueError):
    """A path the user gave that cannot be read."""


def input_files(
    paths: list[Path], skipped: list[str] | None = None
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """HTML files with the root they are relative to, and WARC files; folders in sorted
    order. A file that is not HTML by its content (JSON Lines, a PDF...) is not read:
    why goes to `skipped`. Folders are searched for HTML file names only, so the CSS,
    scripts and images of a saved site are not worth a word."""
    skipped = [] if skipped is None else skipped
    html: list[tuple[Path, Path]] = []
    warcs: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [f for f in sorted(path.rglob("*")) if f.is_file()]
            warcs += [f for f in found if is_warc(f)]
            candidates = [
                (f, path) for f in found if f.suffix.lower() in HTML_SUFFIXES and not is_warc(f)
            ]
        elif path.is_file():
            warcs += [path] if is_warc(path) else []
            candidates = [] if is_warc(path) else [(path, path.parent)]
        else:
            raise InputError(f"no such file or folder: {path}")
        for file, root in candidates:
            kind = sniff(file)
            if kind is None:
                html.append((file, root))
            else:
                skipped.append(f"{file} is not HTML (looks like {kind})")
    if not html and not warcs:
        why = f" ({'; '.join(skipped[:3])})" if skipped else ""
        raise InputError("no HTML files or WARC files in " + ", ".join(str(p) for p in paths) + why)
    return html, warcs


def sniff(path: Path) -> str | None:
    """What a file looks like when it is not HTML, from its first bytes; None for HTML,
    for an empty file or one that cannot be opened (reading it says why), and for text
    without markup in a file named as HTML (a page of bare text is still a page)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return None
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "replace")
    elif b"\x00" in head:
        return "binary data"
    else:
        text = head.decode("utf-8", "replace")
    kind = _sniff_text(text.lstrip("\ufeff \t\r\n"), len(head) < SNIFF_BYTES)
    named_html = path.suffix.lower() in HTML_SUFFIXES
    return None if kind == PLAIN and named_html else kind


def _sniff_text(text: str, whole: bool) -> str | None:
    if not text:
        return None
    first, newline, _ = text.partition("\n")
    if text.startswith("{"):
        one_long_line = not newline and not whole
        return JSONL if one_long_line or _is_json(first) else "JSON"
    if text.startswith("["):
        return "JSON"
    if text.startswith("<"):
        lowered = text.lower()
        xml = lowered.startswith("<?xml") and not any(m in lowered for m in HTML_MARKERS)
        return "XML" if xml else None
    if _is_csv(text, whole):
        return "CSV"
    return None if TAG.search(text) else PLAIN


def _is_json(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _is_csv(text: str, whole: bool) -> bool:
    """A few lines without markup, each with the same number (one or more) of one
    separator. The last line read is cut short unless the whole file was read."""
    parts = text.split("\n")
    lines = [line for line in (parts if whole else parts[:-1])[:CSV_LINES] if line.strip()]
    if len(lines) < 2 or any(TAG.search(line) for line in lines):
        return False
    return any(
        lines[0].count(sep) > 0 and len({line.count(sep) for line in lines}) == 1 for sep in ",;\t"
    )


def file_url(path: Path, root: Path, base_url: str | None) -> str:
    """The URL a saved file stood at: index.html is its folder."""
    if base_url is None:
        return path.resolve().as_uri()
    relative = path.relative_to(root).as_posix()
    if relative == "index.html" or relative.endswith("/index.html"):
        relative = relative[: -len("index.html")]
    return normalize(base_url.rstrip("/") + "/" + quote(relative))


def read_files(paths: list[Path], base_url: str | None, summary: Summary) -> list[Page]:
    skipped: list[str] = []
    html, warcs = input_files(paths, skipped)
    summary.non_html += len(skipped)
    summary.skipped_files += skipped
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
                if _metadata(response):
                    continue
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


def _metadata(response: WarcResponse) -> bool:
    """robots.txt, or a sitemap the crawl read (marked so by harvester; by its name in
    other tools' captures, when it failed): never a page, nor a page's failure."""
    path = urlsplit(response.url).path.lower()
    if response.purpose or path == "/robots.txt":
        return True
    name = path.rsplit("/", 1)[-1]
    return response.status >= 400 and name.startswith("sitemap") and ".xml" in name


def _normalized(url: str) -> str | None:
    try:
        return normalize(url)
    except ValueError:
        return None


def _capture(url: str, response: WarcResponse) -> _Capture:
    """What the crawler makes of one fetch, made offline from its capture."""
    if response.status in REDIRECTS:
        return _Capture(redirect=resolve(url, response.location or ""))
    if response.status >= 400:  # as the crawl failed it, after its retries
        return _Capture(failure=Failure(url, "http", f"HTTP {response.status}"))
    if response.status != 200:
        return _Capture()
    content_type = response.headers.get("content-type")
    if not is_html(content_type):
        return _Capture(non_html=True)
    if response.too_large:
        return _Capture(failure=Failure(url, "too-large", f"larger than {MAX_FILE_BYTES} bytes"))
    if response.truncated:  # the crawl gave up on this body: the page failed
        kind, message = TRUNCATED_FAILURES.get(response.truncated, TRUNCATED_FAILURES[""])
        return _Capture(failure=Failure(url, kind, message))
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


KNOWN_FIELDS = frozenset(Record.__dataclass_fields__) - {"extra"}


def read_records(
    paths: list[Path], summary: Summary, warn: Callable[[str], None] | None = None
) -> list[Page]:
    """Records of another run or tool (JSON Lines with at least `url` and `text`) as
    pages, so that dedup can run over them as over a crawl. Fields this tool does not
    know travel on `Page.extra` to the output record unchanged.

    A line that is no usable record is skipped, not fatal: `warn` gets one line naming
    the file and line (stderr by default) and the summary a failure of kind "input", so
    the run ends partial (exit 1) with every other record written."""
    warn = warn or _warn
    pages: list[Page] = []
    skipped = 0
    for path in paths:
        for where, line in _lines(path):
            try:
                record = _record_of(line)
            except _Unusable as exc:
                skipped += 1
                summary.failures.append(Failure(where, "input", str(exc)))
                warn(f"harvester: warning: {where}: skipped: {exc}")
                continue
            pages.append(dedupe_page(_page_of(record)))
    summary.pages_fetched = len(pages)
    if not pages:
        names = ", ".join(str(p) for p in paths)
        raise InputError(
            f"no usable records in {names}" + (f" ({skipped} skipped)" if skipped else "")
        )
    return pages


class _Unusable(ValueError):
    """One input line that is no record: skipped."""


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _lines(path: Path) -> Iterator[tuple[str, bytes]]:
    """Non-blank lines with their "file:line". Split on "\\n" only: JSON strings may hold
    U+2028 and other characters that `str.splitlines` would break a record at."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    for number, raw in enumerate(data.split(b"\n"), 1):
        if raw.strip():
            yield f"{path}:{number}", raw


def _record_of(line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError:
        raise _Unusable("not UTF-8") from None
    except ValueError:
        raise _Unusable("not JSON") from None
    if not isinstance(record, dict):
        raise _Unusable(f"a JSON {type(record).__name__}, not an object")
    if not isinstance(record.get("url"), str) or not isinstance(record.get("text"), str):
        raise _Unusable("a record needs a 'url' and a 'text' string")
    try:  # an empty or relative url would key every such record as one page
        record["url"] = normalize(record["url"])
    except InvalidURL:
        raise _Unusable("'url' must be an absolute http(s) URL") from None
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
    aliases = [a for a in _list(record, "aliases") if isinstance(a, str)]
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
        attachments=_attachments(record),
        author=text("author"),
        description=text("description"),
        images=_images(record),
        extra={k: v for k, v in record.items() if k not in KNOWN_FIELDS},
    )


def _list(record: dict[str, Any], key: str) -> list[Any]:
    value = record.get(key)
    return value if isinstance(value, list) else []


def _attachments(record: dict[str, Any]) -> list[Attachment]:
    """attachments as the schema writes them; other entries are left out."""
    return [
        Attachment(a["url"], a["text"], a["type"])
        for a in _list(record, "attachments")
        if isinstance(a, dict)
        and all(isinstance(a.get(k), str) for k in ("url", "text", "type"))
        and a["url"]
    ]


def _images(record: dict[str, Any]) -> list[Image]:
    return [
        Image(i["src"], i["alt"])
        for i in _list(record, "images")
        if isinstance(i, dict)
        and isinstance(i.get("src"), str)
        and isinstance(i.get("alt"), str)
        and i["src"]
    ]


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

"""Output formats besides JSON Lines: a JSON array, flat CSV, a Markdown folder, a 301 map.

Every writer takes the record dicts as emitted (page records or Q&A records, see
harvester/schema/) and keeps the contract of JsonlWriter: `target`, `count`, `write`,
`close`, usable as a context manager. Errors are OutputError with a one-line message.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import secrets
import sys
import time
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol, Self
from urllib.parse import quote, unquote, urlsplit

import yaml

from .emit import JsonlWriter, OutputError, WholeFile, cannot_write, put_stdout
from .output.slugs import site_path, slug_path

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "CsvWriter",
    "JsonArrayWriter",
    "MarkdownWriter",
    "RecordWriter",
    "abandon",
    "check_writable",
    "open_writer",
    "site_path",
    "slug_path",
    "write_redirects",
]

FORMATS = ("jsonl", "json", "csv", "markdown")


class RecordWriter(Protocol):
    """What the emit stage needs from an output, whatever its format."""

    target: str
    count: int

    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> RecordWriter: ...

    def __exit__(self, *exc: object) -> None: ...


def open_writer(fmt: str, target: str, append: bool = False) -> RecordWriter:
    """The writer for `--format fmt`. `append` (resuming a run) only exists for jsonl:
    the other formats are written whole, so a resumed run must write every record."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if append and fmt != "jsonl":
        raise ValueError(f"--format {fmt} cannot be appended to")
    if fmt == "jsonl":
        return JsonlWriter(target, append=append)
    if fmt == "json":
        return JsonArrayWriter(target)
    if fmt == "csv":
        return CsvWriter(target)
    return MarkdownWriter(target)


def abandon(writer: RecordWriter) -> None:
    """Close a writer whose run stopped (Ctrl-C, a fatal error) before all was written:
    what it wrote stays valid, JSON to stdout is still one array, and a JSON file keeps
    its previous content rather than becoming a shorter array. Errors are left to the
    error that stopped the run."""
    with contextlib.suppress(OSError):
        if isinstance(writer, JsonArrayWriter):
            writer.abandon()
        else:
            writer.close()


def check_writable(target: str) -> None:
    """Fail now, not at the end of a long run, for an output file that could not be
    written then: its folder is created and must take a new file (a probe, removed)."""
    path = _check_file_target(target)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write to {target}: permission denied")
    try:
        _AtomicFile(path).discard()
    except OSError as exc:
        raise _fail(target, exc) from None


class _Closing:
    """Context-manager plumbing shared by the writers: `with` always closes."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fail(target: str, exc: OSError) -> OutputError:
    return cannot_write(target, exc)


def _check_file_target(target: str) -> Path:
    """A file target: not a folder, its folder created."""
    path = Path(target)
    if path.is_dir():
        raise OutputError(f"cannot write to {target}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in path.parents if p.is_file()), path.parent)
        raise OutputError(f"cannot write to {target}: {blocker} is not a folder") from None
    except OSError as exc:
        raise _fail(target, exc) from None
    return path


# --- JSON array ----------------------------------------------------------------------


STALE_AFTER = 60.0  # seconds: a temporary file not named after its process is then stale
_TEMP_NAME = re.compile(r"(?:(\d+)\.)?[0-9a-f]{8}\.tmp")  # after ".NAME.": [PID.]HEX.tmp


class _AtomicFile:
    """A temporary file beside `path`, renamed over it by commit().

    Readers of `path` only ever see the previous file or a complete new one. A file that
    is dropped without commit() (the writer is never closed, a write failed) is removed
    when collected or at exit; one left by a process killed with kill -9 is named after
    that process, and removed by the next run that writes `path`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        remove_stale_temps(path)
        self.temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        # os.open with 0o666 lets the umask decide the mode, as for any new file.
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self.stream: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        self._cleanup = weakref.finalize(self, _discard, self.stream, self.temp)

    def commit(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self.temp, self.path)
        self._cleanup.detach()

    def discard(self) -> None:
        self._cleanup()


def _discard(stream: IO[str], temp: Path) -> None:
    """Closing flushes, which fails again on a full disk: the file goes all the same."""
    with contextlib.suppress(OSError):
        stream.close()
    with contextlib.suppress(OSError):
        temp.unlink(missing_ok=True)


def remove_stale_temps(path: Path) -> None:
    """The temporary files beside `path` (`.NAME.PID.HEX.tmp`) of processes that are gone,
    and unnamed ones (`.NAME.HEX.tmp`) older than a minute."""
    prefix = f".{path.name}."
    try:
        entries = [e for e in os.scandir(path.parent or ".") if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name[len(prefix) :])
        if match is None or (match[1] is not None and _alive(int(match[1]))):
            continue
        with contextlib.suppress(OSError):
            if match[1] is not None or time.time() - entry.stat().st_mtime > STALE_AFTER:
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


class JsonArrayWriter(_Closing):
    """One JSON array, one record per line.

    To a file, it is written to a temporary file beside the target and renamed into place
    by close(), so the target is always absent, the previous file, or one complete valid
    array: also when the run is interrupted and close() is called on the way out. A write
    that failed half-way (disk full) makes close() discard the file instead.
    `-` is stdout, streamed: close() writes the closing bracket.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.count = 0
        self._closed = False
        self._broken = False
        self._file: _AtomicFile | None = None
        self._started = False  # "[" is written with the first record, or by close()
        if target == "-":
            self._stream: IO[str] = sys.stdout
            return
        path = _check_file_target(target)
        try:
            self._file = _AtomicFile(path)
        except OSError as exc:
            raise _fail(target, exc) from None
        self._stream = self._file.stream

    def write(self, record: dict[str, Any]) -> None:
        text = json.dumps(record, ensure_ascii=False)
        self._put(("[\n" if not self._started else ",\n") + text)
        self._started = True
        self.count += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._file is not None and self._broken:
            self._file.discard()
            return
        self._put(("[\n" if not self._started else "\n") + "]\n")
        if self._file is None:
            return
        try:
            self._file.commit()
        except OSError as exc:
            self._file.discard()
            raise _fail(self.target, exc) from None

    def abandon(self) -> None:
        """Closed without its records (see abandon()): the file target is left as it was;
        stdout gets the closing bracket, so it stays one valid array."""
        if self._file is None or self._closed:
            self.close()
            return
        self._closed = True
        self._file.discard()

    def _put(self, text: str) -> None:
        try:
            if self._file is None:
                put_stdout(text)
            else:
                self._stream.write(text)
                self._stream.flush()
        except OSError as exc:
            self._broken = True
            raise _fail(self.target, exc) from None


# --- CSV -----------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "url",
    "title",
    "section",
    "kind",
    "question",
    "answer",
    "answered_by_name",
    "answered_by_credentials",
    "answered_by_title",
    "site",
    "published",
    "modified",
    "aliases",
)


class CsvWriter(_Closing):
    """Flat CSV for spreadsheets: one row per Q&A, so each answer is its own cell.

    Columns, in order: id, url, title, section, kind, question, answer, answered_by_name,
    answered_by_credentials, answered_by_title, site, published, modified, aliases.

    - A page record gives one row per Q&A, its page columns repeated on each; a page
      without Q&A gives one row with empty question and answer, so no page is lost.
      `aliases` is the aliases joined by a space.
    - A Q&A record (`--emit qa`) gives one row: `url` is its urls joined by a space;
      title, section, kind, published, modified and aliases are empty.
    - null is an empty cell. UTF-8, a header row, csv module quoting (multi-line text stays
      inside one quoted field), `\\r\\n` between rows; flushed after each record.
      `-` is stdout. `count` is records, `rows` is data rows.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.count = 0
        self.rows = 0
        self._file: WholeFile | None = None
        if target != "-":
            path = _check_file_target(target)
            try:
                self._file = WholeFile(path)
            except OSError as exc:
                raise _fail(target, exc) from None
        self._put([list(CSV_COLUMNS)])

    def write(self, record: dict[str, Any]) -> None:
        rows = list(csv_rows(record))
        self._put(rows)
        self.rows += len(rows)
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _put(self, rows: list[list[str]]) -> None:
        """One write per record, so a record's rows are written (or cut off) together."""
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        try:
            if self._file is None:
                put_stdout(buffer.getvalue())
            else:
                self._file.put(buffer.getvalue().encode("utf-8"))
        except OSError as exc:
            raise _fail(self.target, exc) from None


def csv_rows(record: dict[str, Any]) -> Iterator[list[str]]:
    """The CSV rows of one record, in CSV_COLUMNS order."""
    if "question" in record:
        urls = " ".join(record.get("urls") or [])
        base = {"id": record.get("id"), "url": urls, "site": record.get("site")}
        yield _row({**base, **_qa_cells(record)})
        return
    page = {key: record.get(key) for key in CSV_COLUMNS}
    page["aliases"] = " ".join(record.get("aliases") or [])
    for qa in record.get("qa") or [None]:
        yield _row({**page, **_qa_cells(qa)})


def _qa_cells(qa: dict[str, Any] | None) -> dict[str, Any]:
    if qa is None:
        return {}
    person = qa.get("answered_by") or {}
    return {
        "question": qa.get("question"),
        "answer": qa.get("answer"),
        "answered_by_name": person.get("name"),
        "answered_by_credentials": person.get("credentials"),
        "answered_by_title": person.get("title"),
    }


def _row(cells: dict[str, Any]) -> list[str]:
    return ["" if cells.get(key) is None else str(cells[key]) for key in CSV_COLUMNS]


# --- Markdown ------------------------------------------------------------------------


class MarkdownWriter(_Closing):
    """One `.md` file per record in the folder `target`, for Hugo, Jekyll or Astro.

    Each file has YAML front matter and a Markdown body:

    - page records: title, url, aliases, published, modified, section, kind, author,
      description. The body of an `article` is its text; the body of a `qa` page is each
      Q&A as a `## question` heading, the answer, and `— Name, credentials, title`.
    - Q&A records: title (the question, shortened), url (the first of its urls), urls,
      answered_by; the body is the question, the answer and the attribution.

    File names follow slug_path(), plus `.md`; a name already taken in this run,
    compared case-insensitively, gets `-2`, `-3`... so every record has its own file.
    Nothing is ever written outside the folder, not even through a symlink in it.
    slug_of(record_id) is the relative path written for a record, for the redirect map.
    `<` in text is written as `&lt;`, so page text never becomes HTML in the new site.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.count = 0
        self._slugs: dict[str, str] = {}
        self._taken: set[str] = set()
        if target == "-":
            raise OutputError("cannot write Markdown to stdout: give a folder with -o")
        root = Path(target)
        if root.exists() and not root.is_dir():
            raise OutputError(f"cannot write to {target}: it is a file, not a folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
            self._root = root.resolve(strict=True)
        except OSError as exc:
            raise _fail(target, exc) from None

    @property
    def slugs(self) -> dict[str, str]:
        """Record id -> relative path written, as write_redirects takes it."""
        return dict(self._slugs)

    def slug_of(self, record_id: str) -> str:
        return self._slugs[record_id]

    def write(self, record: dict[str, Any]) -> None:
        relative = self._place(record)
        path = self._root.joinpath(*relative.split("/"))
        try:
            self._inside(path, relative)  # before mkdir: a symlinked folder is not followed
            path.parent.mkdir(parents=True, exist_ok=True)
            self._inside(path, relative)
            _write_whole(path, markdown_of(record, relative))
        except OutputError:
            raise
        except OSError as exc:
            raise _fail(str(path), exc) from None
        self.count += 1

    def close(self) -> None:
        """Every file is complete once written: nothing is left to flush."""

    def _inside(self, path: Path, relative: str) -> None:
        """A symlink already in the folder must not carry a file out of it."""
        if not path.resolve().is_relative_to(self._root):
            raise OutputError(f"cannot write {relative}: it leads outside {self.target}")

    def _place(self, record: dict[str, Any]) -> str:
        """The record's relative path: the same one again if it is written twice."""
        record_id = str(record["id"])
        if record_id in self._slugs:
            return self._slugs[record_id]
        base = slug_path(_record_url(record))
        stem, number = base, 1
        while f"{stem}.md".casefold() in self._taken:
            number += 1
            stem = f"{base}-{number}"
        relative = f"{stem}.md"
        self._taken.add(relative.casefold())
        self._slugs[record_id] = relative
        return relative


def _write_whole(path: Path, text: str) -> None:
    """One Markdown file; one cut short by a full disk is removed, not left half-written."""
    try:
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def markdown_of(record: dict[str, Any], slug: str | None = None) -> str:
    """A record as one Markdown document: `---` front matter `---`, then the body.

    Given the file's slug, `url` is the page's address on the new site and `aliases` its
    old addresses as site paths, as Hugo reads them (it serves the page there and
    redirects the aliases); `source_url` keeps the address it was read from.
    """
    front = _qa_front(record) if "question" in record else _page_front(record)
    if slug is not None and "question" not in record:
        front = {
            "url": site_path(slug),
            "source_url": record.get("url"),
            **{k: v for k, v in front.items() if k != "url"},
        }
        front["aliases"] = [_path_of(a) for a in record.get("aliases") or []]
    dumped = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"---\n{dumped}---\n\n{_body(record).strip()}\n"


def _path_of(url: str) -> str:
    """An old URL as a path on its site: /stretches.php?id=7."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _page_front(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("title", "url", "aliases", "published", "modified", "section", "kind")
    front = {key: record.get(key) for key in keys}
    front["date"], front["lastmod"] = record.get("published"), record.get("modified")
    front["author"] = record.get("author")
    front["description"] = record.get("description")
    return front


def _qa_front(record: dict[str, Any]) -> dict[str, Any]:
    urls = list(record.get("urls") or [])
    return {
        "title": _shorten(record["question"], 120),
        "url": urls[0] if urls else None,
        "urls": urls,
        "answered_by": record.get("answered_by"),
    }


def _body(record: dict[str, Any]) -> str:
    if "question" in record:
        return _qa_markdown(record, heading=False)
    if record.get("kind") == "qa" and record.get("qa"):
        return "\n\n".join(_qa_markdown(qa, heading=True) for qa in record["qa"])
    return _escape(str(record.get("text") or ""))


def _qa_markdown(qa: dict[str, Any], heading: bool) -> str:
    question = _escape(qa["question"])
    parts = ["## " + " ".join(question.split()) if heading else question, _escape(qa["answer"])]
    credit = attribution(qa.get("answered_by"))
    if credit:
        parts.append(_escape(credit))
    return "\n\n".join(part.strip() for part in parts)


def attribution(person: dict[str, Any] | None) -> str:
    """`— Name, credentials, title`, with the parts that are known; empty when nobody."""
    if not person:
        return ""
    parts = (person.get("name"), person.get("credentials"), person.get("title"))
    return "— " + ", ".join(part for part in parts if part)


def _escape(text: str) -> str:
    return text.replace("<", "&lt;")


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def _record_url(record: dict[str, Any]) -> str:
    if "question" in record:
        urls = record.get("urls") or []
        return str(urls[0]) if urls else ""
    return str(record.get("url") or "")


# --- Redirect map --------------------------------------------------------------------


def write_redirects(
    path: str, records: list[dict[str, Any]], slugs: dict[str, str] | None = None
) -> int:
    """The 301 map, as CSV with the header `from,to`; returns the number of rows.

    Without `slugs`, every alias of every page record goes to the record's canonical url.
    With `slugs` (record id -> relative .md path, from MarkdownWriter.slugs) every alias
    and the record's own url go to the new page's site path (see site_path). `from` is
    the old URL as crawled. A row whose `from` already is its `to` (same path) is left
    out, since it would loop; so is a second row for one `from`. Q&A records have no
    aliases and give no rows. Written whole, through a temporary file, like the JSON array.
    """
    rows = _dedupe(_redirect_rows(records, slugs))
    target = _check_file_target(path)
    try:
        out = _AtomicFile(target)
    except OSError as exc:
        raise _fail(path, exc) from None
    try:
        writer = csv.writer(out.stream)
        writer.writerow(["from", "to"])
        writer.writerows(rows)
        out.commit()
    except OSError as exc:
        out.discard()
        raise _fail(path, exc) from None
    return len(rows)


def _redirect_rows(
    records: list[dict[str, Any]], slugs: dict[str, str] | None
) -> Iterator[tuple[str, str]]:
    for record in records:
        if "question" in record:
            continue
        aliases: Iterable[str] = record.get("aliases") or []
        slug = (slugs or {}).get(str(record["id"]))
        if slug is None:
            yield from ((alias, record["url"]) for alias in aliases)
            continue
        new = site_path(slug)
        for old in [*aliases, record["url"]]:
            if _old_path(old) != new:
                yield old, new


def _old_path(url: str) -> str:
    """An old URL's path, encoded like site_path, to spot a redirect to itself."""
    parts = urlsplit(url)
    path = quote(unquote(parts.path or "/"), safe="/")
    return f"{path}?{parts.query}" if parts.query else path


def _dedupe(rows: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    kept: list[tuple[str, str]] = []
    for old, new in rows:
        if old not in seen and old != new:
            seen.add(old)
            kept.append((old, new))
    return kept

"""WARC files: write what a crawl fetched, read back what any crawler captured.

WARC (ISO 28500) is the format web archives share, so a crawl written here can be
replayed by archive tools, and a capture made by wget, Heritrix or Webrecorder can be
extracted offline without fetching the site again.

Both directions frame records strictly, because a crawl can be killed in the middle of a
record: a file that merely ends inside its last record (an interrupted write) reads up to
its last complete record, and a writer resuming it first cuts that partial record off;
anything else that does not frame (bad gzip data, a record that does not end where its
Content-Length says, complete records after a cut one) is damage, reported as such.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import stat
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from . import __version__

WARC_SUFFIXES = (".warc", ".warc.gz")
WARC_VERSION = "WARC/1.0"  # the version every archive tool reads
WARC_DATE = "%Y-%m-%dT%H:%M:%SZ"
GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK = 64 * 1024
MAX_INFLATE = 1024 * 1024  # decompressed bytes per step: a gzip bomb never fills memory
RECORD_END = b"\r\n\r\n"
MAX_LINE = 4096  # a WARC version line is a dozen bytes: longer is not one
# Where a record or a gzip member starts, to tell damage from an interrupted write.
RECORD_START = re.compile(rb"WARC/\d\.\d+\r?\n")
MEMBER_START = re.compile(rb"\x1f\x8b\x08")
# Each at most once in a record header: twice, a cut record runs into the next one.
UNIQUE_HEADERS = ("warc-type", "warc-record-id", "warc-date", "content-length")
# The payload is stored decoded, so headers describing the wire encoding would lie.
WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
TRUNCATED = "WARC-Truncated"
PURPOSE = "Harvester-Purpose"  # robots.txt or sitemap: what the crawl read, not a page
REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"auth|cookie|token|api[-_]?key|secret|passw|session", re.IGNORECASE)
log = logging.getLogger("harvester")


class WarcError(OSError):
    """A WARC file that cannot be written or read; the message is one line."""


def is_warc(path: Path) -> bool:
    """By name, as archives are named: .warc or .warc.gz."""
    return path.name.lower().endswith(WARC_SUFFIXES)


class WarcWriter:
    """Appends request/response pairs to a WARC file (gzip per record when the path ends in .gz).

    Each exchange is written whole with one write, so a crawl that is killed leaves a file
    that is valid up to its last exchange, plus at most one partial record; a write that
    fails (disk full) is cut off again. Opening an existing file appends to it, after
    cutting off a partial last record; a damaged file or one that is not a WARC is refused
    rather than appended to.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._gzip = self.path.name.lower().endswith(".gz")
        self._writer = WARCWriter(io.BytesIO(), gzip=self._gzip, warc_version=WARC_VERSION)
        try:
            self._file = self.path.open("ab", buffering=0)
        except OSError as exc:
            raise self._cannot_write(exc) from None
        try:
            self._good = self._resume()
        except WarcError:
            self._file.close()
            raise
        except OSError as exc:
            self._file.close()
            raise self._cannot_write(exc) from None

    def write_exchange(
        self,
        *,
        url: str,
        method: str,
        request_headers: list[tuple[str, str]],
        status: int,
        reason: str,
        response_headers: list[tuple[str, str]],
        body: bytes,
        fetched_at: str,
        truncated: str | None = None,
        purpose: str | None = None,
    ) -> None:
        """One 'response' record and its 'request' record, dated `fetched_at`.

        `body` is the decoded payload, so the stored headers are made to match it:
        no Content-Encoding or Transfer-Encoding, and Content-Length is its length. A body
        not read to its end is marked WARC-Truncated (`truncated`: length, time,
        disconnect or unspecified); crawl metadata (robots.txt, sitemaps) is marked with
        its `purpose`, so that a replay does not take it for a page. Credentials in the
        request headers are written as [redacted].
        """
        date = {"WARC-Date": warc_date(fetched_at)}
        request = self._writer.create_warc_record(
            url,
            "request",
            http_headers=_request_headers(url, method, redacted(request_headers)),
            warc_headers_dict=dict(date),
        )
        extra = {TRUNCATED: truncated} if truncated else {}
        if purpose:
            extra[PURPOSE] = purpose
        response = self._writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=StatusAndHeaders(
                f"{status} {reason}", _payload_headers(response_headers, len(body)), "HTTP/1.1"
            ),
            warc_headers_dict={**date, **extra},
        )
        self._write(lambda writer: writer.write_request_response_pair(request, response))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _resume(self) -> int:
        """The size the file is appended at: an existing WARC without its partial last
        record; a new file gets its warcinfo record first."""
        info = os.fstat(self._file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            self._warcinfo(0)
            return self._good
        keep, suffix = _append_point(self.path, self._gzip)
        if keep < info.st_size:
            log.info("%s: cut off an incomplete last record before appending", self.path)
            os.ftruncate(self._file.fileno(), keep)
        self._good = keep
        if keep == 0:
            self._warcinfo(0)
        elif suffix:
            self._put(suffix)
        return self._good

    def _warcinfo(self, size: int) -> None:
        self._good = size
        info = {"software": f"harvester/{__version__}", "format": "WARC File Format 1.0"}
        record = self._writer.create_warcinfo_record(self.path.name, info)
        self._write(lambda writer: writer.write_record(record))

    def _write(self, write: Callable[[WARCWriter], object]) -> None:
        """The records rendered in memory first, then appended in one piece."""
        buffer = io.BytesIO()
        write(WARCWriter(buffer, gzip=self._gzip, warc_version=WARC_VERSION))
        self._put(buffer.getvalue())

    def _put(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[self._file.write(view) or 0 :]
        except OSError as exc:
            with contextlib.suppress(OSError):  # cut off what was written of this piece
                os.ftruncate(self._file.fileno(), self._good)
            raise self._cannot_write(exc) from None
        self._good += len(data)

    def _cannot_write(self, exc: OSError) -> WarcError:
        return WarcError(f"cannot write WARC file {self.path}: {_reason(exc)}")


def _append_point(path: Path, gzipped: bool) -> tuple[int, bytes]:
    """Where to append to an existing WARC (its size without a partial last record), and
    what to write first (the blank lines an uncompressed last record may lack)."""
    with path.open("rb") as raw:
        reader = _Reader(raw)
        if reader.gzipped != gzipped:
            kind = "gzip-compressed" if reader.gzipped else "uncompressed"
            raise WarcError(f"cannot append to {path}: it is {kind}, unlike its name says")
        try:
            for offset, record in reader.records():
                reader.complete(offset, record)
        except _Cut as cut:
            if not reader.more_after(cut.offset):
                return reader.file_offset(path, cut.offset), b""
            raise WarcError(f"cannot append to {path}: {reader.damage(cut)}") from None
        except _Damaged as damage:
            if not reader.records_read:
                raise WarcError(f"cannot append to {path}: not a WARC file") from None
            raise WarcError(f"cannot append to {path}: {reader.damage(damage)}") from None
        if reader.members is None:  # its blank lines, whole or not, written again
            return reader.content_end, RECORD_END
        if reader.members.cut_short and not reader.ends_at_member():
            raise WarcError(f"cannot append to {path}: cut short inside a gzip member")
        return reader.members.member_raw, b""


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _request_headers(url: str, method: str, headers: list[tuple[str, str]]) -> StatusAndHeaders:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not any(name.lower() == "host" for name, _ in headers):
        headers = [("Host", parts.netloc), *headers]
    return StatusAndHeaders(f"{method} {target} HTTP/1.1", headers, is_http_request=True)


def redacted(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Request headers as archived: the value of any credential (Authorization, Cookie,
    Proxy-Authorization, or a name like X-Api-Key or X-Auth-Token) as [redacted]."""
    return [(name, REDACTED if secret_header(name) else value) for name, value in headers]


def secret_header(name: str) -> bool:
    """A request header whose value is a credential, by its name."""
    return SECRET_NAME.search(name) is not None


def _payload_headers(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    kept = [(name, value) for name, value in headers if name.lower() not in WIRE_HEADERS]
    return [*kept, ("Content-Length", str(length))]


def warc_date(iso: str) -> str:
    """An ISO 8601 time as a WARC-Date (UTC, seconds); now when it is missing or bad."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        when = datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime(WARC_DATE)


@dataclass
class WarcResponse:
    """One captured HTTP response, its payload decoded as the client saw it."""

    url: str
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined by ", "
    body: bytes
    fetched_at: str  # ISO 8601, from WARC-Date
    location: str | None = None  # of a 3xx response
    too_large: bool = False  # the payload was over max_bytes; body is then empty
    truncated: str | None = None  # WARC-Truncated: the capture gave up on the body
    purpose: str | None = None  # robots.txt or sitemap: what harvester read, not a page


def read_warc(path: Path, max_bytes: int | None = None) -> Iterator[WarcResponse]:
    """Every HTTP(S) 'response' record of a WARC, plain or gzip (per record or whole file).

    Chunked and gzip-encoded payloads are decoded. A file cut short (a crawl killed while
    writing) ends at its last complete record. Raises WarcError for a file that is not a
    WARC (also an empty one) or is damaged.
    """
    try:
        with path.open("rb") as raw:
            reader = _Reader(raw)
            try:
                for offset, record in reader.records():
                    response = _response(record, max_bytes)
                    reader.complete(offset, record)  # never yield what was cut short
                    if response is not None:
                        response.fetched_at = response.fetched_at or _mtime(path)
                        yield response
            except _Cut as cut:
                if reader.more_after(cut.offset):
                    raise WarcError(f"{path}: {reader.damage(cut)}") from None
            except _Damaged as damage:
                if reader.records_read:
                    raise WarcError(f"{path}: {reader.damage(damage)}") from None
                raise WarcError(f"{path}: not a WARC file") from None
            if not reader.records_read:
                empty = raw.seek(0, os.SEEK_END) == 0
                raise WarcError(f"{path}: not a WARC file" + (" (it is empty)" if empty else ""))
    except WarcError:
        raise
    except OSError as exc:
        raise WarcError(f"{path}: {_reason(exc)}") from None


class _Damaged(Exception):
    """The bytes at `offset` (decompressed) do not frame as WARC records."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset, self.reason = offset, reason


class _Cut(_Damaged):
    """The file ends inside the record starting at `offset`."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset, "a record is cut short")


class _Reader:
    """The records of a WARC file, framed strictly, and where they are in the file.

    warcio parses each record, but its own iterator skips bytes it cannot read with a
    warning on stderr; here every record must start with a WARC version line, hold the
    Content-Length it declares, and be followed by a blank line.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.gzipped = raw.read(2) in (GZIP_MAGIC, GZIP_MAGIC[:1])
        raw.seek(0)
        self.members = _Members(raw) if self.gzipped else None
        source = io.BufferedReader(self.members, READ_CHUNK) if self.members else raw
        self.stream = _Counted(source)
        self.loader = ArcWarcRecordLoader()
        self.records_read = 0
        self.content_end = 0  # (decompressed) offset after the last complete record's content
        self.starts: deque[int] = deque(maxlen=64)  # offsets of the last complete records

    def records(self) -> Iterator[tuple[int, Any]]:
        """(offset, record) for each record; call complete() before using one."""
        while True:
            offset, line = self._first_line()
            if not line:
                return
            try:
                record = self.loader.parse_record_stream(self.stream, line, known_format="warc")
            except _Damaged:
                raise
            except Exception as exc:  # warcio fails in many ways on headers cut or garbled
                if isinstance(exc, EOFError) or self.stream.at_end():
                    raise _Cut(offset) from None
                raise _Damaged(offset, _one_line(exc)) from None
            yield offset, record
            self.complete(offset, record)
            self._blank_line(offset)

    def complete(self, offset: int, record: Any) -> None:
        """Read the rest of the record; _Cut if the file ends first."""
        if record.format != "warc":
            raise _Damaged(offset, "not a WARC record")
        names = [name.lower() for name, _ in record.rec_headers.headers]
        if any(names.count(name) > 1 for name in UNIQUE_HEADERS):
            raise _Damaged(offset, "a record header cut short, then another record's")
        while record.raw_stream.read(READ_CHUNK):
            pass
        declared = (record.rec_headers.get_header("Content-Length") or "").strip()
        if not declared.isdigit() or getattr(record.raw_stream, "limit", 0) > 0:
            if self.stream.at_end():  # its header or its content cut short
                raise _Cut(offset)
            raise _Damaged(offset, "a record without a valid Content-Length")
        if self.content_end <= offset:
            self.records_read += 1
            self.content_end = self.stream.position
            self.starts.append(offset)

    def more_after(self, offset: int) -> bool:
        """Whether a record or gzip member starts after the cut record at `offset`: then the
        cut is damage in the middle of the file, not the end of an interrupted write."""
        if self.members is None:
            return _found(self.raw, offset + 1, RECORD_START, None)
        if not self.members.cut_short:
            return False
        return _found(self.raw, self.members.member_raw + 1, MEMBER_START, _whole_member)

    def ends_at_member(self) -> bool:
        """Whether a gzip file cut short after its last complete record (in the header or
        trailer of a member) can be cut back to where that member starts: it must start at
        a record, and hold at most that one, which is lost (a resumed crawl fetches it)."""
        assert self.members is not None
        start = self.members.current_start
        if start == self.stream.position:
            return True
        return start in self.starts and start == self.starts[-1]

    def file_offset(self, path: Path, offset: int) -> int:
        """The file offset of the record starting at (decompressed) `offset`, to cut the
        file there: in a gzip file, only where a member starts with that record."""
        if self.members is None:
            return offset
        raw = self.members.start_of(offset)
        if raw is None:
            raise WarcError(f"cannot append to {path}: cut short inside a gzip member")
        return raw

    def damage(self, error: _Damaged) -> str:
        where = error.offset
        if self.members is not None:
            where = self.members.bad_member or self.members.member_raw
        reason = error.reason
        if isinstance(error, _Cut):
            reason = "a record is cut short, and more records follow it"
        return f"damaged after {self.records_read} records, at byte {where}: {reason}"

    def _first_line(self) -> tuple[int, bytes]:
        """The first line of the next record (blank lines skipped), b"" at the end."""
        while True:
            offset = self.stream.position
            line = self.stream.readline(MAX_LINE)
            if not line:
                return offset, b""
            if line.strip(b"\r\n"):
                break
        if not (line.startswith(b"WARC/") or b"WARC/".startswith(line)) or len(line) == MAX_LINE:
            raise _Damaged(offset, "not a WARC record")
        if not line.endswith(b"\n"):
            raise _Cut(offset)
        return offset, line

    def _blank_line(self, offset: int) -> None:
        """A record ends with a blank line (two, as written; one is enough to read)."""
        line = self.stream.readline(MAX_LINE)
        if line in (b"", b"\r\n", b"\n") or (line == b"\r" and self.stream.at_end()):
            return  # at the end of the file, what is missing is written again on appending
        raise _Damaged(offset, "a record is longer than its Content-Length")


class _Counted:
    """The byte stream warcio reads, counting where it is."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.position = 0

    def read(self, size: int | None = -1) -> bytes:
        data = self._stream.read(-1 if size is None else size)
        self.position += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self._stream.readline(-1 if size is None else size)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def at_end(self) -> bool:
        peek = getattr(self._stream, "peek", None)
        if peek is not None:
            return not peek(1)
        here = self._stream.tell()
        at_end = not self._stream.read(1)
        self._stream.seek(here)
        return at_end


class _Members(io.RawIOBase):
    """The decompressed bytes of a gzip file, member after member, strictly.

    Python's gzip raises at the end of a member cut short, and warcio's reader skips
    what it cannot decompress; here bad data raises _Damaged, and a file that ends inside
    a member ends there with `cut_short` set.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._inflate: Any = None
        self._pending = b""  # read from the file, not yet decompressed
        self._out = b""  # decompressed
        self._taken = 0  # of _out, already returned
        self._done = False
        self._produced = 0  # decompressed bytes so far
        self.member_raw = 0  # file offset of the current (or next) member
        self.bad_member: int | None = None
        self.cut_short = False
        self._starts: deque[tuple[int, int]] = deque(maxlen=64)  # (decompressed, file)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._taken == len(self._out) and not self._done:
            self._step()
        size = min(len(buffer), len(self._out) - self._taken)
        buffer[:size] = self._out[self._taken : self._taken + size]
        self._taken += size
        return size

    @property
    def current_start(self) -> int:
        """The decompressed offset where the member being read (or the next one) starts."""
        return self._starts[-1][0] if self._inflate is not None else self._produced

    def start_of(self, offset: int) -> int | None:
        """The file offset of the member starting at decompressed `offset`, if one does."""
        return next((raw for decompressed, raw in self._starts if decompressed == offset), None)

    def _step(self) -> None:
        if self._inflate is None and not self._begin():
            self._done = True
            return
        data = self._pending or self._raw.read(READ_CHUNK)
        self._pending = b""
        if not data:
            self.cut_short = self._done = True
            return
        try:
            out = self._inflate.decompress(data, MAX_INFLATE)
        except zlib.error as exc:
            self.bad_member = self.member_raw
            raise _Damaged(self._produced, f"invalid gzip data ({exc})") from None
        self._produced += len(out)
        self._out, self._taken = out, 0
        if self._inflate.eof:
            self._pending = self._inflate.unused_data
            self.member_raw = self._raw.tell() - len(self._pending)
            self._inflate = None
        else:
            self._pending = self._inflate.unconsumed_tail

    def _begin(self) -> bool:
        """Start the next member; False at the end of the file (or of its zero padding)."""
        if len(self._pending) < 2:
            self._pending += self._raw.read(READ_CHUNK)
        if not self._pending:
            return False
        if not self._pending.startswith(GZIP_MAGIC):
            if GZIP_MAGIC.startswith(self._pending):  # the file ends in a member's first byte
                self.cut_short = True
                return False
            if _zeros_to_end(self._pending, self._raw):
                return False
            self.bad_member = self.member_raw
            raise _Damaged(self._produced, "not gzip data where a gzip member should start")
        self._starts.append((self._produced, self.member_raw))
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return True


def _zeros_to_end(data: bytes, raw: IO[bytes]) -> bool:
    """Zero padding after the last member, as some tools write."""
    while data:
        if data.strip(b"\0"):
            return False
        data = raw.read(READ_CHUNK)
    return True


def _found(
    raw: IO[bytes],
    start: int,
    pattern: re.Pattern[bytes],
    confirm: Callable[[IO[bytes], int], bool] | None,
) -> bool:
    """Whether `pattern` (confirmed by `confirm`, if given) occurs in the file from `start`."""
    overlap = 16
    position = start
    while True:
        raw.seek(position)
        chunk = raw.read(READ_CHUNK)
        for match in pattern.finditer(chunk):
            at = position + match.start()
            if confirm is None or confirm(raw, at):
                return True
        if len(chunk) <= overlap:
            return False
        position += len(chunk) - overlap


def _whole_member(raw: IO[bytes], at: int) -> bool:
    """Whether a complete gzip member starts at file offset `at`."""
    raw.seek(at)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        while not inflate.eof:
            data = inflate.unconsumed_tail or raw.read(READ_CHUNK)
            if not data:
                return False
            inflate.decompress(data, MAX_INFLATE)
    except zlib.error:
        return False
    return True


def _response(record: Any, max_bytes: int | None) -> WarcResponse | None:
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    if record.rec_type != "response" or not record.http_headers:
        return None
    if not url.lower().startswith(("http://", "https://")):
        return None
    try:
        status = int(record.http_headers.get_statuscode())
    except ValueError:
        return None
    headers: dict[str, str] = {}
    for name, value in record.http_headers.headers:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    try:
        body = _read(record.content_stream(), max_bytes)
    except (zlib.error, ValueError, EOFError):  # a payload whose encoding lies
        return None
    too_large = body is None
    return WarcResponse(
        url=url,
        status=status,
        headers=headers,
        body=body or b"",
        fetched_at=iso_date(record.rec_headers.get_header("WARC-Date")),
        location=headers.get("location") if 300 <= status < 400 else None,
        too_large=too_large,
        truncated=record.rec_headers.get_header(TRUNCATED),
        purpose=record.rec_headers.get_header(PURPOSE),
    )


def _read(stream: Any, max_bytes: int | None) -> bytes | None:
    """The whole payload, or None as soon as it is over max_bytes."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def iso_date(value: str | None) -> str:
    """A WARC-Date as the crawler writes fetched_at (UTC, seconds); "" when unreadable."""
    if not value:
        return ""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            when = iso_date_to_datetime(value.strip())
        except (ValueError, TypeError):
            return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return str(when.astimezone(UTC).isoformat(timespec="seconds"))


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def _one_line(exc: BaseException) -> str:
    """The first line of an error, printable: warcio quotes the bytes it could not read."""
    lines = str(exc).strip().splitlines()
    text = lines[0][:120] if lines else type(exc).__name__
    return "".join(c if c.isprintable() else "?" for c in text)

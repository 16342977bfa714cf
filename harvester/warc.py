"""WARC files: write what a crawl fetched, read back what any crawler captured.

WARC (ISO 28500) is the format web archives share, so a crawl written here can be
replayed by archive tools, and a capture made by wget, Heritrix or Webrecorder can be
extracted offline without fetching the site again.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParserException
from warcio.timeutils import iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from . import __version__

WARC_SUFFIXES = (".warc", ".warc.gz")
WARC_VERSION = "WARC/1.0"  # the version every archive tool reads
WARC_DATE = "%Y-%m-%dT%H:%M:%SZ"
GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK = 64 * 1024
# What a damaged file raises from warcio or zlib.
DAMAGED = (StatusAndHeadersParserException, zlib.error, ValueError)
# The payload is stored decoded, so headers describing the wire encoding would lie.
WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class WarcError(OSError):
    """A WARC file that cannot be written or read; the message is one line."""


def is_warc(path: Path) -> bool:
    """By name, as archives are named: .warc or .warc.gz."""
    return path.name.lower().endswith(WARC_SUFFIXES)


class WarcWriter:
    """Appends request/response pairs to a WARC file (gzip per record when the path ends in .gz).

    Every exchange is flushed as written, so a crawl that is killed leaves a valid file
    up to its last exchange; opening an existing file appends to it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file: IO[bytes] = self.path.open("ab")
        except OSError as exc:
            raise WarcError(f"cannot write WARC file {self.path}: {_reason(exc)}") from None
        gzipped = self.path.name.lower().endswith(".gz")
        self._writer = WARCWriter(self._file, gzip=gzipped, warc_version=WARC_VERSION)
        if self._file.tell() == 0:  # a new file: say what wrote it
            info = {"software": f"harvester/{__version__}", "format": "WARC File Format 1.0"}
            record = self._writer.create_warcinfo_record(self.path.name, info)
            self._write(lambda: self._writer.write_record(record))

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
    ) -> None:
        """One 'response' record and its 'request' record, dated `fetched_at`.

        `body` is the decoded payload, so the stored headers are made to match it:
        no Content-Encoding or Transfer-Encoding, and Content-Length is its length.
        """
        date = {"WARC-Date": warc_date(fetched_at)}
        request = self._writer.create_warc_record(
            url,
            "request",
            http_headers=_request_headers(url, method, request_headers),
            warc_headers_dict=dict(date),
        )
        response = self._writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=StatusAndHeaders(
                f"{status} {reason}", _payload_headers(response_headers, len(body)), "HTTP/1.1"
            ),
            warc_headers_dict=dict(date),
        )
        self._write(lambda: self._writer.write_request_response_pair(request, response))

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

    def _write(self, write: Callable[[], object]) -> None:
        try:
            write()
            self._file.flush()
        except OSError as exc:
            raise WarcError(f"cannot write WARC file {self.path}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _request_headers(url: str, method: str, headers: list[tuple[str, str]]) -> StatusAndHeaders:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not any(name.lower() == "host" for name, _ in headers):
        headers = [("Host", parts.netloc), *headers]
    return StatusAndHeaders(f"{method} {target} HTTP/1.1", headers, is_http_request=True)


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


def read_warc(path: Path, max_bytes: int | None = None) -> Iterator[WarcResponse]:
    """Every HTTP(S) 'response' record of a WARC, plain or gzip (per record or whole file).

    Chunked and gzip-encoded payloads are decoded. Raises WarcError for a file that is
    not a WARC or is damaged; a file cut short ends at its last complete record.
    """
    records = 0
    try:
        with path.open("rb") as raw:
            for record in ArchiveIterator(_decompressed(raw)):
                records += 1
                response = _response(record, max_bytes)
                if response is not None:
                    response.fetched_at = response.fetched_at or _mtime(path)
                    yield response
    except (ArchiveLoadFailed, EOFError, *DAMAGED) as exc:
        if not records:
            raise WarcError(f"{path}: not a WARC file") from None
        if not isinstance(exc, EOFError):
            raise WarcError(f"{path}: damaged after {records} records: {_one_line(exc)}") from None
    except OSError as exc:
        raise WarcError(f"{path}: {_reason(exc)}") from None


def _decompressed(raw: IO[bytes]) -> Any:
    """Gzip read as one stream, so a WARC gzipped whole reads like one gzipped per record;
    warcio's reader also ends quietly at a member cut short, where gzip would raise."""
    gzipped = raw.read(2) == GZIP_MAGIC
    raw.seek(0)
    return DecompressingBufferedReader(raw, read_all_members=True) if gzipped else raw


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
    body = _read(record.content_stream(), max_bytes)
    too_large = body is None
    return WarcResponse(
        url=url,
        status=status,
        headers=headers,
        body=body or b"",
        fetched_at=iso_date(record.rec_headers.get_header("WARC-Date")),
        location=headers.get("location") if 300 <= status < 400 else None,
        too_large=too_large,
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
    lines = str(exc).strip().splitlines()
    return lines[0][:120] if lines else type(exc).__name__

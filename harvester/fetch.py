"""Fetch stage: polite, bounded HTTP with httpx. The only place that talks to servers."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import socket
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from .parse import is_html
from .settings import DEFAULT_USER_AGENT, DEFAULTS
from .urls import Scope, host_of, resolve

log = logging.getLogger("harvester")
ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
# Only encodings we inflate ourselves in bounded steps (see BodyDecoder).
ACCEPT_ENCODING = "gzip, deflate"
INFLATED = frozenset({"gzip", "x-gzip", "deflate"})
UNSUPPORTED = frozenset({"br", "zstd", "compress", "x-compress"})
MAX_ENCODINGS = 4  # each layer holds a 32 KiB window and more: a header cannot stack many
STEP = 64 * 1024  # the most one decoding step may produce
REDIRECTS = frozenset({301, 302, 303, 307, 308})
METADATA_REDIRECTS = 5  # RFC 9309 asks for at least five
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class FetchConfig:
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = DEFAULTS.timeout  # between two reads: a server that goes quiet
    connect_timeout: float = 10.0
    deadline: float = DEFAULTS.deadline  # for a whole request: a server that drips
    max_bytes: int = DEFAULTS.max_bytes
    retries: int = DEFAULTS.retries
    backoff: float = 0.25
    max_retry_after: float = 60.0
    delay: float = DEFAULTS.delay
    per_host: int = DEFAULTS.per_host
    max_redirects: int = 10


@dataclass
class FetchResult:
    url: str  # what was asked for
    final_url: str  # after redirects
    status: int
    content_type: str | None
    body: bytes
    redirects: list[str] = field(default_factory=list)
    fetched_at: str = ""
    location: str | None = None  # of a redirect response
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str = ""

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def html(self) -> bool:
        return is_html(self.content_type)


class FetchError(Exception):
    """A URL that could not be fetched. `kind` groups errors in the summary."""

    def __init__(self, url: str, kind: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url, self.kind, self.message = url, kind, message


class _Retry(Exception):
    def __init__(self, error: FetchError, wait: float | None = None, overloaded: bool = False):
        super().__init__(error.message)
        self.error, self.wait, self.overloaded = error, wait, overloaded


class BodyError(Exception):
    """A body we will not read: larger than the cap, or in an encoding we cannot undo."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def too_large(limit: int) -> BodyError:
    return BodyError("too-large", f"larger than {limit} bytes")


class _Inflate:
    """One gzip or deflate layer, inflated at most STEP bytes at a time."""

    def __init__(self, encoding: str) -> None:
        self.raw_fallback = encoding == "deflate"  # servers send raw deflate as often
        wbits = zlib.MAX_WBITS | 16 if encoding != "deflate" else zlib.MAX_WBITS
        self.name, self._z = encoding, zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            out = self._inflate(data)
            data = self._z.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < STEP:  # input used up, output drained
                return

    def flush(self) -> bytes:
        return self._z.flush()

    def _inflate(self, data: bytes) -> bytes:
        try:
            out = self._z.decompress(data, STEP)
        except zlib.error as exc:
            if not self.raw_fallback:
                raise BodyError("encoding", f"cannot decode {self.name} body ({exc})") from None
            self._z, self.raw_fallback = zlib.decompressobj(-zlib.MAX_WBITS), False
            return self._inflate(data)
        self.raw_fallback = False
        return out


class BodyDecoder:
    """Undoes Content-Encoding layer by layer in bounded steps.

    httpx inflates each layer whole, so `gzip, gzip` turns 2 KB into gigabytes before any
    cap is checked. Here every layer but the last is capped at `limit`; the caller caps
    the last, which it may also truncate.
    """

    def __init__(self, content_encodings: list[str], limit: int) -> None:
        names = [name.strip().lower() for name in content_encodings]
        unsupported = [name for name in names if name in UNSUPPORTED]
        if unsupported:
            raise BodyError("encoding", f"unsupported Content-Encoding {unsupported[0]}")
        # Unknown names (identity, "utf-8", ...) are ignored, as browsers and httpx do.
        inflated = [name for name in names if name in INFLATED]
        if len(inflated) > MAX_ENCODINGS:
            raise BodyError("encoding", f"{len(inflated)} stacked Content-Encodings")
        self.layers = [_Inflate(name) for name in reversed(inflated)]  # last applied first
        self.sizes = [0] * len(self.layers)
        self.limit = limit

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of a raw chunk, each at most STEP bytes."""
        return self._from(0, data)

    def flush(self) -> Iterator[bytes]:
        for index, layer in enumerate(self.layers):
            rest = layer.flush()
            if rest:
                self._count(index, rest)
                yield from self._from(index + 1, rest)

    def _from(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self.layers):
            yield data
            return
        for piece in self.layers[index].feed(data):
            self._count(index, piece)
            yield from self._from(index + 1, piece)

    def _count(self, index: int, piece: bytes) -> None:
        self.sizes[index] += len(piece)
        if index < len(self.layers) - 1 and self.sizes[index] > self.limit:
            raise too_large(self.limit)


async def read_body(response: httpx.Response, limit: int, truncate: bool = False) -> bytes:
    """The decoded body, refused (or with `truncate` cut) once past `limit` bytes, on the
    wire or after any layer of decoding; never holds much more than `limit` bytes."""
    decoder = BodyDecoder(response.headers.get_list("content-encoding", split_commas=True), limit)
    body = bytearray()
    wire = 0

    def add(pieces: Iterator[bytes]) -> bool:
        for piece in pieces:
            body.extend(piece)
            if len(body) > limit:
                if not truncate:
                    raise too_large(limit)
                del body[limit:]
                return False
        return True

    async for chunk in response.aiter_raw():
        wire += len(chunk)
        if not add(decoder.decode(chunk)):
            return bytes(body)
        if wire > limit:
            if truncate:
                return bytes(body)
            raise too_large(limit)
    add(decoder.flush())
    return bytes(body)


class HostGate:
    """Per-host concurrency cap and delay between request starts, adapting to the server.

    The delay for a host is the largest of `--delay`, its robots.txt Crawl-delay and a
    back-off that grows when the server answers 429/503 or slows down, and decays again
    while it answers quickly.
    """

    MAX_BACKOFF = 30.0

    def __init__(self, per_host: int, delay: float) -> None:
        self.per_host, self.delay = per_host, delay
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._crawl_delay: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._latency: dict[str, float] = {}

    def host_delay(self, host: str) -> float:
        return max(self.delay, self._crawl_delay.get(host, 0.0), self._backoff.get(host, 0.0))

    def set_crawl_delay(self, host: str, seconds: float) -> None:
        self._crawl_delay[host] = seconds

    def slow_down(self, host: str) -> None:
        """The server said it is overloaded (429/503)."""
        current = self._backoff.get(host, 0.0)
        self._backoff[host] = min(max(current * 2, 1.0), self.MAX_BACKOFF)

    def observe(self, host: str, latency: float) -> None:
        """Latency well above the host's average means it is struggling: back off."""
        average = self._latency.get(host, latency)
        self._latency[host] = 0.8 * average + 0.2 * latency
        current = self._backoff.get(host, 0.0)
        if latency > 2 * average and latency > 0.5:
            self._backoff[host] = min(max(current * 1.5, latency / 2), self.MAX_BACKOFF)
        elif current:
            self._backoff[host] = current * 0.8 if current > 0.05 else 0.0

    @asynccontextmanager
    async def turn(self, host: str) -> AsyncIterator[None]:
        slot = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
        async with slot:
            async with self._locks.setdefault(host, asyncio.Lock()):
                # Looked at again after each sleep: a Retry-After that another slot got
                # meanwhile moves the time on, and holds this slot too.
                while (wait := self._next.get(host, 0.0) - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                self._next[host] = time.monotonic() + self.host_delay(host)
            yield

    def hold_off(self, host: str, seconds: float) -> None:
        """The server asked us to wait (Retry-After): nobody asks this host before then."""
        self._next[host] = max(self._next.get(host, 0.0), time.monotonic() + seconds)


def retry_after(value: str | None, cap: float) -> float | None:
    """Retry-After as seconds or an HTTP-date, capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), cap)


def _describe(exc: httpx.HTTPError) -> tuple[str, str]:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connect", _connect_reason(exc)
    return "network", str(exc) or type(exc).__name__


def _connect_reason(exc: BaseException) -> str:
    """httpx says "All connection attempts failed"; the OS error below says why."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host not found"
        if isinstance(seen, OSError) and seen.strerror:
            return str(seen.strerror).lower()
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    if "name" in text or "resolution" in text:
        return "host not found"
    return text or "connection failed"


Hop = Callable[[str], Awaitable[None]]
"""Asked before a redirect is followed to the URL: raises FetchError to refuse it."""


class Fetcher:
    """Use as `async with Fetcher(config, scope) as f: await f.fetch(url)`."""

    def __init__(self, config: FetchConfig, scope: Scope) -> None:
        self.config, self.scope = config, scope
        self.gate = HostGate(config.per_host, config.delay)
        self._client: httpx.AsyncClient | None = None
        self.on_exchange: Callable[[FetchResult, dict[str, str]], None] | None = None
        self.metadata_errors: dict[str, str] = {}  # why get_bytes answered status 0

    async def __aenter__(self) -> Fetcher:
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout),
            headers={
                "User-Agent": self.config.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        allow: Hop | None = None,
    ) -> FetchResult:
        """GET with redirects followed by hand (to stay in scope, and only where `allow`
        lets them: each hop is a request of its own) and retries.

        With validators from an earlier run the request is conditional: an unchanged
        page answers 304 and costs no body.
        """
        chain: list[str] = []
        current = url
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        while True:
            result = await self._with_retries(current, headers if current == url else {})
            if result.status not in REDIRECTS:
                result.url, result.redirects = url, chain
                return result
            target = self._redirect_target(current, result, chain)
            if allow is not None:
                await allow(target)
            chain.append(current)
            current = target

    async def get_bytes(
        self,
        url: str,
        max_bytes: int = 512 * 1024,
        truncate: bool = False,
        allow: Hop | None = None,
    ) -> tuple[int, bytes]:
        """One polite GET for crawl metadata (robots.txt, sitemaps): (status, body).

        Redirects are followed by hand (up to 5, as RFC 9309 asks), in scope and where
        `allow` lets them; status 0 means the server could not be reached, missed the
        deadline, a redirect was refused, or the body was larger than `max_bytes` (with
        `truncate`, as for robots.txt, whose first 500 KiB RFC 9309 reads, it is cut).
        `metadata_errors[url]` says why.
        """
        current = url
        for hop in range(METADATA_REDIRECTS + 1):
            status, body, location = await self._get_metadata(url, current, max_bytes, truncate)
            target = resolve(current, location) if location else None
            if target is None or hop == METADATA_REDIRECTS:
                return status, body  # a 3xx here: redirected past the limit
            try:
                if not self.scope.allows(target):
                    raise FetchError(current, "scope", f"redirects out of scope to {target}")
                if allow is not None:
                    await allow(target)
            except FetchError as exc:
                self.metadata_errors[url] = exc.message
                return 0, b""
            current = target
        raise AssertionError("unreachable")

    async def _get_metadata(
        self, url: str, current: str, max_bytes: int, truncate: bool
    ) -> tuple[int, bytes, str | None]:
        """One hop of `get_bytes(url)`: (status, body, Location of a redirect)."""
        assert self._client is not None, "Fetcher used outside 'async with'"
        async with self.gate.turn(host_of(current)):
            try:
                async with asyncio.timeout(self.config.deadline):
                    async with self._client.stream("GET", current) as response:
                        if response.status_code in REDIRECTS:
                            return response.status_code, b"", response.headers.get("location")
                        body = await read_body(response, max_bytes, truncate)
                        return response.status_code, body, None
            except httpx.HTTPError as exc:
                self.metadata_errors[url] = _describe(exc)[1]
            except BodyError as exc:
                self.metadata_errors[url] = exc.message
            except TimeoutError:
                self.metadata_errors[url] = self._missed_deadline()
            return 0, b"", None

    def _missed_deadline(self) -> str:
        return f"no complete response within the {self.config.deadline:g} s deadline"

    def _redirect_target(self, current: str, result: FetchResult, chain: list[str]) -> str:
        target = resolve(current, result.location or "")
        if target is None:
            raise FetchError(current, "redirect", "redirect without a usable Location")
        if target in chain or target == current:
            raise FetchError(current, "redirect", "redirect loop")
        if len(chain) >= self.config.max_redirects:
            raise FetchError(current, "redirect", "too many redirects")
        if not self.scope.allows(target):
            raise FetchError(current, "scope", f"redirects out of scope to {target}")
        return target

    async def _with_retries(self, url: str, headers: dict[str, str]) -> FetchResult:
        host = host_of(url)
        for attempt in range(self.config.retries + 1):
            try:
                async with self.gate.turn(host):
                    started = time.monotonic()
                    result = await self._get(url, headers)
                    latency = time.monotonic() - started
                    self.gate.observe(host, latency)
                    log.debug("GET %s -> %d (%.2f s)", url, result.status, latency)
                    return result
            except _Retry as retry:
                log.debug("GET %s failed: %s (attempt %d)", url, retry.error.message, attempt + 1)
                if retry.overloaded:
                    self.gate.slow_down(host)
                if retry.wait is not None:  # the server's word holds for the whole host
                    self.gate.hold_off(host, retry.wait)
                if attempt == self.config.retries:
                    raise retry.error from None
                if retry.wait is None:
                    backoff = self.config.backoff * 2**attempt * (0.5 + random.random())
                    self.gate.hold_off(host, backoff)
        raise AssertionError("unreachable")

    async def _get(self, url: str, headers: dict[str, str]) -> FetchResult:
        """One request, bounded as a whole: --timeout alone lets a server that sends a byte
        now and then hold it for ever."""
        try:
            async with asyncio.timeout(self.config.deadline):
                return await self._exchange(url, headers)
        except TimeoutError:
            raise FetchError(url, "deadline", self._missed_deadline()) from None

    async def _exchange(self, url: str, headers: dict[str, str]) -> FetchResult:
        assert self._client is not None, "Fetcher used outside 'async with'"
        fetched_at = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status in RETRY_STATUSES:
                    wait = retry_after(
                        response.headers.get("retry-after"), self.config.max_retry_after
                    )
                    overloaded = status in (429, 503)
                    raise _Retry(FetchError(url, "http", f"HTTP {status}"), wait, overloaded)
                result = FetchResult(
                    url,
                    url,
                    status,
                    response.headers.get("content-type"),
                    b"",
                    [],
                    fetched_at,
                    response.headers.get("location"),
                    list(response.headers.multi_items()),
                    response.reason_phrase,
                )
                if status == 304 or status in REDIRECTS:
                    return self._record(result, headers)
                if status >= 400:
                    raise FetchError(url, "http", f"HTTP {status}")
                if not result.html:
                    return result
                result.body = await self._read_capped(url, response)
                return self._record(result, headers)
        except httpx.HTTPError as exc:
            kind, message = _describe(exc)
            raise _Retry(FetchError(url, kind, message)) from None

    def _record(self, result: FetchResult, request_headers: dict[str, str]) -> FetchResult:
        """Hand every exchange to the archive hook (WARC), if there is one."""
        if self.on_exchange is not None:
            self.on_exchange(result, request_headers)
        return result

    async def _read_capped(self, url: str, response: httpx.Response) -> bytes:
        limit = self.config.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(url, "too-large", f"larger than {limit} bytes")
        try:
            return await read_body(response, limit)
        except BodyError as exc:
            raise FetchError(url, exc.kind, exc.message) from None

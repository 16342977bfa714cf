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
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from .parse import is_html
from .settings import DEFAULT_USER_AGENT, DEFAULTS
from .urls import Scope, host_of, resolve
from .warc import REDACTED, secret_header

log = logging.getLogger("harvester")
ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
# Only encodings we inflate ourselves in bounded steps (see BodyDecoder).
ACCEPT_ENCODING = "gzip, deflate"
INFLATED = frozenset({"gzip", "x-gzip", "deflate"})
UNSUPPORTED = frozenset({"br", "zstd", "compress", "x-compress"})
MAX_ENCODINGS = 4  # each layer holds a 32 KiB window and more: a header cannot stack many
STEP = 64 * 1024  # the most one decoding step may produce
HTTP_ONLY = "#HttpOnly_"  # cookies.txt marks an HttpOnly cookie's line so
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
    headers: tuple[tuple[str, str], ...] = ()  # sent with every request (-H)
    cookies: CookieJar | None = None  # --cookies, as loaded from cookies.txt
    auth: tuple[str, str] | None = None  # basic auth: (user, password)
    proxy: str | None = None  # None: the standard proxy environment variables

    def secrets(self) -> list[str]:
        """What must never be shown: a password, a cookie or a secret header's value."""
        found = [self.auth[1]] if self.auth else []
        found += [value for name, value in self.headers if secret_header(name)]
        found += [c.value for c in self.cookies or () if c.value]
        proxy_password = urlsplit(self.proxy).password if self.proxy else None
        return [s for s in [*found, proxy_password] if s]


def without_password(url: str) -> str:
    """A URL as it may be shown: a proxy's user name kept, its password never."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))


def client_for(
    config: FetchConfig, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The HTTP client of a crawl, made from its settings; `transport` replaces the
    network (tests pass httpx.MockTransport). Without --proxy, HTTP(S)_PROXY, ALL_PROXY
    and NO_PROXY from the environment apply, as in curl and wget."""
    headers = httpx.Headers(
        {"User-Agent": config.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
    )
    for name, value in config.headers:
        headers[name] = value
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
        headers=headers,
        cookies=config.cookies,
        auth=httpx.BasicAuth(*config.auth) if config.auth else None,
        proxy=config.proxy,
        transport=transport,
    )


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
    request_headers: list[tuple[str, str]] = field(default_factory=list)  # as sent
    truncated: str | None = None  # why the body is not whole: WARC-Truncated's words
    purpose: str | None = None  # "robots.txt" or "sitemap": crawl metadata, not a page

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


class Body(bytearray):
    """A body as it is read: what was read so far stays here when reading stops (an
    error, a deadline), so that the archive holds it; `cut` when cut at the limit."""

    cut = False


async def read_body(
    response: httpx.Response, limit: int, truncate: bool = False, into: Body | None = None
) -> bytes:
    """The decoded body, refused (or with `truncate` cut) once past `limit` bytes, on the
    wire or after any layer of decoding; never holds much more than `limit` bytes."""
    decoder = BodyDecoder(response.headers.get_list("content-encoding", split_commas=True), limit)
    body = Body() if into is None else into
    wire = 0

    def add(pieces: Iterator[bytes]) -> bool:
        for piece in pieces:
            body.extend(piece)
            if len(body) > limit:
                del body[limit:]
                body.cut = True
                if not truncate:
                    raise too_large(limit)
                return False
        return True

    async for chunk in _raw(response):
        wire += len(chunk)
        if not add(decoder.decode(chunk)):
            return bytes(body)
        if wire > limit:
            body.cut = True
            if truncate:
                return bytes(body)
            raise too_large(limit)
    add(decoder.flush())
    return bytes(body)


def _raw(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body's bytes as sent. A response made whole in memory (httpx.MockTransport's,
    from `content=`) is already read, but its stream gives the same bytes again."""
    if response.is_stream_consumed and isinstance(response.stream, httpx.AsyncByteStream):
        return aiter(response.stream)
    return response.aiter_raw()


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

    def sent(self, host: str) -> None:
        """A request's headers are leaving now: the delay counts from here too. The turn
        was given a moment earlier (a connection to open, a busy event loop), and it is
        the server that must see the delay between the requests it gets."""
        self._next[host] = max(self._next.get(host, 0.0), time.monotonic() + self.host_delay(host))

    def wait_left(self, host: str) -> float:
        """Seconds until the host may be asked again: what a shared job's next holder of
        the host must wait too."""
        return max(0.0, self._next.get(host, 0.0) - time.monotonic())

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


@dataclass
class _Capture:
    """One exchange as it happens: kept so that it is archived once, whole or as far as
    it got (a body over the cap, past the deadline, or cut by the server)."""

    purpose: str | None = None
    result: FetchResult | None = None
    body: Body = field(default_factory=Body)
    archived: bool = False

    def start(self, url: str, response: httpx.Response) -> FetchResult:
        self.result = FetchResult(
            url,
            url,
            response.status_code,
            response.headers.get("content-type"),
            b"",
            [],
            datetime.now(UTC).isoformat(timespec="seconds"),
            response.headers.get("location"),
            list(response.headers.multi_items()),
            response.reason_phrase,
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.request.headers.raw],
            purpose=self.purpose,
        )
        return self.result


class Fetcher:
    """Use as `async with Fetcher(config, scope) as f: await f.fetch(url)`.

    The client is made from `config` on entry (over `transport` if given, e.g.
    httpx.MockTransport), or is the caller's own `client`, which the caller closes.
    """

    def __init__(
        self,
        config: FetchConfig,
        scope: Scope,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config, self.scope = config, scope
        self.gate = HostGate(config.per_host, config.delay)
        self._client, self._own_client, self._transport = client, client is None, transport
        self._secrets = config.secrets()
        self.on_exchange: Callable[[FetchResult], None] | None = None
        self.metadata_errors: dict[str, str] = {}  # why get_bytes answered status 0

    async def __aenter__(self) -> Fetcher:
        if self._client is None:
            self._client = client_for(self.config, self._transport)
            self._client.event_hooks["request"].append(self._sent)
        return self

    async def _sent(self, request: httpx.Request) -> None:
        """Each request tells the gate when its headers go out (httpcore's trace)."""
        host = request.url.host

        async def trace(event: str, info: dict[str, object]) -> None:
            if event.endswith("send_request_headers.started"):
                self.gate.sent(host)

        request.extensions["trace"] = trace

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

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
        purpose: str = "sitemap",
    ) -> tuple[int, bytes]:
        """One polite GET for crawl metadata (robots.txt, sitemaps): (status, body).

        Redirects are followed by hand (up to 5, as RFC 9309 asks), in scope and where
        `allow` lets them; status 0 means the server could not be reached, missed the
        deadline, a redirect was refused, or the body was larger than `max_bytes` (with
        `truncate`, as for robots.txt, whose first 500 KiB RFC 9309 reads, it is cut).
        `metadata_errors[url]` says why. Each hop is archived with its `purpose`.
        """
        current = url
        for hop in range(METADATA_REDIRECTS + 1):
            capture = _Capture(purpose)
            status, body, location = await self._get_metadata(
                url, current, max_bytes, truncate, capture
            )
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
        self, url: str, current: str, max_bytes: int, truncate: bool, capture: _Capture
    ) -> tuple[int, bytes, str | None]:
        """One hop of `get_bytes(url)`: (status, body, Location of a redirect)."""
        client = self._open()
        async with self.gate.turn(host_of(current)):
            try:
                async with asyncio.timeout(self.config.deadline):
                    async with client.stream("GET", current) as response:
                        result = capture.start(current, response)
                        if result.status in REDIRECTS:
                            self._archive(capture)
                            return result.status, b"", result.location
                        await read_body(response, max_bytes, truncate, capture.body)
                        self._archive(capture)
                        return result.status, result.body, None
            except httpx.HTTPError as exc:
                self._archive(capture, "disconnect")
                self.metadata_errors[url] = self._describe(exc)[1]
            except BodyError as exc:
                self._archive(capture, _truncation(exc))
                self.metadata_errors[url] = exc.message
            except TimeoutError:
                self._archive(capture, "time")
                self.metadata_errors[url] = self._missed_deadline()
            return 0, b"", None

    def _open(self) -> httpx.AsyncClient:
        assert self._client is not None, "Fetcher used outside 'async with'"
        return self._client

    def _missed_deadline(self) -> str:
        return f"no complete response within the {self.config.deadline:g} s deadline"

    def _describe(self, exc: httpx.HTTPError) -> tuple[str, str]:
        """What went wrong, without a credential that the error's text might quote."""
        kind, message = _describe(exc)
        for secret in self._secrets:
            message = message.replace(secret, REDACTED)
        return kind, message

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
        capture = _Capture()
        try:
            async with asyncio.timeout(self.config.deadline):
                return await self._exchange(url, headers, capture)
        except TimeoutError:
            self._archive(capture, "time")
            raise FetchError(url, "deadline", self._missed_deadline()) from None

    async def _exchange(self, url: str, headers: dict[str, str], capture: _Capture) -> FetchResult:
        client = self._open()
        try:
            async with client.stream("GET", url, headers=headers) as response:
                result = capture.start(url, response)
                if result.status >= 400:
                    await self._error_body(capture, response)
                    raise self._http_error(url, response)
                if result.status == 304 or result.status in REDIRECTS:
                    self._archive(capture)
                elif not result.html:  # listed, never read: archived without its body
                    self._archive(capture, "unspecified")
                else:
                    await self._read_capped(url, response, capture)
                    self._archive(capture)
                return result
        except httpx.HTTPError as exc:
            self._archive(capture, "disconnect")
            kind, message = self._describe(exc)
            raise _Retry(FetchError(url, kind, message)) from None

    async def _error_body(self, capture: _Capture, response: httpx.Response) -> None:
        """An error page is archived with its body (read only when archiving)."""
        truncated = None
        if self.on_exchange is not None:
            try:
                await read_body(response, self.config.max_bytes, True, capture.body)
            except BodyError as exc:
                truncated = _truncation(exc)
        self._archive(capture, truncated)

    def _http_error(self, url: str, response: httpx.Response) -> Exception:
        """A 4xx or 5xx: 429 and the 5xx that pass are retried."""
        status = response.status_code
        error = FetchError(url, "http", f"HTTP {status}")
        if status not in RETRY_STATUSES:
            return error
        wait = retry_after(response.headers.get("retry-after"), self.config.max_retry_after)
        return _Retry(error, wait, overloaded=status in (429, 503))

    def _archive(self, capture: _Capture, truncated: str | None = None) -> None:
        """The exchange as far as it got, to the archive hook (WARC) once, if there is one."""
        result = capture.result
        if result is None or capture.archived:
            return  # nothing was answered, or it is archived already
        capture.archived = True
        result.body = bytes(capture.body)
        result.truncated = truncated or ("length" if capture.body.cut else None)
        if self.on_exchange is not None:
            self.on_exchange(result)

    async def _read_capped(self, url: str, response: httpx.Response, capture: _Capture) -> None:
        limit = self.config.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            self._archive(capture, "length")
            raise FetchError(url, "too-large", f"larger than {limit} bytes")
        try:
            await read_body(response, limit, into=capture.body)
        except BodyError as exc:
            self._archive(capture, _truncation(exc))
            raise FetchError(url, exc.kind, exc.message) from None


def _truncation(error: BodyError) -> str:
    """WARC-Truncated for a body given up: over the cap is "length"."""
    return "length" if error.kind == "too-large" else "unspecified"


def load_cookies(path: Path) -> CookieJar:
    """The cookies of a Netscape cookies.txt (as curl, wget and browser extensions write
    it), session cookies included, expired ones left out. Raises OSError, or ValueError
    naming the line that is not a cookie (never its value)."""
    jar = CookieJar()
    now = time.time()
    text = path.read_text("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        http_only = line.startswith(HTTP_ONLY)
        line = line.removeprefix(HTTP_ONLY)
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise ValueError(f"line {number} is not a cookie (7 fields, separated by tabs)")
        domain, _, where, secure, expires, name, value = fields
        expiry = int(expires) if expires.strip().isdigit() and int(expires) > 0 else None
        if expiry is not None and expiry < now:
            continue
        dot = domain.startswith(".")
        rest = {"HttpOnly": ""} if http_only else {}
        jar.set_cookie(
            Cookie(
                0,
                name,
                value,
                None,
                False,
                domain,
                dot,
                dot,
                where,
                True,
                secure.upper() == "TRUE",
                expiry,
                expiry is None,
                None,
                None,
                rest,
            )
        )
    return jar

"""Fetch stage: polite, bounded HTTP with httpx. The only place that talks to servers."""

from __future__ import annotations

import asyncio
import email.utils
import random
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from . import __version__
from .parse import is_html
from .urls import Scope, host_of, resolve

DEFAULT_USER_AGENT = f"harvester/{__version__} (+https://pypi.org/project/harvester/)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class FetchConfig:
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 20.0
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    retries: int = 3
    backoff: float = 0.25
    max_retry_after: float = 60.0
    delay: float = 0.5
    per_host: int = 2
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

    @property
    def html(self) -> bool:
        return is_html(self.content_type)


class FetchError(Exception):
    """A URL that could not be fetched. `kind` groups errors in the summary."""

    def __init__(self, url: str, kind: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url, self.kind, self.message = url, kind, message


class _Retry(Exception):
    def __init__(self, error: FetchError, wait: float | None = None) -> None:
        self.error, self.wait = error, wait


class HostGate:
    """Per-host concurrency cap and minimum delay between request starts."""

    def __init__(self, per_host: int, delay: float) -> None:
        self.per_host, self.delay = per_host, delay
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def turn(self, host: str) -> AsyncIterator[None]:
        slot = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
        async with slot:
            async with self._locks.setdefault(host, asyncio.Lock()):
                wait = self._next.get(host, 0.0) - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._next[host] = time.monotonic() + self.delay
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


class Fetcher:
    """Use as `async with Fetcher(config, scope) as f: await f.fetch(url)`."""

    def __init__(self, config: FetchConfig, scope: Scope) -> None:
        self.config, self.scope = config, scope
        self.gate = HostGate(config.per_host, config.delay)
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout),
            headers={
                "User-Agent": self.config.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
            },
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def fetch(self, url: str) -> FetchResult:
        """GET with redirects followed by hand (to stay in scope) and retries."""
        chain: list[str] = []
        current = url
        while True:
            result = await self._with_retries(current)
            if result.status not in REDIRECTS:
                result.url, result.redirects = url, chain
                return result
            target = self._redirect_target(current, result, chain)
            chain.append(current)
            current = target

    async def get_bytes(self, url: str, max_bytes: int = 512 * 1024) -> tuple[int, bytes]:
        """One polite GET for crawl metadata (robots.txt, sitemaps): (status, body).

        Redirects are followed (up to 5, as RFC 9309 asks); status 0 means the server
        could not be reached or the body was larger than `max_bytes`.
        """
        assert self._client is not None, "Fetcher used outside 'async with'"
        async with self.gate.turn(host_of(url)):
            try:
                async with self._client.stream("GET", url, follow_redirects=True) as response:
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            return 0, b""
                        chunks.append(chunk)
                    return response.status_code, b"".join(chunks)
            except httpx.HTTPError:
                return 0, b""

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

    async def _with_retries(self, url: str) -> FetchResult:
        host = host_of(url)
        for attempt in range(self.config.retries + 1):
            try:
                async with self.gate.turn(host):
                    return await self._get(url)
            except _Retry as retry:
                if attempt == self.config.retries:
                    raise retry.error from None
                wait = retry.wait
                if wait is None:
                    wait = self.config.backoff * 2**attempt * (0.5 + random.random())
                self.gate.hold_off(host, wait)
        raise AssertionError("unreachable")

    async def _get(self, url: str) -> FetchResult:
        assert self._client is not None, "Fetcher used outside 'async with'"
        fetched_at = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            async with self._client.stream("GET", url) as response:
                status = response.status_code
                if status in RETRY_STATUSES:
                    wait = retry_after(
                        response.headers.get("retry-after"), self.config.max_retry_after
                    )
                    raise _Retry(FetchError(url, "http", f"HTTP {status}"), wait)
                if status in REDIRECTS:
                    return FetchResult(
                        url, url, status, None, b"", location=response.headers.get("location")
                    )
                if status >= 400:
                    raise FetchError(url, "http", f"HTTP {status}")
                content_type = response.headers.get("content-type")
                if not is_html(content_type):
                    return FetchResult(url, url, status, content_type, b"", [], fetched_at)
                body = await self._read_capped(url, response)
                return FetchResult(url, url, status, content_type, body, [], fetched_at)
        except httpx.HTTPError as exc:
            kind, message = _describe(exc)
            raise _Retry(FetchError(url, kind, message)) from None

    async def _read_capped(self, url: str, response: httpx.Response) -> bytes:
        limit = self.config.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(url, "too-large", f"larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():  # decompressed: caps bombs too
            size += len(chunk)
            if size > limit:
                raise FetchError(url, "too-large", f"larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

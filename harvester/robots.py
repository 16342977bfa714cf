"""robots.txt (RFC 9309): which URLs of an origin we may request, and how slowly.

One robots.txt per origin (scheme, host, port), fetched once and shared by every caller.
Parsing and matching are protego's; this module decides what a fetch outcome means.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from protego import Protego

from .urls import DEFAULT_PORTS, resolve

Getter = Callable[[str], Awaitable[tuple[int, bytes]]]
"""GET url -> (status, body); status 0 when unreachable, timed out or too large."""

PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")


@dataclass
class _Rules:
    """What one fetch of an origin's robots.txt says."""

    parsed: Protego | None = None  # None: no restrictions, or none allowed (closed)
    closed: bool = False  # robots.txt could not be read: nothing may be fetched
    retry_at: float = 0.0  # when a closed origin's robots.txt is asked for again
    sitemaps: list[str] = field(default_factory=list)


def product_token(user_agent: str) -> str:
    """The product name that robots.txt groups are matched against, lower-cased:
    "harvester" of the header "harvester/0.1.0 (+https://...)"."""
    match = PRODUCT_TOKEN.match(user_agent.strip())
    return match.group().lower() if match else ""


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an http(s) URL, default port left out; None for others."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"


def group_name(parsed: Protego, token: str) -> str:
    """The name to query protego with so that it picks the group RFC 9309 says.

    protego picks the longest group name found in the name it is given, so "harvest"
    would rule "harvester". The RFC wants the product token matched whole (case-insensitive)
    and otherwise the "*" group, which is the only group that matches an empty name.
    """
    groups = getattr(parsed, "_user_agents", None)
    if not isinstance(groups, dict):
        return token  # a protego that keeps its groups elsewhere: its own choice
    return token if token in groups else ""


def read(status: int, body: bytes, robots_url: str, recheck_after: float) -> _Rules:
    """Turn one fetch outcome into rules: 2xx rules, 4xx (and 3xx) none, the rest all."""
    if 200 <= status < 300:
        parsed = Protego.parse(body.decode("utf-8-sig", errors="replace"))
        return _Rules(parsed, sitemaps=_absolute(parsed.sitemaps, robots_url))
    if 300 <= status < 500 and status != 429:
        return _Rules()  # unavailable (or redirected past the limit): no restrictions
    return _Rules(closed=True, retry_at=time.monotonic() + recheck_after)


def _absolute(urls: Iterable[str], base: str) -> list[str]:
    found: list[str] = []
    for url in urls:
        absolute = resolve(base, url)
        if absolute is not None and absolute not in found:
            found.append(absolute)
    return found


class Robots:
    """Answers "may we fetch this URL?" for a crawl, one robots.txt fetch per origin.

    An origin whose robots.txt fails (5xx, 429, unreachable) is closed: nothing of it is
    fetched until, `recheck_after` seconds later, a call asks for robots.txt again.
    """

    def __init__(
        self, getter: Getter, user_agent: str, *, ignore: bool = False, recheck_after: float = 60.0
    ) -> None:
        self.getter, self.ignore, self.recheck_after = getter, ignore, recheck_after
        self.token = product_token(user_agent)
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: str) -> bool:
        """May this URL be requested? robots.txt itself always may."""
        if self.ignore or urlsplit(url).path == "/robots.txt":
            return True
        rules = await self._for(url)
        if rules is None or rules.closed:
            return False
        if rules.parsed is None:
            return True
        return rules.parsed.can_fetch(url, group_name(rules.parsed, self.token))

    def unavailable(self, url: str) -> bool:
        """True when the origin is closed because its robots.txt could not be read."""
        origin = origin_of(url)
        rules = self._rules.get(origin) if origin else None
        return rules is not None and rules.closed

    async def crawl_delay(self, url: str) -> float | None:
        """Seconds between requests that our group asks for at the URL's origin."""
        rules = None if self.ignore else await self._for(url)
        if rules is None or rules.parsed is None:
            return None
        return rules.parsed.crawl_delay(group_name(rules.parsed, self.token))

    async def sitemaps(self, url: str) -> list[str]:
        """The Sitemap: URLs of the origin's robots.txt, absolute and normalised."""
        rules = None if self.ignore else await self._for(url)
        return list(rules.sitemaps) if rules is not None else []

    async def _for(self, url: str) -> _Rules | None:
        """The origin's rules, fetched on first use (one fetch for concurrent callers)."""
        origin = origin_of(url)
        if origin is None:
            return None
        rules = self._rules.get(origin)
        if rules is not None and not self._stale(rules):
            return rules
        async with self._locks.setdefault(origin, asyncio.Lock()):
            rules = self._rules.get(origin)
            if rules is None or self._stale(rules):
                robots_url = f"{origin}/robots.txt"
                status, body = await self.getter(robots_url)
                rules = read(status, body, robots_url, self.recheck_after)
                self._rules[origin] = rules
            return rules

    @staticmethod
    def _stale(rules: _Rules) -> bool:
        return rules.closed and time.monotonic() >= rules.retry_at

"""Crawl state behind small interfaces: frontier, seen-set, per-site statistics.

The stages only see these protocols, so an embedded or a shared (Redis) store can
replace the in-memory ones without touching fetch, parse, extract, dedup or emit.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FrontierItem:
    url: str
    depth: int = 0


class Frontier(Protocol):
    """URLs waiting to be fetched. `pop` leases an item; `ack` says it is done."""

    def push(self, item: FrontierItem) -> None: ...
    def pop(self) -> FrontierItem | None: ...
    def ack(self, url: str) -> None: ...
    def __len__(self) -> int: ...


class SeenSet(Protocol):
    """Canonical URLs already queued or fetched: one fetch per URL."""

    def add(self, url: str) -> bool:
        """True if the URL was new."""
        ...

    def __contains__(self, url: object) -> bool: ...


class SiteStats(Protocol):
    """Counters per site, for the summary and for politeness decisions."""

    def incr(self, site: str, name: str, amount: int = 1) -> None: ...
    def get(self, site: str) -> dict[str, int]: ...


class MemoryFrontier:
    def __init__(self) -> None:
        self._queue: deque[FrontierItem] = deque()
        self._leased: dict[str, FrontierItem] = {}

    def push(self, item: FrontierItem) -> None:
        self._queue.append(item)

    def pop(self) -> FrontierItem | None:
        if not self._queue:
            return None
        item = self._queue.popleft()
        self._leased[item.url] = item
        return item

    def ack(self, url: str) -> None:
        self._leased.pop(url, None)

    def __len__(self) -> int:
        return len(self._queue)


class MemorySeenSet:
    def __init__(self) -> None:
        self._urls: set[str] = set()

    def add(self, url: str) -> bool:
        if url in self._urls:
            return False
        self._urls.add(url)
        return True

    def __contains__(self, url: object) -> bool:
        return url in self._urls


class MemorySiteStats:
    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}

    def incr(self, site: str, name: str, amount: int = 1) -> None:
        self._counts.setdefault(site, Counter())[name] += amount

    def get(self, site: str) -> dict[str, int]:
        return dict(self._counts.get(site, Counter()))

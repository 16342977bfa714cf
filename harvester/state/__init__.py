"""Crawl state behind small interfaces: frontier, seen-set, per-site statistics, pages.

The stages only see these protocols, so the in-memory store, the embedded SQLite one
(`state.sqlite`) or a shared one can be swapped without touching the stages.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..changes import Event, Known
from ..models import Page
from ..sinks import DeadLetter


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
    def idle(self) -> float | None:
        """Seconds to wait before popping again when `pop` found nothing; None when
        nothing more will come (only a shared frontier waits for other workers)."""
        ...


@runtime_checkable
class SharedFrontier(Frontier, Protocol):
    """A frontier that workers on many machines share by leasing hosts (state/job.py)."""

    wait_left: Callable[[str], float]  # this worker's delay left for a host, handed on

    def hold(self, hosts: list[str]) -> None:
        """Lease these hosts now (the seeds', while their sitemaps are read)."""
        ...

    def begun(self) -> None:
        """The seeds and sitemaps are queued: the run is under way."""
        ...

    def finished_sites(self) -> list[str]:
        """Sites whose last URL this worker just handled."""
        ...


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

    def idle(self) -> float | None:
        return None

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


@dataclass
class StoredPage:
    page: Page
    etag: str | None = None
    last_modified: str | None = None


class PageStore(Protocol):
    """Extracted pages of a crawl, with what a conditional request needs to revalidate them.

    Pages are stored per run: `put` and `keep` mark a page as part of the current run,
    `current` lists those, so a page gone from the site drops out of the next run's output.
    """

    def put(self, stored: StoredPage) -> None: ...
    def get(self, url: str) -> StoredPage | None: ...
    def keep(self, url: str) -> None: ...
    def current(self) -> Iterator[Page]: ...
    def count(self) -> int: ...
    def redirect(self, source: str, target: str) -> None: ...
    def redirects(self) -> dict[str, list[str]]: ...
    def fail(self, url: str, kind: str, message: str) -> None: ...
    def failures(self) -> list[tuple[str, str, str]]: ...


class EmitLog(Protocol):
    """What earlier runs emitted (record id -> content hash): emit only what changed."""

    def emitted(self, record_id: str) -> str | None: ...
    def mark(self, record_id: str, content_hash: str) -> None: ...


class ChangeLog(Protocol):
    """What each record of the site was, the events that changed it (an outbox, in
    order), and how far each sink has delivered them.

    `record` is called inside the state's transaction, so that an event is appended in
    the same transaction that records the record's new state: a crash loses neither.
    """

    def known(self, record_id: str) -> Known | None: ...
    def all_known(self) -> list[Known]: ...
    def record(self, event: Event, now: Known | None) -> None: ...
    def events_after(self, seq: int, limit: int) -> list[tuple[int, Event]]: ...
    def cursor(self, sink: str) -> int: ...
    def advance(self, sink: str, seq: int) -> None: ...
    def dead_letter(self, sink: str, letter: DeadLetter) -> None: ...
    def dead_letters(self) -> list[tuple[str, DeadLetter]]: ...


class CrawlState(Protocol):
    frontier: Frontier
    seen: SeenSet
    stats: SiteStats
    pages: PageStore
    log: EmitLog
    changes: ChangeLog

    def transaction(self) -> AbstractContextManager[None]: ...
    def start(self, seeds: list[str]) -> RunStart: ...
    def crawl_done(self) -> None: ...
    def run_done(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class RunStart:
    """How a run begins: fresh, resuming an interrupted run, or revisiting a finished one."""

    resumed: bool
    incremental: bool
    joined: bool = False  # a worker of a shared job (state/job.py)


class MemoryPageStore:
    def __init__(self) -> None:
        self._pages: dict[str, StoredPage] = {}
        self._current: dict[str, None] = {}
        self._redirects: dict[str, list[str]] = {}
        self._failures: list[tuple[str, str, str]] = []

    def put(self, stored: StoredPage) -> None:
        self._pages[stored.page.url] = stored
        self._current[stored.page.url] = None

    def get(self, url: str) -> StoredPage | None:
        return self._pages.get(url)

    def keep(self, url: str) -> None:
        self._current[url] = None

    def current(self) -> Iterator[Page]:
        for url in list(self._current):
            yield self._pages[url].page

    def count(self) -> int:
        return len(self._current)

    def redirect(self, source: str, target: str) -> None:
        self._redirects.setdefault(target, []).append(source)

    def redirects(self) -> dict[str, list[str]]:
        return self._redirects

    def fail(self, url: str, kind: str, message: str) -> None:
        self._failures.append((url, kind, message))

    def failures(self) -> list[tuple[str, str, str]]:
        return list(self._failures)


class MemoryEmitLog:
    def __init__(self) -> None:
        self._hashes: dict[str, str] = {}

    def emitted(self, record_id: str) -> str | None:
        return self._hashes.get(record_id)

    def mark(self, record_id: str, content_hash: str) -> None:
        self._hashes[record_id] = content_hash


class MemoryChangeLog:
    def __init__(self) -> None:
        self._known: dict[str, Known] = {}
        self._events: list[Event] = []
        self._cursors: dict[str, int] = {}
        self._dead: list[tuple[str, DeadLetter]] = []

    def known(self, record_id: str) -> Known | None:
        return self._known.get(record_id)

    def all_known(self) -> list[Known]:
        return list(self._known.values())

    def record(self, event: Event, now: Known | None) -> None:
        self._events.append(event)
        if now is None:
            self._known.pop(event.record_id, None)
        else:
            self._known[event.record_id] = now

    def events_after(self, seq: int, limit: int) -> list[tuple[int, Event]]:
        return [(k + 1, e) for k, e in enumerate(self._events[seq : seq + limit], start=seq)]

    def cursor(self, sink: str) -> int:
        return self._cursors.get(sink, 0)

    def advance(self, sink: str, seq: int) -> None:
        self._cursors[sink] = seq

    def dead_letter(self, sink: str, letter: DeadLetter) -> None:
        self._dead.append((sink, letter))

    def dead_letters(self) -> list[tuple[str, DeadLetter]]:
        return list(self._dead)


class MemoryState:
    """Everything in memory: one run, nothing to resume. The library's default."""

    def __init__(self) -> None:
        self.frontier: Frontier = MemoryFrontier()
        self.seen: SeenSet = MemorySeenSet()
        self.stats: SiteStats = MemorySiteStats()
        self.pages: PageStore = MemoryPageStore()
        self.log: EmitLog = MemoryEmitLog()
        self.changes: ChangeLog = MemoryChangeLog()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    def start(self, seeds: list[str]) -> RunStart:
        return RunStart(resumed=False, incremental=False)

    def crawl_done(self) -> None:
        pass

    def run_done(self) -> None:
        pass

    def close(self) -> None:
        pass

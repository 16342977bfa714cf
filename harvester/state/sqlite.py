"""Crawl state in one SQLite file: resume after a crash, revisit a finished crawl.

WAL mode and one transaction per handled page: a process killed at any point leaves
the file consistent, and a URL leased but not acked goes back to the queue on restart.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..changes import Event, Known
from ..models import Page
from ..sinks import DeadLetter
from . import (
    ChangeLog,
    EmitLog,
    Frontier,
    FrontierItem,
    PageStore,
    RunStart,
    SeenSet,
    SiteStats,
    StoredPage,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS seen (url TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS frontier (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT UNIQUE, depth INTEGER, leased REAL);
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, run INTEGER, seq INTEGER, etag TEXT, last_modified TEXT, page TEXT);
CREATE TABLE IF NOT EXISTS redirects (source TEXT PRIMARY KEY, target TEXT, run INTEGER);
CREATE TABLE IF NOT EXISTS failures (url TEXT PRIMARY KEY, kind TEXT, message TEXT, run INTEGER);
CREATE INDEX IF NOT EXISTS pages_run_seq ON pages (run, seq);
CREATE TABLE IF NOT EXISTS emitted (id TEXT PRIMARY KEY, hash TEXT);
CREATE TABLE IF NOT EXISTS stats (site TEXT, name TEXT, value INTEGER, PRIMARY KEY (site, name));
CREATE TABLE IF NOT EXISTS known (
    id TEXT PRIMARY KEY, url TEXT, hash TEXT, fields TEXT, aliases TEXT);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT);
CREATE TABLE IF NOT EXISTS cursors (sink TEXT PRIMARY KEY, seq INTEGER);
CREATE TABLE IF NOT EXISTS dead_letters (
    sink TEXT, event_id TEXT, status INTEGER, message TEXT, PRIMARY KEY (sink, event_id));
"""


class StateError(OSError):
    """The state file cannot be opened or is not a harvester state file."""


class SqliteState:
    """All crawl state in one file; see `CrawlState` for the contract."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StateError(f"cannot use state file {path}: {exc}") from None
        self.path = path
        self.frontier: Frontier = _Frontier(self.db)
        self.seen: SeenSet = _Seen(self.db)
        self.stats: SiteStats = _Stats(self.db)
        self.pages: PageStore = _Pages(self.db, self)
        self.log: EmitLog = _Log(self.db)
        self.changes: ChangeLog = _Changes(self.db)
        self.run = int(self._meta("run") or 0)
        self.seq = int(self.db.execute("SELECT coalesce(max(seq), 0) FROM pages").fetchone()[0])
        self._depth = 0

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            yield
            return
        self._depth += 1
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth -= 1

    def start(self, seeds: list[str]) -> RunStart:
        """Resume an unfinished run as it was; otherwise begin a new run from the seeds."""
        status = self._meta("status")
        if status in ("crawling", "emitting"):
            self.db.execute("UPDATE frontier SET leased = NULL")
            return RunStart(resumed=True, incremental=self.run > 1)
        with self.transaction():
            self.run += 1
            self._set("run", str(self.run))
            self._set("status", "crawling")
            self.db.execute("DELETE FROM seen")
            self.db.execute("DELETE FROM frontier")
            self.db.execute("DELETE FROM stats")
        return RunStart(resumed=False, incremental=self.run > 1)

    def next_seq(self) -> int:
        """Crawl order of pages, counted here: max(seq) per insert would scan the table."""
        self.seq += 1
        return self.seq

    def crawl_done(self) -> None:
        self._set("status", "emitting")

    def run_done(self) -> None:
        self._set("status", "done")

    def close(self) -> None:
        self.db.close()


class _Frontier:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def push(self, item: FrontierItem) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO frontier (url, depth) VALUES (?, ?)", (item.url, item.depth)
        )

    def pop(self) -> FrontierItem | None:
        row = self.db.execute(
            "SELECT seq, url, depth FROM frontier WHERE leased IS NULL ORDER BY seq LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        self.db.execute("UPDATE frontier SET leased = ? WHERE seq = ?", (time.time(), row[0]))
        return FrontierItem(row[1], row[2])

    def ack(self, url: str) -> None:
        self.db.execute("DELETE FROM frontier WHERE url = ?", (url,))

    def idle(self) -> float | None:
        return None

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM frontier").fetchone()[0])


class _Seen:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def add(self, url: str) -> bool:
        return self.db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (url,)).rowcount == 1

    def __contains__(self, url: object) -> bool:
        return self.db.execute("SELECT 1 FROM seen WHERE url = ?", (url,)).fetchone() is not None


class _Stats:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def incr(self, site: str, name: str, amount: int = 1) -> None:
        self.db.execute(
            "INSERT INTO stats VALUES (?, ?, ?) "
            "ON CONFLICT (site, name) DO UPDATE SET value = value + excluded.value",
            (site, name, amount),
        )

    def get(self, site: str) -> dict[str, int]:
        rows = self.db.execute("SELECT name, value FROM stats WHERE site = ?", (site,))
        return dict(Counter({name: int(value) for name, value in rows}))


class _Pages:
    def __init__(self, db: sqlite3.Connection, state: SqliteState) -> None:
        self.db, self.state = db, state

    def put(self, stored: StoredPage) -> None:
        self.db.execute(
            "INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (url) DO UPDATE SET run = excluded.run, seq = excluded.seq,"
            " etag = excluded.etag, last_modified = excluded.last_modified, page = excluded.page",
            (
                stored.page.url,
                self.state.run,
                self.state.next_seq(),
                stored.etag,
                stored.last_modified,
                stored.page.to_json(),
            ),
        )

    def get(self, url: str) -> StoredPage | None:
        row = self.db.execute(
            "SELECT page, etag, last_modified FROM pages WHERE url = ?", (url,)
        ).fetchone()
        return StoredPage(Page.from_json(row[0]), row[1], row[2]) if row else None

    def keep(self, url: str) -> None:
        self.db.execute(
            "UPDATE pages SET run = ?, seq = ? WHERE url = ?",
            (self.state.run, self.state.next_seq(), url),
        )

    def current(self) -> Iterator[Page]:
        """Streamed: a pass over a large site holds one page at a time."""
        rows = self.db.execute(
            "SELECT page FROM pages WHERE run = ? ORDER BY seq", (self.state.run,)
        )
        while batch := rows.fetchmany(256):
            for row in batch:
                yield Page.from_json(row[0])

    def count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM pages WHERE run = ?", (self.state.run,))
        return int(row.fetchone()[0])

    def redirect(self, source: str, target: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO redirects VALUES (?, ?, ?)", (source, target, self.state.run)
        )

    def redirects(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        rows = self.db.execute(
            "SELECT source, target FROM redirects WHERE run = ? ORDER BY rowid", (self.state.run,)
        )
        for source, target in rows:
            found.setdefault(target, []).append(source)
        return found

    def fail(self, url: str, kind: str, message: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)",
            (url, kind, message, self.state.run),
        )

    def failures(self) -> list[tuple[str, str, str]]:
        rows = self.db.execute(
            "SELECT url, kind, message FROM failures WHERE run = ? ORDER BY rowid",
            (self.state.run,),
        )
        return [(str(u), str(k), str(m)) for u, k, m in rows]


class _Log:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def emitted(self, record_id: str) -> str | None:
        row = self.db.execute("SELECT hash FROM emitted WHERE id = ?", (record_id,)).fetchone()
        return str(row[0]) if row else None

    def mark(self, record_id: str, content_hash: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO emitted VALUES (?, ?)", (record_id, content_hash))


class _Changes:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def known(self, record_id: str) -> Known | None:
        row = self.db.execute(
            "SELECT id, url, hash, fields, aliases FROM known WHERE id = ?", (record_id,)
        ).fetchone()
        return _known(row) if row else None

    def all_known(self) -> list[Known]:
        rows = self.db.execute("SELECT id, url, hash, fields, aliases FROM known ORDER BY id")
        return [_known(row) for row in rows]

    def record(self, event: Event, now: Known | None) -> None:
        self.db.execute("INSERT INTO outbox (event) VALUES (?)", (event.to_json(),))
        if now is None:
            self.db.execute("DELETE FROM known WHERE id = ?", (event.record_id,))
            return
        self.db.execute(
            "INSERT OR REPLACE INTO known VALUES (?, ?, ?, ?, ?)",
            (
                now.record_id,
                now.url,
                now.content_hash,
                json.dumps(now.fields),
                json.dumps(list(now.aliases)),
            ),
        )

    def events_after(self, seq: int, limit: int) -> list[tuple[int, Event]]:
        rows = self.db.execute(
            "SELECT seq, event FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [(int(n), Event.from_dict(json.loads(text))) for n, text in rows]

    def cursor(self, sink: str) -> int:
        row = self.db.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
        return int(row[0]) if row else 0

    def advance(self, sink: str, seq: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?)", (sink, seq))

    def dead_letter(self, sink: str, letter: DeadLetter) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?)",
            (sink, letter.event_id, letter.status, letter.message),
        )

    def dead_letters(self) -> list[tuple[str, DeadLetter]]:
        rows = self.db.execute(
            "SELECT sink, event_id, status, message FROM dead_letters ORDER BY rowid"
        )
        return [(str(s), DeadLetter(str(e), int(c), str(m))) for s, e, c, m in rows]


def _known(row: tuple[str, str, str, str, str]) -> Known:
    return Known(row[0], row[1], row[2], json.loads(row[3]), tuple(json.loads(row[4])))

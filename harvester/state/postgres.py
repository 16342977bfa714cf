"""Crawl state in PostgreSQL: the same contract as the SQLite file, in tables that many
crawls (jobs) share, so that one database can hold the state of many sites.

Every row carries its job's name. The schema creates and upgrades itself:
`harvester_state_schema` holds the versions applied, and each migration runs in its own
transaction under an advisory lock, so two harvesters starting at once do not race.
Stored items are JSON text (never pickle): any version of harvester, or another
program, can read them. Nothing is flushed on exit: each handled page is committed in
its own transaction, so a process killed at any point leaves the state consistent.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg

from ..changes import Event, Known
from ..models import Page
from ..sinks import DeadLetter
from ..sinks.postgres import one_line, url_secrets
from ..urls import host_of, site_key
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
from .sqlite import StateError

CONNECT_TIMEOUT = 10  # seconds, unless the URL says otherwise
MIGRATION_LOCK = 0x68737461  # advisory lock key held while the state schema is migrated
PAGE_BATCH = 256  # pages read per query when streaming a run's pages
SEEN_CACHE = 200_000  # seen URLs a process remembers (about 30 MB) before it starts over

# Migration n (1-based) takes the schema from version n - 1 to n. Append, never edit:
# databases in the field hold the versions already applied.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE crawl_jobs (
            job text PRIMARY KEY,
            run integer NOT NULL DEFAULT 0,
            status text,
            seeds jsonb NOT NULL DEFAULT '[]',
            updated_at timestamptz NOT NULL DEFAULT now()
        )""",
        "CREATE TABLE crawl_seen (job text, url text, PRIMARY KEY (job, url))",
        """CREATE TABLE crawl_frontier (
            job text, url text, seq bigserial, item jsonb NOT NULL, leased timestamptz,
            PRIMARY KEY (job, url)
        )""",
        "CREATE INDEX crawl_frontier_queue ON crawl_frontier (job, seq) WHERE leased IS NULL",
        "CREATE SEQUENCE crawl_page_seq",
        """CREATE TABLE crawl_pages (
            job text, url text, run integer NOT NULL, seq bigint NOT NULL,
            etag text, last_modified text, page text NOT NULL,
            PRIMARY KEY (job, url)
        )""",
        "CREATE INDEX crawl_pages_run_seq ON crawl_pages (job, run, seq)",
        """CREATE TABLE crawl_redirects (
            job text, source text, target text NOT NULL, run integer NOT NULL, id bigserial,
            PRIMARY KEY (job, source)
        )""",
        """CREATE TABLE crawl_failures (
            job text, url text, kind text NOT NULL, message text NOT NULL,
            run integer NOT NULL, id bigserial,
            PRIMARY KEY (job, url)
        )""",
        "CREATE TABLE crawl_emitted (job text, id text, hash text, PRIMARY KEY (job, id))",
        """CREATE TABLE crawl_stats (
            job text, site text, name text, value bigint NOT NULL,
            PRIMARY KEY (job, site, name)
        )""",
        """CREATE TABLE crawl_known (
            job text, id text, url text, hash text, fields text, aliases text,
            PRIMARY KEY (job, id)
        )""",
        """CREATE TABLE crawl_outbox (
            job text, seq bigserial, event text NOT NULL, PRIMARY KEY (job, seq)
        )""",
        "CREATE TABLE crawl_cursors (job text, sink text, seq bigint, PRIMARY KEY (job, sink))",
        """CREATE TABLE crawl_dead_letters (
            job text, sink text, event_id text, status integer, message text, id bigserial,
            PRIMARY KEY (job, sink, event_id)
        )""",
    ),
    (  # 2: shared jobs (state/job.py): hosts leased by workers, records kept in the store
        "ALTER TABLE crawl_jobs ADD COLUMN scope jsonb NOT NULL DEFAULT '{}'",
        "ALTER TABLE crawl_frontier ADD COLUMN host text, ADD COLUMN site text,"
        " ADD COLUMN worker text, ADD COLUMN stalls integer NOT NULL DEFAULT 0",
        "CREATE INDEX crawl_frontier_waiting ON crawl_frontier (job, host, seq)"
        " WHERE worker IS NULL",
        "CREATE INDEX crawl_frontier_site ON crawl_frontier (job, site)",
        "ALTER TABLE crawl_pages ADD COLUMN site text",
        "CREATE INDEX crawl_pages_site ON crawl_pages (job, site, run, seq)",
        """CREATE TABLE crawl_hosts (
            job text, host text, worker text, lease_until timestamptz,
            next_allowed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (job, host)
        )""",
        """CREATE TABLE crawl_workers (
            job text, worker text, started_at timestamptz NOT NULL DEFAULT now(),
            seen_at timestamptz NOT NULL DEFAULT now(), pages bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (job, worker)
        )""",
        """CREATE TABLE crawl_sites (
            job text, site text, deduped_seq bigint NOT NULL DEFAULT 0, PRIMARY KEY (job, site)
        )""",
        """CREATE TABLE crawl_records (
            job text, id text, site text NOT NULL, url text NOT NULL, seq bigint NOT NULL,
            record text NOT NULL, words integer NOT NULL, sketch bytea, folded_into text,
            PRIMARY KEY (job, id)
        )""",
        "CREATE INDEX crawl_records_site ON crawl_records (job, site)",
        """CREATE TABLE crawl_bands (
            job text, band smallint, hash bigint, id text, site text NOT NULL,
            PRIMARY KEY (job, band, hash, id)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
TABLES = (  # every table with rows of a job: what forgetting a job deletes
    "crawl_seen",
    "crawl_frontier",
    "crawl_pages",
    "crawl_redirects",
    "crawl_failures",
    "crawl_emitted",
    "crawl_stats",
    "crawl_known",
    "crawl_outbox",
    "crawl_cursors",
    "crawl_dead_letters",
    "crawl_hosts",
    "crawl_workers",
    "crawl_sites",
    "crawl_records",
    "crawl_bands",
    "crawl_jobs",
)


def host_name(url: str) -> str:
    """The database's host (and port): what an error may show of the URL."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port}" if parts.port else host


class PostgresState:
    """The crawl state of job `job` in a PostgreSQL database; see `CrawlState`."""

    def __init__(self, url: str, job: str, *, fresh: bool = False) -> None:
        """`fresh` forgets the job's earlier runs (`--fresh`)."""
        self.url, self.job = url, job
        self.name = host_name(url)
        self._secrets = url_secrets(url)
        self.conn = self._connect()
        self._depth = 0
        self.known: _Seen | None = None
        self.statements, self.db_seconds = 0, 0.0
        try:
            self._migrate()
            if fresh:
                self.forget()
        except BaseException:
            self.conn.close()
            raise
        row = self.one("SELECT run FROM crawl_jobs WHERE job = %s", [job])
        self.run = int(row[0]) if row else 0
        self.frontier: Frontier = _Frontier(self)
        self.known = _Seen(self)
        self.seen: SeenSet = self.known
        self.stats: SiteStats = _Stats(self)
        self.pages: PageStore = _Pages(self)
        self.log: EmitLog = _Log(self)
        self.changes: ChangeLog = _Changes(self)

    def _connect(self) -> psycopg.Connection[Any]:
        options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self.url:
            options["connect_timeout"] = CONNECT_TIMEOUT
        try:
            return psycopg.connect(self.url, **options)
        except psycopg.Error as exc:
            reason = one_line(exc, self._secrets)
            raise StateError(
                f"cannot connect to the crawl state on {self.name}: {reason}"
            ) from None

    def _error(self, exc: psycopg.Error) -> StateError:
        return StateError(f"crawl state on {self.name}: {one_line(exc, self._secrets)}")

    def x(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """One statement; a database error becomes a one-line StateError. Statements and
        their time are counted: the database's cost per page (bench/scale.py)."""
        began = time.perf_counter()
        try:
            return self.conn.execute(sql, params)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            self._count(began)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.x(sql, params).fetchone()

    def _migrate(self) -> None:
        """Apply the migrations this database lacks, one transaction each."""
        for version, statements in enumerate(MIGRATIONS, 1):
            with self.transaction():
                self.x("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
                self.x(
                    "CREATE TABLE IF NOT EXISTS harvester_state_schema ("
                    " version integer PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                row = self.one("SELECT max(version) FROM harvester_state_schema")
                current = row[0] if row and row[0] is not None else 0
                if current > SCHEMA_VERSION:
                    raise StateError(
                        f"the crawl state on {self.name} has schema version {current}, "
                        f"newer than this harvester's {SCHEMA_VERSION}: upgrade harvester"
                    )
                if current >= version:
                    continue
                for statement in statements:
                    self.x(statement)
                self.x("INSERT INTO harvester_state_schema (version) VALUES (%s)", [version])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; a nested call joins the outer one, as in SQLite."""
        if self._depth:
            yield
            return
        self._depth += 1
        try:
            with self._timed(self.conn.transaction()):
                yield
        except BaseException as exc:
            if self.known is not None:  # (None while migrating)
                self.known.forget()  # what it learnt in the transaction is undone
            if isinstance(exc, psycopg.Error):  # the commit itself failed
                raise self._error(exc) from None
            raise
        finally:
            self._depth -= 1

    @contextmanager
    def _timed(self, transaction: AbstractContextManager[Any]) -> Iterator[None]:
        """A transaction whose BEGIN and COMMIT count as statements, with their time."""
        began = time.perf_counter()
        with transaction:
            self._count(began)
            yield
            began = time.perf_counter()
        self._count(began)

    def _count(self, began: float) -> None:
        self.statements += 1
        self.db_seconds += time.perf_counter() - began

    def _status(self) -> str | None:
        row = self.one("SELECT status FROM crawl_jobs WHERE job = %s", [self.job])
        return str(row[0]) if row and row[0] is not None else None

    def _set_status(self, status: str) -> None:
        self.x(
            "UPDATE crawl_jobs SET status = %s, updated_at = now() WHERE job = %s",
            [status, self.job],
        )

    def exists(self) -> bool:
        """Whether a crawl of this job has started in this database."""
        return self.one("SELECT 1 FROM crawl_jobs WHERE job = %s", [self.job]) is not None

    def start(self, seeds: list[str]) -> RunStart:
        """Resume an unfinished run as it was; otherwise begin a new run from the seeds."""
        if self._status() in ("crawling", "emitting"):
            self.x("UPDATE crawl_frontier SET leased = NULL WHERE job = %s", [self.job])
            return RunStart(resumed=True, incremental=self.run > 1)
        with self.transaction():
            row = self.one(
                "INSERT INTO crawl_jobs (job, run, status, seeds) VALUES (%s, 1, 'crawling', %s)"
                " ON CONFLICT (job) DO UPDATE SET run = crawl_jobs.run + 1,"
                " status = 'crawling', seeds = excluded.seeds, updated_at = now()"
                " RETURNING run",
                [self.job, json.dumps(seeds)],
            )
            self.run = int(row[0])
            for table in ("crawl_seen", "crawl_frontier", "crawl_stats"):
                self.x(f"DELETE FROM {table} WHERE job = %s", [self.job])
        return RunStart(resumed=False, incremental=self.run > 1)

    def forget(self) -> None:
        """Delete every row of this job (`--fresh`): the next run starts over."""
        with self.transaction():
            for table in TABLES:
                self.x(f"DELETE FROM {table} WHERE job = %s", [self.job])
        self.run = 0

    def crawl_done(self) -> None:
        self._set_status("emitting")

    def run_done(self) -> None:
        self._set_status("done")

    def close(self) -> None:
        self.conn.close()


class _Part:
    """One of the state's protocols: its statements run on the state's connection."""

    def __init__(self, state: PostgresState) -> None:
        self.state, self.job = state, state.job

    def x(self, sql: str, *params: Any) -> psycopg.Cursor[Any]:
        return self.state.x(sql, [self.job, *params])

    def one(self, sql: str, *params: Any) -> Any:
        return self.x(sql, *params).fetchone()


class _Frontier(_Part):
    def push(self, item: FrontierItem) -> None:
        entry = json.dumps({"url": item.url, "depth": item.depth})
        self.x(
            "INSERT INTO crawl_frontier (job, url, item) VALUES (%s, %s, %s::jsonb)"
            " ON CONFLICT DO NOTHING",
            item.url,
            entry,
        )

    def pop(self) -> FrontierItem | None:
        """Lease the oldest waiting item; another worker skips the row while it is taken."""
        row = self.one(
            "UPDATE crawl_frontier SET leased = now() WHERE (job, url) = ("
            " SELECT job, url FROM crawl_frontier WHERE job = %s AND leased IS NULL"
            " ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING item::text"
        )
        if row is None:
            return None
        data = json.loads(row[0])
        return FrontierItem(str(data["url"]), int(data["depth"]))

    def ack(self, url: str) -> None:
        self.x("DELETE FROM crawl_frontier WHERE job = %s AND url = %s", url)

    def idle(self) -> float | None:
        return None

    def __len__(self) -> int:
        return int(self.one("SELECT count(*) FROM crawl_frontier WHERE job = %s")[0])


class _Seen(_Part):
    """A URL once seen stays seen for the run, so what this process learnt is asked of
    the database once: the menu links of every page cost one query per run, not per page."""

    def __init__(self, state: PostgresState) -> None:
        super().__init__(state)
        self.known: set[str] = set()
        self.run = state.run

    def forget(self) -> None:
        self.known = set()

    def _current(self) -> set[str]:
        if self.run != self.state.run:  # a new run forgets the last one's
            self.known, self.run = set(), self.state.run
        return self.known

    def add(self, url: str) -> bool:
        if url in self._current():
            return False
        cur = self.x("INSERT INTO crawl_seen VALUES (%s, %s) ON CONFLICT DO NOTHING", url)
        self._learn(url)
        return cur.rowcount == 1

    def _learn(self, url: str) -> None:
        if len(self.known) >= SEEN_CACHE:  # a big job's worker keeps a bounded memory
            self.known = set()
        self.known.add(url)

    def __contains__(self, url: object) -> bool:
        if not isinstance(url, str):
            return False
        if url in self._current():
            return True
        found = self.one("SELECT 1 FROM crawl_seen WHERE job = %s AND url = %s", url) is not None
        if found:
            self._learn(url)
        return found


class _Stats(_Part):
    def incr(self, site: str, name: str, amount: int = 1) -> None:
        self.x(
            "INSERT INTO crawl_stats VALUES (%s, %s, %s, %s) ON CONFLICT (job, site, name)"
            " DO UPDATE SET value = crawl_stats.value + excluded.value",
            site,
            name,
            amount,
        )

    def get(self, site: str) -> dict[str, int]:
        rows = self.x("SELECT name, value FROM crawl_stats WHERE job = %s AND site = %s", site)
        return dict(Counter({str(name): int(value) for name, value in rows}))


class _Pages(_Part):
    """Pages in crawl order: `seq` comes from one database sequence, so that workers
    sharing a job need no counter of their own."""

    def put(self, stored: StoredPage) -> None:
        self.x(
            "INSERT INTO crawl_pages VALUES"
            " (%s, %s, %s, nextval('crawl_page_seq'), %s, %s, %s, %s)"
            " ON CONFLICT (job, url) DO UPDATE SET run = excluded.run, seq = excluded.seq,"
            " etag = excluded.etag, last_modified = excluded.last_modified,"
            " page = excluded.page, site = excluded.site",
            stored.page.url,
            self.state.run,
            stored.etag,
            stored.last_modified,
            stored.page.to_json(),
            site_key(host_of(stored.page.url)),
        )

    def get(self, url: str) -> StoredPage | None:
        row = self.one(
            "SELECT page, etag, last_modified FROM crawl_pages WHERE job = %s AND url = %s", url
        )
        return StoredPage(Page.from_json(row[0]), row[1], row[2]) if row else None

    def keep(self, url: str) -> None:
        self.state.x(
            "UPDATE crawl_pages SET run = %s, seq = nextval('crawl_page_seq')"
            " WHERE job = %s AND url = %s",
            [self.state.run, self.job, url],
        )

    def current(self) -> Iterator[Page]:
        return pages_where(self.state, "job = %s AND run = %s", [self.job, self.state.run])

    def count(self) -> int:
        row = self.one(
            "SELECT count(*) FROM crawl_pages WHERE job = %s AND run = %s", self.state.run
        )
        return int(row[0])

    def redirect(self, source: str, target: str) -> None:
        self.x(
            "INSERT INTO crawl_redirects (job, source, target, run) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (job, source) DO UPDATE SET target = excluded.target,"
            " run = excluded.run, id = excluded.id",
            source,
            target,
            self.state.run,
        )

    def redirects(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        rows = self.x(
            "SELECT source, target FROM crawl_redirects WHERE job = %s AND run = %s ORDER BY id",
            self.state.run,
        )
        for source, target in rows:
            found.setdefault(target, []).append(source)
        return found

    def fail(self, url: str, kind: str, message: str) -> None:
        self.x(
            "INSERT INTO crawl_failures (job, url, kind, message, run) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (job, url) DO UPDATE SET kind = excluded.kind,"
            " message = excluded.message, run = excluded.run, id = excluded.id",
            url,
            kind,
            message,
            self.state.run,
        )

    def failures(self) -> list[tuple[str, str, str]]:
        rows = self.x(
            "SELECT url, kind, message FROM crawl_failures WHERE job = %s AND run = %s ORDER BY id",
            self.state.run,
        )
        return [(str(u), str(k), str(m)) for u, k, m in rows]


class _Log(_Part):
    def emitted(self, record_id: str) -> str | None:
        row = self.one("SELECT hash FROM crawl_emitted WHERE job = %s AND id = %s", record_id)
        return str(row[0]) if row else None

    def mark(self, record_id: str, content_hash: str) -> None:
        self.x(
            "INSERT INTO crawl_emitted VALUES (%s, %s, %s)"
            " ON CONFLICT (job, id) DO UPDATE SET hash = excluded.hash",
            record_id,
            content_hash,
        )


class _Changes(_Part):
    """Record ids sort byte-wise (COLLATE "C"), as in SQLite, whatever the database's
    collation."""

    def known(self, record_id: str) -> Known | None:
        row = self.one(
            "SELECT id, url, hash, fields, aliases FROM crawl_known WHERE job = %s AND id = %s",
            record_id,
        )
        return _known(row) if row else None

    def all_known(self) -> list[Known]:
        rows = self.x(
            "SELECT id, url, hash, fields, aliases FROM crawl_known WHERE job = %s"
            ' ORDER BY id COLLATE "C"'
        )
        return [_known(row) for row in rows]

    def record(self, event: Event, now: Known | None) -> None:
        self.x("INSERT INTO crawl_outbox (job, event) VALUES (%s, %s)", event.to_json())
        if now is None:
            self.x("DELETE FROM crawl_known WHERE job = %s AND id = %s", event.record_id)
            return
        self.x(
            "INSERT INTO crawl_known VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (job, id)"
            " DO UPDATE SET url = excluded.url, hash = excluded.hash,"
            " fields = excluded.fields, aliases = excluded.aliases",
            now.record_id,
            now.url,
            now.content_hash,
            json.dumps(now.fields),
            json.dumps(list(now.aliases)),
        )

    def events_after(self, seq: int, limit: int) -> list[tuple[int, Event]]:
        rows = self.x(
            "SELECT seq, event FROM crawl_outbox WHERE job = %s AND seq > %s ORDER BY seq LIMIT %s",
            seq,
            limit,
        )
        return [(int(n), Event.from_dict(json.loads(text))) for n, text in rows]

    def cursor(self, sink: str) -> int:
        row = self.one("SELECT seq FROM crawl_cursors WHERE job = %s AND sink = %s", sink)
        return int(row[0]) if row else 0

    def advance(self, sink: str, seq: int) -> None:
        self.x(
            "INSERT INTO crawl_cursors VALUES (%s, %s, %s)"
            " ON CONFLICT (job, sink) DO UPDATE SET seq = excluded.seq",
            sink,
            seq,
        )

    def dead_letter(self, sink: str, letter: DeadLetter) -> None:
        self.x(
            "INSERT INTO crawl_dead_letters (job, sink, event_id, status, message)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (job, sink, event_id) DO UPDATE SET"
            " status = excluded.status, message = excluded.message, id = excluded.id",
            sink,
            letter.event_id,
            letter.status,
            letter.message,
        )

    def dead_letters(self) -> list[tuple[str, DeadLetter]]:
        rows = self.x(
            "SELECT sink, event_id, status, message FROM crawl_dead_letters WHERE job = %s"
            " ORDER BY id"
        )
        return [(str(s), DeadLetter(str(e), int(c), str(m))) for s, e, c, m in rows]


def pages_where(state: PostgresState, condition: str, params: list[Any]) -> Iterator[Page]:
    """The stored pages that meet `condition`, in crawl order, streamed a batch at a time
    by key: other statements may run in between."""
    after = 0
    while True:
        rows = state.x(
            f"SELECT seq, page FROM crawl_pages WHERE {condition} AND seq > %s"
            " ORDER BY seq LIMIT %s",
            [*params, after, PAGE_BATCH],
        ).fetchall()
        for _, page in rows:
            yield Page.from_json(page)
        if len(rows) < PAGE_BATCH:
            return
        after = rows[-1][0]


def _known(row: tuple[str, str, str, str, str]) -> Known:
    return Known(row[0], row[1], row[2], json.loads(row[3]), tuple(json.loads(row[4])))


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresState", "host_name", "pages_where"]

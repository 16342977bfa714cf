"""A crawl that many workers on many machines share: one job in a PostgreSQL database.

Hosts are leased, not URLs. A worker claims a host whose `next_allowed_at` has passed
(`FOR UPDATE SKIP LOCKED`, in a statement of its own: no row lock is held across a
fetch), fetches that host's URLs under its own per-host cap and delay, and releases the
host with the time its delay ends: politeness holds across all workers together. A lease
lasts `lease` seconds and a heartbeat thread extends it; the host of a worker that died
is claimed again once its lease has expired, and the URLs that worker had in flight go
back to the queue, each counted as a stall. A URL that stalled `stall_limit` times is a
failure, not a loop.

Each handled page (its result, its new links) commits in one transaction, as in the
single-process state; queue entries are JSON; nothing is flushed on exit. The job ends
when the frontier is empty: every URL popped stays in it until its page is committed.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from ..models import Page, Record
from ..sinks.postgres import one_line, url_secrets
from ..urls import host_of, site_key
from . import FrontierItem, RunStart
from .postgres import PostgresState, pages_where
from .sqlite import StateError

log = logging.getLogger("harvester")
STARTING = "starting"
SHARE_EVERY = 2.0  # seconds between looks at a worker's fair share of the hosts
POLL = 0.2  # seconds between looks for a claimable host while others hold them
WAIT_FOR_JOB = 0.5  # seconds between looks for a job that has not started yet
JOB_LOCK = 0x68617276  # advisory lock class of a job's finishing steps
SITE_LOCK = 0x73697465  # advisory lock class of one site's dedup


@dataclass(frozen=True)
class WorkerOptions:
    """How one worker takes part in a job."""

    per_host: int = 2  # URLs of one host in flight at once (the per-host cap)
    hosts: int = 4  # hosts leased at once
    lease: float = 30.0  # seconds a lease lasts without a heartbeat
    stall_limit: int = 3  # stalls (in flight with a worker that died) before a URL fails


class JobDone(StateError):
    """`harvester work` on a job that has finished: nothing to do."""


class NoJob(StateError):
    """`harvester work` or `export` on a job that was never started."""


def worker_name() -> str:
    """Unique across machines and restarts: machine, process, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SharedJob(PostgresState):
    """One worker's view of a shared job; see the module's docstring."""

    def __init__(self, url: str, job: str, options: WorkerOptions | None = None) -> None:
        super().__init__(url, job)
        self.options = options or WorkerOptions()
        self.worker = worker_name()
        self.created = False  # this worker began the job's current run
        self.x("SET synchronous_commit = off")  # see `durable`
        self.hosts = _HostFrontier(self, self.options)
        self.frontier = self.hosts
        self._heartbeat: Heartbeat | None = None

    def wait_for_job(self, announce: Callable[[str], None]) -> None:
        """A worker started before its job: it waits for the job to begin, as a queue's
        consumer waits for work (`announce` says so once)."""
        if self.exists():
            return
        announce(f"waiting for job {self.job!r} to start on {self.name} (Ctrl-C to stop)")
        while not self.exists():
            time.sleep(WAIT_FOR_JOB)

    def start(self, seeds: list[str], scope: dict[str, Any] | None = None) -> RunStart:
        """Join the job's run; begin a new run when it has none under way and seeds are
        given (the first run, or one after the last finished). Raises NoJob or JobDone
        without seeds."""
        with self.transaction():
            row = self.one(
                "SELECT run, status FROM crawl_jobs WHERE job = %s FOR UPDATE", [self.job]
            )
            if row is None and not seeds:
                raise NoJob(
                    f"no job {self.job!r} on {self.name}: start it with "
                    f"`harvester crawl URL... --state … --job {self.job}`"
                )
            if row is not None and row[1] == "done" and not seeds:
                raise JobDone(
                    f"job {self.job!r} on {self.name} has finished: "
                    f"`harvester export --job {self.job}` writes its records"
                )
            if row is None or row[1] == "done":
                self._new_run(seeds, scope or {})
            else:
                self.run = int(row[0])
            self.x(
                "INSERT INTO crawl_workers (job, worker) VALUES (%s, %s)", [self.job, self.worker]
            )
        self._heartbeat = Heartbeat(self.url, self.job, self.worker, self.options.lease)
        self._heartbeat.start()
        return RunStart(resumed=not self.created, incremental=self.run > 1, joined=True)

    def _new_run(self, seeds: list[str], scope: dict[str, Any]) -> None:
        row = self.one(
            "INSERT INTO crawl_jobs (job, run, status, seeds, scope)"
            " VALUES (%s, 1, %s, %s, %s)"
            " ON CONFLICT (job) DO UPDATE SET run = crawl_jobs.run + 1,"
            " status = excluded.status, seeds = excluded.seeds, scope = excluded.scope,"
            " updated_at = now() RETURNING run",
            [self.job, f"{STARTING} {self.worker}", json.dumps(seeds), json.dumps(scope)],
        )
        self.run, self.created = int(row[0]), True
        for table in ("crawl_seen", "crawl_frontier", "crawl_stats", "crawl_hosts"):
            self.x(f"DELETE FROM {table} WHERE job = %s", [self.job])
        for table in ("crawl_sites", "crawl_records", "crawl_bands"):
            self.x(f"DELETE FROM {table} WHERE job = %s", [self.job])

    def durable(self) -> None:
        """This transaction's commit waits for the disk (PostgreSQL's default). A page's
        transaction does not: a commit that waits for the disk costs milliseconds, more
        than the rest of the page's statements together, and what a database server that
        crashes loses of such commits is its last moments of pages, consistently (never
        half a page): they are fetched again. A worker that dies loses nothing."""
        self.x("SET LOCAL synchronous_commit = on")

    def seeds_and_scope(self) -> tuple[list[str], dict[str, Any]]:
        """What the job was started with: a worker without seeds crawls the same scope."""
        row = self.one("SELECT seeds, scope FROM crawl_jobs WHERE job = %s", [self.job])
        if row is None:
            return [], {}
        return list(row[0]), dict(row[1])

    def status(self) -> str | None:
        """crawling, done, or starting (while the worker that began the run queues its
        seeds and reads the sitemaps)."""
        status = self._status()
        return STARTING if status and status.startswith(STARTING) else status

    def started(self) -> None:
        """The seeds and sitemaps are queued: the run is under way, and the seeds' hosts
        held beyond this worker's share (`hosts`) go back for the other workers."""
        self.x(
            "UPDATE crawl_jobs SET status = 'crawling', updated_at = now()"
            " WHERE job = %s AND status = %s",
            [self.job, f"{STARTING} {self.worker}"],
        )
        self.hosts.release_extra()

    def starting(self) -> bool:
        """Whether a live worker is still beginning the run: the frontier may be empty
        then, but the job is not done."""
        row = self.one(
            "SELECT 1 FROM crawl_jobs j JOIN crawl_workers w ON w.job = j.job"
            " AND j.status = 'starting ' || w.worker"
            " WHERE j.job = %s AND w.seen_at > now() - make_interval(secs => %s)",
            [self.job, self.options.lease],
        )
        return row is not None

    def crawl_done(self) -> None:
        """The job's end is decided by `finish`, once, under the job's lock."""

    def run_done(self) -> None:
        pass

    def close(self) -> None:
        """Stop the heartbeat and hand back what this worker holds: its hosts at once (a
        stopped worker does not make the others wait for its leases), the URLs it had in
        flight without counting a stall."""
        if self._heartbeat is not None:
            self._heartbeat.stop()
        log.info(
            "worker %s: %d statements, %.1f ms in the database",
            self.worker,
            self.statements,
            self.db_seconds * 1000,
        )
        try:
            if not self.conn.closed:
                self.hosts.release_all()
                self.x(
                    "DELETE FROM crawl_workers WHERE job = %s AND worker = %s",
                    [self.job, self.worker],
                )
        except StateError as exc:
            log.warning("%s", exc)
        finally:
            super().close()

    # --- the end of a site and of the job ---------------------------------------------

    @contextmanager
    def site_lock(self, site: str) -> Iterator[None]:
        """The site's dedup, one worker at a time (a transaction-scoped advisory lock)."""
        self.x("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [SITE_LOCK, f"{self.job}\n{site}"])
        yield

    @contextmanager
    def job_lock(self) -> Iterator[None]:
        self.x("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [JOB_LOCK, self.job])
        yield

    def stale_sites(self) -> list[str]:
        """Sites with pages of this run newer than their last dedup."""
        rows = self.x(
            "SELECT p.site FROM crawl_pages p LEFT JOIN crawl_sites s"
            " ON s.job = p.job AND s.site = p.site"
            " WHERE p.job = %s AND p.run = %s GROUP BY p.site, s.deduped_seq"
            " HAVING max(p.seq) > coalesce(s.deduped_seq, 0) ORDER BY p.site",
            [self.job, self.run],
        )
        return [str(site) for (site,) in rows]

    def site_pending(self, site: str) -> bool:
        """Whether the site still has URLs waiting or in flight."""
        row = self.one(
            "SELECT 1 FROM crawl_frontier WHERE job = %s AND site = %s LIMIT 1", [self.job, site]
        )
        return row is not None

    def newest_page(self, site: str) -> tuple[int, int]:
        """The sequence number of the site's newest page of this run (0: none), and how
        many pages it has."""
        row = self.one(
            "SELECT max(seq), count(*) FROM crawl_pages WHERE job = %s AND site = %s AND run = %s",
            [self.job, site, self.run],
        )
        return (int(row[0]), int(row[1])) if row and row[0] is not None else (0, 0)

    def site_pages(self, site: str, upto: int) -> Iterator[Page]:
        """The site's pages of this run up to sequence `upto`, in crawl order."""
        condition = "job = %s AND site = %s AND run = %s AND seq <= %s"
        return pages_where(self, condition, [self.job, site, self.run, upto])

    def deduped_seq(self, site: str) -> int:
        row = self.one(
            "SELECT deduped_seq FROM crawl_sites WHERE job = %s AND site = %s", [self.job, site]
        )
        return int(row[0]) if row else 0

    def put_site_records(self, site: str, records: list[StoredRecord], seq: int) -> None:
        """Replace the site's records and band hashes (in the caller's transaction)."""
        for table in ("crawl_records", "crawl_bands"):
            self.x(f"DELETE FROM {table} WHERE job = %s AND site = %s", [self.job, site])
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO crawl_records (job, id, site, url, seq, record, words, sketch)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        self.job,
                        r.record.id,
                        site,
                        r.record.url,
                        n,
                        _dumps(r.record),
                        r.words,
                        r.sketch,
                    )
                    for n, r in enumerate(records)
                ],
            )
            cur.executemany(
                "INSERT INTO crawl_bands VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [
                    (self.job, band, value, r.record.id, site)
                    for r in records
                    for band, value in enumerate(r.bands)
                ],
            )
        self.x(
            "INSERT INTO crawl_sites VALUES (%s, %s, %s) ON CONFLICT (job, site)"
            " DO UPDATE SET deduped_seq = excluded.deduped_seq",
            [self.job, site, seq],
        )

    def shared_bands(self) -> list[list[str]]:
        """Record ids that share a band hash with a record of another site."""
        rows = self.x(
            "SELECT array_agg(id ORDER BY id) FROM crawl_bands WHERE job = %s"
            " GROUP BY band, hash HAVING count(DISTINCT site) > 1",
            [self.job],
        )
        return [list(ids) for (ids,) in rows]

    def sketches(self, ids: list[str]) -> Iterator[tuple[str, str, str, int, str, bytes | None]]:
        """(id, site, url, words, title, sketch) of the given records."""
        rows = self.x(
            "SELECT id, site, url, words, record::json->>'title', sketch FROM crawl_records"
            " WHERE job = %s AND id = ANY(%s)",
            [self.job, ids],
        )
        for row in rows:
            yield str(row[0]), str(row[1]), str(row[2]), int(row[3]), row[4] or "", row[5]

    def set_folds(self, folded: dict[str, str]) -> None:
        """Record id -> the id of the record it is a copy of (on another site)."""
        self.x("UPDATE crawl_records SET folded_into = NULL WHERE job = %s", [self.job])
        with self.conn.cursor() as cur:
            cur.executemany(
                "UPDATE crawl_records SET folded_into = %s WHERE job = %s AND id = %s",
                [(keeper, self.job, copy) for copy, keeper in sorted(folded.items())],
            )

    def stored_records(self) -> Iterator[tuple[Record, str | None]]:
        """Every stored record of the job, by site and crawl order, with the id of the
        record it folds into (None for a kept one)."""
        rows = self.x(
            "SELECT record, folded_into FROM crawl_records WHERE job = %s ORDER BY site, seq",
            [self.job],
        )
        for text, folded_into in rows:
            yield Record.from_dict(json.loads(text)), folded_into

    def mark_done(self) -> None:
        self.x(
            "UPDATE crawl_jobs SET status = 'done', updated_at = now() WHERE job = %s", [self.job]
        )


@dataclass
class StoredRecord:
    """A record with what the cross-site fold compares: its length, sketch and bands."""

    record: Record
    words: int
    sketch: bytes | None
    bands: list[int]


def _dumps(record: Record) -> str:
    return json.dumps(record.to_dict(), ensure_ascii=False)


class _HostFrontier:
    """The frontier of a shared job: URLs are popped only from hosts this worker holds."""

    def __init__(self, state: SharedJob, options: WorkerOptions) -> None:
        self.state, self.job, self.options = state, state.job, options
        self.held: dict[str, int] = {}  # leased host -> its URLs in flight here
        self.known: set[str] = set()  # hosts with a row in crawl_hosts
        self.emptied: set[str] = set()  # sites a URL of which was just done: finished?
        self.next_claim = 0.0
        self.limit, self.shared_at = options.hosts, -math.inf
        self.leaving: set[str] = set()  # held beyond the share: no new URLs from them
        self.drained: set[str] = set()  # held, and nothing waiting when last asked
        self.wait_left: Callable[[str], float] = lambda host: 0.0  # the fetcher's delay

    def x(self, sql: str, *params: Any) -> psycopg.Cursor[Any]:
        """A statement whose first parameter is the job."""
        return self.state.x(sql, [self.job, *params])

    def push(self, item: FrontierItem) -> None:
        host = host_of(item.url)
        if host not in self.known:  # a held host's delay is passed on when it is released
            wait = self.wait_left(host)
            self.x(
                "INSERT INTO crawl_hosts (job, host, next_allowed_at)"
                " VALUES (%s, %s, now() + make_interval(secs => %s)) ON CONFLICT (job, host)"
                " DO UPDATE SET next_allowed_at ="
                " greatest(crawl_hosts.next_allowed_at, excluded.next_allowed_at)",
                host,
                wait,
            )
            self.known.add(host)
        self.drained.discard(host)
        entry = json.dumps({"url": item.url, "depth": item.depth})
        self.x(
            "INSERT INTO crawl_frontier (job, url, item, host, site)"
            " VALUES (%s, %s, %s::jsonb, %s, %s) ON CONFLICT DO NOTHING",
            item.url,
            entry,
            host,
            site_key(host),
        )

    def pop(self) -> FrontierItem | None:
        share = self.share()
        item = self._pop_held()
        if item is not None:
            return item
        self._release_idle()
        if len(self.held) >= share or time.monotonic() < self.next_claim:
            return None
        if self._claim() is None:
            self.next_claim = time.monotonic() + POLL
            return None
        return self._pop_held()

    def share(self) -> int:
        """Hosts this worker may hold: its fair share of the job's hosts among the live
        workers (at most `hosts`), looked at again every SHARE_EVERY seconds. Hosts held
        beyond it take no new URLs and go back once their requests are done, so that a
        worker that joins late gets its part."""
        now = time.monotonic()
        if now >= self.shared_at + SHARE_EVERY:
            row = self.state.one(
                "SELECT (SELECT count(*) FROM crawl_hosts WHERE job = %s),"
                " (SELECT count(*) FROM crawl_workers WHERE job = %s"
                " AND seen_at > now() - make_interval(secs => %s))",
                [self.job, self.job, self.options.lease],
            )
            hosts, workers = int(row[0]), max(int(row[1]), 1)
            self.limit = max(1, min(self.options.hosts, math.ceil(hosts / workers)))
            self.shared_at = now
            self.drained.clear()  # other workers may have queued URLs of held hosts
            busiest = sorted(self.held, key=lambda host: (-self.held[host], host))
            self.leaving = set(busiest[self.limit :])
        return self.limit

    def _pop_held(self) -> FrontierItem | None:
        """The oldest waiting URL of the held host with the fewest in flight. One host a
        statement, on its own index range: the cost does not grow with the frontier.
        A host found empty is skipped until this worker queues a URL of it, or until the
        share is looked at again (another worker may have queued one)."""
        ready = sorted(
            (n, host)
            for host, n in self.held.items()
            if n < self.options.per_host and host not in self.leaving | self.drained
        )
        for _, host in ready:
            row = self.state.one(
                "UPDATE crawl_frontier SET worker = %s, leased = now() WHERE (job, url) = ("
                " SELECT job, url FROM crawl_frontier f WHERE job = %s AND host = %s"
                " AND worker IS NULL AND EXISTS (SELECT 1 FROM crawl_hosts h"
                " WHERE h.job = f.job AND h.host = f.host AND h.worker = %s)"  # still ours
                " ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING item::text",
                [self.state.worker, self.job, host, self.state.worker],
            )
            if row is not None:
                self.held[host] += 1
                data = json.loads(row[0])
                return FrontierItem(str(data["url"]), int(data["depth"]))
            self.drained.add(host)
        return None

    def _claim(self) -> str | None:
        """Lease a host that is free (or whose lease expired) and due; hand back what a
        dead holder had in flight."""
        with self.state.transaction():
            row = self.state.one(
                "WITH picked AS (SELECT host, worker AS was FROM crawl_hosts h"
                " WHERE job = %s AND (worker IS NULL OR lease_until < now())"
                " AND next_allowed_at <= now() AND EXISTS (SELECT 1 FROM crawl_frontier f"
                " WHERE f.job = h.job AND f.host = h.host AND (f.worker IS NULL"
                " OR h.worker IS NOT NULL))"
                " ORDER BY next_allowed_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
                " UPDATE crawl_hosts h SET worker = %s,"
                " lease_until = now() + make_interval(secs => %s)"
                " FROM picked WHERE h.job = %s AND h.host = picked.host"
                " RETURNING h.host, picked.was",
                [self.job, self.state.worker, self.options.lease, self.job],
            )
            if row is None:
                return None
            host, was = str(row[0]), row[1]
            if was is not None:
                self._reap(host, str(was))
        self.held[host] = 0
        self.known.add(host)
        return host

    def _reap(self, host: str, was: str) -> None:
        """The host's lease expired with `was`: its URLs in flight go back to the queue,
        each with one more stall; one that stalled `stall_limit` times fails."""
        rows = self.x(
            "UPDATE crawl_frontier SET worker = NULL, leased = NULL, stalls = stalls + 1"
            " WHERE job = %s AND host = %s AND worker IS NOT NULL RETURNING url, stalls",
            host,
        ).fetchall()
        if rows:
            log.info("lease of %s expired with worker %s: %d URLs again", host, was, len(rows))
        self.x(
            "DELETE FROM crawl_workers WHERE job = %s AND worker = %s"
            " AND seen_at < now() - make_interval(secs => %s)",
            was,
            self.options.lease,
        )  # gone: the list of workers shows the live ones
        for url, stalls in rows:
            if stalls >= self.options.stall_limit:
                self.x("DELETE FROM crawl_frontier WHERE job = %s AND url = %s", url)
                message = f"in flight with {stalls} workers that stopped (--stall-limit)"
                self.state.pages.fail(url, "stalled", message)
                self.emptied.add(site_key(host))

    def ack(self, url: str) -> None:
        self.x("DELETE FROM crawl_frontier WHERE job = %s AND url = %s", url)
        host = host_of(url)
        if host in self.held:
            self.held[host] = max(0, self.held[host] - 1)
            if not self.held[host]:
                self.emptied.add(site_key(host))
                if host in self.leaving:  # beyond the share: its requests are done
                    self._release(host)

    def finished_sites(self) -> list[str]:
        """Sites a URL of which was just done here and that have nothing left to fetch."""
        done = sorted(s for s in self.emptied if not self.state.site_pending(s))
        self.emptied.clear()
        return done

    def begun(self) -> None:
        self.state.started()

    def hold(self, hosts: list[str]) -> None:
        """Lease these hosts now (the seeds' hosts, in the transaction that queues the
        seeds): nobody else fetches from them while this worker reads their sitemaps."""
        rows = self.state.x(
            "UPDATE crawl_hosts SET worker = %s, lease_until = now() + make_interval(secs => %s)"
            " WHERE job = %s AND host = ANY(%s) AND (worker IS NULL OR lease_until < now())"
            " RETURNING host",
            [self.state.worker, self.options.lease, self.job, hosts],
        )
        for (host,) in rows:
            self.held.setdefault(str(host), 0)

    def release_extra(self) -> None:
        """Hosts held beyond the share (the seeds' hosts, all held while their sitemaps
        are read) go back: one worker does not keep every site of a job to itself."""
        self.shared_at = -math.inf
        self.share()
        for host in [h for h in self.leaving if self.held.get(h) == 0]:
            self._release(host)

    def _release_idle(self) -> None:
        """Hosts held with nothing in flight here and nothing waiting (or beyond the
        share) go back, due again when this worker's delay for them ends."""
        for host in [h for h, n in self.held.items() if n == 0]:
            self._release(host)
        self.leaving &= self.held.keys()

    def _release(self, host: str) -> None:
        self.state.x(
            "UPDATE crawl_hosts SET worker = NULL, lease_until = NULL,"
            " next_allowed_at = now() + make_interval(secs => %s)"
            " WHERE job = %s AND host = %s AND worker = %s",
            [self.wait_left(host), self.job, host, self.state.worker],
        )
        del self.held[host]
        self.leaving.discard(host)
        self.drained.discard(host)

    def release_all(self) -> None:
        """On stopping: the URLs in flight here wait again (no stall), the hosts go back."""
        self.x(
            "UPDATE crawl_frontier SET worker = NULL, leased = NULL WHERE job = %s AND worker = %s",
            self.state.worker,
        )
        for host in list(self.held):
            self._release(host)

    def idle(self) -> float | None:
        """Seconds to wait before popping again; None when nothing is left to fetch."""
        if self.held:
            return POLL
        row = self.state.one("SELECT 1 FROM crawl_frontier WHERE job = %s LIMIT 1", [self.job])
        if row is None and not self.state.starting():
            return None
        return max(POLL, self.next_claim - time.monotonic())

    def __len__(self) -> int:
        row = self.state.one("SELECT count(*) FROM crawl_frontier WHERE job = %s", [self.job])
        return int(row[0])


class Heartbeat(threading.Thread):
    """Extends this worker's leases every third of a lease, on its own connection: a
    long page (or a long site dedup) in the crawl's thread does not let them expire."""

    def __init__(self, url: str, job: str, worker: str, lease: float) -> None:
        super().__init__(name="harvester-heartbeat", daemon=True)
        self.url, self.job, self.worker, self.lease = url, job, worker, lease
        self.every = max(lease / 3, 0.1)
        self.stopped = threading.Event()

    def run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while not self.stopped.wait(self.every):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                self.beat(conn)
            except psycopg.Error as exc:
                log.warning(
                    "heartbeat of worker %s: %s", self.worker, one_line(exc, url_secrets(self.url))
                )
        if conn is not None:
            conn.close()

    def beat(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            "UPDATE crawl_hosts SET lease_until = now() + make_interval(secs => %s)"
            " WHERE job = %s AND worker = %s",
            [self.lease, self.job, self.worker],
        )
        conn.execute(
            "UPDATE crawl_workers SET seen_at = now() WHERE job = %s AND worker = %s",
            [self.job, self.worker],
        )

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def hosts_for(concurrency: int) -> int:
    """Hosts a worker leases at most: one a request it may have in flight (most of the
    time a host's next request waits for its delay, not for a free slot)."""
    return max(1, concurrency)


__all__ = ["JobDone", "NoJob", "SharedJob", "StoredRecord", "WorkerOptions", "hosts_for"]

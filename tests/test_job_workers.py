"""Shared crawl jobs with real worker processes: `harvester crawl --job` and `harvester
work` on one PostgreSQL database, crawling loopback sites (tests/multihost.py) whose
servers log every request with the worker that made it (its X-Worker header).

A worker killed with SIGKILL loses nothing and only what it had in flight is fetched
again, after its lease; the per-host cap and delay hold across all the workers; a
chain's shared articles become one record each, the other sites' copies its aliases; a
job whose workers all stopped is finished by a worker started later.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from conftest import read_records, wait_until
from multihost import Chain, Hit, Log, serve_chain

JOB = "clinics"
Key = tuple[str, str]  # (host, path): a page as the server's log names it


class Team:
    """Harvester processes on one job, each tagging its requests with its name and
    logging (-v) to NAME.log; any still running at the end is killed."""

    def __init__(self, database: str, folder: Path) -> None:
        self.database, self.folder = database, folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "harvester", "-v", *args, "--workers", "0"]
        command += ["--state", self.database, "--job", JOB, "-H", f"X-Worker: {name}"]
        with (self.folder / f"{name}.log").open("wb") as stderr:
            proc = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=stderr, cwd=self.folder
            )
        self.procs[name] = proc
        return proc

    def crawl(self, name: str, seeds: list[str], *options: str) -> subprocess.Popen[bytes]:
        """The worker that starts the job (and writes its records when it is done)."""
        return self.start(name, "crawl", *seeds, *options, "-o", str(self.folder / "out.jsonl"))

    def work(self, name: str, *options: str) -> subprocess.Popen[bytes]:
        return self.start(name, "work", *options)

    def waiting(self, *names: str) -> None:
        """These `work` processes, started before the job, wait for it (they look for it
        every second)."""

        def ready() -> bool:
            return all(
                "waiting for job" in self.log(name) or self.procs[name].poll() is not None
                for name in names
            )

        wait_until(ready, 30)
        for name in names:
            assert self.procs[name].poll() is None, self.log(name)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text("utf-8", "replace")

    def finish(self, *names: str) -> None:
        """These workers end by themselves, each with exit code 0."""
        for name in names:
            code = self.procs[name].wait(90)
            assert code == 0, f"{name} exited with {code}:\n{self.log(name)[-3000:]}"

    def stop(self, sig: signal.Signals, *names: str) -> float:
        """Signal these workers and wait for them to end; returns when they had ended (a
        request they sent just as the signal went out is stamped a moment after it)."""
        for name in names:
            self.procs[name].send_signal(sig)
        for name in names:
            self.procs[name].wait(30)
        return time.monotonic()

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@contextmanager
def team_on(database: str, folder: Path) -> Iterator[Team]:
    team = Team(database, folder)
    try:
        yield team
    finally:
        team.kill_all()


def query(database: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database, autocommit=True) as conn:
        return conn.execute(sql.encode(), list(params)).fetchall()


def job_status(database: str) -> str:
    return str(query(database, "SELECT status FROM crawl_jobs WHERE job = %s", JOB)[0][0])


def held_by(database: str, proc: subprocess.Popen[bytes]) -> tuple[set[Key], set[str]]:
    """The URLs a worker had in flight and the hosts it leased, as the job's tables have
    them (a worker's name there is machine:pid:random)."""
    name = f"%:{proc.pid}:%"
    urls = query(
        database, "SELECT url FROM crawl_frontier WHERE job = %s AND worker LIKE %s", JOB, name
    )
    hosts = query(
        database, "SELECT host FROM crawl_hosts WHERE job = %s AND worker LIKE %s", JOB, name
    )
    return {key(url) for (url,) in urls}, {str(host) for (host,) in hosts}


def export(database: str, folder: Path) -> subprocess.CompletedProcess[str]:
    out = str(folder / "export.jsonl")
    return subprocess.run(
        [sys.executable, "-m", "harvester", "export", "--state", database, "--job", JOB, "-o", out],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=folder,
    )


def exported(database: str, folder: Path) -> list[dict[str, Any]]:
    done = export(database, folder)
    assert done.returncode == 0, done.stderr
    return read_records(folder / "export.jsonl")


def key(url: str) -> Key:
    parts = urlsplit(url)
    return parts.hostname or "", parts.path


def own_pages(seeds: list[str], chain: Chain) -> set[Key]:
    """Each site's home page and its pages p1 … p<pages-1>."""
    return {key(seed) for seed in seeds} | {
        key(f"{seed}p{n}.html") for seed in seeds for n in range(1, chain.pages)
    }


def articles(seeds: list[str], chain: Chain) -> set[Key]:
    return {key(f"{seed}articles/a{k}.html") for seed in seeds for k in range(chain.shared)}


def fetches(log: Log) -> dict[Key, list[Hit]]:
    """Each page's requests, in the order they reached the server."""
    found: dict[Key, list[Hit]] = defaultdict(list)
    for hit in sorted(log.pages(), key=lambda h: h.start):
        found[(hit.host, hit.path)].append(hit)
    return found


def pages_of(log: Log, client: str) -> int:
    return sum(1 for hit in log.pages() if hit.client == client)


def assert_every_page_once(records: list[dict[str, Any]], pages: set[Key]) -> None:
    urls = Counter(key(record["url"]) for record in records)
    assert set(urls) == pages
    assert max(urls.values()) == 1, [url for url, n in urls.items() if n > 1]
    assert len({record["id"] for record in records}) == len(records)


# Hosts are leased for LEASE seconds and a heartbeat extends the lease every LEASE / 3:
# a worker killed at time K had last extended its leases after K - LEASE / 3 - (a few
# ms), so nobody may take its hosts before K + 2/3 LEASE. Half a lease leaves room for
# that, and for the kill itself landing a little after it was sent.
def after_lease(lease: float) -> float:
    return lease / 2


def test_a_killed_worker_loses_nothing_and_only_its_requests_are_made_again(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    database = new_database()
    chain = Chain(pages=12, response_time=0.05)
    lease = 2.0
    # --concurrency 2 --per-host 1: each worker leases two hosts at a time, so the six
    # sites are shared by the three workers
    options = ["--lease", str(lease), "--delay", "0.05", "--concurrency", "2", "--per-host", "1"]
    with serve_chain(6, chain) as (seeds, log), team_on(database, tmp_path) as team:
        team.work("w1", *options)
        team.work("w2", *options)
        team.waiting("w1", "w2")
        team.crawl("c", seeds, *options)
        # killed while the server answers one of its requests: it has one in flight
        wait_until(lambda: pages_of(log, "w1") >= 3 and log.in_flight("w1") > 0, 30)
        victim = team.procs["w1"]
        killed_at = team.stop(signal.SIGKILL, "w1")
        in_flight, hosts = held_by(database, victim)
        assert in_flight and hosts  # what the others must take over once its lease ends
        team.finish("c", "w2")
        assert victim.returncode == -signal.SIGKILL
        assert job_status(database) == "done"
        records = exported(database, tmp_path)
        survivors = team.log("c") + team.log("w2")

    pages = own_pages(seeds, chain)
    assert_every_page_once(records, pages)
    assert all(record["aliases"] == [] for record in records)
    found = fetches(log)
    assert set(found) == pages
    clients = Counter(hit.client for hit in log.pages())
    assert set(clients) == {"c", "w1", "w2"}, clients  # all three worked on the job
    assert "expired with worker" in survivors  # the killed worker's URLs were reaped
    # A page is fetched twice only when the killed worker fetched it first and had not
    # committed it when it died: a URL it still had in flight.
    for page, hits in found.items():
        if len(hits) == 1:
            continue
        first, *again = hits
        assert page in in_flight, (page, hits)
        assert first.client == "w1" and first.start < killed_at, (page, hits)
        assert len(again) == 1 and again[0].client != "w1", (page, hits)
    # Every URL it had in flight is fetched by another worker, once its lease is over;
    # its hosts are not asked anything (not even robots.txt) before that.
    not_before = killed_at + after_lease(lease)
    for page in in_flight:
        later = [hit for hit in found[page] if hit.client != "w1"]
        assert len(later) == 1 and later[0].start >= not_before, (page, found[page])
    for hit in log.hits:
        if hit.host in hosts and hit.client != "w1" and hit.start >= killed_at:
            assert hit.start >= not_before, (hit, killed_at)


def test_the_per_host_cap_and_delay_hold_across_workers(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    database = new_database()
    # Answers slower than twice the delay, and a home page that links to five pages:
    # a third request to a host would be due while two are still in flight.
    chain = Chain(pages=4, shared=2, response_time=1.2)
    delay = 0.5
    # --concurrency 2 --per-host 2: one host at a time per worker, so the three sites
    # go from worker to worker (the one that read their sitemaps hands two of them on)
    options = ["--per-host", "2", "--delay", str(delay), "--concurrency", "2", "--lease", "5"]
    with serve_chain(3, chain) as (seeds, log), team_on(database, tmp_path) as team:
        team.work("w1", *options)
        team.work("w2", *options)
        team.waiting("w1", "w2")
        team.crawl("c", seeds, *options)
        team.finish("c", "w1", "w2")
        assert job_status(database) == "done"

    found = fetches(log)
    assert set(found) == own_pages(seeds, chain) | articles(seeds, chain)
    assert all(len(hits) == 1 for hits in found.values())
    assert {hit.client for hit in log.pages()} == {"c", "w1", "w2"}
    by_host: dict[str, set[str]] = defaultdict(set)
    for hit in log.hits:
        by_host[hit.host].add(hit.client)
    assert any(len(clients) > 1 for clients in by_host.values()), by_host  # handed on
    # Every request counts: robots.txt and sitemaps too.
    assert {hit.path for hit in log.hits} >= {"/robots.txt", "/sitemap.xml"}
    in_flight = log.max_in_flight()
    assert max(in_flight.values()) == 2, in_flight  # the cap was reached...
    assert all(n <= 2 for n in in_flight.values()), in_flight  # ...and never passed
    # The server stamps a request once it has read it, not when the worker sent it: the
    # time to accept the connection and start a thread for it differs between two
    # requests (by tens of ms when three workers and the server share two busy cores),
    # so two stamps may be a little closer than the requests were. Two workers on one
    # host would show gaps near 0, far below this.
    tolerance = 0.05
    gaps = log.min_gap()
    assert all(gap >= delay - tolerance for gap in gaps.values()), gaps


def test_a_chains_shared_articles_are_one_record_each_with_the_copies_as_aliases(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    database = new_database()
    chain = Chain(pages=5, shared=10, response_time=0.02)
    options = ["--delay", "0.02", "--concurrency", "2", "--per-host", "2"]
    with serve_chain(3, chain) as (seeds, log), team_on(database, tmp_path) as team:
        team.work("w1", *options)
        team.work("w2", *options)
        team.waiting("w1", "w2")
        team.crawl("c", seeds, *options)
        team.finish("c", "w1", "w2")
        records = exported(database, tmp_path)

    found = fetches(log)
    assert set(found) == own_pages(seeds, chain) | articles(seeds, chain)
    assert all(len(hits) == 1 for hits in found.values())
    assert len({hit.client for hit in log.pages()}) > 1  # sites deduplicated apart
    own = [r for r in records if not key(r["url"])[1].startswith("/articles/")]
    kept = [r for r in records if key(r["url"])[1].startswith("/articles/")]
    assert len(records) == 3 * 5 + 10
    assert_every_page_once(own, own_pages(seeds, chain))
    assert all(record["aliases"] == [] for record in own)
    assert sorted(key(r["url"])[1] for r in kept) == [f"/articles/a{k}.html" for k in range(10)]
    for record in kept:
        path = key(record["url"])[1]
        copies = {f"{seed}{path[1:]}" for seed in seeds} - {record["url"]}
        assert len(copies) == 2
        assert sorted(record["aliases"]) == sorted(copies), record["url"]
        assert record["title"].startswith("Article ")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_worker_started_after_all_stopped_finishes_the_job(
    new_database: Callable[[], str], tmp_path: Path, stop: signal.Signals
) -> None:
    database = new_database()
    # slow enough that `c` cannot crawl every site before `w1` joins (within a second)
    chain = Chain(pages=12, response_time=0.1)
    lease = 1.0
    options = ["--lease", str(lease), "--delay", "0.05", "--concurrency", "2", "--per-host", "1"]
    with serve_chain(4, chain) as (seeds, log), team_on(database, tmp_path) as team:
        pages = own_pages(seeds, chain)
        team.work("w1", *options)
        team.waiting("w1")
        team.crawl("c", seeds, *options)
        wait_until(lambda: pages_of(log, "w1") >= 3 and len(log.pages()) >= 12, 30)
        procs = [team.procs["c"], team.procs["w1"]]
        stopped_at = team.stop(stop, "c", "w1")
        held = [held_by(database, proc) for proc in procs]
        in_flight = set().union(*(urls for urls, _ in held))
        hosts = set().union(*(h for _, h in held))
        fetched_before = {(h.host, h.path) for h in log.pages()}
        assert fetched_before < pages  # stopped mid-crawl
        if stop == signal.SIGTERM:
            assert [proc.returncode for proc in procs] == [130, 130]
            # A stopped worker hands back its hosts and its URLs at once.
            assert not in_flight and not hosts
            assert query(database, "SELECT * FROM crawl_workers WHERE job = %s", JOB) == []
        else:
            assert [proc.returncode for proc in procs] == [-signal.SIGKILL] * 2
            assert hosts
        assert job_status(database) == "crawling"
        unfinished = export(database, tmp_path)
        assert unfinished.returncode == 1 and "still crawling" in unfinished.stderr

        team.work("w2", *options)
        team.finish("w2")
        assert job_status(database) == "done"
        records = exported(database, tmp_path)
        restarted = team.log("w2")

    assert_every_page_once(records, pages)
    found = fetches(log)
    assert set(found) == pages
    assert {(h.host, h.path) for h in log.pages() if h.client == "w2"} >= pages - fetched_before
    again = {page: hits for page, hits in found.items() if len(hits) > 1}
    for hits in again.values():
        first, second, *more = hits
        assert not more and first.client in ("c", "w1") and second.client == "w2", hits
        assert first.start < stopped_at, hits
    if stop == signal.SIGTERM:
        # their requests in flight when stopped were not committed: at most one per
        # --concurrency slot of each of the two workers is made again, at once
        assert len(again) <= 2 * 2, again
        assert "expired with worker" not in restarted
    else:
        # only what they had in flight, after their leases
        assert set(again) <= in_flight, (again, in_flight)
        not_before = stopped_at + after_lease(lease)
        for hit in log.hits:
            if hit.host in hosts and hit.client == "w2":
                assert hit.start >= not_before, (hit, stopped_at)

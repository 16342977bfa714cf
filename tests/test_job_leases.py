"""A shared job's host leases, against a real PostgreSQL: one holder per host, a dead
holder's hosts and URLs handed back after its lease, the stall limit, the politeness
hand-over, and when a job is done."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from harvester.dedup import DedupOptions
from harvester.jobs import finish
from harvester.models import Page
from harvester.state import FrontierItem, StoredPage
from harvester.state.job import POLL, JobDone, NoJob, SharedJob, WorkerOptions
from harvester.state.postgres import PAGE_BATCH

SEEDS = ["http://a.test/"]
Opener = Callable[..., SharedJob]


@pytest.fixture
def worker(new_database: Callable[[], str]) -> Iterator[Opener]:
    """`worker(**options)` opens another worker of job "j" in one database."""
    url = new_database()
    opened: list[SharedJob] = []

    def open_worker(**options: float) -> SharedJob:
        settings: dict[str, float] = {
            "per_host": 2,
            "hosts": 1,
            "lease": 30.0,
            "stall_limit": 3,
            **options,
        }
        opened.append(SharedJob(url, "j", WorkerOptions(**settings)))
        return opened[-1]

    yield open_worker
    for state in opened:
        state.close()


def _die(state: SharedJob) -> None:
    """As kill -9: no heartbeat any more, nothing handed back."""
    assert state._heartbeat is not None
    state._heartbeat.stop()
    state.conn.close()


def _pop_within(state: SharedJob, seconds: float) -> tuple[FrontierItem, float]:
    """The first item the worker pops, and after how long."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        item = state.frontier.pop()
        if item is not None:
            return item, time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"nothing popped in {seconds} s")


def _queue(state: SharedJob, *urls: str) -> None:
    with state.transaction():
        for url in urls:
            state.frontier.push(FrontierItem(url, 1))


def test_a_host_has_one_holder_at_a_time(worker: Opener) -> None:
    a, b = worker(), worker()
    assert not a.start(SEEDS).resumed  # a began the run...
    assert b.start([]).resumed  # ...b joined it
    _queue(a, "http://a.test/1", "http://a.test/2", "http://a.test/3")
    assert a.frontier.pop() == FrontierItem("http://a.test/1", 1)
    assert a.frontier.pop() == FrontierItem("http://a.test/2", 1)
    assert a.frontier.pop() is None  # --per-host 2: two in flight at most
    assert b.frontier.pop() is None  # the host is a's
    assert b.frontier.idle() is not None  # but the job is not done: b waits
    _queue(b, "http://b.test/1")
    time.sleep(POLL)  # b looks for a free host again after a pause
    assert b.frontier.pop() == FrontierItem("http://b.test/1", 1)  # another host is free


def test_a_dead_workers_host_and_urls_come_back_after_its_lease(worker: Opener) -> None:
    a, b = worker(lease=1.0), worker(lease=1.0)
    a.start(SEEDS)
    b.start([])
    _queue(a, "http://a.test/1", "http://a.test/2")
    assert a.frontier.pop() == FrontierItem("http://a.test/1", 1)
    _die(a)
    assert b.frontier.pop() is None  # the lease is still live
    item, after = _pop_within(b, 5)
    assert after >= 0.5
    assert item.url == "http://a.test/1"  # in flight with a: asked again first
    stalls = b.one("SELECT stalls FROM crawl_frontier WHERE url = %s", ["http://a.test/1"])
    assert stalls == (1,)


def test_a_heartbeat_keeps_a_slow_workers_lease(worker: Opener) -> None:
    a, b = worker(lease=1.0), worker(lease=1.0)
    a.start(SEEDS)
    b.start([])
    _queue(a, "http://a.test/1", "http://a.test/2")
    assert a.frontier.pop() is not None
    time.sleep(2.5)  # a is slow, not dead: its heartbeat extends the lease
    assert b.frontier.pop() is None


def test_a_url_that_stalls_too_often_fails(worker: Opener) -> None:
    first = worker(lease=1.0, stall_limit=1)
    first.start(SEEDS)
    _queue(first, "http://a.test/crash")
    assert first.frontier.pop() is not None
    _die(first)
    second = worker(lease=1.0, stall_limit=1)
    second.start([])
    time.sleep(1.2)
    assert second.frontier.pop() is None  # reaped, and failed rather than tried again
    failures = second.pages.failures()
    assert [(url, kind) for url, kind, _ in failures] == [("http://a.test/crash", "stalled")]
    assert len(second.frontier) == 0


def test_the_next_holder_of_a_host_waits_for_the_last_ones_delay(worker: Opener) -> None:
    a, b = worker(), worker()
    a.start(SEEDS)
    b.start([])
    _queue(a, "http://a.test/1", "http://a.test/2")
    item = a.frontier.pop()
    assert item is not None
    a.frontier.wait_left = lambda host: 1.0  # a's delay for the host
    a.frontier.ack(item.url)
    a.frontier.pop()  # a has room: it takes /2 as well
    a.frontier.ack("http://a.test/2")
    assert a.frontier.pop() is None  # nothing left: the host goes back, due in 1 s
    _queue(a, "http://a.test/3")
    item, after = _pop_within(b, 5)
    assert after >= 0.8
    assert item.url == "http://a.test/3"


def test_a_job_is_done_when_its_frontier_is_empty(worker: Opener) -> None:
    with pytest.raises(NoJob, match="no job 'j'"):
        worker().start([])
    a = worker()
    a.start(SEEDS)
    a.started()
    _queue(a, "http://a.test/1")
    options = DedupOptions()
    assert not finish(a, options)  # a URL is still waiting
    item = a.frontier.pop()
    assert item is not None
    a.frontier.ack(item.url)
    assert a.frontier.pop() is None
    assert a.frontier.idle() is None
    assert finish(a, options)
    assert a.status() == "done"
    assert not finish(worker(), options)  # done once
    with pytest.raises(JobDone, match="has finished"):
        worker().start([])


def test_a_job_starting_is_not_done_while_its_first_worker_lives(worker: Opener) -> None:
    a, b = worker(lease=1.0), worker(lease=1.0)
    a.start(SEEDS)  # reading sitemaps, say: nothing queued yet
    b.start([])
    assert b.frontier.idle() is not None
    assert not finish(b, DedupOptions())
    _die(a)
    time.sleep(1.2)
    assert b.frontier.idle() is None  # its first worker died: nothing more will come
    assert finish(b, DedupOptions())


def test_jobs_share_tables_but_not_rows(new_database: Callable[[], str]) -> None:
    url = new_database()
    one, other = SharedJob(url, "one"), SharedJob(url, "other")
    try:
        one.start(SEEDS)
        other.start(["http://b.test/"])
        _queue(one, "http://a.test/1")
        assert other.frontier.pop() is None
        assert len(one.frontier) == 1 and len(other.frontier) == 0
    finally:
        one.close()
        other.close()
    with psycopg.connect(url) as db:
        assert db.execute("SELECT count(*) FROM crawl_workers").fetchone() == (0,)


def test_a_sites_pages_are_read_in_batches_up_to_the_newest_deduplicated(
    worker: Opener,
) -> None:
    a = worker()
    a.start(SEEDS)
    urls = [f"http://a.test/{n}" for n in range(PAGE_BATCH + 44)]
    with a.transaction():
        for url in [*urls, "http://b.test/other"]:
            page = Page(url, None, url, None, None, None, None, None, [], [], "2026-01-01", "http")
            a.pages.put(StoredPage(page))
    newest, count = a.newest_page("a.test")
    assert count == len(urls)
    assert [p.url for p in a.site_pages("a.test", newest)] == urls  # in crawl order, all
    tenth = a.one("SELECT seq FROM crawl_pages WHERE url = %s", [urls[9]])[0]
    assert [p.url for p in a.site_pages("a.test", tenth)] == urls[:10]

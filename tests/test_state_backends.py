"""The crawl state's contract, checked the same way against each backend (a SQLite file,
a PostgreSQL database), and a crawl killed midway that resumes from PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import SAMPLE_SITE, Server, read_records, run_cli, wait_until

from harvester.changes import Event, Known
from harvester.extract import extract_page
from harvester.parse import parse_html
from harvester.sinks import DeadLetter
from harvester.state import CrawlState, FrontierItem, RunStart, StoredPage
from harvester.state.postgres import MIGRATIONS, PostgresState
from harvester.state.sqlite import SqliteState, StateError

SITE_RECORDS = 14
SEEDS = ["http://example.com/"]
Opener = Callable[[], CrawlState]  # opens the same state again, as a new process would


@pytest.fixture(params=["sqlite", "postgres"])
def state_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], Opener]]:
    """`state_factory(job)` gives an opener of that job's state on the backend under test."""
    opened: list[CrawlState] = []
    if request.param == "sqlite":

        def factory(job: str) -> Opener:
            return lambda: _track(opened, SqliteState(tmp_path / f"{job}.sqlite"))

    else:
        url = request.getfixturevalue("new_database")()

        def factory(job: str) -> Opener:
            return lambda: _track(opened, PostgresState(url, job))

    yield factory
    for state in opened:
        state.close()


def _track(opened: list[CrawlState], state: CrawlState) -> CrawlState:
    opened.append(state)
    return state


def _page(url: str = "http://example.com/knee/") -> StoredPage:
    html = (SAMPLE_SITE / "ask-a-pro" / "running-knee-pain" / "index.html").read_bytes()
    page = extract_page(parse_html(html, url), "2026-01-01", "http")
    return StoredPage(page, '"abc"', "Wed, 01 Jan 2026 00:00:00 GMT")


def test_frontier_lease_returns_after_a_dead_process(
    state_factory: Callable[[str], Opener],
) -> None:
    open_state = state_factory("site")
    state = open_state()
    assert not state.start(SEEDS).resumed
    for url in ("http://example.com/a", "http://example.com/b"):
        state.frontier.push(FrontierItem(url, 1))
    state.frontier.push(FrontierItem("http://example.com/a", 2))  # queued once
    assert len(state.frontier) == 2
    assert state.frontier.pop() == FrontierItem("http://example.com/a", 1)
    state.close()  # the process dies before acking

    again = open_state()
    begun = again.start(SEEDS)
    assert begun.resumed and not begun.incremental
    assert again.frontier.pop() == FrontierItem("http://example.com/a", 1)
    again.frontier.ack("http://example.com/a")
    assert again.frontier.pop() == FrontierItem("http://example.com/b", 1)
    assert again.frontier.pop() is None
    assert len(again.frontier) == 1  # b is leased, not done
    again.frontier.ack("http://example.com/b")
    assert len(again.frontier) == 0


def test_seen_set_and_stats(state_factory: Callable[[str], Opener]) -> None:
    state = state_factory("site")()
    state.start(SEEDS)
    assert state.seen.add("http://example.com/a")
    assert not state.seen.add("http://example.com/a")
    assert "http://example.com/a" in state.seen
    assert "http://example.com/b" not in state.seen
    state.stats.incr("*", "requests")
    state.stats.incr("*", "requests", 2)
    state.stats.incr("example.com", "fetched")
    assert state.stats.get("*") == {"requests": 3}
    assert state.stats.get("example.com") == {"fetched": 1}
    assert state.stats.get("other") == {}


def test_pages_round_trip_and_belong_to_a_run(state_factory: Callable[[str], Opener]) -> None:
    open_state = state_factory("site")
    state = open_state()
    state.start(SEEDS)
    knee, other = _page(), _page("http://example.com/other/")
    state.pages.put(knee)
    state.pages.put(other)
    assert state.pages.get(knee.page.url) == knee
    assert state.pages.get("http://example.com/none") is None
    state.pages.keep(knee.page.url)  # handled again: now after `other`
    assert [p.url for p in state.pages.current()] == [other.page.url, knee.page.url]
    state.pages.redirect("http://example.com/old", knee.page.url)
    state.pages.redirect("http://example.com/older", knee.page.url)
    state.pages.fail("http://example.com/gone", "http", "HTTP 404")
    assert state.pages.redirects() == {
        knee.page.url: ["http://example.com/old", "http://example.com/older"]
    }
    assert state.pages.failures() == [("http://example.com/gone", "http", "HTTP 404")]
    state.crawl_done()
    state.run_done()
    state.close()

    later = open_state()
    begun = later.start(SEEDS)  # a finished crawl: the next run revisits
    assert not begun.resumed and begun.incremental
    assert later.pages.count() == 0 and list(later.pages.current()) == []
    assert later.pages.get(knee.page.url) == knee  # kept to revalidate
    later.pages.keep(knee.page.url)
    assert [p.url for p in later.pages.current()] == [knee.page.url]
    assert later.pages.redirects() == {} and later.pages.failures() == []


def test_run_transitions(state_factory: Callable[[str], Opener]) -> None:
    open_state = state_factory("site")
    state = open_state()
    assert state.start(SEEDS) == RunStart(resumed=False, incremental=False)
    assert state.start(SEEDS) == RunStart(resumed=True, incremental=False)  # not done yet
    state.seen.add("http://example.com/a")
    state.stats.incr("*", "requests")
    state.crawl_done()
    state.close()
    emitting = open_state()  # killed while writing: the same run resumes
    assert emitting.start(SEEDS).resumed
    assert "http://example.com/a" in emitting.seen
    emitting.run_done()
    emitting.close()
    revisit = open_state()
    begun = revisit.start(SEEDS)
    assert not begun.resumed and begun.incremental
    assert "http://example.com/a" not in revisit.seen  # a new run crawls again
    assert revisit.stats.get("*") == {}


def test_transaction_rolls_back_as_a_whole(state_factory: Callable[[str], Opener]) -> None:
    state = state_factory("site")()
    state.start(SEEDS)
    with pytest.raises(RuntimeError), state.transaction():
        state.seen.add("http://example.com/a")
        with state.transaction():  # nested: part of the outer one
            state.frontier.push(FrontierItem("http://example.com/a"))
        raise RuntimeError
    assert "http://example.com/a" not in state.seen and len(state.frontier) == 0
    with state.transaction():
        state.seen.add("http://example.com/b")
    assert "http://example.com/b" in state.seen


def test_emit_log_and_change_log(state_factory: Callable[[str], Opener]) -> None:
    open_state = state_factory("site")
    state = open_state()
    state.start(SEEDS)
    assert state.log.emitted("r1") is None
    state.log.mark("r1", "h1")
    state.log.mark("r1", "h2")
    assert state.log.emitted("r1") == "h2"
    known = Known("r1", "http://example.com/a", "h1", {"title": "ha", "body": "hb"}, ("x",))
    created = _event("e1", "created", "r1")
    deleted = _event("e2", "deleted", "r1")
    with state.transaction():
        state.changes.record(created, known)
        state.changes.record(_event("e3", "created", "r0"), Known("r0", "u", "h", {}, ()))
    assert state.changes.known("r1") == known
    assert [k.record_id for k in state.changes.all_known()] == ["r0", "r1"]
    state.changes.record(deleted, None)
    assert state.changes.known("r1") is None
    events = state.changes.events_after(0, 10)
    assert [e.event_id for _, e in events] == ["e1", "e3", "e2"]
    assert events[0][1] == created
    assert state.changes.events_after(events[0][0], 1) == [events[1]]
    assert state.changes.cursor("sink") == 0
    state.changes.advance("sink", events[1][0])
    state.changes.dead_letter("sink", DeadLetter("e3", 400, "bad"))
    state.close()
    again = open_state()
    assert again.log.emitted("r1") == "h2"
    assert again.changes.cursor("sink") == events[1][0]
    assert again.changes.events_after(events[1][0], 10) == [events[2]]
    assert again.changes.dead_letters() == [("sink", DeadLetter("e3", 400, "bad"))]


def _event(event_id: str, kind: str, record_id: str) -> Event:
    record = None if kind == "deleted" else {"id": record_id, "title": "A"}
    return Event.from_dict(
        {
            "event_id": event_id,
            "type": kind,
            "record_id": record_id,
            "url": "http://example.com/a",
            "at": "2026-01-01T00:00:00Z",
            "content_hash": "h1",
            "record": record,
        }
    )


def test_jobs_share_a_database_apart(new_database: Callable[[], str]) -> None:
    url = new_database()
    one, two = PostgresState(url, "one"), PostgresState(url, "two")
    try:
        one.start(SEEDS)
        two.start(SEEDS)
        one.seen.add("http://example.com/a")
        one.frontier.push(FrontierItem("http://example.com/a"))
        one.pages.put(_page())
        assert "http://example.com/a" not in two.seen
        assert len(two.frontier) == 0 and two.pages.count() == 0
        one.forget()  # --fresh: this job only
        assert not one.exists() and two.exists()
        assert one.pages.get(_page().page.url) is None
    finally:
        one.close()
        two.close()


def test_schema_is_versioned_and_migrated_once(new_database: Callable[[], str]) -> None:
    url = new_database()
    PostgresState(url, "a").close()
    PostgresState(url, "b").close()  # already at the latest version: nothing applied
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT version FROM harvester_state_schema ORDER BY 1").fetchall()
        assert rows == [(n,) for n in range(1, len(MIGRATIONS) + 1)]
        db.execute("INSERT INTO harvester_state_schema (version) VALUES (999)")
    with pytest.raises(StateError, match="newer than this harvester"):
        PostgresState(url, "a")


def test_connection_failure_is_one_line_without_the_password(free_port: int) -> None:
    with pytest.raises(StateError) as caught:
        PostgresState(f"postgresql://user:s3cret@127.0.0.1:{free_port}/db", "job")
    message = str(caught.value)
    assert f"127.0.0.1:{free_port}" in message
    assert "s3cret" not in message and "\n" not in message
    done = run_cli(
        "crawl",
        "http://127.0.0.1:9/",
        "--state",
        f"postgresql://user:s3cret@127.0.0.1:{free_port}/db",
    )
    assert done.returncode == 2
    assert f"127.0.0.1:{free_port}" in done.stderr and "s3cret" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_killed_crawl_resumes_from_postgres(
    slow_site: Server, tmp_path: Path, new_database: Callable[[], str]
) -> None:
    out, url = tmp_path / "out.jsonl", new_database()
    args = ["crawl", slow_site.url, "-o", str(out), "--state", url, "--delay", "0"]
    args += ["--concurrency", "2"]
    child = subprocess.Popen(
        [sys.executable, "-m", "harvester", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(slow_site.requests) >= 6, seconds=30)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert len(slow_site.requests) < SITE_RECORDS  # killed midway

    resumed = run_cli(*args, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "(resumed)" in resumed.stderr
    records = read_records(out)
    assert len(records) == SITE_RECORDS
    assert len({r["id"] for r in records}) == SITE_RECORDS
    pages = [u for u in slow_site.requests if u not in ("/robots.txt", "/sitemap.xml")]
    assert len([u for u, n in Counter(pages).items() if n > 1]) <= 2
    assert not (tmp_path / "data").exists()  # no state file beside the database

    slow_site.state.delay = 0
    again = run_cli(*args, "--only-changed", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert out.read_text() == ""
    assert f"unchanged since last run {SITE_RECORDS}" in again.stderr

    fresh = run_cli(*args, "--fresh", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "unchanged since last run 0" in fresh.stderr  # forgotten: all new again
    assert len(read_records(out)) == SITE_RECORDS

    events = tmp_path / "events.jsonl"
    done = run_cli("deliver", slow_site.url, "--state", url, "--changes", str(events))
    assert done.returncode == 0, done.stderr
    assert len(events.read_text().splitlines()) == SITE_RECORDS  # the fresh run's events
    nameless = run_cli("deliver", "--state", url, "--changes", str(events))
    assert nameless.returncode == 2 and "give the crawl's URLs" in nameless.stderr
    unknown = run_cli("deliver", "http://other.example/", "--state", url, "--changes", "x")
    assert unknown.returncode == 2 and "no crawl state" in unknown.stderr

"""Crash and come back: SIGKILL midway, the same command finishes the job; a later run
revisits with conditional requests and writes only what changed."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from conftest import SAMPLE_SITE, Server, read_records, run_cli, wait_until

from harvester.extract import extract_page
from harvester.parse import parse_html
from harvester.state import FrontierItem, StoredPage
from harvester.state.sqlite import SqliteState

SITE_RECORDS = 14


def test_killed_crawl_resumes_then_revisits(slow_site: Server, tmp_path: Path) -> None:
    out, state = tmp_path / "out.jsonl", tmp_path / "crawl.sqlite"
    args = [
        "crawl",
        slow_site.url,
        "-o",
        str(out),
        "--state",
        str(state),
        "--delay",
        "0",
        "--concurrency",
        "2",
    ]
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
    before_kill = len(slow_site.requests)
    assert before_kill < SITE_RECORDS  # killed midway

    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert "(resumed)" in resumed.stderr
    records = read_records(out)
    assert len(records) == SITE_RECORDS
    assert len({r["id"] for r in records}) == SITE_RECORDS
    pages = [u for u in slow_site.requests if u not in ("/robots.txt", "/sitemap.xml")]
    fetched_twice = [u for u, n in Counter(pages).items() if n > 1]
    assert len(fetched_twice) <= 2  # at most the requests in flight when it was killed

    slow_site.state.delay = 0
    first_request = len(slow_site.state.statuses)
    again = run_cli(*args, "--only-changed")
    assert again.returncode == 0, again.stderr
    assert out.read_text() == ""  # nothing changed, nothing written
    statuses = Counter(code for _, code in slow_site.state.statuses[first_request:])
    assert statuses[304] >= 0.8 * sum(statuses.values())
    assert f"unchanged since last run {SITE_RECORDS}" in again.stderr

    full = run_cli(*args)  # by default the complete current set
    assert full.returncode == 0
    assert len(read_records(out)) == SITE_RECORDS


def test_frontier_lease_survives_a_dead_process(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    state = SqliteState(path)
    state.start(["http://example.com/"])
    for url in ("http://example.com/a", "http://example.com/b"):
        state.frontier.push(FrontierItem(url, 1))
    leased = state.frontier.pop()
    assert leased is not None and leased.url == "http://example.com/a"
    state.db.close()  # the process dies before acking

    again = SqliteState(path)
    assert again.start(["http://example.com/"]).resumed
    assert again.frontier.pop() == FrontierItem("http://example.com/a", 1)
    again.frontier.ack("http://example.com/a")
    assert again.frontier.pop() == FrontierItem("http://example.com/b", 1)
    assert again.pages.get("http://example.com/a") is None


def test_stored_page_round_trips(tmp_path: Path) -> None:
    html = (SAMPLE_SITE / "ask-a-pro" / "running-knee-pain" / "index.html").read_bytes()
    page = extract_page(parse_html(html, "http://example.com/knee/"), "2026-01-01", "http")
    state = SqliteState(tmp_path / "state.sqlite")
    state.start(["http://example.com/"])
    state.pages.put(StoredPage(page, '"abc"', "Wed, 01 Jan 2026 00:00:00 GMT"))
    stored = state.pages.get("http://example.com/knee/")
    assert stored == StoredPage(page, '"abc"', "Wed, 01 Jan 2026 00:00:00 GMT")
    assert list(state.pages.current()) == [page]
    assert state.pages.count() == 1

"""A complete WARC: robots.txt, a sitemap, a 301, a 404, a 500 and a body given up are all
archived (read back with warcio), and `harvester extract` of it reports what the live
crawl reported."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FaultHandler, Server, read_records, run_cli, serve
from warcio.archiveiterator import ArchiveIterator

PAGE = "<html><head><title>{0}</title></head><body><main><h1>{0}</h1><p>{1}</p>{2}</main>"
LIMIT = 20_000
SUMMARY_LINES = ("  pages read", "  skipped", "  records written", "  blocks removed")


def write_site(root: Path) -> None:
    links = " ".join(
        f'<a href="/{path}">{path}</a>' for path in ("a/", "old", "missing", "broken", "huge")
    )
    (root / "index.html").write_text(PAGE.format("Home", "The front page, in words.", links))
    for name in ("a", "b", "listed"):
        (root / name).mkdir()
        text = f"The page {name}, which says things of its own about {name}."
        (root / name / "index.html").write_text(PAGE.format(name.upper(), text, ""))


def route(status: int, body: bytes = b"", content_type: str = "text/html", **headers: str) -> Any:
    return lambda handler: handler.send_body(status, body, content_type, headers)


def huge(handler: FaultHandler) -> None:
    """An HTML body without Content-Length, five times --max-bytes: given up while read."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()
    with contextlib.suppress(OSError):  # the crawler hung up
        handler.wfile.write(b"<html><body><p>" + b"word " * LIMIT)


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("site")
    write_site(root)
    for server in serve(root):
        robots = f"User-agent: *\nDisallow: /nowhere/\nSitemap: {server.url}sitemap.xml\n"
        sitemap = f"{server.url}listed/\n".encode()
        server.route("/robots.txt", route(200, robots.encode(), "text/plain"))
        server.route("/sitemap.xml", route(200, sitemap, "text/plain"))
        server.route("/old", route(301, b"", Location="/b/"))
        server.route("/missing", route(404, b"<p>no such page</p>"))
        server.route("/broken", route(500, b"<p>down</p>"))
        server.route("/huge", huge)
        yield server


def summary(stderr: str) -> tuple[list[str], set[str]]:
    """The summary's counting lines, and the URLs it names as failed."""
    lines = stderr.splitlines()
    counts = [line for line in lines if line.startswith(SUMMARY_LINES)]
    failed = {line.split(": ")[1] for line in lines if line.startswith("  failed: ")}
    return counts, failed


def test_every_exchange_is_archived_and_the_replay_reports_the_same(
    site: Server, tmp_path: Path
) -> None:
    warc, live, replay = tmp_path / "c.warc.gz", tmp_path / "live.jsonl", tmp_path / "r.jsonl"
    crawled = run_cli(
        "crawl",
        site.url,
        *("--warc", str(warc), "-o", str(live), "--max-bytes", str(LIMIT)),
        *("--delay", "0", "--retries", "1", "--workers", "0"),
    )
    assert crawled.returncode == 1, crawled.stderr

    with warc.open("rb") as stream:
        records = [
            (
                r.rec_type,
                r.rec_headers.get_header("WARC-Target-URI"),
                r.http_headers.get_statuscode() if r.rec_type == "response" else None,
                r.rec_headers.get_header("WARC-Truncated"),
                r.content_stream().read() if r.rec_type == "response" else b"",
            )
            for r in ArchiveIterator(stream)
        ]
    responses = [(url, int(status)) for kind, url, status, _, _ in records if kind == "response"]
    requests = [url for kind, url, *_ in records if kind == "request"]
    assert sorted(requests) == sorted(url for url, _ in responses)  # each one paired
    served = Counter((site.url + path.lstrip("/"), status) for path, status in site.state.statuses)
    assert Counter(responses) == served  # every exchange the server had, and no other
    for path, status in [
        ("robots.txt", 200),
        ("sitemap.xml", 200),
        ("old", 301),
        ("missing", 404),
        ("broken", 500),
        ("huge", 200),
    ]:
        assert (site.url + path, status) in responses, path
    assert Counter(url for url, _ in responses)[site.url + "broken"] == 2  # retried once
    by_url = {url: (cut, body) for kind, url, _, cut, body in records if kind == "response"}
    assert by_url[site.url + "huge"][0] == "length"
    assert len(by_url[site.url + "huge"][1]) == LIMIT
    assert by_url[site.url + "missing"] == (None, b"<p>no such page</p>")

    replayed = run_cli("extract", str(warc), "-o", str(replay))
    assert replayed.returncode == crawled.returncode, replayed.stderr
    assert summary(replayed.stderr) == summary(crawled.stderr)
    assert summary(crawled.stderr)[1] == {
        site.url + "missing",
        site.url + "broken",
        site.url + "huge",
    }
    by_url_live = {r["url"]: r for r in read_records(live)}
    assert {r["url"]: r for r in read_records(replay)} == by_url_live
    assert by_url_live[site.url + "b/"]["aliases"] == [site.url + "old"]

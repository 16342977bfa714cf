"""Inputs and modes against a real local server: `map`, -i/--input-file, --sitemap-only,
--since and --max-time (stopped, then resumed to a crawl made exactly once)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import FaultHandler, Server, read_records, run_cli, serve

PAGE = "<html><head><title>{0}</title></head><body><main><h1>{0}</h1><p>{1}</p>{2}</main></body>"
LINKED = ("a", "b", "c", "private")
SITEMAP = {"a": "2020-01-01", "only-in-sitemap": "2025-06-01", "private": "2025-06-01", "c": None}
METADATA = ("/robots.txt", "/sitemap.xml")


def write_pages(root: Path, names: list[str], links: list[str]) -> None:
    anchors = " ".join(f'<a href="/{name}/">{name}</a>' for name in links)
    (root / "index.html").write_text(PAGE.format("Home", "The front page, in words.", anchors))
    for name in names:
        (root / name).mkdir()
        text = f"The page called {name}, with words of its own about {name}."
        (root / name / "index.html").write_text(PAGE.format(name.title(), text, ""))


def sitemap(base: str, entries: dict[str, str | None]) -> bytes:
    urls = "".join(
        f"<url><loc>{base}{name}/</loc>" + (f"<lastmod>{day}</lastmod>" if day else "") + "</url>"
        for name, day in entries.items()
    )
    xmlns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    return f'<?xml version="1.0"?><urlset xmlns="{xmlns}">{urls}</urlset>'.encode()


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("site")
    write_pages(root, [*LINKED, "only-in-sitemap"], list(LINKED))
    for server in serve(root):
        robots = f"User-agent: *\nDisallow: /private/\nSitemap: {server.url}sitemap.xml\n"
        server.route("/robots.txt", answer(robots.encode(), "text/plain"))
        server.route("/sitemap.xml", answer(sitemap(server.url, SITEMAP), "application/xml"))
        yield server


def answer(body: bytes, content_type: str) -> Callable[[FaultHandler], None]:
    return lambda handler: handler.send_body(200, body, content_type)


def pages_requested(server: Server) -> list[str]:
    return [path for path in server.requests if path not in METADATA]


def urls(server: Server, *names: str) -> set[str]:
    return {server.url + (f"{name}/" if name else "") for name in names}


def test_map_lists_what_a_crawl_fetches(site: Server, tmp_path: Path) -> None:
    listed = run_cli("map", site.url, "--delay", "0", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == urls(site, "", "a", "b", "c", "only-in-sitemap")
    assert "5 URLs" in listed.stderr and "robots.txt 1" in listed.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, no crawl state kept
    mapped = set(pages_requested(site))
    site.requests.clear()
    crawled = run_cli("crawl", site.url, "--delay", "0", "-o", str(tmp_path / "out.jsonl"))
    assert crawled.returncode == 0, crawled.stderr
    assert set(pages_requested(site)) == mapped


def test_map_sitemap_only_fetches_no_page(site: Server) -> None:
    listed = run_cli("map", site.url, "--sitemap-only", "--since", "2024-01-01", "--delay", "0")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == urls(site, "only-in-sitemap", "c")
    assert sorted(site.requests) == sorted(METADATA)


def test_sitemap_only_crawl_since_a_date(site: Server, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    args = ["crawl", site.url, "--sitemap-only", "--delay", "0", "-o", str(out)]
    done = run_cli(*args, "--since", "2024-01-01")
    assert done.returncode == 0, done.stderr
    assert {r["url"] for r in read_records(out)} == urls(site, "only-in-sitemap", "c")
    assert sorted(pages_requested(site)) == ["/c/", "/only-in-sitemap/"]
    bad = run_cli(*args, "--since", "last week")
    assert bad.returncode == 2 and "--since last week: give a date" in bad.stderr


def test_input_file_and_stdin(site: Server, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# to fetch\n{site.url}b/\n\n  {site.url}c/  \n")
    out = tmp_path / "out.jsonl"
    done = run_cli("crawl", "-i", str(listing), "--max-depth", "0", "--delay", "0", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert {r["url"] for r in read_records(out)} == urls(site, "b", "c")
    assert sorted(pages_requested(site)) == ["/b/", "/c/"]
    site.requests.clear()
    piped = subprocess.run(
        [sys.executable, "-m", "harvester", "map", "-i", "-", "--max-depth", "0", "--delay", "0"],
        input=f"{site.url}a/\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.split() == [site.url + "a/"]
    assert pages_requested(site) == []  # map with --max-depth 0 needs no page's links
    nothing = run_cli("crawl")
    assert (
        nothing.returncode == 2 and "give a URL, or a file of URLs with -i FILE" in nothing.stderr
    )


@pytest.fixture
def slow_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("slow")
    names = [f"p{n}" for n in range(10)]
    write_pages(root, names, names)
    for server in serve(root):
        server.state.delay = 0.25
        yield server


def test_max_time_stops_then_the_same_command_finishes_once(
    slow_site: Server, tmp_path: Path
) -> None:
    out, state = tmp_path / "out.jsonl", tmp_path / "s.sqlite"
    args = ["crawl", slow_site.url, "-o", str(out), "--state", str(state), "--delay", "0"]
    stopped = run_cli(*args, "--concurrency", "1", "--workers", "0", "--max-time", "1s")
    assert stopped.returncode == 1, stopped.stderr
    assert "stopped at the time limit (--max-time 1 s)" in stopped.stderr
    assert "run the same command again to resume" in stopped.stderr
    assert not out.exists()  # outputs stay as they were, as after Ctrl-C
    first = len(pages_requested(slow_site))
    assert 1 <= first < 11
    resumed = run_cli(*args, "--workers", "0", "--max-time", "10m")
    assert resumed.returncode == 0, resumed.stderr
    assert "(resumed)" in resumed.stderr
    records = read_records(out)
    assert len(records) == len({r["url"] for r in records}) == 11
    assert set(Counter(pages_requested(slow_site)).values()) == {1}  # each page once

"""Sites that try to lead the crawler astray: redirects and sitemaps into Disallowed paths
or off the site, and kill -9 at awkward moments. Every request obeys its own origin's
robots.txt, and no out-of-scope host is ever contacted."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, Route, Server, read_records, run_cli, serve, wait_until

NS = "xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"


@pytest.fixture
def other_site() -> Iterator[Server]:
    """A second origin on the same host (another port): in scope, with its own robots.txt."""
    yield from serve(FIXTURES / "site")


def page(title: str, links: list[str] = []) -> Route:  # noqa: B006 - never mutated
    anchors = "".join(f"<a href='{link}'>{link}</a> " for link in links)
    body = f"<html><body><main><h1>{title}</h1><p>{title}: words of its own.</p>{anchors}"
    data = (body + "</main></body></html>").encode()
    return lambda h: h.send_body(200, data)


def text(body: str, content_type: str = "text/plain") -> Route:
    return lambda h: h.send_body(200, body.encode(), content_type)


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: h.send_body(status, b"", "text/html", {"Location": location})


def urlset(*urls: str) -> Route:
    items = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    return text(f"<urlset {NS}>{items}</urlset>", "application/xml")


def sitemap_index(*urls: str) -> Route:
    items = "".join(f"<sitemap><loc>{url}</loc></sitemap>" for url in urls)
    return text(f"<sitemapindex {NS}>{items}</sitemapindex>", "application/xml")


def crawl(server: Server, tmp_path: Path, *extra: str) -> tuple[set[str], str]:
    out = tmp_path / "out.jsonl"
    result = run_cli("crawl", server.url, "-o", str(out), "--delay", "0", *extra)
    assert result.returncode == 0, result.stderr
    return {r["title"] for r in read_records(out)}, result.stderr


def test_redirects_and_sitemaps_obey_robots(fixture_site: Server, tmp_path: Path) -> None:
    site = fixture_site
    robots = f"User-agent: *\nDisallow: /private/\nSitemap: {site.url}index.xml\n"
    site.route("/robots.txt", text(robots))
    site.route("/", page("Home", ["/go", "/public.html"]))
    site.route("/public.html", page("Public"))
    site.route("/go", redirect("/private/landing.html"))  # (a) a page redirect
    site.route("/index.xml", sitemap_index(f"{site.url}private/child.xml", f"{site.url}ok.xml"))
    site.route("/ok.xml", urlset(f"{site.url}listed.html"))
    site.route("/sitemap.xml", redirect("/private/sitemap.xml", 301))  # (c) a sitemap redirect
    for path in ("/private/landing.html", "/listed.html", "/from-private.html"):
        site.route(path, page(path.strip("/")))
    site.route("/private/child.xml", urlset(f"{site.url}from-private.html"))  # (b)
    site.route("/private/sitemap.xml", urlset(f"{site.url}from-private.html"))

    titles, stderr = crawl(site, tmp_path)
    assert [p for p in site.requests if p.startswith("/private/")] == []
    assert titles == {"Home", "Public", "listed.html"}
    assert site.state.hits["/go"] == 1 and "robots.txt 1" in stderr


def test_redirect_to_another_origin_reads_its_robots_first(
    fixture_site: Server, other_site: Server, tmp_path: Path
) -> None:
    other_site.route("/robots.txt", text("User-agent: *\nDisallow: /private/\n"))
    other_site.route("/open.html", page("Open elsewhere"))
    other_site.route("/private/shut.html", page("Shut elsewhere"))
    fixture_site.route("/", page("Home", ["/to-open", "/to-shut"]))
    fixture_site.route("/to-open", redirect(f"{other_site.url}open.html"))
    fixture_site.route("/to-shut", redirect(f"{other_site.url}private/shut.html"))

    titles, _ = crawl(fixture_site, tmp_path, "--no-sitemaps", "--concurrency", "1")
    assert titles == {"Home", "Open elsewhere"}
    assert other_site.requests == ["/robots.txt", "/open.html"]


def test_off_site_sitemaps_are_never_contacted(
    fixture_site: Server, other_site: Server, tmp_path: Path
) -> None:
    away = other_site.url.replace("127.0.0.1", "localhost")  # another host: out of scope
    listed = f"{fixture_site.url}listed-off-site.html"
    other_site.route("/moved.xml", urlset(listed))
    other_site.route("/listed.xml", urlset(listed))
    fixture_site.route("/robots.txt", text(f"User-agent: *\nSitemap: {away}listed.xml\n"))
    fixture_site.route("/sitemap.xml", redirect(f"{away}moved.xml", 301))
    fixture_site.route("/", page("Home"))
    fixture_site.route("/listed-off-site.html", page("Listed off site"))

    titles, _ = crawl(fixture_site, tmp_path)
    assert other_site.requests == []
    assert titles == {"Home"}


def kill_when(args: list[str], cwd: Path, ready: Server, requests: int) -> None:
    """Run the CLI and SIGKILL it once the server has been asked `requests` times."""
    child = subprocess.Popen(
        [sys.executable, "-m", "harvester", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(ready.requests) >= requests or child.poll() is not None, 30)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


def test_killed_during_sitemap_discovery(fixture_site: Server, tmp_path: Path) -> None:
    site = fixture_site
    site.route("/", page("Home"))
    children = [f"{site.url}part-{n}.xml" for n in range(4)]
    site.route("/sitemap.xml", sitemap_index(*children))
    for n in range(4):
        site.route(f"/part-{n}.xml", urlset(f"{site.url}only-in-part-{n}.html"))
        site.route(f"/only-in-part-{n}.html", page(f"Part {n}"))
    site.state.delay = 0.3
    out, state = tmp_path / "out.jsonl", tmp_path / "crawl.sqlite"
    args = ["crawl", site.url, "-o", str(out), "--state", str(state), "--delay", "0"]

    kill_when(args, tmp_path, site, 4)  # robots.txt, sitemap.xml, part-0.xml, part-1.xml...
    assert "/part-0.xml" in site.requests and "/part-3.xml" not in site.requests
    site.state.delay = 0
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert "(resumed)" in resumed.stderr
    titles = {r["title"] for r in read_records(out)}
    assert titles == {"Home", "Part 0", "Part 1", "Part 2", "Part 3"}


def test_max_pages_holds_across_kills(fixture_site: Server, tmp_path: Path) -> None:
    site = fixture_site
    pages = [f"/page-{n}.html" for n in range(40)]
    site.route("/", page("Home", pages))
    for path in pages:
        site.route(path, page(path.strip("/")))
    site.state.delay = 0.1
    out, state = tmp_path / "out.jsonl", tmp_path / "crawl.sqlite"
    args = ["crawl", site.url, "-o", str(out), "--state", str(state), "--delay", "0"]
    args += ["--no-sitemaps", "--max-pages", "16", "--concurrency", "4", "--per-host", "4"]

    for kill_at in (6, 11):  # each kill leaves about four requests in flight
        kill_when(args, tmp_path, site, kill_at)
    site.state.delay = 0
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    records = read_records(out)
    assert len(records) == len({r["id"] for r in records}) == 16

"""robots.txt and sitemaps in a real crawl."""

from __future__ import annotations

import gzip
from pathlib import Path

from conftest import FaultHandler, Server, read_records, run_cli

PAGE = "<html><body><main><h1>{0}</h1><p>{0}: a page of its own words.</p>{1}</main></body></html>"


def page(title: str, links: str = "") -> bytes:
    return PAGE.format(title, links).encode()


def robots_site(server: Server, robots: str) -> None:
    links = "<a href='/private/secret.html'>secret</a> <a href='/public.html'>public</a>"
    server.route("/", lambda h: h.send_body(200, page("Home", links)))
    server.route("/public.html", lambda h: h.send_body(200, page("Public")))
    server.route("/private/secret.html", lambda h: h.send_body(200, page("Secret")))
    server.route("/only-in-sitemap.html", lambda h: h.send_body(200, page("Sitemap Only")))
    server.route("/robots.txt", lambda h: h.send_body(200, robots.encode(), "text/plain"))
    index = (
        f"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"<sitemap><loc>{server.url}pages.xml.gz</loc></sitemap></sitemapindex>"
    )
    urlset = (
        f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"<url><loc>{server.url}only-in-sitemap.html</loc></url>"
        f"<url><loc>{server.url}private/from-sitemap.html</loc></url>"
        f"<url><loc>http://elsewhere.example/</loc></url></urlset>"
    )
    server.route("/sitemap_index.xml", lambda h: h.send_body(200, index.encode(), "text/xml"))
    packed = gzip.compress(urlset.encode())
    server.route("/pages.xml.gz", lambda h: h.send_body(200, packed, "application/gzip"))


def test_disallowed_never_requested_sitemap_page_found(
    fixture_site: Server, tmp_path: Path
) -> None:
    robots_site(
        fixture_site,
        f"User-agent: *\nDisallow: /private/\nSitemap: {fixture_site.url}sitemap_index.xml\n",
    )
    out = tmp_path / "out.jsonl"
    result = run_cli("crawl", fixture_site.url, "-o", str(out), "--delay", "0")
    assert result.returncode == 0, result.stderr
    titles = {r["title"] for r in read_records(out)}
    assert titles == {"Home", "Public", "Sitemap Only"}
    assert not any(p.startswith("/private/") for p in fixture_site.requests)
    assert "robots.txt 2" in result.stderr  # two disallowed URLs were skipped


def test_our_group_wins_and_ignore_robots_opts_out(fixture_site: Server, tmp_path: Path) -> None:
    robots_site(
        fixture_site,
        "User-agent: *\nDisallow: /\n\nUser-agent: harvester\nDisallow: /private/\nAllow: /\n",
    )
    out = tmp_path / "out.jsonl"
    assert run_cli("crawl", fixture_site.url, "-o", str(out), "--delay", "0").returncode == 0
    assert {r["title"] for r in read_records(out)} == {"Home", "Public"}
    result = run_cli(
        "crawl",
        fixture_site.url,
        "-o",
        str(out),
        "--delay",
        "0",
        "--ignore-robots",
        "--no-sitemaps",
    )
    assert result.returncode == 0
    assert {r["title"] for r in read_records(out)} == {"Home", "Public", "Secret"}


def test_failing_robots_txt_means_nothing_is_fetched(fixture_site: Server, tmp_path: Path) -> None:
    robots_site(fixture_site, "")

    def broken(handler: FaultHandler) -> None:
        handler.send_body(503, b"down", "text/plain")

    fixture_site.route("/robots.txt", broken)
    out = tmp_path / "out.jsonl"
    result = run_cli("crawl", fixture_site.url, "-o", str(out), "--delay", "0", "--quiet")
    assert result.returncode == 3
    assert "robots.txt" in result.stderr and "Traceback" not in result.stderr
    assert [p for p in fixture_site.requests if p != "/robots.txt"] == []


def test_huge_robots_txt_is_read_up_to_500_kib(fixture_site: Server, tmp_path: Path) -> None:
    padding = "# " + "x" * 98 + "\n"
    robots_site(fixture_site, "User-agent: *\nDisallow: /private/\n" + padding * 8000)
    out = tmp_path / "out.jsonl"
    result = run_cli("crawl", fixture_site.url, "-o", str(out), "--delay", "0", "--no-sitemaps")
    assert result.returncode == 0, result.stderr
    assert {r["title"] for r in read_records(out)} == {"Home", "Public"}
    assert not any(p.startswith("/private/") for p in fixture_site.requests)

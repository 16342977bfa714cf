"""robots.txt and sitemaps against a real local server, through the real Fetcher."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import FIXTURES, FaultHandler, Route, Server, serve

from harvester.fetch import FetchConfig, Fetcher
from harvester.robots import Getter, Robots
from harvester.settings import DEFAULT_USER_AGENT
from harvester.sitemaps import discover, parse_sitemap
from harvester.urls import Scope

T = TypeVar("T")
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from serve(FIXTURES / "site")


@pytest.fixture
def site(server: Server) -> Server:
    """One server for the module (stopping one takes half a second), reset for each test;
    each test builds its own Robots, so nothing is cached across tests."""
    with server.state.lock:
        server.state.routes.clear()
        server.state.requests.clear()
        server.state.hits.clear()
    return server


def reply(body: str | bytes, status: int = 200, content_type: str = "text/plain") -> Route:
    data = body.encode() if isinstance(body, str) else body

    def route(handler: FaultHandler) -> None:
        handler.send_body(status, data, content_type)

    return route


def run(server: Server, scenario: Callable[[Getter], Awaitable[T]]) -> T:
    """Run `scenario` with a getter on harvester's own Fetcher.get_bytes."""

    async def main() -> T:
        config = FetchConfig(delay=0, timeout=5, connect_timeout=2)
        async with Fetcher(config, Scope.from_seeds([server.url])) as fetcher:
            return await scenario(fetcher.get_bytes)

    return asyncio.run(main())


def urlset(*locs: str, namespace: str = NS) -> str:
    items = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {namespace}>{items}</urlset>'


def index(*locs: str, namespace: str = NS) -> str:
    items = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<?xml version="1.0"?><sitemapindex {namespace}>{items}</sitemapindex>'


# robots.txt


GROUPS = """\
User-agent: *
Disallow: /

User-agent: harvest
Disallow: /open

User-Agent: HARVESTER
Disallow: /private/
Allow: /private/open
Crawl-delay: 2.5
"""


def test_our_group_is_found_by_product_token_and_longest_match_wins(site: Server) -> None:
    def slow_robots(handler: FaultHandler) -> None:
        time.sleep(0.1)  # concurrent callers pile up behind one fetch
        reply(GROUPS)(handler)

    site.route("/robots.txt", slow_robots)
    base = site.url

    async def scenario(get: Getter) -> tuple[list[bool], float | None, list[bool]]:
        robots = Robots(get, DEFAULT_USER_AGENT)
        paths = ["", "open", "private/x", "private/open/y", "robots.txt"]
        answers = await asyncio.gather(*(robots.allowed(base + p) for p in paths * 4))
        other = Robots(get, "SomeBot/2.0")
        return answers[:5], await robots.crawl_delay(base), [await other.allowed(base)]

    answers, delay, other = run(site, scenario)
    assert answers == [True, True, False, True, True]
    assert delay == 2.5
    assert other == [False]  # "*" disallows everything for anyone else
    assert site.state.hits["/robots.txt"] == 2  # once per Robots, not per call


def test_star_group_rules_when_no_group_names_us(site: Server) -> None:
    robots_txt = (
        "User-agent: otherbot\nDisallow: /\n\n"
        "User-agent: harvest\nDisallow: /\n\n"  # a prefix of our token names another product
        "User-agent: *\nDisallow: /admin\n"
    )
    site.route("/robots.txt", reply(robots_txt + "Crawl-delay: 1\n"))
    base = site.url

    async def scenario(get: Getter) -> tuple[bool, bool, float | None]:
        robots = Robots(get, DEFAULT_USER_AGENT)
        return (
            await robots.allowed(base + "page"),
            await robots.allowed(base + "admin/users?x=1"),
            await robots.crawl_delay(base + "page"),
        )

    assert run(site, scenario) == (True, False, 1.0)


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_robots_in_4xx_means_no_restrictions(site: Server, status: int) -> None:
    site.route("/robots.txt", reply("User-agent: *\nDisallow: /\n", status))

    async def scenario(get: Getter) -> tuple[bool, float | None, list[str]]:
        robots = Robots(get, DEFAULT_USER_AGENT)
        url = site.url + "anything"
        return await robots.allowed(url), await robots.crawl_delay(url), await robots.sitemaps(url)

    assert run(site, scenario) == (True, None, [])


@pytest.mark.parametrize("status", [500, 503, 429])
def test_failing_robots_closes_the_origin_until_it_answers(site: Server, status: int) -> None:
    def fails_once(handler: FaultHandler) -> None:
        if handler.hits() == 1:
            handler.send_body(status, b"busy", "text/plain", {"Retry-After": "0"})
        else:
            reply("User-agent: *\nDisallow: /secret\n")(handler)

    site.route("/robots.txt", fails_once)
    base = site.url

    async def scenario(get: Getter) -> list[bool]:
        robots = Robots(get, DEFAULT_USER_AGENT, recheck_after=0.1)
        closed = [await robots.allowed(base), await robots.allowed(base + "page")]
        itself = await robots.allowed(base + "robots.txt")
        await asyncio.sleep(0.15)
        reopened = [await robots.allowed(base), await robots.allowed(base + "secret")]
        return [*closed, itself, *reopened]

    assert run(site, scenario) == [False, False, True, True, False]
    assert site.state.hits["/robots.txt"] == 2  # no refetch before recheck_after


def test_unreachable_or_oversized_robots_closes_only_that_origin(
    site: Server, free_port: int
) -> None:
    site.route("/robots.txt", reply("# padding\n" * 60_000))  # > 512 KiB cap
    dead = f"http://127.0.0.1:{free_port}/"

    async def scenario(get: Getter) -> list[object]:
        robots = Robots(get, DEFAULT_USER_AGENT)
        return [
            await robots.allowed(dead + "page"),
            await robots.crawl_delay(dead),
            await robots.sitemaps(dead),
            await robots.allowed(site.url + "page"),
        ]

    assert run(site, scenario) == [False, None, [], False]


def test_ignore_fetches_nothing(site: Server) -> None:
    site.route("/robots.txt", reply("User-agent: *\nDisallow: /\n"))

    async def scenario(get: Getter) -> tuple[bool, list[str]]:
        robots = Robots(get, DEFAULT_USER_AGENT, ignore=True)
        url = site.url + "page"
        return await robots.allowed(url), await robots.sitemaps(url)

    assert run(site, scenario) == (True, [])
    assert "/robots.txt" not in site.requests


def test_sitemap_lines_are_absolute_and_unique(site: Server) -> None:
    robots_txt = (
        "Sitemap: /sitemap_index.xml\n"
        "User-agent: *\nDisallow: /private/\n"
        "sitemap: https://Cdn.Example/maps/site.xml.gz\n"
        "Sitemap: /sitemap_index.xml\n"
    )
    site.route("/robots.txt", reply(robots_txt))

    async def scenario(get: Getter) -> list[str]:
        return await Robots(get, DEFAULT_USER_AGENT).sitemaps(site.url)

    assert run(site, scenario) == [
        site.url + "sitemap_index.xml",
        "https://cdn.example/maps/site.xml.gz",
    ]


# sitemaps


def test_index_to_gzipped_child_and_plain_text(site: Server) -> None:
    base = site.url
    child = urlset(f" {base}a ", f"{base}b?utm_source=x", "mailto:someone@example.org")
    image = '<image:image xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">'
    child = child.replace(
        "</url>", f"{image}<image:loc>{base}pic.jpg</image:loc></image:image></url>", 1
    )
    site.route("/sitemap_index.xml", reply(index(f"{base}pages.xml.gz", f"{base}more.txt")))
    site.route("/pages.xml.gz", reply(gzip.compress(child.encode()), 200, "application/gzip"))
    site.route("/more.txt", reply(f"{base}c\n\n{base}a\nnot a url\n"))
    site.route("/sitemap.xml", reply(urlset(f"{base}d", namespace="")))

    async def scenario(get: Getter) -> list[str]:
        roots = [base + "sitemap_index.xml", base + "sitemap.xml"]
        return await discover(get, roots, lambda url: True)

    assert run(site, scenario) == [base + "a", base + "b", base + "c", base + "d"]


def test_loop_of_indexes_ends_and_each_sitemap_is_fetched_once(site: Server) -> None:
    base = site.url
    site.route("/a.xml", reply(index(f"{base}b.xml", f"{base}a.xml")))
    site.route("/b.xml", reply(index(f"{base}a.xml#top", f"{base}pages.xml")))
    site.route("/pages.xml", reply(urlset(f"{base}page")))

    async def scenario(get: Getter) -> list[str]:
        return await discover(get, [base + "a.xml", base + "b.xml"], lambda url: True)

    assert run(site, scenario) == [base + "page"]
    assert [site.state.hits[p] for p in ("/a.xml", "/b.xml", "/pages.xml")] == [1, 1, 1]


def test_max_sitemaps_and_max_urls_bound_the_work(site: Server) -> None:
    base = site.url
    children = [f"{base}s{i}.xml" for i in range(10)]
    site.route("/index.xml", reply(index(*children)))
    for i in range(10):
        site.route(f"/s{i}.xml", reply(urlset(f"{base}p{i}a", f"{base}p{i}b")))

    async def scenario(get: Getter) -> tuple[list[str], list[str]]:
        capped = await discover(get, [base + "index.xml"], lambda url: True, max_sitemaps=3)
        few = await discover(get, [base + "index.xml"], lambda url: True, max_urls=3)
        return capped, few

    capped, few = run(site, scenario)
    assert capped == [base + p for p in ("p0a", "p0b", "p1a", "p1b")]  # index + 2 children
    assert few == [base + p for p in ("p0a", "p0b", "p1a")]


def test_refused_or_failed_sitemaps_are_skipped(site: Server, free_port: int) -> None:
    base = site.url
    elsewhere = "http://elsewhere.example/sitemap.xml"
    listed = [elsewhere, f"{base}private/s.xml", f"{base}gone.xml", f"{base}busy.xml"]
    listed += [f"http://127.0.0.1:{free_port}/s.xml", f"{base}ok.xml"]
    site.route("/index.xml", reply(index(*listed)))
    site.route("/private/s.xml", reply(urlset(f"{base}secret")))
    site.route("/busy.xml", reply(urlset(f"{base}busy"), 503))
    site.route("/ok.xml", reply(urlset(f"{base}ok", f"{base}private/p", elsewhere)))
    scope = Scope.from_seeds([base])
    asked: list[str] = []

    def allowed(url: str) -> bool:
        return scope.allows(url) and "/private/" not in url

    async def scenario(get: Getter) -> list[str]:
        async def recording(url: str) -> tuple[int, bytes]:
            asked.append(url)
            return await get(url)

        roots = [base + "index.xml", f"http://127.0.0.1:{free_port}/s.xml"]
        return await discover(recording, roots, allowed)

    assert run(site, scenario) == [base + "ok"]
    assert elsewhere not in asked
    assert "/private/s.xml" not in site.requests
    assert "/busy.xml" in site.requests


def test_external_entities_and_dtds_are_never_loaded(site: Server, tmp_path: Path) -> None:
    base = site.url
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    site.route("/evil.dtd", reply(f'<!ENTITY leak "{base}leaked">'))
    doctypes = {
        "file": f'<!DOCTYPE urlset [<!ENTITY x SYSTEM "{secret.as_uri()}">]>',
        "dtd": f'<!DOCTYPE urlset SYSTEM "{base}evil.dtd">',
        "parameter": f'<!DOCTYPE urlset [<!ENTITY % p SYSTEM "{base}evil.dtd"> %p;]>',
    }
    for name, doctype in doctypes.items():
        leak = "" if name == "file" else "<url><loc>&leak;</loc></url>"
        body = (
            f'<?xml version="1.0"?>{doctype}<urlset {NS}>'
            f"<url><loc>{base}&x;</loc></url><url><loc>&x;</loc></url>{leak}"
            f"<url><loc>{base}clean</loc></url></urlset>"
        )
        site.route(f"/{name}.xml", reply(body, 200, "application/xml"))
        # Entity-bearing <loc>s are dropped whole, not cut short or expanded.
        assert parse_sitemap(body.encode()) == ([base + "clean"], []), name

    async def scenario(get: Getter) -> list[str]:
        return await discover(get, [f"{base}{name}.xml" for name in doctypes], lambda url: True)

    assert run(site, scenario) == [base + "clean"]
    assert "/evil.dtd" not in site.requests


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        f'<?xml version="1.0"?><!DOCTYPE urlset [{"".join(entities)}]>'
        f"<urlset {NS}><url><loc>http://example.com/&lol9;</loc></url></urlset>"
    ).encode()


def test_billion_laughs_expands_nothing() -> None:
    started = time.monotonic()
    assert parse_sitemap(billion_laughs()) == ([], [])
    assert time.monotonic() - started < 1


def gzip_bomb(members: int) -> bytes:
    """A valid sitemap followed by `members` x 16 MiB of zeros, ~1000:1 compressed."""
    zeros = gzip.compress(b"\0" * (16 << 20))
    head = gzip.compress(urlset("http://example.com/a").encode())
    return head + zeros * members


def test_gzip_bomb_is_not_expanded_whole(site: Server) -> None:
    started = time.monotonic()
    assert parse_sitemap(gzip_bomb(64)) == ([], [])  # 1 GiB: stopped at the 50 MiB cap
    assert time.monotonic() - started < 2
    base = site.url
    site.route("/bomb.xml.gz", reply(gzip_bomb(4), 200, "application/octet-stream"))
    site.route("/sitemap.xml", reply(urlset(f"{base}fine")))

    async def scenario(get: Getter) -> list[str]:
        return await discover(get, [base + "bomb.xml.gz", base + "sitemap.xml"], lambda u: True)

    assert run(site, scenario) == [base + "fine"]


@pytest.mark.parametrize(
    "body",
    [
        urlset("http://example.com/?a=1&b=2").encode(),  # unescaped &
        urlset("http://example.com/a").encode()[:-20],  # truncated
        b'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>Not found</body></html>',
        b"<<<>>>",
        b"\x1f\x8b\x08\x00garbage",
        gzip.compress(urlset("http://example.com/a").encode())[:-12],
        b"",
        b'<?xml version="1.0"?><rss><channel><link>http://example.com/a</link></channel></rss>',
    ],
)
def test_malformed_sitemaps_yield_nothing(body: bytes) -> None:
    assert parse_sitemap(body) == ([], [])


def test_sitemap_spellings() -> None:
    bare = urlset("  http://example.com/a\n ", "javascript:alert(1)", "/relative", namespace="")
    assert parse_sitemap(b"\n\xef\xbb\xbf  " + bare.encode()) == (["http://example.com/a"], [])
    nested = index("https://example.com/s.xml.gz", namespace="")
    assert parse_sitemap(nested.encode()) == ([], ["https://example.com/s.xml.gz"])

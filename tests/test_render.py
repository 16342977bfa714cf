"""--render: which pages `auto` renders, and rendered pages crawled as any other page, in
a real headless Chromium (Debian's chromium) against a local site."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, FaultHandler, Server, read_records, run_cli, serve

from harvester.browser import MISSING, find_chromium, needs_render

SITE = FIXTURES / "js-site"
CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on PATH: `apt-get install chromium` (.ci/run installs it)",
)


# --- which pages `auto` renders --------------------------------------------------------------


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head><title>T</title>{head}</head><body>{body}</body></html>"


ARTICLE = (
    "<main><h1>Knee pain after running</h1>"
    + "<p>Most knee pain after a run comes from doing too much too soon. " * 8
    + "</p><h2>Do I need an X-ray?</h2><p>Usually not: we examine the knee first.</p></main>"
)


@pytest.mark.parametrize(
    "html",
    [
        page('<div id="root"></div>', '<script defer src="/static/js/main.8c1f.js"></script>'),
        page('<div id="__next"></div><script src="/_next/static/chunks/app.js"></script>'),
        page("<app-root></app-root>", '<script src="runtime.js" type="module"></script>'),
        page('<div id="app"><div class="spinner"></div>Loading…</div>'),
        page('<div data-reactroot=""></div>'),
        page("<noscript>Please enable JavaScript to view this site.</noscript><div></div>"),
        page('<header>Clinic</header><script type="module" src="/assets/index-4f2a.js"></script>'),
    ],
    ids=["react-root", "next", "angular", "vue-loading", "reactroot", "noscript", "bundle"],
)
def test_app_shells_are_rendered(html: str) -> None:
    assert needs_render(html)
    assert needs_render(html.encode())


@pytest.mark.parametrize(
    "html",
    [
        # Server-rendered, with scripts and an app mount full of content.
        page(f'<div id="root">{ARTICLE}</div>', '<script src="/static/js/main.js"></script>'),
        page(
            ARTICLE + "<noscript>Enable JavaScript for the booking form.</noscript>",
            '<script src="/js/app.bundle.js"></script><script>var a = 1;</script>',
        ),
        # Little text, and nothing of a client-side app.
        page("<h1>Contact</h1><p>Call us on 555-0100.</p>"),
        page(
            "<h1>Contact</h1><p>Call us on 555-0100.</p>",
            '<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>',
        ),
        page('<noscript><img src="/pixel.gif" alt=""></noscript><p>Closed today.</p>'),
        page('<div id="app"><p>We have moved: see our new address on the map.</p></div>'),
        page('<p>Our brochure.</p><script src="/js/main.js"></script>'),
        "",
        "   ",
        "\x00\x01 not html at all",
    ],
    ids=[
        "filled-root",
        "article-noscript",
        "short-page",
        "short-page-analytics",
        "tracking-noscript",
        "short-root-text",
        "script-beside-content",
        "empty",
        "blank",
        "binary",
    ],
)
def test_pages_with_their_content_are_not_rendered(html: str) -> None:
    assert not needs_render(html)
    assert not needs_render(html.encode())


# --- crawling with a browser -----------------------------------------------------------------

FAQ = [
    "Do you take walk-in patients?",
    "Is parking available at the clinic?",
    "Can I bring my own X-rays?",
]


@pytest.fixture
def js_site() -> Iterator[Server]:
    yield from serve(SITE)


@pytest.fixture
def partner() -> Iterator[Server]:
    """Another site, reached as `localhost`: outside the crawl's scope (127.0.0.1)."""
    for server in serve(SITE / "partner"):
        server.url = server.url.replace("127.0.0.1", "localhost")
        yield server


def crawl(url: str, out: Path, *flags: str) -> list[dict[str, Any]]:
    result = run_cli("crawl", url, "-o", str(out), "--delay", "0", "--workers", "0", *flags)
    assert result.returncode == 0, result.stderr
    return read_records(out)


def questions(records: list[dict[str, Any]]) -> list[str]:
    return [qa["question"] for record in records for qa in record["qa"]]


@needs_chromium
def test_auto_renders_a_faq_that_scripts_insert(js_site: Server, tmp_path: Path) -> None:
    """The app's script (same origin) fetches the FAQ as JSON and writes it into #root."""
    url = js_site.url + "app.html"
    never = crawl(url, tmp_path / "never.jsonl", "--render", "never")
    assert questions(never) == []
    assert not [p for p in js_site.requests if p.startswith(("/static/", "/data/"))]

    # Worker processes read the rendered page as they read a fetched one.
    result = run_cli(
        "crawl", url, "-o", str(tmp_path / "auto.jsonl"), "--delay", "0", "--render", "auto",
        "--workers", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    auto = read_records(tmp_path / "auto.jsonl")
    assert questions(auto) == FAQ
    assert auto[0]["qa"][0]["answer"].startswith("Yes, every weekday morning")
    assert auto[0]["url"] == url
    assert js_site.requests.count("/app.html") == 2  # once per run: the browser reuses it


@needs_chromium
def test_inline_script_and_always(js_site: Server, tmp_path: Path) -> None:
    url = js_site.url + "inline.html"
    assert questions(crawl(url, tmp_path / "auto.jsonl", "--render", "auto")) == [
        "Are you open on Saturdays?",
        "Do you close for public holidays?",
    ]
    assert questions(crawl(url, tmp_path / "never.jsonl")) == []  # the default: never
    always = crawl(url, tmp_path / "always.jsonl", "--render", "always")
    assert len(questions(always)) == 2


def offsite_page(partner: Server) -> Any:
    body = (SITE / "offsite.html").read_bytes()
    body = body.replace(b"OTHER_ORIGIN", partner.url.rstrip("/").encode())
    return lambda handler: FaultHandler.send_body(handler, 200, body)


@needs_chromium
def test_off_site_resources_are_never_fetched(
    js_site: Server, partner: Server, tmp_path: Path
) -> None:
    js_site.route("/offsite.html", offsite_page(partner))
    url = js_site.url + "offsite.html"
    records = crawl(url, tmp_path / "out.jsonl", "--render", "auto")
    assert questions(records) == ["Who are your partners?"]  # the page's own script ran
    assert partner.requests == []  # not even its robots.txt

    # The control: allowed, the partner's script is fetched and runs.
    allowed = crawl(
        url, tmp_path / "allowed.jsonl", "--render", "auto", "--allow-domain", "localhost"
    )
    assert "/widget.js" in partner.requests
    assert "Is the partner widget loaded?" in questions(allowed)


@needs_chromium
def test_robots_txt_blocks_a_script(js_site: Server, tmp_path: Path) -> None:
    url = js_site.url + "blocked.html"
    records = crawl(url, tmp_path / "out.jsonl", "--render", "always")
    assert questions(records) == []
    assert "/robots.txt" in js_site.requests
    assert not [p for p in js_site.requests if p.startswith("/private/")]

    ignoring = crawl(url, tmp_path / "ignoring.jsonl", "--render", "always", "--ignore-robots")
    assert questions(ignoring) == [
        "How do I renew my membership?",
        "Can I pause my membership?",
    ]
    assert "/private/faq.js" in js_site.requests


def test_no_chromium_is_one_line_before_crawling(js_site: Server, tmp_path: Path) -> None:
    """Runs everywhere: PATH without a browser on it."""
    env = {**os.environ, "PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "harvester", "crawl", js_site.url, "--render", "auto"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr == f"harvester: error: {MISSING}\n"
    assert js_site.requests == []


@needs_chromium
def test_a_rendered_pages_requests_carry_the_crawls_headers_and_auth(
    js_site: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = js_site.url + "app.html"
    found = crawl(
        url,
        tmp_path / "auto.jsonl",
        "--render",
        "auto",
        "-H",
        "X-Clinic-Token: t0ken-value",
        "--auth",
        "editor:s3cret-pass",
    )
    assert questions(found) == FAQ
    scripted = [
        p for p in js_site.headers("X-Clinic-Token") if p.startswith(("/static/", "/data/"))
    ]
    assert scripted  # the app's own requests were made...
    for path in scripted:  # ...with the crawl's header and credentials
        assert js_site.headers("X-Clinic-Token")[path] == ["t0ken-value"]
        assert js_site.headers("Authorization")[path][0] == "Basic ZWRpdG9yOnMzY3JldC1wYXNz"

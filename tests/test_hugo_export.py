"""Acceptance: `harvester crawl --format markdown --redirects` on a real server, then a
real Hugo build of what it wrote. Every record renders at its `url`, none is a draft,
no two pages share a target, every old path in `aliases` is a redirect page, the FAQ
keeps its intro and every Q&A, and the redirect map (CSV and nginx) sends each old path
to the new url: a real nginx, when installed, serves the build with it, loop-free.

Two sites: the bundled sample site (clean folder URLs) and a legacy clinic site
(tests/fixtures/legacy-site: `index.php?page=`, `Article.aspx?id=`, `.html` pages, a
printer-friendly copy, a 301 and a 404).
"""

from __future__ import annotations

import csv
import html
import http.client
import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from conftest import FIXTURES, Server, run_cli, serve, wait_until
from test_hugo import CONFIG, HUGO, LAYOUT, build, built_pages, front_of
from test_redirects import NGINX, NGINX_CONF, free_port

pytestmark = pytest.mark.skipif(HUGO is None, reason="hugo is not installed (apt-get install hugo)")

LEGACY = FIXTURES / "legacy-site"
ROUTED = {  # a query string picks the page: the file server alone would ignore it
    "/index.php": "index.html",
    "/index.php?page=about": "routed/about.html",
    "/index.php?page=services": "routed/services.html",
    "/Article.aspx?id=3": "routed/article-3.html",
    "/Article.aspx?id=3&print=1": "routed/article-3.html",
    "/Article.aspx?id=7": "routed/article-7.html",
}
MOVED = ("/services.html", "/index.php?page=services")  # answered with a 301
MISSING = "/old-prices.html"  # linked from the home page, answered with a 404


@pytest.fixture(scope="module")
def legacy_site() -> Iterator[Server]:
    """The legacy clinic site, its CMS pages routed by path and query string."""
    for server in serve(LEGACY):
        for path, file in ROUTED.items():
            body = (LEGACY / file).read_bytes()
            server.route(path, lambda h, body=body: h.send_body(200, body))
        moved = {"Location": MOVED[1]}
        server.route(MOVED[0], lambda h, moved=moved: h.send_body(301, b"", headers=moved))
        yield server


@dataclass
class Export:
    """One site exported twice (csv and nginx maps), its records, and the Hugo build."""

    name: str  # "sample" or "legacy"
    server: Server
    content: Path
    public: Path
    log: str
    records: list[dict[str, Any]]
    csv_rows: list[dict[str, str]]
    nginx_map: Path
    nginx_content: Path


def crawl(server: Server, *args: str) -> None:
    """One CLI run; the legacy site's dead link is its only failure (exit 1)."""
    run = run_cli("crawl", server.url, "--delay", "0", *args)
    failed = [line.strip() for line in run.stderr.splitlines() if "failed:" in line]
    if server.state.routes:
        assert run.returncode == 1, run.stderr
        assert failed == [f"failed: {server.url.rstrip('/')}{MISSING}: HTTP 404"], run.stderr
    else:
        assert run.returncode == 0 and not failed, run.stderr


def export(name: str, server: Server, folder: Path) -> Export:
    """The site as Markdown with a CSV map (built by Hugo), again with an nginx map,
    and as JSON Lines: what the crawl found, to check the other two against."""
    site, content = folder / "site", folder / "site" / "content"
    markdown = ("--format", "markdown", "-o")
    crawl(server, *markdown, str(content), "--redirects", str(folder / "map.csv"))
    nginx = ("--redirects", str(folder / "map.conf"), "--redirects-format", "nginx")
    crawl(server, *markdown, str(folder / "nginx"), *nginx)
    crawl(server, "-o", str(folder / "records.jsonl"))
    (site / "config.toml").write_text(CONFIG.format(content=content))
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True)
    for layout in ("single.html", "list.html"):
        (layouts / layout).write_text(LAYOUT)
    log, public = build(site)
    with (folder / "map.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    return Export(
        name,
        server,
        content,
        public,
        log,
        [json.loads(line) for line in (folder / "records.jsonl").read_text("utf-8").splitlines()],
        rows,
        folder / "map.conf",
        folder / "nginx",
    )


_EXPORTS: dict[str, Export] = {}  # each site is exported and built once per test run


def export_of(
    name: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Export:
    if name not in _EXPORTS:
        server = request.getfixturevalue(f"{name}_site")
        _EXPORTS[name] = export(name, server, tmp_path_factory.mktemp(name))
    return _EXPORTS[name]


@pytest.fixture(scope="module", params=["sample", "legacy"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Export:
    return export_of(request.param, request, tmp_path_factory)


@pytest.fixture(scope="module")
def legacy_exported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Export:
    """The legacy site alone, for what only its old URLs show."""
    return export_of("legacy", request, tmp_path_factory)


def pages_of(content: Path) -> dict[str, dict[str, Any]]:
    """Every Markdown file's front matter, by its path in the folder."""
    return {f.relative_to(content).as_posix(): front_of(f) for f in content.rglob("*.md")}


def source_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def rendered(public: Path, url: str) -> Path:
    return public / url.lstrip("/") / "index.html"


# --- the build ---------------------------------------------------------------------------


def test_every_record_renders_at_its_url(exported: Export) -> None:
    pages = pages_of(exported.content)
    assert sorted(str(p["source_url"]) for p in pages.values()) == sorted(
        r["url"] for r in exported.records
    )
    urls = [str(p["url"]) for p in pages.values()]
    assert len(set(urls)) == len(urls)
    for front in pages.values():
        page = rendered(exported.public, str(front["url"]))
        assert page.is_file(), front["url"]
        title = front["title"]
        assert f"<h1>{title}</h1>" in html.unescape(page.read_text("utf-8")), front["url"]


def test_legacy_urls_become_clean_folders(legacy_exported: Export) -> None:
    exported = legacy_exported
    by_source = {
        source_path(str(p["source_url"])): p["url"] for p in pages_of(exported.content).values()
    }
    assert by_source == {
        "/": "/",
        "/index.php?page=about": "/page-about/",
        "/index.php?page=services": "/page-services/",
        "/Article.aspx?id=3": "/article-id-3/",
        "/Article.aspx?id=7": "/article-id-7/",
        "/faq.html": "/faq/",
        "/staff.html": "/staff/",
        "/Contact%20Us.htm": "/contact-us/",
        "/news.html": "/news/",
        "/tips/": "/tips/",
        "/tips/ice-or-heat.html": "/tips/ice-or-heat/",
    }
    assert not rendered(exported.public, "/old-prices").exists()


def test_no_page_is_a_draft(exported: Export) -> None:
    pages = pages_of(exported.content)
    for front in pages.values():
        assert not {"draft", "publishDate", "expiryDate"} & set(front), front
    site = exported.content.parent
    _, everything = build(site, "--buildDrafts", "--buildFuture", "--buildExpired")
    assert built_pages(exported.public) == built_pages(everything)


def test_no_duplicate_targets_and_no_warnings(exported: Export) -> None:
    assert "Duplicate target paths" not in exported.log
    assert not re.search(r"\b(WARN|ERROR)\b", exported.log), exported.log


def test_every_alias_is_a_redirect_page(exported: Export) -> None:
    aliases = {
        str(alias): str(front["url"])
        for front in pages_of(exported.content).values()
        for alias in front.get("aliases", [])
    }
    for alias, url in aliases.items():
        target = alias.lstrip("/")
        page = exported.public / (target if target.endswith(".html") else target + "/index.html")
        assert page.is_file(), alias
        assert f'url=http://example.org{url}"' in page.read_text("utf-8"), alias


def test_legacy_old_paths_are_aliases(legacy_exported: Export) -> None:
    exported = legacy_exported
    aliases = {
        str(alias): str(front["url"])
        for front in pages_of(exported.content).values()
        for alias in front.get("aliases", [])
    }
    assert aliases == {
        "/index.php": "/",
        "/services.html": "/page-services/",
        "/faq.html": "/faq/",
        "/staff.html": "/staff/",
        "/Contact Us.htm": "/contact-us/",
        "/news.html": "/news/",
        "/tips/ice-or-heat.html": "/tips/ice-or-heat/",
    }


# --- the FAQ -----------------------------------------------------------------------------

SAMPLE_FAQ = [
    "Can’t find what you are looking for? Get in touch and our front desk team",
    "Do I need a doctor’s referral to book an appointment?",
    "No. You can book directly with any of our practitioners without a referral.",
    "What should I bring to my first appointment?",
    "<li>A list of current medications</li>",
    "If you are coming in after surgery, please also bring any protocol",
    "Do you direct bill insurance companies?",
    "How long is a typical treatment session?",
    "What is your cancellation policy?",
    "Appointments missed without notice may be charged the full treatment fee",
]
LEGACY_FAQ = [
    "Our clinicians answer the questions patients ask us most often at the front desk.",
    "Do I need a doctor's referral?",
    "No. You can book directly with any of our physiotherapists.",
    "Dr. Maria Chen, PT",
    "What should I wear to my appointment?",
    "a tank top for a shoulder.",
    "Tom Walsh, RMT",
    "How many treatments will I need?",
    "with fewer visits as you progress.",
    "Ruth Okafor, PT",
    "Is massage therapy covered by my insurance?",
    "registration number for your claim.",
    "Tom Walsh, RMT",
]


# Hugo's typographer curls straight quotes (`doctor's` -> `doctor’s`): a choice of the
# site's Hugo configuration (markup.goldmark.extensions.typographer), not lost text.
CURLED = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def faq_html(exported: Export) -> str:
    """The FAQ page as built, entities decoded, on one line, its quotes straight."""
    text = html.unescape(rendered(exported.public, "/faq/").read_text("utf-8"))
    return " ".join(text.split()).translate(CURLED)


def test_faq_has_its_intro_and_every_qa(exported: Export) -> None:
    """The intro, then each question, its answer and who signed it, in page order."""
    text = faq_html(exported)
    at = 0
    for part in LEGACY_FAQ if exported.name == "legacy" else SAMPLE_FAQ:
        found = text.find(part.translate(CURLED), at)
        assert found != -1, f"{part!r} missing, or out of order"
        at = found + len(part)


def test_faq_shows_every_qa_the_crawl_found(exported: Export) -> None:
    """Each question as a heading, then its answer's lines and who signed it."""
    (faq,) = [r for r in exported.records if urlsplit(r["url"]).path in ("/faq/", "/faq.html")]
    assert faq["kind"] == "qa" and len(faq["qa"]) >= 4
    text = faq_html(exported)
    at = 0
    for qa in faq["qa"]:
        asked = " ".join(qa["question"].split()).translate(CURLED)
        question = re.search(rf">{re.escape(asked)}</h[2-6]>", text)
        assert question is not None and question.start() > at, qa["question"]
        at = question.start()
        for line in qa["answer"].splitlines():
            if line.strip():
                shown = " ".join(line.removeprefix("- ").split()).translate(CURLED)
                assert shown in text[at:], line
        if qa["answered_by"]:
            assert qa["answered_by"]["name"] in text[at:]


# --- the redirect map --------------------------------------------------------------------


def expected_redirects(exported: Export) -> dict[str, str]:
    """Every old address of every record, path and query only, to its page's url."""
    expected: dict[str, str] = {}
    by_source = {str(p["source_url"]): str(p["url"]) for p in pages_of(exported.content).values()}
    for record in exported.records:
        url = by_source[record["url"]]
        for old in [*record["aliases"], record["url"]]:
            # The page's own file is served as it is: a 301 from `/x/index.html` to `/x/`
            # would loop, since a web server answers `/x/` with that very file.
            if source_path(old) not in (url, url + "index.html"):
                expected[source_path(old)] = url
    return expected


def test_csv_map_sends_every_old_path_to_its_new_url(exported: Export) -> None:
    rows = exported.csv_rows
    assert rows, "no redirects"
    assert all(row["status"] == "301" for row in rows)
    assert all(row["from"].startswith("/") and not row["from"].startswith("//") for row in rows)
    assert {row["from"]: row["to"] for row in rows} == expected_redirects(exported)
    assert len({row["from"] for row in rows}) == len(rows)


def test_legacy_map_has_the_query_and_moved_sources(legacy_exported: Export) -> None:
    exported = legacy_exported
    redirects = {row["from"]: row["to"] for row in exported.csv_rows}
    assert redirects == {
        "/index.php": "/",
        "/index.php?page=about": "/page-about/",
        "/index.php?page=services": "/page-services/",
        "/services.html": "/page-services/",
        "/Article.aspx?id=3": "/article-id-3/",
        "/Article.aspx?id=3&print=1": "/article-id-3/",
        "/Article.aspx?id=7": "/article-id-7/",
        "/faq.html": "/faq/",
        "/staff.html": "/staff/",
        "/Contact%20Us.htm": "/contact-us/",
        "/news.html": "/news/",
        "/tips/ice-or-heat.html": "/tips/ice-or-heat/",
    }
    assert MISSING not in redirects


NGINX_PLAIN = re.compile(r'^location = "([^"]+)" \{ return (\d+) "([^"]+)"; \}$')
NGINX_OPEN = re.compile(r'^location = "([^"]+)" \{$')
NGINX_QUERY = re.compile(r'^ {4}if \(\$args = "([^"]+)"\) \{ return (\d+) "([^"]+)"; \}$')
NGINX_ELSE = re.compile(r'^ {4}return (\d+) "([^"]+)";$')


def nginx_redirects(text: str) -> dict[str, tuple[int, str]]:
    """The map read back from the nginx include file: source -> (status, target)."""
    found: dict[str, tuple[int, str]] = {}
    location = ""
    for line in text.splitlines():
        if line.startswith("#") or line == "}":
            continue
        if match := NGINX_PLAIN.match(line):
            found[match[1]] = (int(match[2]), match[3])
        elif match := NGINX_OPEN.match(line):
            location = match[1]
        elif match := NGINX_QUERY.match(line):
            found[f"{location}?{match[1]}"] = (int(match[2]), match[3])
        elif match := NGINX_ELSE.match(line):
            found[location] = (int(match[1]), match[2])
        else:
            raise AssertionError(f"unexpected nginx line: {line!r}")
    return found


def test_nginx_map_matches_the_csv_one(exported: Export) -> None:
    assert pages_of(exported.nginx_content) == pages_of(exported.content)
    found = nginx_redirects(exported.nginx_map.read_text("utf-8"))
    # nginx matches the decoded path: `location = "/Contact Us.htm"` for /Contact%20Us.htm
    assert found == {unquote(row["from"]): (301, row["to"]) for row in exported.csv_rows}


def location(port: int, path: str) -> tuple[int, str]:
    """The status and Location header of one GET to 127.0.0.1:`port`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Location") or ""
    finally:
        connection.close()


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def nginx_site(exported: Export, tmp_path: Path) -> Iterator[int]:
    """A real nginx serving the Hugo build with the nginx map included; its port."""
    if NGINX is None:
        pytest.skip("nginx is not installed")
    (tmp_path / "www").symlink_to(exported.public)
    port = free_port()
    conf = tmp_path / "nginx.conf"
    # Run as root, nginx's workers would be `nobody`, who cannot read pytest's folders.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(user + NGINX_CONF.format(run=tmp_path, port=port, include=exported.nginx_map))
    check = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    server = subprocess.Popen([NGINX, "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: listening(port))
        yield port
    finally:
        server.terminate()
        server.wait(10)


def test_nginx_serves_every_page_and_every_redirect_once(exported: Export, nginx_site: int) -> None:
    """Each new url answers 200 with its page; each old address one 301 to it, no loop."""
    for front in pages_of(exported.content).values():
        assert location(nginx_site, quote(str(front["url"]))) == (200, ""), front["url"]
    for row in exported.csv_rows:
        status, where = location(nginx_site, row["from"])
        assert status == 301 and urlsplit(where).path == row["to"], row
        assert location(nginx_site, row["to"]) == (200, ""), row

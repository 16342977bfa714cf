"""Request options against a real local server: -H, --cookies, --auth and --proxy reach
it, and no credential is ever shown or stored: not in the logs, the summary, the report,
the WARC's request headers or the crawl state."""

from __future__ import annotations

import base64
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import Server, run_cli, serve
from warcio.archiveiterator import ArchiveIterator

PAGE = "<html><head><title>{0}</title></head><body><main><h1>{0}</h1><p>{0}: {1}</p>{2}</main>"
TOKEN, COOKIE, PASSWORD, PROXY_PASSWORD = "tok-S1x", "ck-S2x", "pw-S3x", "pp-S4x"
SECRETS = (TOKEN, COOKIE, PASSWORD, PROXY_PASSWORD)


def write_site(root: Path) -> None:
    links = '<a href="/about/">About</a> <a href="/missing/">Gone</a>'
    (root / "index.html").write_text(PAGE.format("Home", "the front page of it all.", links))
    (root / "about").mkdir()
    (root / "about" / "index.html").write_text(PAGE.format("About", "who we are, at length.", ""))


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("site")
    write_site(root)
    yield from serve(root)


@pytest.fixture
def cookies_txt(tmp_path: Path) -> Path:
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        f"127.0.0.1\tFALSE\t/\tFALSE\t0\tsessionid\t{COOKIE}\n"
        "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t4102444800\tlang\tfr\n"
    )
    return path


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def assert_nowhere(*places: Path | str) -> None:
    """No secret in any of these texts or files (SQLite files with their -wal)."""
    for place in places:
        if isinstance(place, Path):
            files = [f for f in place.parent.glob(place.name + "*") if f.is_file()]
            assert files, place
            data = b"".join(f.read_bytes() for f in files)
        else:
            data = place.encode()
        for secret in SECRETS:
            assert secret.encode() not in data, (secret, place)


def warc_requests(path: Path) -> list[dict[str, str]]:
    with path.open("rb") as stream:
        return [
            dict(record.http_headers.headers)
            for record in ArchiveIterator(stream)
            if record.rec_type == "request"
        ]


def test_headers_cookies_and_auth_reach_the_server_and_are_never_shown(
    site: Server, tmp_path: Path, cookies_txt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARVESTER_PASSWORD", PASSWORD)
    out, warc, report, state = (
        tmp_path / n for n in ("out.jsonl", "c.warc.gz", "r.html", "s.sqlite")
    )
    done = run_cli(
        "-vv",
        "crawl",
        site.url,
        *("-H", "Accept-Language: fr", "-H", f"X-Api-Token: {TOKEN}"),
        *("--cookies", str(cookies_txt), "--auth", "ann"),
        *("--delay", "0", "--retries", "0", "--workers", "0"),
        *("-o", str(out), "--warc", str(warc), "--report", str(report), "--state", str(state)),
    )
    assert done.returncode == 1, done.stderr  # /missing/ is a 404
    for path in ("/robots.txt", "/", "/about/", "/missing/"):
        assert site.headers("Accept-Language")[path] == ["fr"], path
        assert site.headers("X-Api-Token")[path] == [TOKEN], path
        assert site.headers("Authorization")[path] == [basic("ann", PASSWORD)], path
        cookies = site.headers("Cookie")[path][0] or ""
        assert sorted(cookies.split("; ")) == ["lang=fr", f"sessionid={COOKIE}"], path
    archived = warc_requests(warc)
    assert len(archived) >= 5  # robots.txt, sitemap.xml, /, /about/, /missing/
    for headers in archived:
        assert headers["Accept-Language"] == "fr"
        assert headers["X-Api-Token"] == headers["Authorization"] == "[redacted]"
        assert headers["Cookie"] == "[redacted]"
    assert_nowhere(done.stderr, done.stdout, out, report, state, warc)


def test_auth_in_the_flag_and_bad_values_that_are_not_echoed(
    site: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARVESTER_PASSWORD", raising=False)
    listed = run_cli("map", site.url, "--auth", f"ann:{PASSWORD}", "--delay", "0")
    assert listed.returncode == 1, listed.stderr  # /missing/
    assert site.headers("Authorization")["/"] == [basic("ann", PASSWORD)]
    assert_nowhere(listed.stderr)
    for args, message in [
        (("--auth", "ann"), "--auth ann: set $HARVESTER_PASSWORD"),
        (("-H", f"X-Token {TOKEN}"), "--header: give each header as 'Name: value'"),
        (("--proxy", f"ftp://u:{PROXY_PASSWORD}@proxy/"), "--proxy ftp://u:[redacted]@proxy/"),
        (("--cookies", __file__), "not a cookies.txt file"),
    ]:
        failed = run_cli("crawl", site.url, *args)
        assert failed.returncode == 2 and message in failed.stderr, failed.stderr
        assert_nowhere(failed.stderr)


class _ForwardProxy(BaseHTTPRequestHandler):
    """A plain HTTP forward proxy: absolute-form GETs fetched from their target."""

    used: list[tuple[str, str | None]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.used.append((self.path, self.headers.get("Proxy-Authorization")))
        headers = {k: v for k, v in self.headers.items() if not k.lower().startswith("proxy-")}
        request = urllib.request.Request(self.path, headers=headers)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as answer:
                status, body, reply = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            status, body, reply = error.code, error.read(), error.headers
        self.send_response(status)
        for name in ("Content-Type", "Location"):
            if reply.get(name):
                self.send_header(name, reply[name])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    used: list[tuple[str, str | None]] = []
    handler = type("Proxy", (_ForwardProxy,), {"used": used})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", used
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_proxy_flag_carries_every_request(
    site: Server, tmp_path: Path, proxy: tuple[str, list[tuple[str, str | None]]]
) -> None:
    address, used = proxy
    warc = tmp_path / "c.warc"
    done = run_cli(
        "-v",
        "crawl",
        site.url,
        *("--proxy", f"http://pu:{PROXY_PASSWORD}@{address}", "--warc", str(warc)),
        *("--delay", "0", "--retries", "0", "-o", str(tmp_path / "out.jsonl")),
    )
    assert done.returncode == 1, done.stderr
    through = {url for url, _ in used}
    assert {site.url, site.url + "about/", site.url + "robots.txt"} <= through
    assert {auth for _, auth in used} == {basic("pu", PROXY_PASSWORD)}
    assert len(used) == len(site.requests)  # nothing went around the proxy
    assert_nowhere(done.stderr, warc)


def test_proxy_from_the_environment(
    site: Server,
    proxy: tuple[str, list[tuple[str, str | None]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    address, used = proxy
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://{address}")
    listed = run_cli("map", site.url, "--delay", "0", "--retries", "0")
    assert listed.returncode == 1, listed.stderr
    assert site.url in {url for url, _ in used}
    assert len(used) == len(site.requests)

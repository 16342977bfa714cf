"""Servers that attack the crawler: nested gzip bombs, bytes dripped for ever, and a
Retry-After that must hold every slot of a host."""

from __future__ import annotations

import asyncio
import functools
import gzip
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import FaultHandler, Server, read_records, run_cli, serve

from harvester.fetch import BodyError, read_body

PAGE = "<html><body><main><h1>{0}</h1><p>{0}: a page of its own words.</p>{1}</main></body></html>"
LIMIT = 64 * 1024  # --max-bytes of the bomb crawls
MiB = 1024 * 1024
PEAK_RSS = 300 * MiB
# The crawl in a grandchild, so that the peak memory read is that crawl's alone.
MEASURED = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run([sys.executable, '-m', 'harvester', *sys.argv[1:]])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'peak-rss-kib {peak}', file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


def page(title: str, links: str = "") -> bytes:
    return PAGE.format(title, links).encode()


@functools.cache
def bomb() -> bytes:
    """About 6 KB that gzip twice over expand to 512 MiB of newlines."""
    packer = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b"\n" * MiB
    inner = b"".join(packer.compress(block) for _ in range(512)) + packer.flush()
    return gzip.compress(inner)


def send_bomb(content_type: str) -> Callable[[FaultHandler], None]:
    def route(handler: FaultHandler) -> None:
        headers = {"Content-Encoding": "gzip, gzip"}
        handler.send_body(200, bomb(), content_type, headers)

    return route


def not_found(handler: FaultHandler) -> None:
    handler.send_body(404, b"not here", "text/plain")


def drip(content_type: str, every: float = 0.2) -> Callable[[FaultHandler], None]:
    """Headers at once, then one byte at a time: never idle long enough for --timeout."""

    def route(handler: FaultHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        stop = time.monotonic() + 100
        try:
            while time.monotonic() < stop:
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(every)
        except OSError:  # the client hung up
            pass

    return route


@pytest.fixture
def site() -> Iterator[Server]:
    """A home page linking to /bomb.html and /fine.html; robots.txt and sitemap.xml plain."""
    home = page("Home", "<a href='/bomb.html'>bomb</a> <a href='/fine.html'>fine</a>")
    robots = b"User-agent: *\nAllow: /\n"
    for server in serve(Path(tempfile.mkdtemp(prefix="harvester-hostile-"))):
        server.route("/", lambda h: h.send_body(200, home))
        server.route("/fine.html", lambda h: h.send_body(200, page("Fine")))
        server.route("/bomb.html", lambda h: h.send_body(200, page("Harmless")))
        server.route("/robots.txt", lambda h: h.send_body(200, robots, "text/plain"))
        server.route("/sitemap.xml", not_found)
        yield server


def failures(state: Path) -> dict[str, tuple[str, str]]:
    """url -> (kind, message) of the failures the crawl state recorded."""
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT url, kind, message FROM failures").fetchall()
    return {str(url): (str(kind), str(message)) for url, kind, message in rows}


def crawl_measured(*args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """The crawl command in a child process, and its peak resident memory in bytes."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, "crawl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tempfile.mkdtemp(prefix="harvester-cwd-"),
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("peak-rss-kib "), done.stderr
    return done, int(last.split()[1]) * 1024


@pytest.mark.parametrize("where", ["page", "robots", "sitemap"])
def test_gzip_in_gzip_bomb_is_refused_with_little_memory(
    site: Server, tmp_path: Path, where: str
) -> None:
    path, content_type = {
        "page": ("/bomb.html", "text/html"),
        "robots": ("/robots.txt", "text/plain"),
        "sitemap": ("/sitemap.xml", "application/xml"),
    }[where]
    site.route(path, send_bomb(content_type))
    out, state = tmp_path / "out.jsonl", tmp_path / "state.sqlite"
    args = ["--max-bytes", str(LIMIT), "--workers", "0", "--delay", "0", "--state", str(state)]
    done, peak = crawl_measured(site.url, "-o", str(out), *args)
    assert "Traceback" not in done.stderr, done.stderr
    assert peak < PEAK_RSS, f"peak RSS {peak // MiB} MiB"
    assert site.state.hits[path] == 1
    titles = {record["title"] for record in read_records(out)}
    if where == "page":
        assert done.returncode == 1
        assert titles == {"Home", "Fine"}
        assert failures(state) == {
            site.url + "bomb.html": ("too-large", f"larger than {LIMIT} bytes")
        }
    else:  # robots.txt is read up to 500 KiB (blank lines: no rules); the sitemap is skipped
        assert done.returncode == 0, done.stderr
        assert titles == {"Home", "Fine", "Harmless"}


def test_dripping_page_fails_at_the_deadline(site: Server, tmp_path: Path) -> None:
    site.route("/bomb.html", drip("text/html"))
    out, state = tmp_path / "out.jsonl", tmp_path / "state.sqlite"
    started = time.monotonic()
    done = run_cli(
        "crawl", site.url, "-o", str(out), "--deadline", "1.5", "--delay", "0",
        "--state", str(state), timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 30  # the drip lasts 100 s
    assert done.returncode == 1, done.stderr
    assert {record["title"] for record in read_records(out)} == {"Home", "Fine"}
    message = "no complete response within the 1.5 s deadline"
    assert failures(state) == {site.url + "bomb.html": ("deadline", message)}
    assert message in done.stderr
    assert site.state.hits["/bomb.html"] == 1  # a drip is not asked for again


def test_dripping_robots_txt_closes_its_host_quickly(site: Server, tmp_path: Path) -> None:
    site.route("/robots.txt", drip("text/plain"))
    out = tmp_path / "out.jsonl"
    started = time.monotonic()
    done = run_cli("crawl", site.url, "-o", str(out), "--deadline", "1.5", timeout=60)
    assert time.monotonic() - started < 30
    assert done.returncode == 3, done.stderr
    assert "robots.txt (no complete response within the 1.5 s deadline)" in done.stderr
    assert site.requests == ["/robots.txt"]


def test_retry_after_holds_every_slot_of_the_host(site: Server, tmp_path: Path) -> None:
    """With --per-host 2, the slot that did not get the 503 waits as well."""
    arrivals: list[tuple[str, float]] = []
    told: list[float] = []
    lock = threading.Lock()

    def timed(route: Callable[[FaultHandler], None]) -> Callable[[FaultHandler], None]:
        def handle(handler: FaultHandler) -> None:
            with lock:
                arrivals.append((handler.path, time.monotonic()))
            route(handler)

        return handle

    def busy(handler: FaultHandler) -> None:
        if handler.hits() == 1:
            told.append(time.monotonic())
            handler.send_body(503, b"busy", "text/plain", {"Retry-After": "2"})
        else:
            handler.send_body(200, page("Busy"))

    names = ["p1", "p2", "busy", "p3", "p4", "p5"]
    links = " ".join(f"<a href='/{name}.html'>{name}</a>" for name in names)
    site.route("/", timed(lambda h: h.send_body(200, page("Home", links))))
    for name in names:
        route = busy if name == "busy" else lambda h, n=name: h.send_body(200, page(n))
        site.route(f"/{name}.html", timed(route))
    out = tmp_path / "out.jsonl"
    done = run_cli("crawl", site.url, "-o", str(out), "--no-sitemaps", "--per-host", "2")
    assert done.returncode == 0, done.stderr
    assert len(read_records(out)) == 7
    assert len(told) == 1
    early = [(path, round(at - told[0], 2)) for path, at in arrivals if told[0] < at < told[0] + 2]
    assert early == []


class Wire(httpx.AsyncByteStream):
    """A body as it comes off the wire: httpx has not decoded it yet."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.raw), 4096):
            yield self.raw[start : start + 4096]


async def decoded(raw: bytes, encoding: str, limit: int = LIMIT, truncate: bool = False) -> bytes:
    """read_body of a response with this body and Content-Encoding."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Wire(raw), headers={"Content-Encoding": encoding})

    transport = httpx.MockTransport(answer)
    async with (
        httpx.AsyncClient(transport=transport) as client,
        client.stream("GET", "http://site.example/") as response,
    ):
        return await read_body(response, limit, truncate)


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (b"<p>plain</p>", ""),
        (gzip.compress(b"<p>plain</p>"), "gzip"),
        (gzip.compress(b"<p>plain</p>"), "x-gzip"),
        (zlib.compress(b"<p>plain</p>"), "deflate"),
        (raw_deflate(b"<p>plain</p>"), "deflate"),
        (zlib.compress(gzip.compress(b"<p>plain</p>")), "gzip, deflate"),
        (gzip.compress(gzip.compress(b"<p>plain</p>")), "GZIP,identity, gzip"),
        (b"<p>plain</p>", "utf-8"),  # a misconfigured server: ignored, as browsers do
    ],
)
def test_encodings_are_undone_last_applied_first(raw: bytes, encoding: str) -> None:
    assert asyncio.run(decoded(raw, encoding)) == b"<p>plain</p>"


def test_large_legitimate_body_decodes_whole() -> None:
    text = b"".join(b"<p>line %d</p>\n" % n for n in range(20_000))  # about 300 KB
    assert asyncio.run(decoded(gzip.compress(gzip.compress(text)), "gzip, gzip", MiB)) == text


def test_each_layer_is_capped() -> None:
    """A layer over the cap is refused even when the layer below it would come out small:
    100,000 empty deflate blocks (500 KB) that decode to a few bytes."""
    inner = b"\x00\x00\x00\xff\xff" * 100_000 + raw_deflate(b"<p>ok</p>")
    raw = gzip.compress(inner)
    assert asyncio.run(decoded(raw, "deflate, gzip", MiB)) == b"<p>ok</p>"
    with pytest.raises(BodyError, match=f"larger than {LIMIT} bytes"):
        asyncio.run(decoded(raw, "deflate, gzip", LIMIT))


def test_bomb_is_cut_when_truncating() -> None:
    body = asyncio.run(decoded(bomb(), "gzip, gzip", 500 * 1024, truncate=True))
    assert body == b"\n" * (500 * 1024)


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [("br", "unsupported Content-Encoding br"), ("gzip, " * 5, "5 stacked Content-Encodings")],
)
def test_encodings_we_cannot_bound_are_refused(encoding: str, reason: str) -> None:
    with pytest.raises(BodyError, match=reason):
        asyncio.run(decoded(b"whatever", encoding))


def test_corrupt_gzip_is_an_encoding_error() -> None:
    with pytest.raises(BodyError, match="cannot decode gzip body"):
        asyncio.run(decoded(b"\x1f\x8b not really gzip", "gzip"))

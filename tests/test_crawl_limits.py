"""Trap defence, size caps, tracking parameters, charsets: each against a real server."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import FaultHandler, Server, read_records, run_cli

HUGE = 50 * 1024 * 1024
CHUNK = b"<p>" + b"x" * (1024 * 1024 - 7) + b"</p>\n"


def calendar(handler: FaultHandler) -> None:
    """An endless calendar: every month links to the next one."""
    match = re.match(r"/calendar/(\d{4})-(\d{2})/", handler.path)
    assert match
    year, month = int(match.group(1)), int(match.group(2))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    body = (
        f"<html><body><h1>Events</h1><p>Nothing on this month.</p>"
        f"<a href='/calendar/{year}-{month:02d}/'>Next month</a></body></html>"
    )
    handler.send_body(200, body.encode())


def huge(with_length: bool):  # type: ignore[no-untyped-def]
    def route(handler: FaultHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        if with_length:
            handler.send_header("Content-Length", str(HUGE))
        handler.end_headers()
        try:
            for _ in range(HUGE // len(CHUNK) + 1):
                handler.wfile.write(CHUNK)
            handler.state.flags.add(handler.path + " sent whole")
        except OSError:
            handler.state.flags.add(handler.path + " aborted")

    return route


def cp1252(content_type: str):  # type: ignore[no-untyped-def]
    def route(handler: FaultHandler) -> None:
        body = b"<html><body><h1>Legacy</h1><p>Caf\xe9 \x93today\x94 \x96 \xa9 2004 it\x92s</p>"
        served = f"<p>Served as {content_type} at {handler.path}.</p>".encode()
        handler.send_body(200, body + served + b"</body></html>", content_type)

    return route


def site(server: Server) -> None:
    links = [
        "/calendar/2031-05/",
        "/huge",
        "/huge-chunked",
        "/nocharset",
        "/wrongcharset",
        "/tracked?utm_source=a",
        "/tracked?utm_source=b&fbclid=x",
        "/tracked",
        "/tracked#top",
        "/long/" + "x" * 3000,
    ]
    anchors = "".join(f"<a href='{link}'>{link}</a> " for link in links)
    home = f"<html><body><h1>Home</h1><p>Links.</p>{anchors}</body></html>".encode()
    server.route("/", lambda h: h.send_body(200, home))
    for month in range(1, 13):
        for year in range(2031, 2040):
            server.route(f"/calendar/{year}-{month:02d}/", calendar)
    server.route("/huge", huge(True))
    server.route("/huge-chunked", huge(False))
    server.route("/nocharset", cp1252("text/html"))
    server.route("/wrongcharset", cp1252("text/html; charset=utf-8"))
    page = b"<html><body><h1>Tracked</h1><p>One page, many URLs.</p></body></html>"
    server.route("/tracked", lambda h: h.send_body(200, page))


def test_limits(fixture_site: Server, tmp_path: Path) -> None:
    site(fixture_site)
    out = tmp_path / "out.jsonl"
    result = run_cli(
        "crawl",
        fixture_site.url,
        "-o",
        str(out),
        "--delay",
        "0",
        "--max-per-template",
        "20",
        timeout=120,
    )
    records = {r["url"].removeprefix(fixture_site.url): r for r in read_records(out)}
    calendar_requests = [p for p in fixture_site.requests if p.startswith("/calendar/")]
    assert len(calendar_requests) == 20
    assert "path template cap" in result.stderr
    assert "URL length cap 1" in result.stderr
    assert not any(p.startswith("/long/") for p in fixture_site.requests)

    assert "/huge aborted" in fixture_site.state.flags
    assert "/huge-chunked aborted" in fixture_site.state.flags
    assert "huge" not in records and "larger than" in result.stderr
    assert result.returncode == 1  # the oversized pages are failures: a partial run

    assert fixture_site.requests.count("/tracked") == 1
    assert [u for u in fixture_site.requests if u.startswith("/tracked")] == ["/tracked"]

    for path in ("nocharset", "wrongcharset"):
        assert "Café “today” – © 2004 it’s" in records[path]["text"], path

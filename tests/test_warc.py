"""WARC in and out: files harvester writes, files other tools write, and `extract` over both."""

from __future__ import annotations

import gzip
import urllib.request
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FIXTURES, FaultHandler, Server, read_records, run_cli, serve
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from harvester.files import InputError, read_files
from harvester.report import Summary
from harvester.warc import WarcError, WarcWriter, is_warc, read_warc

PAGE = (
    "<html><head><title>{title}</title></head>"
    "<body><main><h1>{title}</h1><p>{body}</p></main></body></html>"
)
WHEN = "2026-11-25T12:00:00+00:00"


def page(title: str, body: str = "A paragraph long enough to be the page's main text.") -> bytes:
    return PAGE.format(title=title, body=body).encode()


# --- routes of a real server, serving what legacy servers send ---------------------------


def chunked_gzip(handler: FaultHandler) -> None:
    """A body both gzip-encoded and chunked on the wire: the client sees neither."""
    body = gzip.compress(page("Compressed Page", "Sent gzip-encoded in many small chunks."))
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for start in range(0, len(body), 32):
        part = body[start : start + 32]
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
    handler.wfile.write(b"0\r\n\r\n")


def latin1(handler: FaultHandler) -> None:
    html = PAGE.format(title="Windows Quotes", body="Caf\xe9 \x93quoted\x94 \x96 fine.")
    handler.send_body(200, html.encode("latin-1"), "text/html; charset=ISO-8859-1")


def redirect_to(location: str) -> Any:
    def route(handler: FaultHandler) -> None:
        handler.send_body(301, b"", "text/html", {"Location": location})

    return route


def pdf(handler: FaultHandler) -> None:
    handler.send_body(200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf")


@pytest.fixture
def site() -> Iterator[Server]:
    for server in serve(FIXTURES / "site"):
        server.route("/moved", redirect_to("/target.html"))
        server.route("/latin1", latin1)
        server.route("/download", pdf)
        server.route("/compressed", chunked_gzip)
        server.route("/old-compressed", redirect_to("/compressed"))
        yield server


# --- WarcWriter and read_warc ------------------------------------------------------------


def test_written_warc_reads_back_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    with WarcWriter(path) as writer:
        writer.write_exchange(
            url="https://clinic.example/a?x=1",
            method="GET",
            request_headers=[("User-Agent", "harvester/test")],
            status=200,
            reason="OK",
            response_headers=[
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Encoding", "gzip"),  # httpx decoded it: the record must not say so
                ("Transfer-Encoding", "chunked"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
            ],
            body=page("A"),
            fetched_at=WHEN,
        )
    with WarcWriter(path) as writer:  # a second run appends
        writer.write_exchange(
            url="https://clinic.example/old",
            method="GET",
            request_headers=[],
            status=301,
            reason="Moved Permanently",
            response_headers=[("Location", "/a?x=1")],
            body=b"",
            fetched_at="2026-11-25T13:00:00+01:00",
        )
    first, moved = read_warc(path)
    assert (first.url, first.status, first.body, first.fetched_at) == (
        "https://clinic.example/a?x=1",
        200,
        page("A"),
        WHEN,
    )
    assert first.headers == {
        "content-type": "text/html; charset=utf-8",
        "set-cookie": "a=1, b=2",
        "content-length": str(len(page("A"))),
    }
    assert first.location is None
    assert (moved.status, moved.location, moved.fetched_at) == (301, "/a?x=1", WHEN)
    types = [r.rec_type for r in _records(path)]
    assert types == ["warcinfo", "response", "request", "response", "request"]


def _records(path: Path) -> list[Any]:
    """Every record as warcio reads it natively, which needs one gzip member per record."""
    with path.open("rb") as stream:
        records = []
        for record in ArchiveIterator(stream):
            record.content_stream().read()
            records.append(record)
        return records


def test_written_records_are_linked_and_valid(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc"
    with WarcWriter(path) as writer:
        writer.write_exchange(
            url="http://clinic.example/",
            method="GET",
            request_headers=[("Accept", "text/html")],
            status=200,
            reason="OK",
            response_headers=[("Content-Type", "text/html")],
            body=page("Home"),
            fetched_at=WHEN,
        )
    info, response, request = _records(path)
    assert b"software: harvester/" in path.read_bytes()
    assert info.rec_headers.get_header("WARC-Type") == "warcinfo"
    assert response.rec_headers.protocol == "WARC/1.0"
    assert response.rec_headers.get_header("WARC-Date") == "2026-11-25T12:00:00Z"
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header(
        "WARC-Record-ID"
    )
    assert request.http_headers.protocol == "GET"
    assert request.http_headers.get_header("Host") == "clinic.example"


def test_unwritable_path_is_a_warc_error(tmp_path: Path) -> None:
    with pytest.raises(WarcError, match="cannot write WARC file"):
        WarcWriter(tmp_path / "missing-folder" / "crawl.warc.gz")


def test_is_warc_by_name() -> None:
    assert is_warc(Path("a.warc")) and is_warc(Path("CRAWL.WARC.GZ"))
    assert not is_warc(Path("a.warc.txt")) and not is_warc(Path("page.html"))


def _raw_response(writer: WARCWriter, uri: str, date: str, http: bytes) -> Any:
    return writer.create_warc_record(
        uri, "response", payload=BytesIO(http), warc_headers_dict={"WARC-Date": date}
    )


@pytest.mark.parametrize(
    ("version", "gzipped", "date"),
    [("1.0", True, "2026-11-25T12:00:00Z"), ("1.1", False, "2026-11-25T12:00:00.250000Z")],
)
def test_reads_a_warc_written_like_wget_or_heritrix(
    tmp_path: Path, version: str, gzipped: bool, date: str
) -> None:
    """Gzip per record or plain, payloads stored as sent: chunked and gzip-encoded."""
    encoded = gzip.compress(page("Wire Encoded"))
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (encoded[:50], encoded[50:]))
    path = tmp_path / ("wget.warc.gz" if gzipped else "wget.warc")
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=gzipped, warc_version=version)
        writer.write_record(writer.create_warcinfo_record("wget.warc.gz", {"software": "Wget"}))
        records = [
            ("dns:clinic.example", b"20261125120000\nclinic.example. 60 IN A 10.0.0.1\n"),
            (
                "https://clinic.example/wire",
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunked
                + b"0\r\n\r\n",
            ),
            (
                "<https://clinic.example/logo.png>",  # as wget 1.19 wrote it
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 4\r\n\r\n\x89PNG",
            ),
        ]
        for uri, http in records:
            writer.write_record(_raw_response(writer, uri, date, http))
        writer.write_record(
            writer.create_revisit_record(
                "https://clinic.example/wire",
                "sha1:AAAA",
                "https://clinic.example/wire",
                date,
            )
        )
    found = list(read_warc(path))
    assert [r.url for r in found] == [
        "https://clinic.example/wire",
        "https://clinic.example/logo.png",
    ]
    assert found[0].body == page("Wire Encoded")
    assert found[0].fetched_at == WHEN
    assert found[1].headers["content-type"] == "image/png"


def test_whole_file_gzip_and_cut_short_files_read(tmp_path: Path) -> None:
    plain = tmp_path / "crawl.warc"
    with WarcWriter(plain) as writer:
        for name in ("one", "two"):
            writer.write_exchange(
                url=f"https://clinic.example/{name}",
                method="GET",
                request_headers=[],
                status=200,
                reason="OK",
                response_headers=[("Content-Type", "text/html")],
                body=page(name),
                fetched_at=WHEN,
            )
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(plain.read_bytes()))  # `gzip crawl.warc`, not per record
    assert [r.body for r in read_warc(whole)] == [page("one"), page("two")]
    cut = tmp_path / "cut.warc"
    cut.write_bytes(plain.read_bytes()[:-40])  # killed while writing the last request record
    assert [r.url.rsplit("/", 1)[1] for r in read_warc(cut)] == ["one", "two"]


def test_not_a_warc_is_a_warc_error(tmp_path: Path) -> None:
    fake = tmp_path / "x.warc.gz"
    fake.write_bytes(gzip.compress(b"<html>just a page</html>"))
    with pytest.raises(WarcError, match=r"x\.warc\.gz: not a WARC file"):
        list(read_warc(fake))


# --- harvester extract over WARC files ---------------------------------------------------


def _write(path: Path, *exchanges: tuple[str, int, bytes, list[tuple[str, str]]]) -> None:
    with WarcWriter(path) as writer:
        for url, status, body, headers in exchanges:
            writer.write_exchange(
                url=url,
                method="GET",
                request_headers=[],
                status=status,
                reason="",
                response_headers=headers,
                body=body,
                fetched_at=WHEN,
            )


def test_last_capture_wins_and_redirect_chains_become_aliases(tmp_path: Path) -> None:
    html = [("Content-Type", "text/html; charset=utf-8")]
    folder = tmp_path / "captures"
    folder.mkdir()
    _write(
        folder / "1.warc.gz",
        ("https://clinic.example/page", 200, page("Before"), html),
        ("https://clinic.example/a", 301, b"", [("Location", "/b")]),
        ("https://clinic.example/b", 302, b"", [("Location", "page?utm_source=x")]),
        ("https://clinic.example/loop", 302, b"", [("Location", "/loop")]),
    )
    _write(
        folder / "2.warc",
        ("https://clinic.example/page", 200, page("After"), html),
        ("https://clinic.example/page", 304, b"", []),  # revalidated: still "After"
        ("https://clinic.example/doc.pdf", 200, b"%PDF-1.4", [("Content-Type", "application/pdf")]),
    )
    summary = Summary()
    pages = read_files([folder], None, summary)
    assert [(p.url, p.title, p.aliases, p.source) for p in pages] == [
        (
            "https://clinic.example/page",
            "After",
            ["https://clinic.example/a", "https://clinic.example/b"],
            "http",
        )
    ]
    assert (summary.pages_fetched, summary.non_html, summary.failures) == (1, 1, [])


def test_capture_http_warc_extracts_with_redirect_alias(site: Server, tmp_path: Path) -> None:
    """A capture made by warcio itself, over HTTP, of a gzip+chunked page reached by a 301."""
    from warcio.capture_http import capture_http  # patches http.client: keep it local

    capture = tmp_path / "capture.warc.gz"
    with capture_http(str(capture)):
        for path in ("old-compressed", "latin1", "download"):
            with urllib.request.urlopen(site.url + path) as response:
                response.read()
    out = tmp_path / "out.jsonl"
    result = run_cli("extract", str(capture), "-o", str(out))
    assert result.returncode == 0, result.stderr
    records = {r["url"].removeprefix(site.url): r for r in read_records(out)}
    assert set(records) == {"compressed", "latin1"}
    compressed = records["compressed"]
    assert compressed["title"] == "Compressed Page"
    assert "many small chunks" in compressed["text"]
    assert compressed["aliases"] == [site.url + "old-compressed"]
    assert compressed["source"] == "http"
    assert "Café “quoted” – fine." in records["latin1"]["text"]


def test_warc_of_a_crawl_gives_the_crawl_records(site: Server, tmp_path: Path) -> None:
    """Every exchange of a live crawl, written to WARC and extracted offline: same records."""
    live = tmp_path / "live.jsonl"
    seeds = (site.url, site.url + "old-compressed")
    run_cli("crawl", *seeds, "-o", str(live), "--delay", "0", "--quiet")
    archive = tmp_path / "crawl.warc.gz"
    with WarcWriter(archive) as writer, httpx.Client() as client:
        for path in dict.fromkeys(list(site.requests)):
            response = client.get(site.url + path.lstrip("/"))
            writer.write_exchange(
                url=str(response.url),
                method="GET",
                request_headers=response.request.headers.multi_items(),
                status=response.status_code,
                reason=response.reason_phrase,
                response_headers=response.headers.multi_items(),
                body=response.content,
                fetched_at=WHEN,
            )
    offline = tmp_path / "offline.jsonl"
    result = run_cli("extract", str(archive), "-o", str(offline), "--quiet")
    assert result.returncode in (0, 1), result.stderr  # 1: 4xx captured, failures as live

    def comparable(path: Path) -> list[dict[str, Any]]:
        records = [{**r, "fetched_at": None} for r in read_records(path)]
        return sorted(records, key=lambda r: r["url"])

    expected = comparable(live)
    assert len(expected) >= 4
    assert comparable(offline) == expected
    moved = next(r for r in expected if r["url"].endswith("/target.html"))
    assert moved["aliases"] == [site.url + "moved"]


def test_not_a_warc_named_warc_is_one_line_exit_2(tmp_path: Path) -> None:
    fake = tmp_path / "x.warc.gz"
    fake.write_bytes(b"<html><body>saved from a browser</body></html>")
    result = run_cli("extract", str(fake), "-o", str(tmp_path / "out.jsonl"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"harvester: error: {fake}: not a WARC file"]


def test_input_error_names_the_file(tmp_path: Path) -> None:
    fake = tmp_path / "nested" / "y.WARC"
    fake.parent.mkdir()
    fake.write_text("not an archive")
    with pytest.raises(InputError, match=r"y\.WARC: not a WARC file"):
        read_files([tmp_path], None, Summary())

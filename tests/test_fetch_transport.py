"""Fetch logic against httpx.MockTransport: retries, back-off, Retry-After, redirects,
size caps, what is archived, and the request options, without a server."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from harvester.fetch import FetchConfig, Fetcher, FetchError, FetchResult, load_cookies
from harvester.urls import Scope
from harvester.warc import redacted

SITE = "http://site.test/"
PAGE = b"<html><body><main><h1>Page</h1><p>Words of the page.</p></main></body></html>"
Handler = Callable[[httpx.Request], httpx.Response]


def config(**values: object) -> FetchConfig:
    base: dict[str, object] = {"delay": 0.0, "backoff": 0.01, "retries": 3}
    return FetchConfig(**{**base, **values})  # type: ignore[arg-type]


def html(status: int = 200, body: bytes = PAGE, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": "text/html", **headers})


class Server:
    """A MockTransport that answers from a list per path, and records each request."""

    def __init__(self, answers: dict[str, list[httpx.Response] | Handler]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        answer = self.answers[request.url.path]
        if callable(answer):
            return answer(request)
        return answer.pop(0) if len(answer) > 1 else answer[0]

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def run(
    server: Server,
    work: Callable[[Fetcher], object],
    archived: list[FetchResult] | None = None,
    **values: object,
) -> object:
    async def go() -> object:
        fetcher = Fetcher(
            config(**values), Scope.from_seeds([SITE]), transport=httpx.MockTransport(server)
        )
        async with fetcher:
            if archived is not None:
                fetcher.on_exchange = archived.append
            return await work(fetcher)  # type: ignore[misc]

    return asyncio.run(go())


def fetch(url: str) -> Callable[[Fetcher], object]:
    return lambda fetcher: fetcher.fetch(url)


# --- retries, back-off, Retry-After -------------------------------------------------


def test_5xx_is_retried_until_it_passes() -> None:
    server = Server({"/": [html(500), html(502), html()]})
    result = run(server, fetch(SITE))
    assert isinstance(result, FetchResult) and result.status == 200 and result.body == PAGE
    assert server.paths() == ["/", "/", "/"]


def test_retries_end_in_the_last_error() -> None:
    server = Server({"/": [html(500)]})
    with pytest.raises(FetchError) as caught:
        run(server, fetch(SITE), retries=2)
    assert (caught.value.kind, caught.value.message) == ("http", "HTTP 500")
    assert len(server.requests) == 3


def test_other_4xx_are_not_retried() -> None:
    server = Server({"/": [html(404)]})
    with pytest.raises(FetchError, match="HTTP 404"):
        run(server, fetch(SITE))
    assert len(server.requests) == 1


def test_backoff_grows_between_attempts() -> None:
    server = Server({"/": [html(500), html(500), html(500), html()]})
    run(server, fetch(SITE), backoff=0.04)
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    # 0.04 * 2**attempt, jittered by 0.5 to 1.5: never less than half of it
    assert [gap >= 0.02 * 2**i for i, gap in enumerate(gaps)] == [True, True, True]
    assert sum(gaps) >= 0.14


def test_retry_after_is_honoured_and_capped() -> None:
    server = Server({"/": [html(429, **{"Retry-After": "30"}), html()]})
    started = time.monotonic()
    result = run(server, fetch(SITE), max_retry_after=0.3)
    assert isinstance(result, FetchResult) and result.status == 200
    assert 0.3 <= server.times[1] - started < 2


def test_connection_errors_are_retried_and_named() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("All connection attempts failed", request=request)

    server = Server({"/": refuse})
    with pytest.raises(FetchError) as caught:
        run(server, fetch(SITE), retries=1)
    assert caught.value.kind == "connect" and len(server.requests) == 2


# --- redirects ----------------------------------------------------------------------


def test_redirects_are_followed_hop_by_hop() -> None:
    server = Server(
        {
            "/old": [html(301, b"", Location="/moved")],
            "/moved": [html(302, b"", Location=SITE + "new")],
            "/new": [html()],
        }
    )
    archived: list[FetchResult] = []
    result = run(server, fetch(SITE + "old"), archived)
    assert isinstance(result, FetchResult)
    assert result.final_url == SITE + "new" and result.url == SITE + "old"
    assert result.redirects == [SITE + "old", SITE + "moved"]
    assert [(r.final_url, r.status) for r in archived] == [
        (SITE + "old", 301),
        (SITE + "moved", 302),
        (SITE + "new", 200),
    ]


@pytest.mark.parametrize(
    ("location", "kind", "message"),
    [
        ("http://elsewhere.test/", "scope", "redirects out of scope"),
        ("/loop", "redirect", "redirect loop"),
        ("", "redirect", "without a usable Location"),
    ],
)
def test_redirects_that_are_not_followed(location: str, kind: str, message: str) -> None:
    headers = {"Location": location} if location else {}
    server = Server({"/loop": [html(301, b"", **headers)]})
    with pytest.raises(FetchError) as caught:
        run(server, fetch(SITE + "loop"))
    assert caught.value.kind == kind and message in caught.value.message


def test_too_many_redirects() -> None:
    def hop(request: httpx.Request) -> httpx.Response:
        return html(302, b"", Location=f"/{int(request.url.path[1:]) + 1}")

    server = Server({f"/{n}": hop for n in range(20)})
    with pytest.raises(FetchError, match="too many redirects"):
        run(server, fetch(SITE + "0"), max_redirects=3)
    assert len(server.requests) == 4


# --- size caps and what is archived ---------------------------------------------------


async def _dribble(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


def streamed(body: bytes) -> httpx.Response:
    """A body without Content-Length, as chunks: its size is known only by reading it."""
    return httpx.Response(200, headers={"Content-Type": "text/html"}, content=_dribble(body))


def test_a_declared_size_over_the_cap_is_not_read() -> None:
    server = Server({"/big": [html(body=b"x" * 5000)]})
    archived: list[FetchResult] = []
    with pytest.raises(FetchError) as caught:
        run(server, fetch(SITE + "big"), archived, max_bytes=2048)
    assert caught.value.kind == "too-large"
    assert archived[0].truncated == "length" and archived[0].body == b""


def test_a_body_over_the_cap_is_given_up_and_archived_cut() -> None:
    server = Server({"/big": [streamed(b"y" * 10_000)]})
    archived: list[FetchResult] = []
    with pytest.raises(FetchError, match="larger than 4096 bytes"):
        run(server, fetch(SITE + "big"), archived, max_bytes=4096)
    assert archived[0].truncated == "length" and archived[0].body == b"y" * 4096


def test_a_gzip_body_is_decoded_once() -> None:
    packed = gzip.compress(PAGE)
    server = Server({"/": [html(body=packed, **{"Content-Encoding": "gzip"})]})
    result = run(server, fetch(SITE))
    assert isinstance(result, FetchResult) and result.body == PAGE


def test_error_pages_are_archived_with_their_bodies() -> None:
    server = Server({"/gone": [html(404, b"<p>no such page</p>")], "/down": [html(500)]})
    archived: list[FetchResult] = []
    for path in ("gone", "down"):
        with pytest.raises(FetchError):
            run(server, fetch(SITE + path), archived, retries=1)
    assert [(r.url, r.status) for r in archived] == [
        (SITE + "gone", 404),
        (SITE + "down", 500),
        (SITE + "down", 500),
    ]
    assert archived[0].body == b"<p>no such page</p>" and archived[0].truncated is None


def test_non_html_is_archived_without_its_body() -> None:
    pdf = httpx.Response(200, content=b"%PDF-1.4", headers={"Content-Type": "application/pdf"})
    server = Server({"/a.pdf": [pdf]})
    archived: list[FetchResult] = []
    result = run(server, fetch(SITE + "a.pdf"), archived)
    assert isinstance(result, FetchResult) and not result.html
    assert archived[0].body == b"" and archived[0].truncated == "unspecified"


def test_metadata_is_archived_with_its_purpose() -> None:
    server = Server(
        {
            "/robots.txt": [httpx.Response(200, content=b"User-agent: *\n" + b"#" * 3000)],
            "/sitemap.xml": [html(301, b"", Location="/sitemap2.xml")],
            "/sitemap2.xml": [httpx.Response(503)],
        }
    )
    archived: list[FetchResult] = []

    async def work(fetcher: Fetcher) -> object:
        robots = await fetcher.get_bytes(
            SITE + "robots.txt", 1024, truncate=True, purpose="robots.txt"
        )
        return robots, await fetcher.get_bytes(SITE + "sitemap.xml")

    (robots, sitemap) = run(server, work, archived)  # type: ignore[misc]
    assert robots[0] == 200 and len(robots[1]) == 1024 and sitemap[0] == 503
    assert [(r.url, r.status, r.purpose, r.truncated) for r in archived] == [
        (SITE + "robots.txt", 200, "robots.txt", "length"),
        (SITE + "sitemap.xml", 301, "sitemap", None),
        (SITE + "sitemap2.xml", 503, "sitemap", None),
    ]


# --- request options ------------------------------------------------------------------


@pytest.fixture
def cookies_txt(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# HTTP cookie file.\n"
        "# Generated by Wget.\n"
        "site.test\tFALSE\t/\tFALSE\t0\tsession\ts3cr3t-session\n"
        "#HttpOnly_.site.test\tTRUE\t/\tFALSE\t4102444800\tlogin\tkeep-me\n"
        "site.test\tFALSE\t/\tFALSE\t1000\told\texpired\n"
        "site.test\tFALSE\t/private/\tFALSE\t0\tdeep\tonly-there\n"
        "other.test\tFALSE\t/\tFALSE\t0\tforeign\tnot-for-site\n"
    )
    yield path


def test_headers_cookies_and_auth_are_sent(cookies_txt: Path) -> None:
    server = Server({"/": [html()]})
    archived: list[FetchResult] = []
    run(
        server,
        fetch(SITE),
        archived,
        headers=(("Accept-Language", "fr"), ("X-Api-Key", "k-123")),
        cookies=load_cookies(cookies_txt),
        auth=("ann", "pw-456"),
    )
    sent = server.requests[0].headers
    assert sent["Accept-Language"] == "fr" and sent["X-Api-Key"] == "k-123"
    assert sent["Authorization"] == httpx.BasicAuth("ann", "pw-456")._auth_header
    assert sorted(sent["Cookie"].split("; ")) == ["login=keep-me", "session=s3cr3t-session"]
    archived_headers = dict(redacted(archived[0].request_headers))
    assert archived_headers["Accept-Language"] == "fr"
    for name in ("X-Api-Key", "Authorization", "Cookie"):
        assert archived_headers[name] == "[redacted]"


def test_a_line_that_is_no_cookie_is_named_not_quoted(tmp_path: Path) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text("# Netscape HTTP Cookie File\nsite.test TRUE / sessionid=hunter2\n")
    with pytest.raises(ValueError, match="line 2") as caught:
        load_cookies(path)
    assert "hunter2" not in str(caught.value)


def test_errors_never_quote_a_secret() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("proxy said no to user:pw-456 and token tok-789", request=request)

    server = Server({"/": fail})
    with pytest.raises(FetchError) as caught:
        run(
            server,
            fetch(SITE),
            retries=0,
            auth=("user", "pw-456"),
            headers=(("Authorization-Token", "tok-789"),),
        )
    assert "pw-456" not in caught.value.message and "tok-789" not in caught.value.message
    assert "[redacted]" in caught.value.message


def test_a_client_of_the_caller_is_used_and_left_open() -> None:
    server = Server({"/": [html()]})

    async def go() -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.MockTransport(server))
        async with Fetcher(config(), Scope.from_seeds([SITE]), client=client) as fetcher:
            await fetcher.fetch(SITE)
        return client

    client = asyncio.run(go())
    assert not client.is_closed and len(server.requests) == 1

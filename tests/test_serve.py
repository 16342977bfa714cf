"""`harvester serve`: the real app under uvicorn on 127.0.0.1, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import uvicorn
from conftest import FIXTURES, PAGE_SCHEMA, FaultHandler, Server, run_cli, serve, wait_until

from harvester.api import extract_html
from harvester.fetch import FetchConfig
from harvester.parse import decode
from harvester.serve import ServeSettings, create_app

QA_FIXTURES = sorted(path.name for path in (FIXTURES / "qa").glob("*.html"))
SHAPE = '{"url": "..."} or {"html": "...", "base_url": "..."}'


@contextmanager
def running(settings: ServeSettings) -> Iterator[str]:
    """The app under uvicorn on an ephemeral port, in a thread; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 10)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def quick(**settings: Any) -> ServeSettings:
    """Settings for tests: no politeness delay or retries unless a test asks."""
    fetch = FetchConfig(delay=settings.pop("delay", 0.0), retries=0)
    return ServeSettings(fetch=fetch, **settings)


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    with running(quick()) as url:
        yield url


@pytest.fixture(scope="module")
def qa_site() -> Iterator[Server]:
    yield from serve(FIXTURES / "qa")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Server]:
    """An empty site for routes; robots.txt allows everything."""
    (tmp_path / "robots.txt").write_text("User-agent: *\nDisallow:\n")
    (tmp_path / "page.html").write_text("<title>Page</title><p>Some text to read here.</p>")
    yield from serve(tmp_path)


def post(base: str, body: object, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{base}/extract", json=body, timeout=30, **kwargs)


def without_time(record: dict[str, Any], *more: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("fetched_at", *more)}


def assert_error(response: httpx.Response, status: int, *words: str) -> str:
    """A JSON {"error": "..."} of one line, with the status and words expected."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    message: str = body["error"]
    assert message and "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message
    return message


# The two shapes of request.


@pytest.mark.parametrize("name", QA_FIXTURES)
def test_html_mode_is_extract_html(api: str, name: str) -> None:
    html = decode((FIXTURES / "qa" / name).read_bytes())
    url = f"https://clinic.example/faq/{name}"
    response = post(api, {"html": html, "base_url": url})
    assert response.status_code == 200, response.text
    record = response.json()
    jsonschema.validate(record, PAGE_SCHEMA)
    assert without_time(record) == without_time(extract_html(html, url).to_dict())
    assert record["fetched_at"]  # when it was sent: extract_html leaves it empty


@pytest.mark.parametrize("name", QA_FIXTURES)
def test_url_mode_is_extract_html_of_the_fetched_bytes(
    api: str, qa_site: Server, name: str
) -> None:
    url = qa_site.url + name
    response = post(api, {"url": url})
    assert response.status_code == 200, response.text
    record = response.json()
    jsonschema.validate(record, PAGE_SCHEMA)
    expected = extract_html((FIXTURES / "qa" / name).read_bytes(), url).to_dict()
    assert without_time(record, "source") == without_time(expected, "source")
    assert record["source"] == "http" and record["fetched_at"]


def test_requests_for_one_host_are_spaced_like_a_crawl(site: Server) -> None:
    hits: dict[str, float] = {}

    def page(handler: FaultHandler) -> None:
        hits[handler.path] = time.monotonic()
        handler.send_body(200, b"<title>A page</title><p>Text of the page, enough to read.</p>")

    site.route("/a.html", page)
    site.route("/b.html", page)
    with running(quick(delay=0.4)) as base, ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda p: post(base, {"url": site.url + p}), ["a.html", "b.html"]))
    assert [r.status_code for r in answers] == [200, 200]
    assert abs(hits["/a.html"] - hits["/b.html"]) >= 0.35
    assert site.requests.count("/robots.txt") == 1  # read once for both requests


# Refusals and failures.


def test_robots_disallow_is_403_and_never_fetched(tmp_path: Path) -> None:
    (tmp_path / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "page.html").write_text("<p>Secret</p>")
    (tmp_path / "open.html").write_text("<title>Open</title><p>Anyone may read this page.</p>")
    for server in serve(tmp_path):
        with running(quick()) as base:
            blocked = post(base, {"url": server.url + "private/page.html"})
            allowed = post(base, {"url": server.url + "open.html"})
        assert_error(blocked, 403, "robots.txt", "disallows")
        assert "/private/page.html" not in server.requests
        assert allowed.status_code == 200


def test_a_redirect_into_a_disallowed_path_is_403_and_never_fetched(tmp_path: Path) -> None:
    """Each redirect hop is asked of robots.txt before it is taken, not only the end."""
    (tmp_path / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "page.html").write_text("<p>Secret</p>")
    for server in serve(tmp_path):
        server.route(
            "/moved.html",
            lambda h: h.send_body(302, b"", headers={"Location": "/private/page.html"}),
        )
        with running(quick()) as base:
            answer = post(base, {"url": server.url + "moved.html"})
        assert_error(answer, 403, "disallows")
        assert "/private/page.html" not in server.requests


def test_http_error_is_502(api: str, site: Server) -> None:
    assert_error(post(api, {"url": site.url + "missing.html"}), 502, "HTTP 404")


def test_unreachable_host_is_502(api: str, free_port: int) -> None:
    url = f"http://127.0.0.1:{free_port}/page.html"
    assert_error(post(api, {"url": url}), 502, "connection refused")


def test_non_html_is_415(api: str, site: Server) -> None:
    site.route("/doc.pdf", lambda h: h.send_body(200, b"%PDF-1.4", "application/pdf"))
    assert_error(post(api, {"url": site.url + "doc.pdf"}), 415, "application/pdf")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "example.com/", ""],
)
def test_only_http_urls(api: str, url: str) -> None:
    assert_error(post(api, {"url": url}), 400, '"url"', "http(s)")


def test_bad_json_is_400(api: str) -> None:
    response = httpx.post(f"{api}/extract", content=b'{"url": ', timeout=10)
    assert_error(response, 400, "not valid JSON", SHAPE)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "JSON object"),
        ("https://example.com/", "JSON object"),
        ({}, "nothing to extract"),
        ({"url": 1}, '"url" must be a string'),
        ({"html": "<p>x</p>"}, '"html" needs "base_url"'),
        ({"html": 1, "base_url": "https://a.example/"}, '"html" must be a string'),
        ({"html": " ", "base_url": "https://a.example/"}, '"html" is empty'),
        ({"url": "https://a.example/", "html": "<p>x</p>"}, "not both"),
        ({"url": "https://a.example/", "depth": 2}, "unexpected field(s) 'depth'"),
    ],
)
def test_wrong_shape_is_400(api: str, body: object, words: str) -> None:
    assert_error(post(api, body), 400, words)


def test_unknown_paths_and_methods_answer_json(api: str) -> None:
    assert_error(httpx.get(f"{api}/nope"), 404)
    response = httpx.get(f"{api}/extract")
    assert_error(response, 405)
    assert response.headers["allow"] == "POST"


# Limits.


def test_body_over_the_limit_is_413() -> None:
    body = json.dumps({"html": "<p>" + "x" * 3000 + "</p>", "base_url": "https://a.example/"})
    with running(quick(max_body=1024)) as base:
        declared = httpx.post(f"{base}/extract", content=body.encode(), timeout=10)
        chunked = httpx.post(  # no Content-Length: counted while it is read
            f"{base}/extract", content=iter([body[:800].encode(), body[800:].encode()]), timeout=10
        )
        small = post(base, {"html": "<p>Small enough.</p>", "base_url": "https://a.example/"})
    assert_error(declared, 413, "1024 bytes")
    assert_error(chunked, 413, "1024 bytes")
    assert small.status_code == 200


def test_default_limit_is_5_mib(api: str) -> None:
    html = "<p>" + "x" * (5 * 1024 * 1024) + "</p>"
    response = post(api, {"html": html, "base_url": "https://a.example/"})
    assert_error(response, 413, "5242880 bytes")


def test_one_request_too_many_is_503_with_retry_after(site: Server) -> None:
    site.state.delay = 0.5
    with running(quick(concurrency=1)) as base, ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, base, {"url": site.url + "page.html"})
        wait_until(lambda: bool(site.requests))
        busy = post(base, {"url": site.url + "page.html"})
        assert first.result().status_code == 200
    assert_error(busy, 503, "busy")
    assert busy.headers["retry-after"] == "1"


def test_slow_request_is_504(site: Server) -> None:
    site.state.delay = 1.0
    with running(quick(timeout=0.3)) as base:
        started = time.monotonic()
        response = post(base, {"url": site.url + "page.html"})
    assert_error(response, 504, "0.3 s")
    assert time.monotonic() - started < 1.0


def test_a_bug_is_500_without_traceback(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(html: str, url: str) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr("harvester.serve.extract_html", broken)
    response = post(api, {"html": "<p>Hello.</p>", "base_url": "https://a.example/"})
    assert assert_error(response, 500) == "internal error"


# Authentication.


def test_token_required_for_extract_only() -> None:
    body = {"html": "<p>Hello there, reader.</p>", "base_url": "https://a.example/"}
    with running(quick(token="tok-123")) as base:
        missing = post(base, body)
        wrong = post(base, body, headers={"Authorization": "Bearer tok-124"})
        right = post(base, body, headers={"Authorization": "Bearer tok-123"})
        health = httpx.get(f"{base}/healthz")
        document = httpx.get(f"{base}/openapi.json").json()
    assert_error(missing, 401, "Bearer")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_error(wrong, 401)
    assert right.status_code == 200
    assert health.status_code == 200
    assert document["paths"]["/extract"]["post"]["security"] == [{"bearer": []}]
    assert "401" in document["paths"]["/extract"]["post"]["responses"]


def test_cli_serves_with_a_token_it_never_prints(free_port: int, tmp_path: Path) -> None:
    token = "never-print-me-7f3a"
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "harvester", "serve"),
            *("--port", str(free_port), "--token-env", "API_TOKEN"),
        ],
        env={**os.environ, "API_TOKEN": token},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{free_port}"
    try:
        wait_until(lambda: _answers(f"{base}/healthz"), 20)
        body = {"html": "<p>Hello there, reader.</p>", "base_url": "https://a.example/"}
        assert post(base, body).status_code == 401
        assert post(base, body, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        child.terminate()
        out, err = child.communicate(timeout=20)
    assert "POST /extract" in out + err  # uvicorn's access log
    assert token not in out + err


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_cli_refuses_an_unset_token_variable() -> None:
    result = run_cli("serve", "--token-env", "HARVESTER_TEST_UNSET_TOKEN")
    assert result.returncode == 2
    assert "HARVESTER_TEST_UNSET_TOKEN" in result.stderr and "not set" in result.stderr


def test_cli_help_explains() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    for words in ("POST /extract", "--token-env", "--max-body", "--concurrency", "--timeout"):
        assert words in result.stdout


# The API's description.


def test_healthz(api: str) -> None:
    response = httpx.get(f"{api}/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_openapi_document(api: str) -> None:
    document = httpx.get(f"{api}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/extract", "/healthz"}
    responses = document["paths"]["/extract"]["post"]["responses"]
    assert {"200", "400", "403", "413", "415", "502", "503", "504"} <= set(responses)
    assert "Retry-After" in responses["503"]["headers"]
    # A real answer fits the document's Record schema (made from record.schema.json).
    record = post(api, {"html": "<p>Hello there.</p>", "base_url": "https://a.example/"}).json()
    schema = {"$ref": "#/components/schemas/Record", "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(record)
    properties = document["components"]["schemas"]["Record"]["properties"]
    assert set(properties) == set(PAGE_SCHEMA["properties"])


SCHEMATHESIS_CONFIG = """\
# 502, 503 and 504 are the API's documented gateway answers (a URL that cannot be fetched,
# busy, too slow), not server errors; 500 still is.
[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "502", "503", "504"]
"""


def test_schemathesis_finds_nothing(api: str, tmp_path: Path) -> None:
    """Generated requests (valid and not) against the OpenAPI document: no 500, and every
    answer as documented."""
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.skip("schemathesis is not installed")
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    result = subprocess.run(
        [
            *(binary, "--config-file", str(config), "run", f"{api}/openapi.json"),
            *("--checks", "all", "--max-examples", "50", "--seed", "1", "--no-color"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:]

"""Real servers, real files: a threaded HTTP server on 127.0.0.1 serving fixture folders,
with fault routes (503 + Retry-After, slow, redirects, wrong charset, non-HTML)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest

from harvester.extract import extract_page
from harvester.models import QA, Person
from harvester.parse import parse_html

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE_SITE = ROOT / "data" / "sample-site"

Route = Callable[["FaultHandler"], None]


@dataclass
class ServerState:
    """What the handler answers specially, and every path it was asked for."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    statuses: list[tuple[str, int]] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    delay: float = 0.0  # seconds before answering each request: a slow server
    received: list[tuple[str, Message]] = field(default_factory=list)  # path, headers
    lock: threading.Lock = field(default_factory=threading.Lock)


class FaultHandler(SimpleHTTPRequestHandler):
    state: ServerState

    def __init__(self, *args: Any, state: ServerState, **kwargs: Any) -> None:
        self.state = state
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.state.lock:
            self.state.requests.append(self.path)
            self.state.hits[self.path] = self.state.hits.get(self.path, 0) + 1
            self.state.received.append((self.path, self.headers))
        if self.state.delay:
            time.sleep(self.state.delay)
        route = self.state.routes.get(self.path)
        if route is not None:
            route(self)
        else:
            super().do_GET()

    def send_response(self, code: int, message: str | None = None) -> None:
        with self.state.lock:
            self.state.statuses.append((self.path, code))
        super().send_response(code, message)

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def hits(self) -> int:
        return self.state.hits[self.path]


@dataclass
class Server:
    url: str
    state: ServerState

    def route(self, path: str, handler: Route) -> None:
        self.state.routes[path] = handler

    @property
    def requests(self) -> list[str]:
        return self.state.requests

    def headers(self, name: str) -> dict[str, list[str | None]]:
        """The value of header `name` in each request, by path (None where it was not sent)."""
        found: dict[str, list[str | None]] = {}
        with self.state.lock:
            for path, headers in self.state.received:
                found.setdefault(path, []).append(headers.get(name))
        return found


def serve(directory: Path) -> Iterator[Server]:
    state = ServerState()
    handler = partial(FaultHandler, directory=str(directory), state=state)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}/", state)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def sample_site() -> Iterator[Server]:
    """The bundled demo site, as `make demo` serves it."""
    yield from serve(SAMPLE_SITE)


@pytest.fixture
def slow_site() -> Iterator[Server]:
    """The sample site answering each request after 0.15 s: time to interrupt a crawl."""
    for server in serve(SAMPLE_SITE):
        server.state.delay = 0.15
        yield server


@pytest.fixture
def fixture_site() -> Iterator[Server]:
    """tests/fixtures/site, plus whatever fault routes a test adds."""
    yield from serve(FIXTURES / "site")


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(
    *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command line, in a child process, as a user runs it.

    Each call runs in a new empty folder unless told otherwise, so that the default
    crawl state (under ./data/state/) of one test never leaks into another.
    """
    if cwd is None:
        cwd = Path(tempfile.mkdtemp(prefix="harvester-cwd-"))
    return subprocess.run(
        [sys.executable, "-m", "harvester", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def _schema(name: str) -> dict[str, Any]:
    text = resources.files("harvester").joinpath("schema", name).read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


PAGE_SCHEMA = _schema("record.schema.json")
QA_SCHEMA = _schema("qa-record.schema.json")


def read_records(path: Path, schema: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every line of a JSON Lines output, each validated against the shipped schema."""
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    for record in records:
        jsonschema.validate(record, schema or PAGE_SCHEMA)
    return records


def read_terminal(terminal: int) -> bytes:
    """All a child wrote to a pseudo-terminal, until it closed its end."""
    shown = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    return shown


def wait_until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# Q&A fixture pages: each test module holds its folder's expected pairs.
QAFound = tuple[str, str, Person | None]


def fixture_qa(folder: Path, name: str) -> list[QA]:
    """The Q&As harvester reads on one fixture page, as a single page is extracted."""
    doc = parse_html((folder / name).read_bytes(), f"https://clinic.example/{name}")
    return extract_page(doc, "", "file").qa


def qa_triples(found: list[QA]) -> list[QAFound]:
    return [(q.question, q.answer, q.answered_by) for q in found]


def assert_fixture_qa(folder: Path, name: str, expected: list[QAFound]) -> None:
    """Exactly the expected Q&As, in page order, and no others."""
    found = fixture_qa(folder, name)
    assert qa_triples(found) == expected
    positions = [q.position for q in found]
    assert positions == sorted(positions)


PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def new_database() -> Iterator[Callable[[], str]]:
    """Creates databases with unique names on demand; drops them all at the end."""
    try:
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):  # CI starts one: its absence is a failure there
            pytest.fail(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 (.ci/run starts one): {exc}")
    names: list[str] = []

    def create() -> str:
        names.append(f"harvester_test_{uuid.uuid4().hex[:12]}")
        admin.execute(f'CREATE DATABASE "{names[-1]}"')
        return f"{PG_SERVER}/{names[-1]}"

    with admin:
        yield create
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

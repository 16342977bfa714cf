"""Many small sites on loopback addresses (127.0.0.2, 127.0.0.3, …: the whole 127.0.0.0/8
range is local), each served by its own threaded HTTP server that logs every request
with its start and end: what the shared-job tests and bench/scale.py crawl.

Each site has `pages` pages of its own text, linked as a tree from its home page, and the
`shared` articles a chain puts on every location site (the same title and text on each).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORDS = (
    "knee shoulder ankle posture therapy exercise stretch strength injury recovery "
    "athlete running muscle tendon joint pain treatment session clinic assessment "
    "mobility balance core spine neck hip massage manual program week daily gentle "
    "load progress return sport walking cycling swimming physiotherapist patient "
    "question answer plan rest ice heat tape brace orthotic footwear"
).split()


@dataclass(frozen=True)
class Hit:
    """One request as the server saw it."""

    host: str
    path: str
    start: float
    end: float
    client: str = ""  # the X-Worker header, when the test names its workers


@dataclass
class Log:
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    serving: dict[str, int] = field(default_factory=dict)  # client -> requests being answered

    def begin(self, client: str) -> None:
        """A request was read: it is being answered until `add` logs it."""
        with self.lock:
            self.serving[client] = self.serving.get(client, 0) + 1

    def add(self, hit: Hit) -> None:
        with self.lock:
            self.hits.append(hit)
            if self.serving.get(hit.client):
                self.serving[hit.client] -= 1

    def in_flight(self, client: str) -> int:
        """Requests of this client the server is answering now (read, not yet logged)."""
        with self.lock:
            return self.serving.get(client, 0)

    def pages(self) -> list[Hit]:
        """Page requests (not robots.txt or sitemaps)."""
        with self.lock:
            return [h for h in self.hits if h.path.endswith(".html") or h.path == "/"]

    def max_in_flight(self) -> dict[str, int]:
        """The most requests each host had in flight at once."""
        found: dict[str, int] = {}
        with self.lock:
            hits = list(self.hits)
        for host in {h.host for h in hits}:
            events = sorted(
                [(h.start, 1) for h in hits if h.host == host]
                + [(h.end, -1) for h in hits if h.host == host],
                key=lambda e: (e[0], e[1]),  # an end before a start at the same instant
            )
            now = most = 0
            for _, step in events:
                now += step
                most = max(most, now)
            found[host] = most
        return found

    def min_gap(self) -> dict[str, float]:
        """The shortest time between two request starts to each host."""
        found: dict[str, float] = {}
        with self.lock:
            hits = list(self.hits)
        for host in {h.host for h in hits}:
            starts = sorted(h.start for h in hits if h.host == host)
            gaps = [b - a for a, b in itertools.pairwise(starts)]
            found[host] = min(gaps) if gaps else float("inf")
        return found


def text(seed: str, words: int) -> str:
    """Deterministic prose of `words` words for `seed`."""
    rng = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14)))
        sentences.append(sentence.capitalize() + ".")
    return " ".join(sentences)


@dataclass(frozen=True)
class Chain:
    """What each site holds: `pages` own pages, `shared` articles common to all sites."""

    pages: int = 10
    shared: int = 0
    response_time: float = 0.0  # seconds the server takes for each page
    fanout: int = 2  # links from each page to the next level (a tree of this width)

    def page(self, site: int, path: str) -> bytes | None:
        name = f"Clinic {site}"
        nav = f"<nav><a href='/'>{name} home</a> <a href='/p1.html'>About {name}</a></nav>"
        foot = f"<footer>{name}, 1 Main Street. Call us to book a visit.</footer>"
        if path in ("/", "/index.html"):
            return self._html(name, f"Welcome to {name}", nav, foot, self._body(site, 0))
        if path.startswith("/p") and path.endswith(".html"):
            number = path[2:-5]
            if not number.isdigit() or not 1 <= int(number) < self.pages:
                return None
            return self._html(
                name, f"{name} page {number}", nav, foot, self._body(site, int(number))
            )
        if path.startswith("/articles/a") and path.endswith(".html"):
            number = path[len("/articles/a") : -5]
            if not number.isdigit() or not 0 <= int(number) < self.shared:
                return None
            body = f"<p>{text(f'article {number}', 220)}</p>"
            return self._html(name, f"Article {number}: caring for your joints", nav, foot, body)
        return None

    def _body(self, site: int, number: int) -> str:
        first = self.fanout * number + 1
        children = list(range(first, first + self.fanout))
        links = "".join(
            f"<li><a href='/p{c}.html'>Page {c}</a></li>" for c in children if c < self.pages
        )
        if number == 0:
            links += "".join(
                f"<li><a href='/articles/a{k}.html'>Article {k}</a></li>"
                for k in range(self.shared)
            )
        own = text(f"site {site} page {number}", 160)
        return f"<p>{own}</p><ul>{links}</ul>"

    @staticmethod
    def _html(site: str, title: str, nav: str, foot: str, body: str) -> bytes:
        page = (
            f"<!doctype html><html><head><title>{title}</title></head><body>"
            f"<header>{site}</header>{nav}<main><h1>{title}</h1>{body}</main>{foot}"
            "</body></html>"
        )
        return page.encode()

    def urls(self) -> int:
        """Pages of one site."""
        return self.pages + self.shared


class _Handler(BaseHTTPRequestHandler):
    chain: Chain
    log: Log
    site: int

    def __init__(self, *args: Any, chain: Chain, log: Log, site: int, **kwargs: Any) -> None:
        self.chain, self.log, self.site = chain, log, site
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        start = time.monotonic()
        self.log.begin(self.headers.get("X-Worker", ""))
        try:
            path = self.path.split("?")[0]
            body = None if path == "/robots.txt" else self.chain.page(self.site, path)
            if body is not None and self.chain.response_time:
                time.sleep(self.chain.response_time)
            status = 200 if body is not None else 404
            body = body if body is not None else b"not found"
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            client = self.headers.get("X-Worker", "")
            host = self.server.server_address[0]
            self.log.add(Hit(host, self.path, start, time.monotonic(), client))


@contextmanager
def serve_chain(sites: int, chain: Chain, first: int = 2) -> Iterator[tuple[list[str], Log]]:
    """Serve `sites` sites on 127.0.0.<first>…; yields their home URLs and the request log."""
    log = Log()
    servers = []
    try:
        for n in range(sites):
            address = f"127.0.0.{first + n}"
            handler = partial(_Handler, chain=chain, log=log, site=n)
            httpd = ThreadingHTTPServer((address, 0), handler)
            httpd.daemon_threads = True
            threading.Thread(target=httpd.serve_forever, daemon=True).start()
            servers.append(httpd)
        yield [f"http://{s.server_address[0]}:{s.server_address[1]}/" for s in servers], log
    finally:
        for httpd in servers:
            httpd.shutdown()
            httpd.server_close()


__all__ = ["Chain", "Hit", "Log", "serve_chain", "text"]

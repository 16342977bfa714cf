"""A synthetic legacy-clinic site for the crawl benchmark, and the HTTP server that serves it.

Every page is a pure function of (site size, seed, page id): a crawl of N pages needs no
pre-rendered site in memory, every run sees the same site, and the server process stays
small. Run `python bench/sitegen.py serve --pages N` to serve one: it prints its port.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import re
import resource
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property

CLINIC = "Riverside Sport & Massage Clinic"
SECTIONS = ("articles", "services", "ask-a-pro", "news", "team")
QA_EVERY = 5  # one page in five is an "Ask a Pro" Q&A page
PRIVATE_EVERY = 7  # one page in seven links into /private/, which robots.txt disallows
NAV_LINKS, MEGA_LINKS, SIDEBAR_LINKS = 40, 32, 8
MIN_BYTES, MAX_BYTES = 30_000, 60_000
PATH = re.compile(r"^/([a-z-]+)/(\d+)-[a-z0-9-]+/$")
PRIVATE = re.compile(r"^/private/members/(\d+)/$")

VOCABULARY = """
pain knee shoulder back neck hip ankle wrist elbow muscle tendon ligament joint spine posture
injury recovery rehabilitation therapy massage treatment assessment exercise stretch strength
mobility flexibility balance training running cycling swimming hockey soccer tennis golf yoga
athlete patient clinic therapist session program plan release tissue fascia inflammation
swelling tension stiffness chronic acute sprain strain tear fracture surgery healing load
movement pattern alignment pelvis hamstring quadriceps calf glute core lumbar thoracic cervical
rotator cuff tendinitis bursitis plantar fasciitis sciatica whiplash concussion arthritis
the a an and or but with without during after before while because since although however
often usually sometimes rarely may can should will might must helps improves reduces supports
increases prevents restores protects relieves manages guides teaches measures tracks builds
gentle progressive targeted manual active passive dynamic static functional specific simple
daily weekly home office desk work sport season marathon game practice warm cool rest ice heat
"""
SYLLABLES = [c + v for c in "bcdfgklmnprstv" for v in "aeiou"]


def vocabulary(extra: int = 1000) -> tuple[list[str], list[float]]:
    """The word list plus made-up words, Zipf-weighted: pages as varied as real prose.

    With only a few hundred words every long paragraph would share most of its character
    n-grams with every other, which no real site does.
    """
    rng = random.Random(0)
    words = VOCABULARY.split()
    while len(words) < len(VOCABULARY.split()) + extra:
        words.append("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) + rng.choice("nrstl "))
    words = [w.strip() for w in words]
    weights = list(itertools.accumulate(1 / (rank + 10) for rank in range(len(words))))
    return words, weights


WORDS, CUMULATIVE = vocabulary()
BODY = ("Knee", "Shoulder", "Lower Back", "Neck", "Hip", "Ankle", "Wrist", "Elbow", "Heel")
ISSUE = ("Pain", "Stiffness", "Sprain", "Strain", "Tendinitis", "Weakness", "Swelling")
CONTEXT = (
    "After Running",
    "at the Desk",
    "in Hockey Players",
    "While Swimming",
    "During Pregnancy",
    "in Golfers",
    "After Surgery",
    "for Beginners",
    "in Cyclists",
    "at Night",
)
PROS = (
    ("Jane Doe", "RMT", "Registered Massage Therapist"),
    ("Jonathan Sun", "BPE, CAT(C)", "Certified Athletic Therapist"),
    ("Priya Patel", "MScPT", "Registered Physiotherapist"),
    ("Marc Tremblay", "DC", "Chiropractor"),
    ("Amelia Chen", "RMT", "Registered Massage Therapist"),
)
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def rng_for(seed: int, page: int, salt: int) -> random.Random:
    return random.Random(seed * 1_000_003 + page * 31 + salt)


def sentence(rng: random.Random, low: int = 8, high: int = 22) -> str:
    words = rng.choices(WORDS, cum_weights=CUMULATIVE, k=rng.randint(low, high))
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 7)))


@dataclass
class Site:
    """N pages with ids 0..N-1; page 0 is "/". Chrome is rendered once, content per request."""

    pages: int
    seed: int = 1
    _titles: dict[int, str] = field(default_factory=dict, repr=False)

    def is_qa(self, page: int) -> bool:
        return page % QA_EVERY == 2

    def section(self, page: int) -> str:
        if self.is_qa(page):
            return "ask-a-pro"
        return rng_for(self.seed, page, 1).choice([s for s in SECTIONS if s != "ask-a-pro"])

    def title(self, page: int) -> str:
        if page == 0:
            return "Home"
        if page not in self._titles:
            rng = rng_for(self.seed, page, 2)
            self._titles[page] = f"{rng.choice(BODY)} {rng.choice(ISSUE)} {rng.choice(CONTEXT)}"
        return self._titles[page]

    def path(self, page: int) -> str:
        if page == 0:
            return "/"
        slug = re.sub(r"[^a-z0-9]+", "-", self.title(page).lower()).strip("-")
        return f"/{self.section(page)}/{page}-{slug}/"

    def page_for(self, path: str) -> int | None:
        """The id a path names, or None; only the one canonical spelling is a page."""
        if path == "/":
            return 0
        found = PATH.match(path)
        if not found:
            return None
        page = int(found.group(2))
        return page if 0 < page < self.pages and self.path(page) == path else None

    def links(self, page: int) -> list[int]:
        """The next three ids (so every page is reachable from /) plus seven others."""
        rng = rng_for(self.seed, page, 3)
        ahead = [(page + k) % self.pages for k in (1, 2, 3)]
        return ahead + [rng.randrange(self.pages) for _ in range(7)]

    def anchor(self, page: int, css: str = "") -> str:
        klass = f' class="{css}"' if css else ""
        return f'<a href="{self.path(page)}"{klass}>{self.title(page)}</a>'

    def render(self, page: int) -> bytes:
        rng = rng_for(self.seed, page, 4)
        year = 2009 + page % 15
        body = self.qa_content(page, rng) if self.is_qa(page) else self.article(page, rng)
        extra = ""
        if page % PRIVATE_EVERY == 3:
            extra = f'<p class="members"><a href="/private/members/{page}/">Members area</a></p>'
        return self.assemble(page, body + extra, year, rng.randint(MIN_BYTES, MAX_BYTES))

    def render_private(self, page: int) -> bytes:
        body = f"<h1>Members {page}</h1><p>{paragraph(rng_for(self.seed, page, 5))}</p>"
        return self.assemble(page, body, 2020, MIN_BYTES, f"/private/members/{page}/")

    def assemble(
        self, page: int, body: str, year: int, target: int, path: str | None = None
    ) -> bytes:
        c = self.chrome
        related = "".join(f"<li>{self.anchor(p)}</li>" for p in self.links(page))
        html = "".join(
            (
                c.head_start,
                f"<title>{self.title(page)} | {CLINIC}</title>",
                f'<link rel="canonical" href="{path or self.path(page)}">',
                c.head_end,
                f'<main id="content" class="site-content"><article class="post post-{page}">',
                body,
                f'<div class="related"><h3>Related</h3><ul>{related}</ul></div>',
                "</article></main>",
                c.sidebar,
                c.footer_start,
                f'<p class="copyright">© Copyright {CLINIC.replace("&", "&amp;")} {year}</p>',
                c.footer_end,
            )
        ).encode()
        room = target - len(html) - 64
        if room <= 0:
            return html + b"</body></html>\n"
        start = (page * 977) % (len(c.padding) - room) if len(c.padding) > room else 0
        pad = c.padding[start : start + room]
        return (
            html
            + b'<script type="application/json" id="warmup-data">'
            + pad
            + (b"</script></body></html>\n")
        )

    def article(self, page: int, rng: random.Random) -> str:
        parts = [
            f'<p class="breadcrumb"><a href="/">Home</a> » {self.section(page).title()}</p>',
            f'<h1 class="entry-title">{self.title(page)}</h1>',
            f'<p class="meta">Posted <time datetime="{self.date(rng)}">{self.date(rng)}</time></p>',
        ]
        for _ in range(rng.randint(3, 6)):
            if rng.random() < 0.3:
                parts.append(f"<h2>{sentence(rng, 3, 6)[:-1]}</h2>")
            parts.append(f"<p>{paragraph(rng)}</p>")
            if rng.random() < 0.3:
                items = "".join(
                    f"<li>{sentence(rng, 4, 10)}</li>" for _ in range(rng.randint(3, 6))
                )
                parts.append(f"<ul>{items}</ul>")
        return "".join(parts)

    def qa_content(self, page: int, rng: random.Random) -> str:
        name, credentials, role = rng.choice(PROS)
        parts = [
            '<h2 class="section-title">Ask A Pro, Get Answers</h2>',
            f'<h1 class="post-title">{self.title(page)}</h1>',
        ]
        for _ in range(rng.randint(1, 2)):
            question = " ".join(sentence(rng) for _ in range(rng.randint(2, 4)))
            parts += [
                '<h4 class="qa-label">Q:</h4>',
                f'<p class="question">{question}</p>',
                '<h4 class="qa-label">A:</h4>',
                f'<p class="answer">{paragraph(rng)}</p><p class="answer">{paragraph(rng)}</p>',
            ]
        parts.append(
            f'<div class="signature"><p class="sig-name">{name} {credentials}</p>'
            f'<p class="sig-title">{role}</p></div>'
        )
        return "".join(parts)

    @staticmethod
    def date(rng: random.Random) -> str:
        return f"{rng.randint(2009, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    @cached_property
    def chrome(self) -> Chrome:
        return Chrome.build(self)


@dataclass(frozen=True)
class Chrome:
    """The markup every page shares, rendered once per site."""

    head_start: str
    head_end: str
    sidebar: str
    footer_start: str
    footer_end: str
    padding: bytes

    @classmethod
    def build(cls, site: Site) -> Chrome:
        rng = random.Random(site.seed)
        ids = [1 + i % max(site.pages - 1, 1) for i in range(NAV_LINKS + MEGA_LINKS)]
        nav = "".join(f"<li>{site.anchor(p)}</li>" for p in ids[:NAV_LINKS])
        columns = "".join(
            f'<div class="mega-col"><h5>{SECTIONS[i % len(SECTIONS)].title()}</h5><ul>'
            + "".join(
                f"<li>{site.anchor(p)}</li>" for p in ids[NAV_LINKS + i * 8 : NAV_LINKS + i * 8 + 8]
            )
            + "</ul></div>"
            for i in range(MEGA_LINKS // 8)
        )
        css = "\n".join(
            f".comp-{rng.getrandbits(32):08x} .c{i}{{margin:{i % 9}px;padding:{i % 7}px;"
            f"color:#{rng.getrandbits(24):06x};font-size:{10 + i % 8}px}}"
            for i in range(90)
        )
        head_start = (
            '<!DOCTYPE html>\n<html lang="en-CA"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta property="og:site_name" content="{CLINIC.replace("&", "&amp;")}">'
        )
        head_end = (
            f"<style>{css}</style>"
            "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push("
            "arguments);}gtag('js',new Date());gtag('config','UA-000000-1');</script>"
            '</head><body class="page wp-theme-legacy">'
            '<div id="cookie-notice" class="cookie-banner" role="dialog"><p>We use cookies to '
            "improve your experience on our website. By browsing this website, you agree to our "
            'use of cookies.</p><button class="cookie-accept">Accept</button></div>'
            '<header id="masthead" class="site-header"><a class="logo" href="/">'
            f"{CLINIC.replace('&', '&amp;')}</a>"
            '<p class="phone"><a href="tel:+15555550100">555-555-0100</a></p>'
            f'<nav class="main-navigation" id="site-navigation"><ul class="menu">{nav}</ul></nav>'
            f'<div class="mega-menu" aria-hidden="true">{columns}</div></header>'
        )
        recent = "".join(f"<li>{site.anchor(p)}</li>" for p in ids[:SIDEBAR_LINKS])
        sidebar = (
            '<aside id="secondary" class="widget-area sidebar">'
            f'<section class="widget recent-posts"><h3>Recent Posts</h3><ul>{recent}</ul></section>'
            '<section class="widget hours"><h3>Hours</h3><ul><li>Mon-Fri 8am-8pm</li>'
            "<li>Sat 9am-3pm</li><li>Sun closed</li></ul></section>"
            '<section class="widget book"><h3>Book Online</h3><p>New patients welcome. '
            'Direct billing to most insurers.</p><a class="button" href="mailto:front@clinic.'
            'example">Email us</a></section></aside>'
        )
        footer_start = (
            '<footer id="colophon" class="site-footer"><div class="footer-widgets">'
            f'<p class="address">{CLINIC.replace("&", "&amp;")}, 123 River Road, Suite 4, '
            "Springfield ON A1B 2C3</p>"
            '<form class="newsletter-form" action="https://lists.example.net/subscribe" '
            'method="post"><h4>Subscribe to our newsletter</h4><p>Monthly tips on injury '
            'prevention and recovery.</p><input type="email" name="email" placeholder="Email">'
            '<button type="submit">Subscribe</button></form>'
            '<ul class="social"><li><a href="https://www.facebook.com/clinic.example">Facebook'
            '</a></li><li><a href="https://www.instagram.com/clinic.example">Instagram</a></li>'
            '<li><a href="javascript:void(0)">Share</a></li></ul></div>'
        )
        footer_end = "</footer>"
        return cls(head_start, head_end, sidebar, footer_start, footer_end, padding(rng))


def padding(rng: random.Random, size: int = 72_000) -> bytes:
    """Inline page-builder JSON, as legacy site builders embed in every page."""
    lines, total = [], 0
    while total < size:
        line = (
            f'"comp-{rng.getrandbits(40):010x}":'
            f'{{"type":"{rng.choice(("Container", "Text", "Image"))}",'
            f'"layout":{{"x":{rng.randint(0, 980)},"y":{rng.randint(0, 4000)},'
            f'"w":{rng.randint(10, 980)}}},"style":"s{rng.randint(0, 999)}"}},\n'
        )
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()


@dataclass
class Stats:
    """What the server did, for the benchmark's cross-check of what each crawler fetched."""

    requests: int = 0
    pages: int = 0
    page_bytes: int = 0
    private: int = 0
    robots: int = 0
    not_found: int = 0
    last_at: float = 0.0  # wall clock of the last crawler request: when fetching ended

    def to_json(self) -> bytes:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        data = {**self.__dict__, "cpu_s": usage.ru_utime + usage.ru_stime}
        return json.dumps(data).encode()


class Server:
    """HTTP/1.1 with keep-alive over asyncio streams: lean enough not to be the bottleneck."""

    IDLE_S = 60.0

    def __init__(self, site: Site) -> None:
        self.site, self.stats = site, Stats()

    def respond(self, target: str) -> tuple[int, str, bytes]:
        path, _, query = target.partition("?")
        if path == "/__stats":
            body = self.stats.to_json()
            if "reset" in query:
                self.stats = Stats()
            return 200, "application/json", body
        self.stats.requests += 1
        self.stats.last_at = time.time()
        if path == "/robots.txt":
            self.stats.robots += 1
            return 200, "text/plain", ROBOTS
        page = self.site.page_for(path)
        if page is not None:
            body = self.site.render(page)
            self.stats.pages += 1
            self.stats.page_bytes += len(body)
            return 200, "text/html; charset=utf-8", body
        private = PRIVATE.match(path)
        if private and int(private.group(1)) < self.site.pages:
            self.stats.private += 1
            return 200, "text/html; charset=utf-8", self.site.render_private(int(private.group(1)))
        self.stats.not_found += 1
        return 404, "text/html; charset=utf-8", b"<html><body><h1>Not found</h1></body></html>"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.IDLE_S)
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = [*lines[0].split(" "), "", "", ""][:3]
                headers = dict(
                    (k.strip().lower(), v.strip())
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                )
                if headers.get("content-length", "0").isdigit():
                    await reader.readexactly(int(headers.get("content-length", "0")))
                status, ctype, body = self.respond(target)
                connection = headers.get("connection", "").lower()
                keep = (
                    connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
                )
                reason = {200: "OK", 404: "Not Found"}[status]
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\n"
                    f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n".encode()
                )
                if method != "HEAD":
                    writer.write(body)
                await writer.drain()
                if not keep:
                    break
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            TimeoutError,
        ):
            pass
        finally:
            writer.close()


async def serve(pages: int, seed: int, port: int) -> None:
    site = Site(pages, seed)
    _ = site.chrome
    server = await asyncio.start_server(Server(site).handle, "127.0.0.1", port, backlog=256)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve a site; prints the port, then serves until killed")
    run.add_argument("--pages", type=int, default=2000)
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.pages, args.seed, args.port))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""No page stops a run: seeded random mutations of the fixtures, random JSON-LD value
shapes and hostile pages go through extraction without an exception escaping, and a
crawl of a site where one page in ten is hostile writes every good page.

Seeded: a failure names its seed and mutation, and reproduces.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, Server, read_records, run_cli, serve

from harvester.extract import extract_page
from harvester.page import process_page
from harvester.parse import ParseError, parse_html

MUTATIONS = 2000
PAGES = sorted((FIXTURES / "qa").glob("*.html")) + sorted((FIXTURES / "meta").glob("*.html"))
CODEC_LABELS = ["hex", "base64", "rot13", "zlib", "bz2", "uu", "quopri", "utf-16", "utf-32",
                "x-bogus", "", "utf-8", "latin1", "utf-7"]  # fmt: skip
TAGS = ["div", "p", "li", "ul", "table", "td", "details", "summary", "h2", "strong", "br",
        "script", "dl", "dt", "dd", "button", "main", "article", "nav"]  # fmt: skip


def _value(rng: random.Random, depth: int = 0) -> Any:
    """Any shape a JSON-LD value can take, and some it should not."""
    kinds: list[Callable[[], Any]] = [
        lambda: "2020-01-01",
        lambda: "March 3, 2021",
        lambda: rng.randint(-(10**12), 10**12),
        lambda: rng.random(),
        lambda: rng.choice([True, False, None]),
        lambda: {"@value": "2020-01-01"},
        lambda: {"@type": "Person", "name": _value(rng, depth + 1)},
        lambda: [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))],
        lambda: "<p>html <b>in</b> a value</p>",
    ]
    return rng.choice(kinds[:6] if depth > 3 else kinds)()


def _jsonld(rng: random.Random) -> str:
    keys = ["datePublished", "dateModified", "author", "name", "headline", "@type",
            "acceptedAnswer", "suggestedAnswer", "text", "mainEntity", "@graph", "@id"]  # fmt: skip
    node = {key: _value(rng) for key in rng.sample(keys, rng.randint(1, len(keys)))}
    if rng.random() < 0.3:
        node["@type"] = rng.choice(["FAQPage", "QAPage", "Question", "Article", ["Question"]])
        node["mainEntity"] = [{"@type": "Question", "name": _value(rng),
                               "acceptedAnswer": _value(rng)}]  # fmt: skip
    text = json.dumps(node)
    if rng.random() < 0.1:
        text = "[" * 50_000 + "]" * 50_000  # nested past any recursion limit
    elif rng.random() < 0.1:
        text = text[: rng.randint(0, len(text))]  # cut short
    return f'<script type="application/ld+json">{text}</script>'


def _mutate(html: bytes, rng: random.Random) -> bytes:
    """One of the shapes real pages break in."""
    n = len(html)
    at = rng.randint(0, n)
    choice = rng.randrange(9)
    if choice == 0:
        return html[:at] + html[rng.randint(at, n) :]  # a slice cut out
    if choice == 1:
        end = min(n, at + rng.randint(1, 400))
        return html[:end] + html[at:end] * rng.randint(2, 5) + html[end:]  # repeated
    if choice == 2:
        tags = "".join(
            f"<{t}>" if rng.random() < 0.6 else f"</{t}>"
            for t in rng.choices(TAGS, k=rng.randint(1, 30))
        )
        return html[:at] + tags.encode() + html[at:]  # unbalanced tags
    if choice == 3:
        label = rng.choice(CODEC_LABELS).encode()
        return b'<meta charset="' + label + b'">' + html.replace(b"\xe2\x80\x99", b"\x92\xff")
    if choice == 4:
        return html[:at] + _jsonld(rng).encode() + html[at:]
    if choice == 5:
        depth = rng.choice([300, 2500, 6000])
        return html[:at] + b"<div>" * depth + b"<p>deep</p>" + b"</div>" * depth + html[at:]
    if choice == 6:
        return html[:at]  # truncated download
    if choice == 7:
        noise = bytes(rng.randrange(1, 256) for _ in range(rng.randint(1, 200)))
        return html[:at] + noise + html[at:]
    return html.replace(b"<", b"<<", rng.randint(1, 20))  # stray brackets


def _cases() -> Iterator[tuple[int, Path]]:
    for seed in range(MUTATIONS):
        yield seed, PAGES[seed % len(PAGES)]


@pytest.mark.parametrize("chunk", range(10))
def test_mutated_pages_never_raise(chunk: int) -> None:
    """2,000 mutations in ten chunks: extract_page returns a page for every one that
    parses, and process_page turns any other failure into a ParseError (that page's)."""
    for seed, path in list(_cases())[chunk::10]:
        rng = random.Random(seed)
        body = _mutate(path.read_bytes(), rng)
        if rng.random() < 0.3:
            body = _mutate(body, rng)
        try:
            doc = parse_html(body, f"https://clinic.example/{path.name}")
        except ParseError:
            continue  # "not HTML" is an answer, not a crash
        try:
            page = extract_page(doc, "", "file")
            process_page(body, f"https://clinic.example/{path.name}", None, "", "file")
        except ParseError:
            continue
        except Exception as exc:  # pragma: no cover - the report names the case
            pytest.fail(f"seed {seed} on {path.name}: {type(exc).__name__}: {exc}")
        assert page.url == f"https://clinic.example/{path.name}"


HOSTILE: list[bytes] = [
    b'<meta charset="hex"><p>caf\xe9 \xff bad bytes</p>',
    b'<meta charset="base64"><p>\xff\xfe not text</p>',
    b'<script type="application/ld+json">{"datePublished": ["2020-01-01"], '
    b'"dateModified": {"@value": 7}, "author": [[["x"]]]}</script><p>dates as lists</p>',
    b'<script type="application/ld+json">' + b"[" * 100_000 + b"]" * 100_000 + b"</script>",
    b"<div>" * 5000 + b"<p>deep down</p>" + b"</div>" * 5000,
    b'<script type="application/ld+json">{"@type": "FAQPage", "mainEntity": '
    b'[{"@type": "Question", "name": 5, "acceptedAnswer": true}]}</script>',
]


@pytest.fixture
def hostile_site(tmp_path: Path) -> Iterator[Server]:
    """30 linked pages; every tenth is one of the hostile shapes above."""
    links = "".join(f'<a href="/p{i}.html">page {i}</a> ' for i in range(30))
    (tmp_path / "index.html").write_text(f"<html><body><h1>Home</h1>{links}</body></html>")
    for i in range(30):
        if i % 10 == 3:
            body = HOSTILE[(i // 10) % len(HOSTILE)] + HOSTILE[(i // 10 + 3) % len(HOSTILE)]
        else:
            body = (
                f"<html><body><main><h1>Page {i}</h1><p>Page {i} of the clinic site says "
                f"something of its own, number {i * 7919}.</p></main></body></html>"
            ).encode()
        (tmp_path / f"p{i}.html").write_bytes(body)
    yield from serve(tmp_path)


def test_a_crawl_with_hostile_pages_writes_every_good_page(
    hostile_site: Server, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    done = run_cli(
        "crawl", hostile_site.url, "-o", str(out), "--delay", "0", "--workers", "1", "-q",
        "--state", str(tmp_path / "s.sqlite"),
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    urls = {record["url"] for record in read_records(out)}
    good = {f"{hostile_site.url}p{i}.html" for i in range(30) if i % 10 != 3}
    assert good <= urls

"""Extraction speed and article-body quality: harvester against trafilatura, same run.

Reads the article benchmark from ../shared/article-benchmark (not needed at run time),
the bundled sample site and the test fixtures. Prints figures and writes its section
of bench/RESULTS.md. Needs trafilatura (`make bench` installs it).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _results import update_section
from bs4 import BeautifulSoup

from harvester.extract import extract_page
from harvester.extract.blocks import render
from harvester.extract.metadata import TITLE_SEPARATORS
from harvester.extract.vocabulary import name_marks
from harvester.models import Page
from harvester.parse import parse_html
from harvester.urls import normalize

try:
    import trafilatura
except ImportError:
    sys.exit("bench/extract.py needs trafilatura: .venv/bin/pip install trafilatura")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH = ROOT.parent / "shared" / "article-benchmark"
MIN_EXTRACTIONS = 1000
WORD = re.compile(r"\w+")

Extractor = Callable[[bytes, str], str]
Sample = tuple[bytes, str, str | None]  # html, url, hand-checked article body


def harvester_page(html: bytes, url: str) -> Page:
    return extract_page(parse_html(html, url), "", "file")


def harvester_text(html: bytes, url: str) -> str:
    """The article body: the record's text without its title line (the record carries
    the title as `title`, as trafilatura returns it apart from its text)."""
    page = harvester_page(html, url)
    blocks = page.blocks
    if blocks and blocks[0].kind == "heading" and blocks[0].text == page.title:
        blocks = blocks[1:]
    return render(blocks)


def trafilatura_text(html: bytes, url: str) -> str:
    return trafilatura.extract(html, url=url) or ""


def full_page_text(html: bytes, url: str) -> str:
    """What a naive scraper keeps: everything BeautifulSoup sees."""
    return str(BeautifulSoup(html, "lxml").get_text("\n"))


EXTRACTORS: dict[str, Extractor] = {
    "harvester": harvester_text,
    "trafilatura": trafilatura_text,
    "full page (bs4 get_text)": full_page_text,
}


def grams(text: str) -> Counter[tuple[str, ...]]:
    words = WORD.findall(text)
    return Counter(tuple(words[i : i + 4]) for i in range(len(words) - 3))


def score(predicted: str, truth: str) -> tuple[float, float, float]:
    """The benchmark's per-page TP/FP/FN over word 4-grams, normalised to sum 1."""
    pred, true = grams(predicted), grams(truth)
    tp = sum((pred & true).values())
    fp = sum((pred - true).values())
    fn = sum((true - pred).values())
    total = tp + fp + fn or 1
    return tp / total, fp / total, fn / total


def prf(scores: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    tp, fp, fn = (sum(s[k] for s in scores) / len(scores) for k in range(3))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def corpus() -> list[Sample]:
    found: list[Sample] = []
    if BENCH.exists():
        truth = json.loads((BENCH / "ground-truth.json").read_text("utf-8"))
        for key, item in sorted(truth.items()):
            html = gzip.decompress((BENCH / "html" / f"{key}.html.gz").read_bytes())
            url = item.get("url") or f"http://bench.invalid/{key}"
            found.append((html, url, item["articleBody"]))
    for folder in (ROOT / "data" / "sample-site", ROOT / "tests" / "fixtures"):
        for path in sorted(folder.rglob("*.html")):
            found.append((path.read_bytes(), "http://sample.invalid/" + path.name, None))
    return found


def timed(pages: list[Sample], rounds: int) -> dict[str, float]:
    """Pages per second; extractors take turns round by round so load noise is shared."""
    seconds = dict.fromkeys(EXTRACTORS, 0.0)
    for _ in range(rounds):
        for name, extractor in EXTRACTORS.items():
            normalize.cache_clear()  # no help from earlier rounds: each round is cold
            name_marks.cache_clear()
            started = time.process_time()
            for html, url, _ in pages:
                extractor(html, url)
            seconds[name] += time.process_time() - started
    return {name: rounds * len(pages) / max(s, 1e-9) for name, s in seconds.items()}


Scores = tuple[float, float, float]  # the benchmark's per-page TP, FP, FN


@dataclass
class Quality:
    """Per extractor, the per-page scores over the benchmark, in corpus order."""

    keys: list[str]
    pages: dict[str, list[Scores]]

    def overall(self, name: str) -> Scores:
        return prf(self.pages[name])


def quality(pages: list[Sample]) -> Quality:
    scored = [(html, url, truth) for html, url, truth in pages if truth is not None]
    return Quality(
        [url for _, url, _ in scored],
        {
            name: [score(extractor(html, url), truth) for html, url, truth in scored]
            for name, extractor in EXTRACTORS.items()
        },
    )


def page_pr(s: Scores) -> tuple[float, float]:
    tp, fp, fn = s
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def worst_pages(found: Quality, count: int = 10) -> list[str]:
    """The pages where harvester keeps most that is not the article, for reading."""
    rows = sorted(
        zip(found.keys, found.pages["harvester"], found.pages["trafilatura"], strict=True),
        key=lambda row: page_pr(row[1]),
    )
    lines = [
        "| page | precision | recall | trafilatura precision | trafilatura recall |",
        "|---|---|---|---|---|",
    ]
    for url, ours, theirs in rows[:count]:
        (p, r), (tp, tr) = page_pr(ours), page_pr(theirs)
        lines.append(f"| {url} | {p:.3f} | {r:.3f} | {tp:.3f} | {tr:.3f} |")
    return lines


FIELDS = ("title", "author", "date", "description")
_PUNCT = re.compile(r"[\W_]+")


def _same(field: str, ours: str | None, theirs: str | None) -> bool:
    """Equal once case, punctuation and spacing are set aside; a date by its day; authors
    as a set of names whatever joins them; a title with or without the site's name."""
    if not ours or not theirs:
        return False
    if field == "date":
        return ours[:10] == theirs[:10]
    if field == "author":
        names = re.compile(r"\s*(?:[,;&|]|\band\b)\s*")
        return {_PUNCT.sub(" ", n).strip().lower() for n in names.split(ours) if n.strip()} == {
            _PUNCT.sub(" ", n).strip().lower() for n in names.split(theirs) if n.strip()
        }
    if field == "title":  # "Title | Site" is the same title as "Title"
        return _plain(ours) in {_plain(part) for part in (theirs, *TITLE_SEPARATORS.split(theirs))}
    return _plain(ours) == _plain(theirs)


def _plain(text: str) -> str:
    return _PUNCT.sub(" ", text).strip().lower()


def metadata_parity(pages: list[Sample]) -> list[str]:
    """How often harvester's title, author, date and description equal trafilatura's on
    the benchmark pages (the benchmark itself records only the body and the URL)."""
    counts = {field: Counter[str]() for field in FIELDS}
    for html, url, truth in pages:
        if truth is None:
            continue
        page = harvester_page(html, url)
        ours = {
            "title": page.title,
            "author": page.author,
            "date": page.published,
            "description": page.description,
        }
        meta = trafilatura.extract_metadata(html, default_url=url)
        theirs = {field: getattr(meta, field, None) if meta else None for field in FIELDS}
        for field in FIELDS:
            a, b = ours[field], theirs[field]
            tally = counts[field]
            tally["both"] += bool(a and b)
            tally["same"] += _same(field, a, b)
            tally["ours only"] += bool(a and not b)
            tally["theirs only"] += bool(b and not a)
    total = sum(truth is not None for _, _, truth in pages)
    lines = [
        f"Metadata on the {total} benchmark pages, harvester against trafilatura's "
        "`extract_metadata` (the benchmark records no metadata of its own):",
        "",
        "| field | both found | equal | only harvester | only trafilatura |",
        "|---|---|---|---|---|",
    ]
    for field in FIELDS:
        c = counts[field]
        lines.append(
            f"| {field} | {c['both']} | {c['same']} | {c['ours only']} | {c['theirs only']} |"
        )
    return lines


def main() -> int:
    pages = corpus()
    rounds = math.ceil(MIN_EXTRACTIONS / len(pages))
    speed, found = timed(pages, rounds), quality(pages)
    base = speed["trafilatura"]
    lines = [
        "## Extraction",
        "",
        f"{len(pages)} pages (article benchmark, sample site, test fixtures) x {rounds} rounds = "
        f"{len(pages) * rounds} extractions per extractor, one process on one core "
        f"(CPU time), taking turns in the same run; {os.cpu_count()} cores on the machine. "
        "Quality: word 4-gram precision/recall/F1 against the benchmark's hand-checked "
        "article bodies, scored as its README describes. harvester's article body is its "
        "record text without the title line (the record's `title`), as trafilatura's text "
        "comes without its title.",
        "",
        "| extractor | pages/s | speed vs trafilatura | precision | recall | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name in EXTRACTORS:
        precision, recall, f1 = found.overall(name)
        lines.append(
            f"| {name} | {speed[name]:.1f} | {speed[name] / base:.2f}x | "
            f"{precision:.3f} | {recall:.3f} | {f1:.3f} |"
        )
    scored = [(html, url, truth) for html, url, truth in pages if truth is not None]
    titled = prf(
        [score(render(harvester_page(html, url).blocks), truth) for html, url, truth in scored]
    )
    lines += [
        "",
        "harvester's whole record text, its title line kept: precision {:.3f}, recall {:.3f}, "
        "F1 {:.3f}.".format(*titled),
    ]
    ratio = speed["harvester"] / base
    precision, recall, f1 = found.overall("harvester")
    goals = [
        ("pages/s at least 2.2x trafilatura's", ratio >= 2.2, f"{ratio:.2f}x"),
        ("F1 at least 0.965", f1 >= 0.965, f"{f1:.3f}"),
        ("precision at least 0.94", precision >= 0.94, f"{precision:.3f}"),
        ("recall at least 0.985", recall >= 0.985, f"{recall:.3f}"),
    ]
    lines += [
        "",
        "Goals: "
        + "; ".join(f"{what} ({'met' if ok else 'not met'}: {value})" for what, ok, value in goals)
        + ".",
        "",
        "The 10 pages with the lowest harvester precision:",
        "",
        *worst_pages(found),
        "",
        *metadata_parity(pages),
    ]
    report = "\n".join(lines)
    print(report)
    update_section("extract", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

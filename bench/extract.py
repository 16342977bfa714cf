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
from pathlib import Path

from _results import update_section
from bs4 import BeautifulSoup

from harvester.extract import extract_page
from harvester.extract.blocks import render
from harvester.extract.vocabulary import chrome_strength
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
Page = tuple[bytes, str, str | None]  # html, url, hand-checked article body


def harvester_text(html: bytes, url: str) -> str:
    page = extract_page(parse_html(html, url), "", "file")
    return render(page.blocks)


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


def corpus() -> list[Page]:
    found: list[Page] = []
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


def timed(pages: list[Page], rounds: int) -> dict[str, float]:
    """Pages per second; extractors take turns round by round so load noise is shared."""
    seconds = dict.fromkeys(EXTRACTORS, 0.0)
    for _ in range(rounds):
        for name, extractor in EXTRACTORS.items():
            normalize.cache_clear()  # no help from earlier rounds: each round is cold
            chrome_strength.cache_clear()
            started = time.process_time()
            for html, url, _ in pages:
                extractor(html, url)
            seconds[name] += time.process_time() - started
    return {name: rounds * len(pages) / max(s, 1e-9) for name, s in seconds.items()}


def quality(pages: list[Page]) -> dict[str, tuple[float, float, float]]:
    scored = [(html, url, truth) for html, url, truth in pages if truth is not None]
    return {
        name: prf([score(extractor(html, url), truth) for html, url, truth in scored])
        for name, extractor in EXTRACTORS.items()
    }


def main() -> int:
    pages = corpus()
    rounds = math.ceil(MIN_EXTRACTIONS / len(pages))
    speed, scores = timed(pages, rounds), quality(pages)
    base = speed["trafilatura"]
    lines = [
        "## Extraction",
        "",
        f"{len(pages)} pages (article benchmark, sample site, test fixtures) x {rounds} rounds = "
        f"{len(pages) * rounds} extractions per extractor, one process on one core "
        f"(CPU time), taking turns in the same run; {os.cpu_count()} cores on the machine. "
        "Quality: word 4-gram precision/recall/F1 against the benchmark's hand-checked "
        "article bodies, scored as its README describes.",
        "",
        "| extractor | pages/s | speed vs trafilatura | precision | recall | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name in EXTRACTORS:
        precision, recall, f1 = scores[name]
        lines.append(
            f"| {name} | {speed[name]:.1f} | {speed[name] / base:.2f}x | "
            f"{precision:.3f} | {recall:.3f} | {f1:.3f} |"
        )
    ratio, f1 = speed["harvester"] / base, scores["harvester"][2]
    lines += [
        "",
        f"Goals: at least 2x trafilatura's pages/s ({'met' if ratio >= 2 else 'not met'}: "
        f"{ratio:.2f}x); F1 at least 0.93 ({'met' if f1 >= 0.93 else 'not met'}: {f1:.3f}).",
    ]
    report = "\n".join(lines)
    print(report)
    update_section("extract", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Extraction speed and article-body quality, against a peer in the same run.

Reads the article benchmark from ../shared/article-benchmark (not needed at run time)
and the bundled sample site. Prints figures and writes bench/RESULTS.md.
"""

from __future__ import annotations

import gzip
import json
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
from harvester.parse import parse_html

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent / "shared" / "article-benchmark"
SAMPLE = HERE.parent / "data" / "sample-site"
WORD = re.compile(r"\w+")

Extractor = Callable[[bytes, str], str]


def harvester_text(html: bytes, url: str) -> str:
    page = extract_page(parse_html(html, url), "", "file")
    return render(page.blocks)


def full_page_text(html: bytes, url: str) -> str:
    """The peer: everything BeautifulSoup sees, as a naive scraper keeps it."""
    return BeautifulSoup(html, "lxml").get_text("\n")


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
    tp = sum(s[0] for s in scores) / len(scores)
    fp = sum(s[1] for s in scores) / len(scores)
    fn = sum(s[2] for s in scores) / len(scores)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def pages() -> list[tuple[bytes, str, str | None]]:
    found: list[tuple[bytes, str, str | None]] = []
    if BENCH.exists():
        truth = json.loads((BENCH / "ground-truth.json").read_text("utf-8"))
        for key, item in sorted(truth.items()):
            html = gzip.decompress((BENCH / "html" / f"{key}.html.gz").read_bytes())
            found.append(
                (html, item.get("url") or f"http://bench.invalid/{key}", item["articleBody"])
            )
    for path in sorted(SAMPLE.rglob("*.html")):
        found.append((path.read_bytes(), "http://sample.invalid/" + path.name, None))
    return found


def run(
    name: str, extractor: Extractor, corpus: list[tuple[bytes, str, str | None]]
) -> dict[str, float]:
    started = time.perf_counter()
    outputs = [extractor(html, url) for html, url, _ in corpus]
    elapsed = time.perf_counter() - started
    scored = [
        score(out, truth)
        for out, (_, _, truth) in zip(outputs, corpus, strict=True)
        if truth is not None
    ]
    precision, recall, f1 = prf(scored) if scored else (0.0, 0.0, 0.0)
    return {
        "pages_per_s": len(corpus) / elapsed,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def main() -> int:
    corpus = pages()
    results = {
        name: run(name, fn, corpus)
        for name, fn in (
            ("harvester", harvester_text),
            ("full page (bs4 get_text)", full_page_text),
        )
    }
    base = results["full page (bs4 get_text)"]["pages_per_s"]
    lines = [
        "## Extraction",
        "",
        f"{len(corpus)} pages ({'article benchmark + ' if BENCH.exists() else ''}sample site), "
        "one process, one core, same run. Quality: word 4-gram precision/recall/F1 against "
        "the benchmark's hand-checked article bodies (sample-site pages count for speed only).",
        "",
        "| extractor | pages/s | speed vs peer | precision | recall | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['pages_per_s']:.1f} | {r['pages_per_s'] / base:.2f}x | "
            f"{r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    update_section("extract", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Dedup quality, speed and index memory: harvester's whole dedup stage on generated sites.

Pages come from bench/dedupgen.py (three clinic sites, near-copies of known pages and
hard negatives), go through parse_html and extract_page as in a crawl, then through
build_records with the default options. Duplicate pairs predicted from each record's url
and aliases are scored against the generator's ground truth. A second part does the same
on two hand-written small-business sites (tests/fixtures/dedup-real/realsites.py):
listings, near-empty pages, backups, drafts, relative canonicals and look-alike pages.
Prints the figures and writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import gc
import itertools
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from _results import update_section
from datasketch import LeanMinHash, MinHashLSH
from dedupgen import Sample, generate, sentence, topic_for

from harvester.dedup import DedupOptions, DedupStats, Removal, build_records
from harvester.dedup.evidence import MIN_WORDS, STRONG
from harvester.dedup.pages import lsh_params
from harvester.dedup.site import clean_blocks, learn_sites
from harvester.dedup.sketch import sketch_all, word_shingles
from harvester.extract import extract_page
from harvester.extract.blocks import render
from harvester.models import Page, Record
from harvester.parse import parse_html
from harvester.urls import host_of, normalize, site_key

sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "fixtures" / "dedup-real"))
import realsites

SEED = 1
BASES = 540
SPEED_ROUNDS = 3
INDEX_BLOCKS = 100_000
SKETCH_CHUNK = 1000
GOAL_PAIRS = 0.98
GOAL_BLOCKS_PER_S = 5000
GOAL_REAL_RECALL = 0.95
FETCHED_AT = "2024-01-01T00:00:00Z"
MIB = 1024 * 1024

Pair = tuple[int, int]


@dataclass
class Quality:
    true: set[Pair]
    predicted: set[Pair]
    hard: set[Pair]  # pairs of different pages that share a paragraph or two

    @property
    def correct(self) -> int:
        return len(self.true & self.predicted)

    @property
    def precision(self) -> float:
        return self.correct / len(self.predicted) if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / len(self.true) if self.true else 1.0


def extract_all(samples: list[Sample]) -> tuple[list[Page], float]:
    """Every page through parse and extract, as the crawler does; and the CPU seconds."""
    started = time.process_time()
    pages = [extract_page(parse_html(s.html, s.url), FETCHED_AT, "http") for s in samples]
    return pages, time.process_time() - started


def pairs_of(groups: Iterable[Iterable[int]]) -> set[Pair]:
    return {pair for group in groups for pair in itertools.combinations(sorted(group), 2)}


def true_groups(samples: list[Sample]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for index, sample in enumerate(samples):
        groups.setdefault(sample.group, []).append(index)
    return groups


def predicted_groups(records: list[Record], samples: list[Sample]) -> list[list[int]]:
    """Each record's url and aliases, as sample indices: what the output says is one page."""
    index = {s.url: i for i, s in enumerate(samples)}
    groups = [[index[u] for u in dict.fromkeys([r.url, *r.aliases]) if u in index] for r in records]
    named = sum(len(g) for g in groups)
    if named != len(samples):
        sys.exit(f"records name {named} of {len(samples)} pages: cannot score")
    return groups


def hard_pairs(samples: list[Sample], groups: dict[int, list[int]]) -> set[Pair]:
    pairs: set[Pair] = set()
    for sample in samples:
        if sample.quotes is not None:
            for a, b in itertools.product(groups[sample.group], groups[sample.quotes]):
                pairs.add((min(a, b), max(a, b)))
    return pairs


def quality(samples: list[Sample], records: list[Record]) -> Quality:
    groups = true_groups(samples)
    return Quality(
        pairs_of(groups.values()),
        pairs_of(predicted_groups(records, samples)),
        hard_pairs(samples, groups),
    )


def by_kind(samples: list[Sample], predicted: set[Pair]) -> dict[str, tuple[int, int]]:
    """Per copy kind: copies, and copies folded with their page's base."""
    base = {s.group: i for i, s in enumerate(samples) if s.kind in ("base", "sibling")}
    found: dict[str, list[int]] = {}
    for index, sample in enumerate(samples):
        if sample.kind in ("base", "sibling"):
            continue
        pair = (min(index, base[sample.group]), max(index, base[sample.group]))
        found.setdefault(sample.kind, [0, 0])
        found[sample.kind][0] += 1
        found[sample.kind][1] += pair in predicted
    return {kind: (n, ok) for kind, (n, ok) in sorted(found.items())}


def cleaned_texts(pages: list[Page], options: DedupOptions) -> list[str]:
    """Each page's text as the dedup stage compares it: no repeats, no template (a
    listing keeps its entries)."""
    learned = learn_sites(lambda: pages, options)
    texts = []
    for page in pages:
        site = site_key(host_of(page.url))
        cleaned = clean_blocks(page, learned.models.get(site), targets=learned.targets.get(site))
        texts.append(render(cleaned.blocks))
    return texts


def similarities(a: str, b: str, options: DedupOptions) -> tuple[float, float]:
    """True word-shingle Jaccard, and the MinHash estimate the stage decides on."""
    x, y = (word_shingles(t, options.shingle_size) for t in (a, b))
    true = len(x & y) / len(x | y) if x | y else 1.0
    sketches = sketch_all([x, y], options.num_perm) if x and y else []
    estimate = float(sketches[0].jaccard(sketches[1])) if sketches else 0.0
    return true, estimate


def explain_errors(
    samples: list[Sample], texts: list[str], result: Quality, options: DedupOptions
) -> list[str]:
    """One line per copy not folded into its base and per wrongly folded pair: the true
    and estimated similarity of their cleaned texts say why."""
    lines = []
    for a, b in sorted(result.true - result.predicted):
        if "base" in (samples[a].kind, samples[b].kind):
            copy = b if samples[a].kind == "base" else a
            lines.append(_pair_line("missed", samples, texts, (a, b), copy, options))
    for a, b in sorted(result.predicted - result.true):
        lines.append(_pair_line("wrongly folded", samples, texts, (a, b), b, options))
    return lines


def _pair_line(
    what: str,
    samples: list[Sample],
    texts: list[str],
    pair: Pair,
    copy: int,
    options: DedupOptions,
) -> str:
    words = min(len(texts[i].split()) for i in pair)
    true, estimate = similarities(texts[pair[0]], texts[pair[1]], options)
    return (
        f"{what}: {samples[copy].kind} copy `{samples[copy].url}` (cleaned text {words} "
        f"words; Jaccard {true:.3f}, MinHash estimate {estimate:.3f})"
    )


def hardest_negative(texts: list[str], hard: set[Pair], options: DedupOptions) -> float:
    """The highest true Jaccard among hard-negative pairs: how close they came."""
    return max((similarities(texts[a], texts[b], options)[0] for a, b in hard), default=0.0)


def kept_urls(samples: list[Sample], records: list[Record]) -> tuple[int, int]:
    """Records of pages with copies, and how many of them carry the original page's URL."""
    base_url = {s.group: s.url for s in samples if s.kind in ("base", "sibling")}
    sizes = Counter(s.group for s in samples)
    by_url = {u: r.url for r in records for u in [r.url, *r.aliases]}
    groups = [g for g, n in sizes.items() if n > 1]
    return len(groups), sum(by_url[base_url[g]] == base_url[g] for g in groups)


def time_dedup(pages: list[Page], rounds: int) -> float:
    """CPU seconds of one whole dedup stage over the extracted pages: the median of
    `rounds`, as other processes on the machine add noise even to CPU time."""
    seconds = []
    for _ in range(rounds):
        gc.collect()
        started = time.process_time()
        list(build_records(pages, DedupOptions(), DedupStats()))
        seconds.append(time.process_time() - started)
    return statistics.median(seconds)


def block_texts(count: int, seed: int) -> list[str]:
    """Paragraphs, list items and headings in a page's proportions."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        topic, roll = topic_for(rng), rng.random()
        if roll < 0.15:
            texts.append(sentence(rng, topic)[:60])
        elif roll < 0.4:
            texts.append(sentence(rng, topic))
        else:
            texts.append(" ".join(sentence(rng, topic) for _ in range(rng.randint(3, 7))))
    return texts


@dataclass
class Memory:
    sketches: float  # retained MiB of the LeanMinHash sketches
    sketches_peak: float
    index: float  # retained MiB of the MinHashLSH
    index_peak: float


def index_memory(texts: list[str], options: DedupOptions) -> Memory:
    """The page index as harvester builds it, one entry per block, under tracemalloc."""
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    sketches = []
    for i in range(0, len(texts), SKETCH_CHUNK):
        chunk = [word_shingles(t, options.shingle_size) for t in texts[i : i + SKETCH_CHUNK]]
        sketches += [LeanMinHash(m) for m in sketch_all(chunk, options.num_perm)]
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    lsh = MinHashLSH(num_perm=options.num_perm, params=lsh_params(options.num_perm))
    for key, sketch in enumerate(sketches):
        lsh.insert(key, sketch)
    gc.collect()
    after, index_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Memory(
        (held - start) / MIB, (peak - start) / MIB, (after - held) / MIB, (index_peak - held) / MIB
    )


def met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


@dataclass
class Run:
    """Everything one run measured, for the report."""

    samples: list[Sample]
    pages: list[Page]
    records: list[Record]
    result: Quality
    texts: list[str]  # cleaned texts, for the diagnosis of errors
    extract_s: float
    dedup_s: float
    memory: Memory

    @property
    def blocks(self) -> int:
        return sum(len(p.blocks) for p in self.pages)


def measure() -> Run:
    options = DedupOptions()
    samples = generate(BASES, SEED)
    pages, extract_s = extract_all(samples)
    records = list(build_records(pages, options, DedupStats()))
    return Run(
        samples,
        pages,
        records,
        quality(samples, records),
        cleaned_texts(pages, options),
        extract_s,
        time_dedup(pages, SPEED_ROUNDS),
        index_memory(block_texts(INDEX_BLOCKS, SEED), options),
    )


def setup_lines(run: Run, options: DedupOptions) -> list[str]:
    bands, rows = lsh_params(options.num_perm)
    kinds = Counter(s.kind for s in run.samples)
    return [
        "## Dedup",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.system()}, Python "
        f"{platform.python_version()}; CPU time of one process (time.process_time). "
        f"Parameters (DedupOptions defaults): num_perm {options.num_perm}, word "
        f"{options.shingle_size}-shingles, similarity {options.similarity}, LSH {bands} bands "
        f"x {rows} rows (candidates from Jaccard ~{(1 / bands) ** (1 / rows):.2f}, each "
        f"confirmed by the estimate >= {options.similarity}), template blocks on >= "
        f"{options.template_min_pages} pages and >= {options.template_min_share:.0%} of a site.",
        "",
        f"Pages: `bench/dedupgen.py`, seed {SEED}: three clinic sites (WordPress-style; table "
        "layout; flat hand-made page whose menu, sidebar, newsletter box and footer reach the "
        f"dedup stage as text), {kinds['base'] + kinds['sibling']} real pages of 300-1500 "
        f"words, {kinds['sibling']} of them hard negatives (same topic, quoting one or two "
        "paragraphs of another page), each with 0-3 copies: changed chrome (active menu item, "
        "copyright year, extra sidebar line), one changed sentence (a few words, or the whole "
        "sentence rewritten), a `?utm_source=` URL, a print view with `rel=canonical` to the "
        "page. Every page goes through parse_html and extract_page, then one build_records "
        "over all of them; predicted pairs are the pairs within each record's url + aliases.",
    ]


def quality_lines(run: Run, options: DedupOptions) -> list[str]:
    result = run.result
    hardest = hardest_negative(run.texts, result.hard, options)
    groups, kept = kept_urls(run.samples, run.records)
    tracking = [s for s in run.samples if s.kind == "tracking"]
    collapsed = sum(normalize(s.url) == s.url.split("?")[0] for s in tracking)
    lines = [
        "",
        "| pages | real pages | true pairs | predicted pairs | correct | precision | recall |",
        "|---|---|---|---|---|---|---|",
        f"| {len(run.samples)} | {len(true_groups(run.samples))} | {len(result.true)} | "
        f"{len(result.predicted)} | {result.correct} | {result.precision:.4f} | "
        f"{result.recall:.4f} |",
        "",
        "| copy kind | copies | folded into their page's record |",
        "|---|---|---|",
    ]
    for kind, (count, folded) in by_kind(run.samples, result.predicted).items():
        lines.append(f"| {kind} | {count} | {folded} ({folded / count:.1%}) |")
    return [
        *lines,
        "",
        f"Hard negatives: {len(result.hard & result.predicted)} of {len(result.hard)} pairs "
        f"wrongly folded (highest true Jaccard among them {hardest:.3f}). Record URL: "
        f"{kept} of {groups} pages with copies keep their original URL; the others take a "
        "shorter copy URL (`/old/x.htm`, `x.htm` for `x.html`, `/2015/03/x/`), as the "
        "shortest-URL rule says. "
        f"`?utm_source=` copies are fed under their raw URL to test folding by content; in a "
        f"crawl normalize() strips the parameter first ({collapsed} of {len(tracking)} "
        "collapse to the page's URL), so they never reach this stage.",
    ]


def speed_lines(run: Run) -> list[str]:
    pages, blocks = len(run.pages), run.blocks
    rows = [
        ("extraction (parse_html + extract_page), for context", run.extract_s),
        (f"dedup stage (build_records, median of {SPEED_ROUNDS})", run.dedup_s),
    ]
    return [
        "",
        "| stage | pages | blocks | CPU s | pages/s | blocks/s |",
        "|---|---|---|---|---|---|",
        *(
            f"| {name} | {pages} | {blocks} | {s:.2f} | {pages / s:.0f} | {blocks / s:.0f} |"
            for name, s in rows
        ),
    ]


def memory_lines(memory: Memory, options: DedupOptions) -> list[str]:
    bands, rows = lsh_params(options.num_perm)
    scale = 100_000 / INDEX_BLOCKS
    table = [
        ("MinHashLSH index", memory.index, memory.index_peak),
        ("LeanMinHash sketches", memory.sketches, memory.sketches_peak),
        ("both", memory.index + memory.sketches, memory.sketches + memory.index_peak),
    ]
    return [
        "",
        f"Index memory (tracemalloc): {INDEX_BLOCKS} generated blocks (paragraphs, list "
        f"items, headings), one index entry each: word {options.shingle_size}-shingles, "
        f"LeanMinHash from sketch_all in chunks of {SKETCH_CHUNK}, MinHashLSH with "
        f"lsh_params({options.num_perm}) = {bands} x {rows}, as pages.py builds it for pages.",
        "",
        "| structure | retained MiB per 100k blocks | peak MiB per 100k blocks | bytes per entry |",
        "|---|---|---|---|",
        *(
            f"| {name} | {held * scale:.1f} | {peak * scale:.1f} | "
            f"{held * MIB / INDEX_BLOCKS:.0f} |"
            for name, held, peak in table
        ),
    ]


def report(run: Run) -> str:
    options = DedupOptions()
    result, speed = run.result, run.blocks / run.dedup_s
    errors = explain_errors(run.samples, run.texts, result, options)
    lines = [
        *setup_lines(run, options),
        *quality_lines(run, options),
        *speed_lines(run),
        *memory_lines(run.memory, options),
        "",
        f"Goals: precision >= {GOAL_PAIRS} {met(result.precision >= GOAL_PAIRS)} "
        f"({result.precision:.4f}); recall >= {GOAL_PAIRS} {met(result.recall >= GOAL_PAIRS)} "
        f"({result.recall:.4f}); dedup stage >= {GOAL_BLOCKS_PER_S} blocks/s on one core "
        f"{met(speed >= GOAL_BLOCKS_PER_S)} ({speed:.0f}).",
    ]
    if errors:
        lines += [
            "",
            f"Copies not folded with their page, and pages folded wrongly ({len(errors)}):",
            "",
        ]
        lines += [f"- {e}" for e in errors]
    return "\n".join(lines)


@dataclass
class RealRun:
    """The hand-written sites: samples, records, what --explain said, cleaned texts."""

    samples: list[realsites.Sample]
    records: list[Record]
    removals: list[Removal]
    words: list[int]  # of each page's cleaned text
    true: set[Pair]
    predicted: set[Pair]


def measure_real() -> RealRun:
    options = DedupOptions()
    samples = realsites.samples()
    pages = [extract_page(parse_html(s.html.encode(), s.url), FETCHED_AT, "http") for s in samples]
    removals: list[Removal] = []
    records = list(build_records(pages, options, DedupStats(), removals.append))
    index = {s.url: i for i, s in enumerate(samples)}
    groups: dict[str, list[int]] = {}
    for i, sample in enumerate(samples):
        groups.setdefault(sample.group, []).append(i)
    predicted = [[index[u] for u in [r.url, *r.aliases] if u in index] for r in records]
    words = [len(t.split()) for t in cleaned_texts(pages, options)]
    return RealRun(
        samples, records, removals, words, pairs_of(groups.values()), pairs_of(predicted)
    )


def real_lines(run: RealRun) -> list[str]:
    correct = len(run.true & run.predicted)
    precision = correct / len(run.predicted) if run.predicted else 1.0
    recall = correct / len(run.true) if run.true else 1.0
    urls = [s.url for s in run.samples]
    index = {u: i for i, u in enumerate(urls)}
    folds = [r for r in run.removals if r.reason == "duplicate-page"]
    short = [r for r in folds if max(run.words[index[u]] for u in _pair(r)) < MIN_WORDS]
    by_text = [r for r in short if not _named_twice(r.detail["signals"])]
    hard = {
        (min(index[a], index[b]), max(index[a], index[b]))
        for a, b in realsites.hard_negatives(run.samples)
    }
    lines = [
        "",
        "### Real small-business sites",
        "",
        "Two hand-written sites (`tests/fixtures/dedup-real/realsites.py`): a plumber's "
        "WordPress-style site and a bakery's table-layout site. Listing pages (blog home, "
        "categories, date archives listing the same posts), near-empty pages (map pages, "
        "archive stubs, a one-line home page), backups with their sentences and paragraphs "
        "in reverse order (`-2`, `_old.htm`), drafts under `/temp/` that the published page "
        "adds a paragraph to, `.php`/`.htm` twins, relative canonicals (`index.html` on "
        "`/blog/`); hard negatives: pages made from one text for three towns, articles of "
        "one section, listings of the same posts.",
        "",
        "| pages | true pairs | predicted pairs | correct | precision | recall |",
        "|---|---|---|---|---|---|",
        f"| {len(run.samples)} | {len(run.true)} | {len(run.predicted)} | {correct} | "
        f"{precision:.4f} | {recall:.4f} |",
        "",
        "| copy | URL | folded into | signals that decided |",
        "|---|---|---|---|",
    ]
    keeper = {u: r.url for r in run.records for u in [r.url, *r.aliases]}
    decided = {r.url: r.detail["signals"] for r in folds}
    for sample in run.samples:
        base = sample.group if sample.group in index else None
        if sample.url == base or (base is None and sample.kind == "listing"):
            continue
        signals = decided.get(sample.url) or decided.get(base or "", {})
        shown = ", ".join(f"{k} {v}" for k, v in signals.items() if k != "decided_by")
        by = "+".join(signals.get("decided_by", [])) or "not folded"
        lines.append(
            f"| {sample.kind} | `{_path(sample.url)}` | `{_path(keeper[sample.url])}` | "
            f"{by} ({shown}) |"
        )
    listings = [r for r in run.records if r.kind == "listing"]
    listed = {u for r in listings for u in [r.url, *r.aliases]}
    missing = [s.url for s in run.samples if s.kind == "listing" and s.url not in listed]
    expected = sum(s.kind == "listing" for s in run.samples)
    return [
        *lines,
        "",
        f"Hard negatives: {len(hard & run.predicted)} of {len(hard)} pairs folded. Pairs of "
        f"pages with fewer than {MIN_WORDS} words of cleaned text each: {len(by_text)} folded "
        f"on text, {len(short)} folded in all (the others one document under two names: a "
        f"canonical, a directory and its index file). Listing records: {len(listings)} of "
        f"{expected} listing pages, with {sum(len(r.entries) for r in listings)} entries "
        f"({sum(bool(e.excerpt) for r in listings for e in r.entries)} with an excerpt, "
        f"{sum(bool(e.date) for r in listings for e in r.entries)} with a date)"
        + (
            "; not recognised: " + ", ".join(f"`{_path(u)}`" for u in missing) + " (extraction"
            " keeps one teaser of each as the main text: dedup never sees the others)."
            if missing
            else "."
        ),
        "",
        f"Goals: precision 1.0 {met(precision == 1.0)} ({precision:.4f}); recall >= "
        f"{GOAL_REAL_RECALL} {met(recall >= GOAL_REAL_RECALL)} ({recall:.4f}); no fold on text "
        f"of two pages under {MIN_WORDS} words {met(not by_text)} ({len(by_text)}).",
    ]


def _pair(removal: Removal) -> tuple[str, str]:
    return removal.url, removal.detail["folded_into"]


def _named_twice(signals: dict[str, object]) -> bool:
    """Folded as one document under two names, not on its text."""
    return signals.get("decided_by") == ["url"] or signals.get("url") in STRONG


def _path(url: str) -> str:
    return url.split("//", 1)[-1]


def main() -> int:
    markdown = report(measure()) + "\n" + "\n".join(real_lines(measure_real()))
    print(markdown)
    update_section("dedup", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Whether two pages of one site are one page: several similarities and the URLs, together.

Text alone decides only when it is nearly the same (word-shingle Jaccard at the page
threshold): real revisions of a page land around 0.8, and two pages generated from one
text (a service page per town) can come closer than that. Below it, a fold needs URL
evidence that one URL is a copy of the other (`page-2`, `_old.htm`, `/temp/`, a `.php`
twin of a `.htm`), and then one of: the smaller text inside the larger (a draft and its
published page), or the same words in another order (a backup). Pages with too little
text to compare, listing pages (whose entries recur on other listings) and pages whose
titles name different things never fold on text. A directory and its own index file
(`/` and `/index.html`) or a page and its print view (`?print=1`) are one document under
two names, like a redirect: they fold as the same text however short.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import numpy as np
from datasketch import LeanMinHash

from ..urls import InvalidURL, normalize

MIN_WORDS = 50  # fewer words after template removal: nothing left to compare
CONTAINED = 0.9  # share of the smaller page's shingles found in the larger one
CONTAINED_JACCARD = 0.5  # ...when it is at least half of it: a stub is not a draft
REORDERED = 0.95  # bag-of-words cosine of the same words in another order
VECTOR_DIMS = 512  # hashed bag of words: 2 KiB a page, only for pages with a URL twin

INDEX_FILE = re.compile(r"^(?:index|default)\.(?:html?|shtml|php\d?|aspx?|jsp|cfm)$", re.I)
EXTENSION = re.compile(r"\.(?:html?|shtml|php\d?|aspx?|jsp|cfm)$", re.I)
BACKUP_FILE = re.compile(r"\.(?:bak|old|orig|backup|save)$|~$", re.I)
BACKUP_SUFFIX = re.compile(
    r"(?:[-_ ]+(?:\d|old|copy|backup|bak|orig|draft|new|v\d)|\s*\(\d\))$", re.I
)
BACKUP_PREFIX = re.compile(r"^(?:copy[-_ ]of[-_ ]|old[-_]|bak[-_]|backup[-_])", re.I)
VIEW_PARAMS = frozenset(
    {"print", "printable", "printer", "view", "format", "output", "mode", "layout", "amp"}
)
STRONG = frozenset({"same-url", "index-file", "print-view"})  # one document under two names
BACKUP_FOLDERS = frozenset(
    {"temp", "tmp", "old", "backup", "backups", "bak", "draft", "drafts", "test", "copy"}
)
WORD = re.compile(r"\w+")


def resolve_canonical(url: str, canonical: str | None) -> str | None:
    """A rel=canonical as an absolute URL, resolved against the page's URL (a relative
    `index.html` on `/blog/` is `/blog/index.html`), in its directory form when it names
    the directory's index file: `/blog/` is the URL people and links use."""
    if not canonical:
        return None
    try:
        absolute = normalize(urljoin(url, canonical.strip()))
    except (InvalidURL, ValueError):
        return None
    return directory_form(absolute)


def directory_form(url: str) -> str:
    """`/blog/index.html` -> `/blog/`; any other URL as it is."""
    parts = urlsplit(url)
    last = parts.path.rsplit("/", 1)[-1]
    if parts.query or not INDEX_FILE.match(last):
        return url
    return url[: url.index(parts.path) + len(parts.path) - len(last)]


@lru_cache(maxsize=65536)
def url_stem(url: str) -> tuple[str, str, frozenset[str]]:
    """The URL with the marks of a copy taken off, the same for its last segment alone,
    and which marks there were. Two URLs of one site with one stem name the same page
    unless their text says otherwise; a copy in a backup folder (`/temp/x.html`) needs
    only the last segment to match, as such folders rarely mirror the site's tree."""
    form = directory_form(url)
    parts = urlsplit(form)
    marks: set[str] = {"index-file"} if form != url else set()
    segments = [s for s in parts.path.lower().split("/") if s]
    name = segments.pop() if segments else ""
    folders = [s for s in segments if s not in BACKUP_FOLDERS]
    if len(folders) < len(segments):
        marks.add("backup-folder")
    for pattern, mark in ((BACKUP_FILE, "backup-suffix"), (EXTENSION, "extension")):
        stripped = pattern.sub("", name)
        if stripped != name:
            marks.add(mark)
            name = stripped
    for pattern in (BACKUP_SUFFIX, BACKUP_PREFIX):
        stripped = pattern.sub("", name)
        if stripped and stripped != name:
            marks.add("backup-suffix")
            name = stripped
    params = parse_qsl(parts.query, keep_blank_values=True)
    kept_params = [(k, v) for k, v in params if k.lower() not in VIEW_PARAMS]
    if len(kept_params) < len(params):
        marks.add("print-view")
    query = f"?{urlencode(kept_params)}" if kept_params else ""
    stem = "/".join(["", *folders, name])
    return f"{parts.netloc}{stem}{query}", f"{parts.netloc}/{name}{query}", frozenset(marks)


def url_evidence(a: str, b: str) -> str | None:
    """What says two URLs are copies of one page (`backup-suffix`, `backup-folder`,
    `extension-twin`, `index-file`, `print-view`, `same-url`), or None."""
    if a == b:
        return "same-url"  # one page read twice (records of another tool)
    (stem_a, name_a, marks_a), (stem_b, name_b, marks_b) = url_stem(a), url_stem(b)
    if name_a != name_b:
        return None
    if stem_a != stem_b and "backup-folder" not in marks_a | marks_b:
        return None
    differ = marks_a ^ marks_b or marks_a | marks_b
    names = {"extension": "extension-twin"}
    return "+".join(sorted(names.get(m, m) for m in differ)) or "same-stem"


def is_backup(url: str) -> bool:
    """The URL bears the marks of a backup or draft copy."""
    return bool(url_stem(url)[2] & {"backup-folder", "backup-suffix"})


def twin_key(url: str) -> str:
    """Pages that may be URL twins share this key (see `url_evidence`)."""
    return url_stem(url)[1]


def title_words(title: str | None) -> frozenset[str]:
    return frozenset(WORD.findall(title.casefold())) if title else frozenset()


def names_differ(a: frozenset[str], b: frozenset[str]) -> bool:
    """Each title has words the other lacks ("Plumber in Springfield", "Plumber in
    Shelbyville"): two pages about different things, however alike their text. A word
    added on one side only ("Services", "Our services") is the same page retitled."""
    return bool(a and b and a - b and b - a)


def word_vector(words: list[str]) -> np.ndarray:
    """Bag of words hashed into a fixed vector (sublinear counts, signed buckets): its
    cosine estimates the cosine of the word counts in constant memory per page."""
    counts = Counter(words)
    if not counts:
        return np.zeros(VECTOR_DIMS, dtype=np.float32)
    keys = np.fromiter(map(hash, counts), dtype=np.int64, count=len(counts))
    weights = 1 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    signs = np.where(keys & 1024, 1.0, -1.0)  # hash(): vectors of one run only
    vector = np.bincount(keys % VECTOR_DIMS, weights * signs, VECTOR_DIMS).astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


@dataclass
class PageEvidence:
    """What folding knows of a page: a sketch and a few counts, not its text."""

    url: str
    canonical: str | None  # resolved, see resolve_canonical
    site: str
    words: int
    shingles: int
    sketch: LeanMinHash | None
    title: frozenset[str]
    listing: tuple[str, ...] | None = None  # its entries' URLs, if it is a listing page
    vector: np.ndarray | None = None  # only for pages with a URL twin


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    """Share of the smaller shingle set inside the larger, from their Jaccard and sizes."""
    smaller = min(size_a, size_b)
    if not smaller:
        return 0.0
    return min(1.0, jaccard * (size_a + size_b) / ((1 + jaccard) * smaller))


def judge(a: PageEvidence, b: PageEvidence, accept: float) -> dict[str, Any] | None:
    """The signals that say `a` and `b` are one page, with `decided_by` naming those
    that decided; None when they are not, or when nothing can tell."""
    if a.site != b.site:
        return None
    url = url_evidence(a.url, b.url)
    if a.listing is not None or b.listing is not None:
        return _same_listing(a, b, url)
    if a.sketch is None or b.sketch is None or names_differ(a.title, b.title):
        return None
    jaccard = float(a.sketch.jaccard(b.sketch))
    signals: dict[str, Any] = {
        "jaccard": round(jaccard, 3),
        "containment": round(containment(jaccard, a.shingles, b.shingles), 3),
    }
    if url:
        signals["url"] = url
    if min(a.words, b.words) < MIN_WORDS:
        # Too short to tell by text: only one document under two names (a directory
        # and its index file, a print view) folds, and only as the same text.
        if url in STRONG and jaccard >= accept:
            return {**signals, "words": min(a.words, b.words), "decided_by": ["url", "jaccard"]}
        return None
    if jaccard >= accept:
        return {**signals, "decided_by": ["jaccard"]}
    if url is None:
        return None
    if signals["containment"] >= CONTAINED and jaccard >= CONTAINED_JACCARD:
        return {**signals, "decided_by": ["url", "containment"]}
    if a.vector is not None and b.vector is not None:
        signals["cosine"] = round(float(np.dot(a.vector, b.vector)), 3)
        if signals["cosine"] >= REORDERED:
            return {**signals, "decided_by": ["url", "cosine"]}
    return None


def _same_listing(a: PageEvidence, b: PageEvidence, url: str | None) -> dict[str, Any] | None:
    """Listings share their entries with other listings by design: two fold only as URL
    twins (`/news/` and `/news/index.php`) that list the very same entries."""
    if url is None or not a.listing or a.listing != b.listing:
        return None
    return {"url": url, "entries": len(a.listing), "decided_by": ["url", "entries"]}

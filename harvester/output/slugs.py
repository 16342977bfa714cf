"""Where a page goes in a Markdown folder, and the address a static site serves it at.

Names mirror the old URL path, made safe for every file system: no `..`, no reserved
device names, no control characters, length-capped, and distinct by a hash when capped.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import quote, unquote, unquote_plus, urlsplit

MAX_SEGMENT_BYTES = 100
MAX_SLUG_BYTES = 180  # before "-N" and ".md": every relative path stays under 200
_HASH_LEN = 8
_WEB_EXTENSION = re.compile(r"\.(?:s?html?|php\d?|aspx?|jsp|cfm|cgi|pl)$", re.IGNORECASE)
_INDEX_NAMES = {"index", "default"}
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{name}{digit}" for name in ("com", "lpt") for digit in "0123456789"
}


def slug_path(url: str) -> str:
    """Where a URL's page goes in a Markdown folder, relative, without `.md`.

    The scheme mirrors the URL path, one folder per path segment, so that a static site
    generator serves the page at (nearly) its old address:

    - `https://site/ask-a-pro/running-knee-pain/` -> `ask-a-pro/running-knee-pain`;
      `/about/index.html` and `/about.php` -> `about`; the site root -> `index`.
    - A query is folded into the last segment: `/index.php?page=about` -> `page-about`.
    - Each segment is percent-decoded, case-folded and NFKD-normalised; accents on Latin
      letters are dropped (`café` -> `cafe`), other scripts' letters and digits are kept
      (`日本語`), anything else (dots, slashes, backslashes, control characters) becomes
      `-`. Dot segments and segments left empty are dropped, so `..` never survives.
    - Windows device names (CON, AUX, COM1...) get `-page` appended.
    - Segments are capped at 100 UTF-8 bytes and the path at 180; a capped path, or one
      with nothing left, ends with a hash of the URL so that it stays distinct.
    """
    segments = _segments(url)
    full = [_segment_slug(raw) for raw in segments]
    kept = [slug for slug in full if slug]
    if not kept:
        return "index" if not segments else f"page-{_digest(url)}"
    capped = [_cap(slug, MAX_SEGMENT_BYTES) for slug in kept]
    truncated = capped != kept
    while len(capped) > 1 and _size("/".join(capped)) > MAX_SLUG_BYTES - _HASH_LEN - 1:
        del capped[-2]  # keep the leading folders and the page's own name
        truncated = True
    if truncated:
        capped[-1] = f"{_cap(capped[-1], MAX_SEGMENT_BYTES - _HASH_LEN - 1)}-{_digest(url)}"
    return "/".join(_not_reserved(slug) for slug in capped)


def site_path(relative: str) -> str:
    """The address a static site generator serves a Markdown file at, percent-encoded:
    `ask-a-pro/knee.md` and `ask-a-pro/knee/_index.md` -> `/ask-a-pro/knee/`;
    `_index.md` (and `index.md`) -> `/`."""
    stem = stem_of(relative)
    return "/" + quote(stem, safe="/") + "/" if stem else "/"


def stem_of(relative: str) -> str:
    """A Markdown file's path without `.md` and without the `_index` of a section:
    what names the page, whichever of the two files it is."""
    stem = relative.removesuffix(".md")
    if stem in ("index", "_index"):
        return ""
    return stem.removesuffix("/_index")


def text_slug(text: str, limit: int = 80) -> str:
    """A file name from free text (a question): as one URL path segment would be."""
    slug = _cap(_segment_slug(text), limit)
    return _not_reserved(slug) if slug else f"q-{_digest(text)}"


def _segments(url: str) -> list[str]:
    """The URL's path segments and query, decoded, without `index.html`-like endings."""
    parts = urlsplit(url)
    raw = [unquote(segment) for segment in parts.path.split("/") if segment]
    if raw:
        raw[-1] = _WEB_EXTENSION.sub("", raw[-1])
        if raw[-1].casefold() in _INDEX_NAMES:
            raw.pop()
    if parts.query:
        query = unquote_plus(parts.query)
        raw = [*raw[:-1], f"{raw[-1]}-{query}"] if raw else [query]
    return raw


def _segment_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    out: list[str] = []
    for char in folded:
        category = unicodedata.category(char)
        if category.startswith("M"):
            if out and not out[-1].isascii():
                out.append(char)  # a vowel sign or diacritic of a non-Latin script
            continue  # an accent on a Latin letter: dropped
        if char.isascii():
            out.append(char if char.isalnum() else "-")
        else:
            out.append(char if category[0] in "LN" else "-")
    slug = unicodedata.normalize("NFC", "".join(out))
    return re.sub(r"-{2,}", "-", slug).strip("-")


def _cap(slug: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary."""
    cut = slug.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    return cut.rstrip("-") or cut


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LEN]


def _not_reserved(slug: str) -> str:
    return f"{slug}-page" if slug in _WINDOWS_RESERVED else slug

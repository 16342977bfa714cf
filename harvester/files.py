"""Read a saved copy of a site from disk: the offline counterpart of fetch.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from .extract import extract_page
from .models import Page
from .parse import ParseError, parse_html
from .pipeline import Failure, Summary
from .urls import normalize

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml", ".php", ".asp", ".aspx")
MAX_FILE_BYTES = 10 * 1024 * 1024


class InputError(ValueError):
    """A path the user gave that cannot be read."""


def html_files(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(file, root it is relative to), files of folders in sorted order."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            found += [
                (f, path)
                for f in sorted(path.rglob("*"))
                if f.is_file() and f.suffix.lower() in HTML_SUFFIXES
            ]
        elif path.is_file():
            found.append((path, path.parent))
        else:
            raise InputError(f"no such file or folder: {path}")
    if not found:
        raise InputError("no HTML files in " + ", ".join(str(p) for p in paths))
    return found


def file_url(path: Path, root: Path, base_url: str | None) -> str:
    """The URL a saved file stood at: index.html is its folder."""
    if base_url is None:
        return path.resolve().as_uri()
    relative = path.relative_to(root).as_posix()
    if relative == "index.html" or relative.endswith("/index.html"):
        relative = relative[: -len("index.html")]
    return normalize(base_url.rstrip("/") + "/" + quote(relative))


def read_files(paths: list[Path], base_url: str | None, summary: Summary) -> list[Page]:
    pages: list[Page] = []
    for path, root in html_files(paths):
        url = file_url(path, root, base_url)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ParseError(f"larger than {MAX_FILE_BYTES} bytes")
            doc = parse_html(path.read_bytes(), url)
        except (OSError, ParseError) as exc:
            summary.failures.append(Failure(url, "read", str(exc)))
            continue
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
        pages.append(extract_page(doc, mtime, "file"))
        summary.pages_fetched += 1
    return pages

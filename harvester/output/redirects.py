"""The 301 map from every old address to its page on the new site, for the web server.

Sources are old paths as crawled (`/old/page.php?id=7`: path and query, no scheme or
host); targets are paths on the new site. Forms:

- `csv`: `from,to,status`, for a spreadsheet or an import.
- `nginx`: a file to `include` in the `server` block: `location = /old` blocks; a path
  with query-string sources tests `$args` inside its block.
- `apache`: `.htaccess` lines at the site root: `Redirect 301` (or an anchored
  `RedirectMatch` where a prefix match would catch other paths or loop), and
  `RewriteCond %{QUERY_STRING}` + `RewriteRule` for query-string sources.
- `netlify`: a `_redirects` file, with Netlify's `key=value` query matching; those rules
  come first, since Netlify applies the first rule that matches.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from ..models import QARecord, Record
from ..settings import REDIRECT_FORMATS
from .files import write_atomic
from .slugs import site_path

STATUS = 301
INDEX = "index.html"  # the file a static site serves a folder URL with
_UNSAFE_PATH = re.compile(r'[\x00-\x1f\x7f"\\{};]')  # cannot be quoted in a server config
_UNSAFE_QUERY = re.compile(r'[\s"\\$]')
_PATH_SAFE = "/:@!$&'()*+,;=~"  # RFC 3986 path characters, kept as they are


@dataclass(frozen=True)
class Redirect:
    source: str  # old path and query, percent-encoded as crawled
    target: str  # path on the new site, percent-encoded

    @property
    def path(self) -> str:
        return self.source.partition("?")[0]

    @property
    def query(self) -> str:
        return self.source.partition("?")[2]

    @property
    def decoded(self) -> str:
        """The path as servers match it: percent-decoded."""
        return unquote(self.path)


def write_redirects(
    path: str,
    records: Iterable[Record | QARecord],
    fmt: str = "csv",
    slugs: dict[str, str] | None = None,
) -> int:
    """Write the map in form `fmt` (see REDIRECT_FORMATS); returns the redirects written.

    Targets are, with `slugs` (record id -> relative .md path, from the Markdown
    output), the page's path on the new site, else the record's canonical URL reduced
    to its path. No source redirects to itself or to the folder it is the index file of
    (a loop on a web server), and no source has two rows. Q&A records have no old
    addresses and give none. Written whole, atomically.
    """
    if fmt not in REDIRECT_FORMATS:
        raise ValueError(f"unknown redirect format {fmt!r}: one of {', '.join(REDIRECT_FORMATS)}")
    redirects = redirects_of(records, slugs)
    text, count = _RENDER[fmt](redirects)
    write_atomic(path, text)
    return count


def redirects_of(
    records: Iterable[Record | QARecord], slugs: dict[str, str] | None = None
) -> list[Redirect]:
    seen: set[str] = set()
    kept: list[Redirect] = []
    for record in records:
        if not isinstance(record, Record):
            continue
        slug = (slugs or {}).get(record.id)
        target = site_path(slug) if slug is not None else old_path(record.url)
        for old in [*record.aliases, record.url]:
            source = old_path(old)
            if source not in seen and not _serves(target, source):
                seen.add(source)
                kept.append(Redirect(source, target))
    return kept


def _serves(target: str, source: str) -> bool:
    """Whether the page at `target` is itself what `source` asks for: the same path, or
    its folder's index file (`/x/index.html` for `/x/`). A web server answers `/x/` by an
    internal redirect to that file, so a 301 from it back to `/x/` would loop."""
    path = unquote(source)
    return path == unquote(target) or (target.endswith("/") and path == unquote(target) + INDEX)


def old_path(url: str) -> str:
    """An address as a path on its site, percent-encoded one way whatever the crawl
    kept: `https://x/a b.php?id=7` -> `/a%20b.php?id=7`."""
    parts = urlsplit(url)
    path = quote(unquote(parts.path or "/"), safe=_PATH_SAFE)
    return f"{path}?{parts.query}" if parts.query else path


def _servable(redirect: Redirect) -> bool:
    return not _UNSAFE_PATH.search(redirect.decoded) and not _UNSAFE_QUERY.search(redirect.query)


# --- forms ---------------------------------------------------------------------------


def _csv(redirects: list[Redirect]) -> tuple[str, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["from", "to", "status"])
    writer.writerows([r.source, r.target, STATUS] for r in redirects)
    return buffer.getvalue(), len(redirects)


def _nginx(redirects: list[Redirect]) -> tuple[str, int]:
    lines = ["# 301 redirects from the old site: `include` this file in the server block."]
    usable = [r for r in redirects if _servable(r)]
    by_path: dict[str, list[Redirect]] = {}
    for redirect in usable:
        by_path.setdefault(redirect.decoded, []).append(redirect)
    for path, group in by_path.items():
        plain = [r for r in group if not r.query]
        if len(group) == 1 and plain:
            lines.append(f'location = "{path}" {{ return {STATUS} "{plain[0].target}"; }}')
            continue
        lines.append(f'location = "{path}" {{')
        for redirect in (r for r in group if r.query):
            test = f'if ($args = "{redirect.query}")'
            lines.append(f'    {test} {{ return {STATUS} "{redirect.target}"; }}')
        lines.extend(f'    return {STATUS} "{r.target}";' for r in plain[:1])
        lines.append("}")
    return "\n".join(lines) + "\n", len(usable)


def _apache(redirects: list[Redirect]) -> tuple[str, int]:
    usable = [r for r in redirects if _servable(r)]
    paths = {r.decoded for r in usable}
    lines = ["# 301 redirects from the old site: .htaccess at the site root."]
    lines += [_apache_redirect(r, paths) for r in usable if not r.query]
    queried = [r for r in usable if r.query]
    if queried:
        lines.append("RewriteEngine On")
    for redirect in queried:
        lines.append(f"RewriteCond %{{QUERY_STRING}} ^{_pcre(redirect.query)}$")
        pattern = _pcre(redirect.decoded.removeprefix("/"))
        lines.append(f'RewriteRule "^{pattern}$" "{redirect.target}?" [R={STATUS},L]')
    return "\n".join(lines) + "\n", len(usable)


def _apache_redirect(redirect: Redirect, paths: set[str]) -> str:
    """`Redirect` matches a path and everything below it: where that would catch another
    source or loop (`/a` -> `/a/`), an anchored `RedirectMatch` instead."""
    path = redirect.decoded
    below = path.rstrip("/") + "/"
    prefix_safe = path != "/" and not unquote(redirect.target).startswith(below)
    if prefix_safe and not any(p != path and p.startswith(below) for p in paths):
        return f'Redirect {STATUS} "{path}" "{redirect.target}"'
    return f'RedirectMatch {STATUS} "^{_pcre(path)}$" "{redirect.target}"'


def _pcre(text: str) -> str:
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def _netlify(redirects: list[Redirect]) -> tuple[str, int]:
    """Netlify treats `/a` and `/a/` as one path, so such a redirect is left out."""
    usable = [
        r
        for r in redirects
        if _servable(r)
        and " " not in r.path
        and (r.query or r.path.rstrip("/") != r.target.rstrip("/"))
        and not any(p.partition("=")[2].startswith(":") for p in r.query.split("&"))
    ]
    lines = ["# 301 redirects from the old site: Netlify's _redirects file."]
    for redirect in sorted(usable, key=lambda r: not r.query):
        params = " ".join(p if "=" in p else p + "=" for p in redirect.query.split("&") if p)
        source = f"{redirect.path} {params}" if params else redirect.path
        lines.append(f"{source} {redirect.target} {STATUS}")
    return "\n".join(lines) + "\n", len(usable)


_RENDER = {"csv": _csv, "nginx": _nginx, "apache": _apache, "netlify": _netlify}

"""URL normalisation and crawl scope.

One canonical spelling per URL is what makes "one fetch per page" possible, so every
URL that enters the frontier, the seen-set or a record goes through `normalize`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Parameters that identify a visit, not a page.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|yclid|"
    r"phpsessid|jsessionid|sid|sessionid|session_id|aspsessionid\w*|cfid|cftoken)$",
    re.IGNORECASE,
)
DEFAULT_PORTS = {"http": 80, "https": 443}
_SIMPLE_URL = re.compile(
    r"(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?)://(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
    r"(?::(?P<port>[0-9]{1,5}))?(?P<path>/[A-Za-z0-9\-._~/]*)?"
)
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~/]*")
# A lower-case ASCII host (w3lib's IDNA step leaves it as it is) and a query of
# unreserved characters: what w3lib would only sort.
_PLAIN_NETLOC = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::[0-9]+)?")
_PLAIN_QUERY = re.compile(
    r"[A-Za-z0-9\-._~]*=[A-Za-z0-9\-._~]*(?:&[A-Za-z0-9\-._~]*=[A-Za-z0-9\-._~]*)*"
)
_DOT_SEGMENT = re.compile(r"(^|/)\.\.?(/|$)")
MAX_URL_LENGTH = 2048


class InvalidURL(ValueError):
    """A string that cannot be crawled as an absolute http(s) URL."""


@lru_cache(maxsize=65536)
def normalize(url: str) -> str:
    """Canonical form: lower-case scheme/host, no default port, no fragment,
    dot segments resolved, percent-encoding normalised, query sorted and
    stripped of tracking parameters.

    Cached: a site's menus and footers repeat the same links on every page.
    """
    simple = _SIMPLE_URL.fullmatch(url)
    if simple and not _DOT_SEGMENT.search(simple["path"] or "/"):
        return _simple(simple)
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # "Invalid IPv6 URL": http://[::1/
        raise InvalidURL(f"malformed URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        raise InvalidURL(f"not an absolute http(s) URL: {url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"bad port in URL: {url!r}") from exc
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not TRACKING_PARAMS.match(k)
        ]
    )
    path = parts.path or "/"
    if _PLAIN_PATH.fullmatch(path) and not _DOT_SEGMENT.search(path):
        if not query:
            return f"{scheme}://{netloc}{path}"  # nothing for w3lib to change: skip its cost
        if _PLAIN_NETLOC.fullmatch(netloc) and _PLAIN_QUERY.fullmatch(query):
            return f"{scheme}://{netloc}{path}?{_sorted_query(query)}"
    return canonicalize_url(urlunsplit((scheme, netloc, path, query, "")))


def _sorted_query(query: str) -> str:
    """What w3lib makes of a query with nothing to percent-encode: its pairs sorted as
    (name, value), as w3lib sorts them ("a=1" before "a-b=1", unlike the joined strings).
    Each pair has its "=": `urlencode` wrote it."""
    pairs = sorted(tuple(pair.split("=", 1)) for pair in query.split("&"))
    return "&".join(f"{name}={value}" for name, value in pairs)


def _simple(match: re.Match[str]) -> str:
    """The common case, a plain http(s) URL without query, normalised without parsing."""
    scheme, host = match["scheme"].lower(), match["host"].lower()
    port = match["port"]
    if port is not None and int(port) != DEFAULT_PORTS[scheme]:
        if int(port) > 65535:
            raise InvalidURL(f"bad port in URL: {match.string!r}")
        host = f"{host}:{int(port)}"
    return f"{scheme}://{host}{match['path'] or '/'}"


def resolve(base: str, href: str) -> str | None:
    """Absolute normalised URL of a link, or None when it is not crawlable
    (mailto:, tel:, javascript:, malformed)."""
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    try:
        if href.startswith(("http://", "https://")):
            return normalize(href)  # absolute already: no join needed
        if href.startswith("/") and not href.startswith("//"):
            slash = base.find("/", base.find("://") + 3)
            return normalize((base[:slash] if slash > 0 else base) + href)
        absolute = urljoin(base, href)
        if not absolute.startswith(("http://", "https://", "HTTP://", "HTTPS://")):
            scheme = absolute.split(":", 1)[0].lower()
            if scheme not in DEFAULT_PORTS:
                return None
        return normalize(absolute)
    except (ValueError, InvalidURL):
        return None


def site_key(host: str) -> str:
    """`www.example.com` and `example.com` are one site."""
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@dataclass
class Scope:
    """Which URLs a crawl may request: the seeds' sites (and any allowed domains), less
    what --exclude rejects; with --include, only what it matches."""

    sites: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    include: list[re.Pattern[str]] = field(default_factory=list)
    exclude: list[re.Pattern[str]] = field(default_factory=list)
    max_length: int = MAX_URL_LENGTH

    @classmethod
    def from_seeds(
        cls,
        seeds: list[str],
        allow_domains: list[str] | None = None,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
    ) -> Scope:
        return cls(
            {site_key(host_of(s)) for s in seeds},
            {site_key(d.strip().lower().strip(".")) for d in allow_domains or []},
            [re.compile(p) for p in include or []],
            [re.compile(p) for p in exclude or []],
        )

    def allows(self, url: str) -> bool:
        if len(url) > self.max_length or not self._on_site(host_of(url)):
            return False
        if self.include and not any(p.search(url) for p in self.include):
            return False
        return not any(p.search(url) for p in self.exclude)

    def _on_site(self, host: str) -> bool:
        """A seed's host is one site with its www. twin; an allowed domain admits its
        subdomains too."""
        key = site_key(host)
        if key in self.sites or key in self.domains:
            return True
        return any(key.endswith("." + domain) for domain in self.domains)


def path_depth_slug(url: str) -> str:
    """Host and path with the query, for messages."""
    parts = urlsplit(url)
    return parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")

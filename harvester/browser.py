"""Pages that only exist after JavaScript runs: when to render one, and rendering it.

`needs_render` is the `--render auto` rule, cheap enough to ask of every page. `Browser`
runs one headless Chromium (the system's, through Playwright) for a whole crawl. It loads
only what the crawl itself may request: every request the page makes is checked against
the crawl's scope and robots.txt and waits for its host's turn, and everything else is
aborted before it leaves the browser. Playwright is imported only when a browser starts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from lxml import etree

from .fetch import FetchConfig
from .files import InputError
from .urls import Scope, host_of, resolve

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam
    from playwright.async_api import (
        APIResponse,
        Page,
        Playwright,
        Request,
        Route,
        WebSocketRoute,
    )
    from playwright.async_api import Browser as Chromium

log = logging.getLogger("harvester")

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MISSING = (
    "JavaScript rendering needs Chromium: install Debian's `chromium` package "
    "(apt-get install chromium)"
)

# --- the `auto` rule -----------------------------------------------------------------------

LITTLE_TEXT = 200  # visible characters: fewer, and the page may be an empty app shell
LOADING_TEXT = 40  # what an "empty" mount element may still say ("Loading…")
_HIDDEN = "ancestor::script or ancestor::style or ancestor::noscript or ancestor::template"
_VISIBLE_TEXT = etree.XPath(f"//body//text()[not({_HIDDEN})]")
_TEXT_UNDER = etree.XPath(f".//text()[not({_HIDDEN})]")
_MOUNT_CANDIDATES = etree.XPath(
    "//body//*[@id or @data-reactroot or @ng-app or @ng-version or @data-v-app]"
    " | /html/body/*[contains(local-name(), '-')]"
)
_MOUNT_ID = re.compile(
    r"^(?:root|app|__next|__nuxt|___gatsby|svelte|[\w-]*[-_](?:root|app)|app[-_][\w-]+)$", re.I
)
_MOUNT_ATTRIBUTES = ("data-reactroot", "ng-app", "ng-version", "data-v-app")
_NOSCRIPT = etree.XPath("//noscript")
_ASKS_FOR_JS = re.compile(r"java\s*script|\bjs\b", re.I)
_SCRIPTS = etree.XPath("//script[@src or @type='module']")
_BUNDLE = re.compile(
    r"(?:^|[/._-])(?:bundle|chunk|app|main|index|runtime|vendors?|polyfills)[\w.~-]*\.m?js\b"
    r"|/_next/|/_nuxt/|/static/js/|/assets/[\w.~-]+\.m?js\b",
    re.I,
)
_CONTENT_BLOCKS = etree.XPath(
    "//body//*[self::p or self::li or self::td or self::dd or self::h1 or self::h2"
    " or self::h3 or self::h4 or self::h5 or self::h6 or self::blockquote or self::pre]"
    f"[normalize-space(.) and not({_HIDDEN})]"
)


def needs_render(body: bytes | str) -> bool:
    """Whether a page's HTML looks like a client-side app's shell, whose content only
    scripts put there: little visible text and an empty mount element, a <noscript> asking
    for JavaScript, or script bundles beside no content at all."""
    doc = _parse(body)
    if doc is None or _text_length(_VISIBLE_TEXT(doc)) >= LITTLE_TEXT:
        return False
    return _empty_mount(doc) or _asks_for_javascript(doc) or _bare_bundle(doc)


def _parse(body: bytes | str) -> etree._Element | None:
    parser = etree.HTMLParser(recover=True, no_network=True)
    try:
        return etree.fromstring(body, parser)
    except (etree.ParserError, ValueError):
        return None


def _text_length(pieces: object) -> int:
    assert isinstance(pieces, list)
    return len(" ".join(" ".join(str(p).split()) for p in pieces).strip())


def _empty_mount(doc: etree._Element) -> bool:
    """A React/Vue/Angular/Next-style root element with (next to) nothing in it."""
    for element in _MOUNT_CANDIDATES(doc):  # type: ignore[union-attr]
        assert isinstance(element, etree._Element)
        marked = any(element.get(name) is not None for name in _MOUNT_ATTRIBUTES)
        named = _MOUNT_ID.match(element.get("id") or "") is not None
        custom = "-" in str(element.tag)
        if (marked or named or custom) and _text_length(_TEXT_UNDER(element)) < LOADING_TEXT:
            return True
    return False


def _asks_for_javascript(doc: etree._Element) -> bool:
    """<noscript>You need to enable JavaScript to run this app.</noscript>"""
    for element in _NOSCRIPT(doc):  # type: ignore[union-attr]
        assert isinstance(element, etree._Element)
        if _ASKS_FOR_JS.search(" ".join(str(text) for text in element.itertext())):
            return True
    return False


def _bare_bundle(doc: etree._Element) -> bool:
    """An app bundle (or module script) on a page without a paragraph, list or heading."""
    bundles = [
        s
        for s in _SCRIPTS(doc)  # type: ignore[union-attr]
        if isinstance(s, etree._Element)
        and (s.get("type") == "module" or _BUNDLE.search(s.get("src") or ""))
    ]
    return bool(bundles) and not _CONTENT_BLOCKS(doc)


# --- rendering -----------------------------------------------------------------------------


class BrowserMissing(InputError):
    """Rendering was asked for and no Chromium can run it: a usage error (exit 2)."""


class RenderError(Exception):
    """One page could not be rendered (timeout, a crash): the crawl reads its HTML as is."""


Allowed = Callable[[str], Awaitable[bool]]
"""May the crawl request this URL (robots.txt)?"""
Turn = Callable[[str], AbstractAsyncContextManager[None]]
"""Wait for the host's turn, as the fetcher's requests do (the per-host gate)."""

# What the text of a page does not need: aborted unasked.
SKIPPED_TYPES = frozenset(
    {"image", "media", "font", "stylesheet", "texttrack", "manifest", "beacon", "ping"}
)
LOCAL_SCHEMES = ("data:", "blob:", "about:")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10


def find_chromium() -> str | None:
    """The system's Chromium (never a browser downloaded by Playwright)."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


@dataclass
class Browser:
    """One headless Chromium for a crawl; `async with Browser(...) as b: await b.render(url)`.

    At most `concurrency` pages render at once, and one at a time per host.
    """

    scope: Scope
    allowed: Allowed
    turn: Turn
    user_agent: str
    timeout: float = 20.0  # for one request, and for the page's requests to go quiet
    max_bytes: int = 10 * 1024 * 1024
    concurrency: int = 2
    executable: str | None = None
    request: FetchConfig | None = None  # the crawl's headers, cookies, auth and proxy
    _playwright: Playwright | None = field(default=None, init=False, repr=False)
    _chromium: Chromium | None = field(default=None, init=False, repr=False)
    _slots: asyncio.Semaphore = field(init=False, repr=False)
    _hosts: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)
        # Requests go to the crawl's sites only; --include/--exclude filter pages, not
        # the scripts a page needs.
        self.hosts = Scope(self.scope.sites, self.scope.domains)

    async def __aenter__(self) -> Browser:
        executable = self.executable or find_chromium()
        if executable is None:
            raise BrowserMissing(MISSING)
        from playwright.async_api import Error, async_playwright

        self._playwright = await async_playwright().start()
        try:
            self._chromium = await self._playwright.chromium.launch(
                executable_path=executable, headless=True
            )
        except Error as exc:
            await self._playwright.stop()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "failed"
            raise BrowserMissing(f"cannot start Chromium at {executable}: {first}") from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Closing never hides why the crawl ended: after Ctrl-C the browser may be gone."""
        from playwright.async_api import Error

        with suppress(Error):
            if self._chromium is not None:
                await self._chromium.close()
        with suppress(Error):
            if self._playwright is not None:
                await self._playwright.stop()

    async def render(
        self,
        url: str,
        timeout: float,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> tuple[str, str]:
        """(final URL, HTML after the page's scripts ran), within `timeout` seconds.

        With `body` (the page as the crawl fetched it), the page is not requested again.
        Raises RenderError.
        """
        from playwright.async_api import Error

        async with self._slots, self._hosts.setdefault(host_of(url), asyncio.Lock()):
            try:
                async with asyncio.timeout(timeout):
                    return await self._render(url, timeout, body, content_type)
            except TimeoutError:
                raise RenderError(f"not rendered within {timeout:g} s") from None
            except Error as exc:
                raise RenderError(_first_line(exc)) from None

    async def _render(
        self, url: str, timeout: float, body: bytes | None, content_type: str | None
    ) -> tuple[str, str]:
        assert self._chromium is not None, "Browser used outside 'async with'"
        context = await self._chromium.new_context(
            user_agent=self.user_agent,
            service_workers="block",
            accept_downloads=False,
            **context_options(self.request),
        )
        if self.request is not None and self.request.cookies is not None:
            await context.add_cookies(browser_cookies(self.request.cookies))
        try:
            page = await context.new_page()
            document = _Document(url, body, content_type or "text/html; charset=utf-8", page)
            await context.route("**/*", partial_route(self._request, document))
            await context.route_web_socket("**/*", _refuse_socket)
            started = time.monotonic()
            await page.goto(url, wait_until="load", timeout=timeout * 1000)
            await self._settle(page, timeout - (time.monotonic() - started))
            html = await page.content()
            if len(html.encode("utf-8", "replace")) > self.max_bytes:
                raise RenderError(f"rendered page larger than {self.max_bytes} bytes")
            return page.url, html
        finally:
            await context.close()

    async def _settle(self, page: Page, left: float) -> None:
        """Let the scripts' own requests (a FAQ loaded as JSON) finish, but not for ever."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        wait = min(self.timeout, left)
        if wait <= 0:
            return
        try:
            await page.wait_for_load_state("networkidle", timeout=wait * 1000)
        except PlaywrightTimeout:
            log.debug("rendering %s: requests still running after %.1f s", page.url, wait)

    async def _request(self, document: _Document, route: Route, request: Request) -> None:
        """Every request of the page: the page itself from the crawl's copy, what its text
        does not need aborted, the rest loaded as the crawl would load it."""
        from playwright.async_api import Error

        try:
            if document.serves(request):
                await route.fulfill(
                    status=200, headers={"Content-Type": document.content_type}, body=document.body
                )
            elif request.url.startswith(LOCAL_SCHEMES):
                await route.continue_()
            elif request.resource_type in SKIPPED_TYPES:
                await route.abort()
            elif (response := await self._load(route, request.url)) is None:
                log.debug("rendering %s: not loaded: %s", document.url, request.url)
                await route.abort("blockedbyclient")
            else:
                await route.fulfill(response=response)
        except Error:
            pass  # the page was closed meanwhile (a timeout): nothing to answer

    async def _load(self, route: Route, url: str) -> APIResponse | None:
        """The response to a request, redirects followed by hand: each hop in scope,
        allowed by robots.txt and in its host's turn (Chromium would follow a redirect
        without asking). None when a hop may not be requested."""
        current: str | None = url
        for _ in range(MAX_REDIRECTS + 1):
            if current is None or not self.hosts.allows(current):
                return None
            if not await self.allowed(current):  # outside the turn: it may read robots.txt
                return None
            async with self.turn(host_of(current)):
                response = await route.fetch(
                    url=current, max_redirects=0, timeout=self.timeout * 1000
                )
            location = response.headers.get("location")
            if response.status not in REDIRECTS or not location:
                return response
            current = resolve(current, location)
        return None


@dataclass
class _Document:
    """The crawl's copy of the page, answered to the browser's first request for it."""

    url: str
    body: bytes | None
    content_type: str
    page: Page
    served: bool = False

    def serves(self, request: Request) -> bool:
        if self.body is None or self.served or not request.is_navigation_request():
            return False
        if request.frame != self.page.main_frame:
            return False
        self.served = True
        return True


def partial_route(
    handler: Callable[[_Document, Route, Request], Awaitable[None]], document: _Document
) -> Callable[[Route, Request], Awaitable[None]]:
    async def route(route: Route, request: Request) -> None:
        await handler(document, route, request)

    return route


async def _refuse_socket(socket: WebSocketRoute) -> None:
    """A WebSocket is never opened: it is not connected to any server, only closed."""
    await socket.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@asynccontextmanager
async def open_browser(
    mode: str,
    scope: Scope,
    allowed: Allowed,
    turn: Turn,
    *,
    user_agent: str,
    timeout: float,
    max_bytes: int,
    request: FetchConfig | None = None,
) -> AsyncIterator[Browser | None]:
    """A Browser when pages may be rendered (`mode` auto or always), else None."""
    if mode == "never":
        yield None
        return
    browser = Browser(scope, allowed, turn, user_agent, timeout, max_bytes, request=request)
    async with browser:
        yield browser


def context_options(request: FetchConfig | None) -> dict[str, Any]:
    """The crawl's request options as Playwright takes them: a rendered page's requests
    carry the same headers, credentials and proxy as the crawl's own."""
    if request is None:
        return {}
    options: dict[str, Any] = {}
    if request.headers:
        options["extra_http_headers"] = dict(request.headers)
    if request.auth is not None:
        user, password = request.auth
        # Sent with every request, as the crawl sends it, not only after a 401.
        options["http_credentials"] = {"username": user, "password": password, "send": "always"}
    if request.proxy is not None:
        parts = urlsplit(request.proxy)
        server = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        proxy = {"server": server}
        if parts.username:
            proxy |= {
                "username": unquote(parts.username),
                "password": unquote(parts.password or ""),
            }
        options["proxy"] = proxy
    return options


def browser_cookies(jar: CookieJar) -> list[SetCookieParam]:
    """cookies.txt as the browser context takes it."""
    cookies: list[SetCookieParam] = []
    for cookie in jar:
        one: SetCookieParam = {
            "name": cookie.name,
            "value": cookie.value or "",
            "domain": cookie.domain,
            "path": cookie.path or "/",
            "secure": cookie.secure,
        }
        if cookie.expires is not None:
            one["expires"] = float(cookie.expires)
        cookies.append(one)
    return cookies

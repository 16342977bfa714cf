"""`harvester serve`: one page extracted on demand over HTTP, a URL or its HTML in and its
record out, for tools that want harvester's extraction without running a crawl.

All requests share one Fetcher and one set of robots.txt rules, so a busy client is as
polite to a site as a crawl is: the per-host delay holds across requests.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from typing import Any

import click
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import __version__
from .api import extract_html
from .crawler import ROBOTS_BYTES
from .dedup import DedupOptions, DedupStats, build_records
from .fetch import FetchConfig, Fetcher, FetchError
from .models import Record
from .page import process_page
from .parse import ParseError, charset_from_content_type
from .robots import Robots, origin_of, product_token
from .settings import DEFAULT_USER_AGENT, DEFAULTS, FiniteFloat
from .urls import MAX_URL_LENGTH, Scope, host_of, normalize

MiB = 1024 * 1024
SHAPES = '{"url": "..."} or {"html": "...", "base_url": "..."}'
# The URLs the API takes, as the OpenAPI document states them: http(s), a host name or
# IPv4 address, an optional port (0-65535), then anything without spaces or controls.
URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
    r"(?:[/?#][^\x00-\x20\x7f]*)?$"
)
HTML_PATTERN = r"^[^\x00]*\S[^\x00]*$"
_URL = re.compile(URL_PATTERN)


@dataclass
class ServeSettings:
    """What the API may spend: per request (body, time) and in all (requests at once)."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = field(default=None, repr=False)  # never shown, not even by repr
    max_body: int = 5 * MiB
    concurrency: int = 8
    timeout: float = 30.0
    robots_ttl: float = 3600.0  # a long-running server reads robots.txt again after this
    fetch: FetchConfig = field(default_factory=FetchConfig)


class ApiError(Exception):
    """An answer other than the record: a status and a one-line message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message = status, " ".join(message.split())
        self.headers = headers or {}


@dataclass(frozen=True)
class UrlJob:
    url: str


@dataclass(frozen=True)
class HtmlJob:
    html: str
    base_url: str


def parse_job(body: bytes) -> UrlJob | HtmlJob:
    """The request body, checked the way the OpenAPI document describes it."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, json.JSONDecodeError) else "unreadable"
        raise ApiError(400, f"the body is not valid JSON ({reason}); send {SHAPES}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the body must be a JSON object: {SHAPES}")
    keys = set(data)
    if keys == {"url"}:
        return UrlJob(_url(data, "url"))
    if keys == {"html", "base_url"}:
        return HtmlJob(_html(data["html"]), _url(data, "base_url"))
    raise ApiError(400, _shape_error(keys))


def _shape_error(keys: set[str]) -> str:
    unknown = sorted(keys - {"url", "html", "base_url"})
    if unknown:
        return f"unexpected field(s) {', '.join(map(repr, unknown))}; send {SHAPES}"
    if "url" in keys:
        return f'give "url" or "html", not both; send {SHAPES}'
    if "html" in keys:
        return '"html" needs "base_url", the URL the page was served from'
    return f"nothing to extract; send {SHAPES}"


def _url(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ApiError(400, f'"{key}" must be a string')
    if len(value) > MAX_URL_LENGTH:
        raise ApiError(400, f'"{key}" is longer than {MAX_URL_LENGTH} characters')
    if not _URL.match(value):
        raise ApiError(400, f'"{key}" must be an absolute http(s) URL, not {value[:100]!r}')
    try:
        return normalize(value)
    except ValueError:
        raise ApiError(400, f'"{key}" is not a usable URL: {value[:100]!r}') from None


def _html(value: object) -> str:
    if not isinstance(value, str):
        raise ApiError(400, '"html" must be a string')
    if "\x00" in value:
        raise ApiError(400, '"html" holds NUL characters: binary content, not HTML')
    if not value.strip():
        raise ApiError(400, '"html" is empty')
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, '"html" holds unpaired surrogates (\\ud800-\\udfff)') from None
    return value


# The Fetcher is shared by all requests, its scope is each request's own.
_SITE: contextvars.ContextVar[Scope] = contextvars.ContextVar("harvester_serve_site")


class _RequestScope(Scope):
    """Redirects are followed on the site asked for, not to others: the client can ask
    for the other site's URL, whose robots.txt is then read first."""

    def allows(self, url: str) -> bool:
        site = _SITE.get(None)
        return site is not None and site.allows(url)


def _http_record(body: bytes, url: str, charset: str | None, fetched_at: str) -> Record:
    """What extract_html makes of the page, with what HTTP said: charset, fetch time, and
    "http" as the source, as a crawl records it."""
    page = process_page(body, url, charset, fetched_at, "http")
    return next(build_records([page], DedupOptions(), DedupStats()))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _Service:
    """What requests share: the fetcher and its per-host gate, robots.txt rules, the
    extraction threads and the count of requests in progress."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.active = 0
        self._fetcher: Fetcher | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._robots: Robots | None = None
        self._robots_read = 0.0

    @asynccontextmanager
    async def running(self, app: Starlette) -> AsyncIterator[None]:
        """The httpx client lives in the server's event loop, so it opens here."""
        self._pool = ThreadPoolExecutor(self.settings.concurrency, "harvester-extract")
        try:
            async with Fetcher(self.settings.fetch, _RequestScope()) as self._fetcher:
                yield
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def fetcher(self) -> Fetcher:
        assert self._fetcher is not None, "the app runs outside its lifespan"
        return self._fetcher

    async def extract(self, request: Request) -> Response:
        self.authorize(request)
        if self.active >= self.settings.concurrency:
            raise ApiError(
                503, f"busy: {self.active} requests in progress; retry later", {"Retry-After": "1"}
            )
        self.active += 1
        try:
            async with asyncio.timeout(self.settings.timeout):
                job = parse_job(await self.read_body(request))
                if isinstance(job, UrlJob):
                    record = await self.from_url(job.url)
                else:
                    record = await self.from_html(job)
        except TimeoutError:
            raise ApiError(504, f"no answer within {self.settings.timeout:g} s") from None
        finally:
            self.active -= 1
        return JSONResponse(record.to_dict())

    def authorize(self, request: Request) -> None:
        token = self.settings.token
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return
        raise ApiError(
            401,
            "missing or wrong token: send 'Authorization: Bearer <token>'",
            {"WWW-Authenticate": 'Bearer realm="harvester"'},
        )

    async def read_body(self, request: Request) -> bytes:
        """Refused as soon as it is known to be too large, before it is all read."""
        limit = self.settings.max_body
        too_large = ApiError(413, f"the request body is larger than {limit} bytes")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    async def from_html(self, job: HtmlJob) -> Record:
        """extract_html's record, dated now: the page was read when it was sent."""
        record = await self.run(partial(extract_html, job.html, job.base_url), 400)
        return replace(record, fetched_at=_now())

    async def from_url(self, url: str) -> Record:
        robots = self.robots()
        await self.obey(robots, url)
        site = _SITE.set(Scope.from_seeds([url]))
        try:
            # Every redirect hop is asked of its own origin's robots.txt before it is taken.
            result = await self.fetcher.fetch(url, allow=partial(self.obey, robots))
        except FetchError as exc:
            raise ApiError(502, f"cannot fetch {url}: {exc.message}") from None
        except httpx.InvalidURL as exc:
            raise ApiError(400, f"cannot fetch {url}: {exc}") from None
        finally:
            _SITE.reset(site)
        if not result.html:
            raise ApiError(415, f"{result.final_url} is {result.content_type}, not HTML")
        charset = charset_from_content_type(result.content_type)
        job = partial(_http_record, result.body, result.final_url, charset, result.fetched_at)
        return await self.run(job, 415)

    def robots(self) -> Robots:
        """One Robots for all requests, replaced now and then so that rules stay fresh."""
        now = time.monotonic()
        if self._robots is None or now - self._robots_read > self.settings.robots_ttl:
            getter = partial(self.fetcher.get_bytes, max_bytes=ROBOTS_BYTES, truncate=True)
            self._robots = Robots(getter, self.settings.fetch.user_agent)
            self._robots_read = now
            self.fetcher.metadata_errors.clear()
        return self._robots

    async def obey(self, robots: Robots, url: str) -> None:
        try:
            allowed = await robots.allowed(url)
        except httpx.InvalidURL as exc:
            raise ApiError(400, f"cannot fetch {url}: {exc}") from None
        if allowed:
            delay = await robots.crawl_delay(url)
            if delay:
                self.fetcher.gate.set_crawl_delay(host_of(url), delay)
            return
        robots_url = f"{origin_of(url)}/robots.txt"
        if robots.unavailable(url):
            reason = self.fetcher.metadata_errors.get(robots_url, "it answered with an error")
            raise ApiError(502, f"not fetched: cannot read {robots_url} ({reason})")
        agent = product_token(self.settings.fetch.user_agent) or "this user agent"
        raise ApiError(403, f"{robots_url} disallows {url} for {agent}")

    async def run(self, job: Callable[[], Record], parse_status: int) -> Record:
        """Extraction is CPU work: in a thread, so that the event loop keeps answering."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, job)
        except ParseError as exc:
            raise ApiError(parse_status, f"not an HTML page: {exc}") from None


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(exc.status, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own answers (404, 405) in the same shape as ours."""
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail, exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug: the server log gets the traceback, the client one line."""
    return _error(500, "internal error")


def create_app(settings: ServeSettings | None = None) -> Starlette:
    settings = settings or ServeSettings()
    service = _Service(settings)
    document = openapi(settings)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(document)

    return Starlette(
        routes=[
            Route("/extract", service.extract, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/openapi.json", openapi_json, methods=["GET"]),
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=service.running,
    )


# The OpenAPI document.

ERRORS = {
    400: "The body is not JSON, not one of the two shapes, or its URL or HTML is unusable.",
    401: "A token is required (--token-env) and the request did not carry it.",
    403: "robots.txt disallows the URL for harvester's user agent.",
    413: "The request body is larger than --max-body.",
    415: "The URL answered with something other than an HTML page.",
    502: "The URL (or its robots.txt) could not be fetched: unreachable, an HTTP error, "
    "too large, or a redirect to another site.",
    503: "--concurrency requests are in progress already: retry after Retry-After seconds.",
    504: "The request took longer than --timeout.",
}


def openapi(settings: ServeSettings) -> dict[str, Any]:
    """OpenAPI 3.1: the endpoints, the two request shapes, the record and the errors."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "harvester",
            "version": __version__,
            "description": "Extract one web page: its main text, Q&As and metadata as a "
            "harvester record.",
        },
        "paths": {
            "/extract": {"post": _extract_operation(settings)},
            "/healthz": {"get": _healthz_operation()},
        },
        "components": {"schemas": _schemas(settings)},
    }
    if settings.token is not None:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return document


def _extract_operation(settings: ServeSettings) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "The page's record, as `harvester extract` writes it.",
            "content": {"application/json": {"schema": _ref("Record")}},
        },
    }
    for status, why in ERRORS.items():
        if status == 401 and settings.token is None:
            continue
        responses[str(status)] = _error_response(why, retry_after=status == 503)
    operation: dict[str, Any] = {
        "operationId": "extract",
        "summary": "Extract one page, fetched from its URL or sent as HTML",
        "description": "With `url` the page is fetched politely: robots.txt is obeyed and "
        "requests to one host are spaced as in a crawl, across all clients.",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("ExtractRequest")}},
        },
        "responses": responses,
    }
    if settings.token is not None:
        operation["security"] = [{"bearer": []}]
    return operation


def _healthz_operation() -> dict[str, Any]:
    status = {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"const": "ok"}},
        "additionalProperties": False,
    }
    return {
        "operationId": "healthz",
        "summary": "Liveness: the server answers",
        "responses": {
            "200": {"description": "Up.", "content": {"application/json": {"schema": status}}}
        },
    }


def _error_response(description: str, retry_after: bool) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}
        }
    return response


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _schemas(settings: ServeSettings) -> dict[str, Any]:
    url = {"type": "string", "maxLength": MAX_URL_LENGTH, "pattern": URL_PATTERN}
    return {
        "ExtractRequest": {"oneOf": [_ref("UrlRequest"), _ref("HtmlRequest")]},
        "UrlRequest": {
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": {"url": {**url, "description": "The page to fetch, http(s)."}},
        },
        "HtmlRequest": {
            "type": "object",
            "required": ["html", "base_url"],
            "additionalProperties": False,
            "properties": {
                "html": {
                    "type": "string",
                    "pattern": HTML_PATTERN,
                    "description": f"The page's HTML (the whole body at most {settings.max_body} "
                    "bytes).",
                },
                "base_url": {**url, "description": "The URL the page was served from."},
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {"error": {"type": "string", "minLength": 1}},
        },
        **_record_schemas(),
    }


def _record_schemas() -> dict[str, Any]:
    """record.schema.json as components: its $defs become schemas beside Record."""
    text = resources.files("harvester").joinpath("schema", "record.schema.json").read_text("utf-8")
    schema = json.loads(text)
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    names = {f"#/$defs/{name}": f"#/components/schemas/Record{name.title()}" for name in defs}
    found = {"Record": schema, **{f"Record{name.title()}": d for name, d in defs.items()}}
    return {name: _rebase(node, names) for name, node in found.items()}


def _rebase(node: Any, refs: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: refs.get(v, v) if k == "$ref" and isinstance(v, str) else _rebase(v, refs)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(item, refs) for item in node]
    return node


# The command.


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. 0.0.0.0 opens the API to the network: set --token-env then.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--token-env",
    metavar="NAME",
    default=None,
    help="Name of an environment variable that holds a token: POST /extract then needs "
    "'Authorization: Bearer <token>'. The token itself is never a flag (shell history, "
    "process lists) and is never printed.",
)
@click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=5 * MiB,
    show_default=True,
    metavar="BYTES",
    help="Largest request body; a larger one gets 413 before it is read.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Requests handled at once; one more gets 503 with Retry-After.",
)
@click.option(
    "--timeout",
    type=FiniteFloat(min=0, min_open=True),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Time for one request, fetch and extraction included; longer gets 504.",
)
@click.option(
    "--user-agent",
    default=DEFAULT_USER_AGENT,
    show_default=True,
    help="User-Agent of the fetches; robots.txt groups are matched against its first word.",
)
@click.option(
    "--delay",
    type=FiniteFloat(min=0),
    default=DEFAULTS.delay,
    show_default=True,
    metavar="SECONDS",
    help="Least time between two requests to one host, over all API requests "
    "(more when robots.txt's Crawl-delay asks or the host slows down).",
)
def serve_command(
    host: str,
    port: int,
    token_env: str | None,
    max_body: int,
    concurrency: int,
    timeout: float,
    user_agent: str,
    delay: float,
) -> None:
    """Serve an HTTP API that extracts one page per request.

    \b
    POST /extract  {"url": "https://..."}  fetch the page (robots.txt obeyed)
                   {"html": "...", "base_url": "https://..."}  or extract given HTML
                   -> the page's record, as `harvester extract` writes it
    GET /healthz       -> {"status": "ok"}
    GET /openapi.json  -> the OpenAPI 3.1 description, errors included

    Errors are JSON, {"error": "..."}: 400 bad request, 401 no token, 403 robots.txt
    disallows, 413 body too large, 415 not HTML, 502 fetch failed, 503 busy, 504 too slow.
    """
    token = None
    if token_env is not None:
        token = os.environ.get(token_env, "")
        if not token:
            raise click.UsageError(f"--token-env {token_env}: that variable is not set or empty")
    settings = ServeSettings(
        host=host,
        port=port,
        token=token,
        max_body=max_body,
        concurrency=concurrency,
        timeout=timeout,
        fetch=FetchConfig(user_agent=user_agent, delay=delay),
    )
    uvicorn.run(create_app(settings), host=host, port=port, server_header=False)

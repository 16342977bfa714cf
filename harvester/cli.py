"""Command line: `harvester crawl` and `harvester extract`.

Exit codes: 0 complete, 1 partial (some pages failed), 2 usage or bad input,
3 fatal (nothing could be read), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import signal
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from . import __version__
from .config import ConfigError, FiniteFloat, default_map, find_config, show
from .crawler import CrawlOptions, PageSource, crawl, default_workers
from .dedup import DedupOptions, Removal
from .deliver import deliver, evidence_of, record_changes
from .emit import JsonlWriter, OutputError, written_ids
from .fetch import DEFAULT_DEADLINE, DEFAULT_DELAY, DEFAULT_USER_AGENT, FetchConfig
from .files import InputError, read_files, read_records
from .formats import (
    FORMATS,
    MarkdownWriter,
    RecordWriter,
    abandon,
    check_writable,
    open_writer,
    write_redirects,
)
from .models import Page, QARecord, Record
from .pipeline import emit, qa_records, records_of
from .progress import Progress
from .report import Summary, format_delivery, format_summary
from .review import render_report, write_report
from .serve import serve_command
from .sinks import Sink, SinkError, open_sink, sink_name
from .sinks.file import FileSink
from .state import CrawlState, MemoryEmitLog, RunStart
from .state.sqlite import SqliteState, StateError
from .urls import MAX_URL_LENGTH, InvalidURL, Scope, host_of, normalize
from .warc import WarcError, WarcWriter

EXIT_USAGE, EXIT_FATAL, EXIT_INTERRUPTED = 2, 3, 130
T = TypeVar("T")
STATE_DIR = Path("data") / "state"


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"harvester: error: {message}", err=True)
    sys.exit(code)


OUTPUT_OPTIONS = (
    click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="jsonl",
        show_default=True,
        help="jsonl: one JSON object per line, flushed per record; json: one array, written "
        "atomically; csv: one row per Q&A; markdown: a folder (-o) with one .md per record "
        "and YAML front matter, for Hugo, Jekyll or Astro.",
    ),
    click.option(
        "--redirects",
        type=click.Path(path_type=Path),
        default=None,
        metavar="FILE.csv",
        help="Write the 301 map: every alias and old URL -> the record's canonical URL "
        "(with --format markdown: its new path).",
    ),
    click.option(
        "--report",
        type=click.Path(path_type=Path),
        default=None,
        metavar="FILE.html",
        help="Write one self-contained HTML page to review the run: summary, searchable "
        "records, template blocks, duplicate clusters, errors, and per record what was "
        "kept and what was removed.",
    ),
    click.option(
        "-o",
        "--output",
        default="-",
        show_default=True,
        metavar="FILE",
        help="Where to write JSON Lines; '-' is stdout.",
    ),
    click.option(
        "--emit",
        type=click.Choice(["pages", "qa"]),
        default="pages",
        show_default=True,
        help="'pages': one record per distinct page; 'qa': one record per distinct "
        "question and answer across the site, with every page it is on.",
    ),
    click.option(
        "-q", "--quiet", is_flag=True, help="No summary on stderr; errors are still reported."
    ),
    click.option(
        "--explain",
        type=click.Path(path_type=Path),
        default=None,
        metavar="FILE",
        help="Write every removal as JSON Lines: the record, the text removed and "
        "why (template: seen on N pages; repeat: copy of block k of the page; "
        "duplicate-page: folded into URL U, similarity s).",
    ),
    click.option(
        "--similarity",
        type=FiniteFloat(0.5, 1.0),
        default=0.9,
        show_default=True,
        help="Pages whose text is at least this similar (Jaccard of word "
        "shingles) become one record.",
    ),
    click.option(
        "--num-perm",
        type=click.IntRange(16, 1024),
        default=128,
        show_default=True,
        help="MinHash permutations: more is more exact and slower.",
    ),
    click.option(
        "--shingle-size",
        type=click.IntRange(1, 10),
        default=3,
        show_default=True,
        help="Words per shingle when comparing page texts.",
    ),
    click.option(
        "--template-min-pages",
        type=click.IntRange(min=2),
        default=3,
        show_default=True,
        help="A block is template only if it recurs on at least this many pages...",
    ),
    click.option(
        "--template-min-share",
        type=FiniteFloat(0.0, 1.0),
        default=0.25,
        show_default=True,
        help="...and on at least this share of the site's pages.",
    ),
)


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(OUTPUT_OPTIONS):
        func = option(func)
    return func


FEED_OPTIONS = (
    click.option(
        "--changes",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        metavar="FILE",
        help="Append the change events (created, updated with the fields that changed, "
        "deleted with why) to FILE as JSON Lines, each event once.",
    ),
    click.option(
        "--sink",
        multiple=True,
        metavar="URL",
        help="Deliver the change events to URL, from where it stopped last: "
        "postgresql://… (records and qa tables), https://… (Standard Webhooks, signed "
        "with the secret in $HARVESTER_WEBHOOK_SECRET), file://…jsonl. Repeatable.",
    ),
    click.option(
        "--sink-batch",
        type=click.IntRange(1, 10_000),
        default=100,
        show_default=True,
        help="Events per webhook message.",
    ),
)


def feed_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(FEED_OPTIONS):
        func = option(func)
    return func


@dataclass
class Output:
    """Where and how records are written, and how they are deduplicated."""

    output: str
    emit: str
    quiet: bool
    explain: Path | None
    dedup: DedupOptions
    fmt: str = "jsonl"
    redirects: Path | None = None
    report: Path | None = None

    @classmethod
    def of(cls, options: dict[str, Any]) -> Output:
        return cls(
            options["output"],
            options["emit"],
            options["quiet"],
            options["explain"],
            DedupOptions(
                similarity=options["similarity"],
                num_perm=options["num_perm"],
                shingle_size=options["shingle_size"],
                template_min_pages=options["template_min_pages"],
                template_min_share=options["template_min_share"],
            ),
            options["fmt"],
            options["redirects"],
            options["report"],
        )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="harvester")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="Settings file [default: ./harvester.toml, else [tool.harvester] in "
    "./pyproject.toml]. Keys are the flags' names; flags given here win.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log on stderr what happens: -v each failure and skip, -vv every request.",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """Turn a legacy website into clean JSON records: one per real page, or one per
    question and answer, without menus, footers, banners or repeated sections.

    Exit codes: 0 complete, 1 partial (some pages failed), 2 usage or bad input,
    3 fatal (nothing could be read), 130 interrupted.
    """
    _logging(verbose)
    commands = {name: main.commands[name] for name in ("crawl", "extract", "dedup")}
    try:
        source, settings = find_config(config_path, Path.cwd())
        ctx.default_map = default_map(settings, commands, source) if source else {}
    except ConfigError as exc:
        fail(str(exc))
    ctx.meta["config_source"] = source


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now, so a live progress line can make room."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _logging(verbose: int) -> None:
    if not verbose:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("harvester: %(message)s"))
    logger = logging.getLogger("harvester")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


@main.group("config")
def config_group() -> None:
    """Inspect the settings in use."""


@config_group.command("show")
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Print the effective settings (file values, else defaults) as TOML."""
    root = ctx.find_root()
    source = root.meta.get("config_source")
    commands = {name: main.commands[name] for name in ("crawl", "extract", "dedup")}
    click.echo(f"# settings from {source}" if source else "# no settings file: defaults")
    click.echo(show(commands, dict(root.default_map or {})))


@main.command("crawl")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@output_options
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Stop after requesting this many URLs.",
)
@click.option(
    "--max-depth",
    type=click.IntRange(min=0),
    default=None,
    help="Follow links at most this many clicks from a seed (default: no limit).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    default=8,
    show_default=True,
    help="Requests in flight at once, over all hosts.",
)
@click.option(
    "--per-host",
    type=click.IntRange(min=1, max=64),
    default=2,
    show_default=True,
    help="Requests in flight at once to one host.",
)
@click.option(
    "--delay",
    type=FiniteFloat(min=0),
    default=DEFAULT_DELAY,
    show_default=True,
    help="Seconds between two requests to one host; 0 for none. A larger "
    "robots.txt Crawl-delay wins, and the crawler slows down by itself when the "
    "server answers 429/503 or gets slower.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0, max=10),
    default=3,
    show_default=True,
    help="Retries for timeouts, connection errors, 429 and 5xx (other 4xx: none).",
)
@click.option(
    "--timeout",
    type=FiniteFloat(min=0.1),
    default=20.0,
    show_default=True,
    help="Seconds to wait for a connection, or for the next bytes of a response.",
)
@click.option(
    "--deadline",
    type=FiniteFloat(min=0.1),
    default=DEFAULT_DEADLINE,
    show_default=True,
    help="Seconds one request may take in all, however steadily the server drips bytes: "
    "a page over it fails, a robots.txt over it closes its host.",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1024),
    default=10 * 1024 * 1024,
    show_default=True,
    help="Largest response body read, after decompression.",
)
@click.option(
    "--user-agent",
    default=DEFAULT_USER_AGENT,
    show_default=True,
    help="User-Agent header; its first word is the name matched in robots.txt.",
)
@click.option(
    "--allow-domain",
    "allow_domains",
    multiple=True,
    metavar="DOMAIN",
    help="Also crawl this domain and its subdomains (repeatable).",
)
@click.option(
    "--include",
    multiple=True,
    metavar="REGEX",
    help="Only follow URLs matching one of these (repeatable).",
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="REGEX",
    help="Never follow URLs matching any of these (repeatable).",
)
@click.option(
    "--max-per-template",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Trap guard: URLs that differ only in digits (e.g. /calendar/2031-05/) and "
    "link to each other are followed at most this many times.",
)
@click.option(
    "--max-query-variants",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Trap guard: distinct query strings followed per path.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0, max=64),
    default=default_workers(),
    show_default=True,
    help="Processes that parse and extract pages while the crawler fetches; 0 does it "
    "in the crawling process.",
)
@click.option(
    "--ignore-robots",
    is_flag=True,
    help="Do not read robots.txt (only for sites you may crawl regardless). By default a "
    "disallowed URL is never requested, and a robots.txt that answers 5xx or not at all "
    "stops the crawl of that host until it answers.",
)
@click.option(
    "--no-sitemaps",
    is_flag=True,
    help="Do not read sitemaps (robots.txt Sitemap: lines and /sitemap.xml).",
)
@click.option(
    "--warc",
    "warc_path",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="Also archive every request and response in this WARC file (.warc.gz to "
    "compress); `harvester extract FILE` processes it again offline.",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Crawl state (SQLite) for resuming and incremental runs "
    "[default: data/state/<site>-<hash>.sqlite].",
)
@click.option(
    "--fresh", is_flag=True, help="Forget the state of earlier runs of this crawl and start over."
)
@click.option(
    "--full",
    is_flag=True,
    help="Write every record, not only those new or changed since the last run.",
)
@feed_options
def crawl_command(
    urls: tuple[str, ...],
    max_pages: int,
    max_depth: int | None,
    concurrency: int,
    per_host: int,
    delay: float,
    retries: int,
    timeout: float,
    deadline: float,
    max_bytes: int,
    user_agent: str,
    allow_domains: tuple[str, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    max_per_template: int,
    max_query_variants: int,
    workers: int,
    ignore_robots: bool,
    no_sitemaps: bool,
    warc_path: Path | None,
    state_path: Path | None,
    fresh: bool,
    full: bool,
    changes: Path | None,
    sink: tuple[str, ...],
    sink_batch: int,
    **common: Any,
) -> None:
    """Crawl a site from one or more seed URLs and write its records.

    Only links on the seeds' hosts are followed (www.example.com and example.com are one
    site). The crawl keeps its state in a file: run the same command again after an
    interruption and it resumes where it stopped; run it again after it finished and it
    revisits the site with conditional requests and writes only new or changed records.

    Example: harvester crawl https://clinic.example/ -o records.jsonl
    """
    seeds = _seeds(urls)
    scope = _scope(seeds, allow_domains, include, exclude)
    options = CrawlOptions(
        max_pages=max_pages,
        max_depth=max_depth,
        concurrency=concurrency,
        max_per_template=max_per_template,
        max_query_variants=max_query_variants,
        ignore_robots=ignore_robots,
        sitemaps=not no_sitemaps,
        workers=workers,
        fetch=FetchConfig(
            user_agent=user_agent,
            timeout=timeout,
            deadline=deadline,
            delay=delay,
            per_host=per_host,
            retries=retries,
            max_bytes=max_bytes,
        ),
    )
    out = Output.of(common)
    _check_outputs(out)
    feed = _open_feed(changes, sink, sink_batch)
    warc = _open_warc(warc_path)
    state = _open_state(state_path or default_state_path(seeds), fresh)
    start = state.start(seeds)
    already = written_ids(out.output) if start.resumed and out.fmt == "jsonl" else set()
    writer = _open_output(out, append=start.resumed)
    summary = Summary()
    with Progress(out.quiet) as progress:
        pages = _interruptible(
            lambda: asyncio.run(
                crawl(seeds, options, summary, state, scope, start, warc, progress)
            ),
            writer,
        )
        if warc is not None:
            warc.close()
        _finish(pages, writer, out, summary, " ".join(seeds), state, full, already, progress, feed)


@main.command("extract")
@click.argument(
    "paths", nargs=-1, required=True, metavar="PATH...", type=click.Path(path_type=Path)
)
@output_options
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="The URL the given folder was saved from, so that records carry the "
    "site's URLs (folder/index.html becomes URL/folder/).",
)
def extract_command(paths: tuple[Path, ...], base_url: str | None, **common: Any) -> None:
    """Run the same pipeline over a saved copy of a site: HTML files, folders, or WARC
    captures (.warc, .warc.gz, from harvester --warc or other tools)."""
    if base_url is not None:
        try:
            base_url = normalize(base_url)
        except InvalidURL:
            fail(f"invalid --base-url {base_url!r}: give an absolute http(s) URL")
    summary = Summary()
    try:
        pages = read_files(list(paths), base_url, summary)
    except InputError as exc:
        fail(str(exc))
    out = Output.of(common)
    writer = _open_output(out)
    _finish(pages, writer, out, summary, " ".join(str(p) for p in paths), None, True)


@main.command("dedup")
@click.argument(
    "inputs", nargs=-1, required=True, metavar="IN.jsonl...", type=click.Path(path_type=Path)
)
@output_options
def dedup_command(inputs: tuple[Path, ...], **common: Any) -> None:
    """Deduplicate records made by another run or another tool: JSON Lines with this
    tool's record fields, or at least `url` and `text` (and optionally `title`, `qa`).
    Template lines, repeated sections and duplicate pages are removed as in a crawl."""
    summary = Summary()
    try:
        pages = read_records(list(inputs), summary)
    except InputError as exc:
        fail(str(exc))
    out = Output.of(common)
    writer = _open_output(out)
    _finish(pages, writer, out, summary, " ".join(str(p) for p in inputs), None, True)


@main.command("deliver")
@click.argument("urls", nargs=-1, metavar="[URL...]")
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The crawl's state file [default: the one `crawl URL...` uses for these URLs].",
)
@feed_options
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def deliver_command(
    urls: tuple[str, ...],
    state_path: Path | None,
    changes: Path | None,
    sink: tuple[str, ...],
    sink_batch: int,
    quiet: bool,
) -> None:
    """Deliver the change events that crawls recorded, without crawling: each sink
    resumes after the last event it took (after a crash, a sink that was down, or to
    feed a new sink from the start).

    Example: harvester deliver https://clinic.example/ --sink postgresql://localhost/site
    """
    if state_path is None and not urls:
        fail("give the crawl's URLs or its --state file")
    path = state_path or default_state_path(_seeds(urls))
    if not path.exists():
        fail(f"no crawl state at {path}: run `harvester crawl` first")
    feed = _open_feed(changes, sink, sink_batch)
    if not feed:
        fail("nothing to deliver to: give --sink URL or --changes FILE")
    state = _open_state(path, fresh=False)
    summary = Summary()
    try:
        _deliver(state, feed, summary)
    finally:
        state.close()
    if not quiet:
        click.echo(format_delivery(summary, str(path)), err=True)
    sys.exit(summary.exit_code)


def _open_feed(changes: Path | None, urls: tuple[str, ...], batch: int) -> list[Sink]:
    """The sinks of this run, opened (and checked) before anything is crawled."""
    opened: list[Sink] = [FileSink(changes)] if changes is not None else []
    for url in urls:
        try:
            opened.append(open_sink(url, batch=batch))
        except SinkError as exc:
            fail(f"--sink {sink_name(url)}: {exc}")
    return opened


def _record_and_deliver(
    state: CrawlState, records: list[Record], summary: Summary, feed: list[Sink]
) -> None:
    """The run's change events into the outbox (always: `deliver` may come later), then
    to this run's sinks."""
    evidence = evidence_of(summary.failures, state.pages.redirects(), summary.over_limit == 0)
    summary.changes.update(event.type for event in record_changes(state, records, evidence))
    _deliver(state, feed, summary)


def _deliver(state: CrawlState, feed: list[Sink], summary: Summary) -> None:
    try:
        done = deliver(state, feed)
    finally:
        for sink in feed:
            sink.close()
    summary.delivered.update(done.delivered)
    summary.dead_letters += done.dead
    summary.sink_errors.update(done.errors)


def _seeds(urls: tuple[str, ...]) -> list[str]:
    seeds = []
    for url in urls:
        if len(url) > MAX_URL_LENGTH:
            fail(f"URL longer than {MAX_URL_LENGTH} characters: {url[:60]}…")
        try:
            seeds.append(normalize(url))
        except InvalidURL:
            fail(f"invalid URL {url!r}: give an absolute http:// or https:// URL")
    return seeds


def _scope(
    seeds: list[str], allow: tuple[str, ...], include: tuple[str, ...], exclude: tuple[str, ...]
) -> Scope:
    try:
        return Scope.from_seeds(seeds, list(allow), list(include), list(exclude))
    except re.error as exc:
        fail(f"invalid regular expression {exc.pattern!r}: {exc}")


def default_state_path(seeds: list[str]) -> Path:
    """One state file per crawl (its sorted seeds), named after the first host."""
    digest = hashlib.sha256("\n".join(sorted(seeds)).encode()).hexdigest()[:10]
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", host_of(seeds[0]))[:60] or "site"
    return STATE_DIR / f"{host}-{digest}.sqlite"


def _open_state(path: Path, fresh: bool) -> SqliteState:
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    try:
        return SqliteState(path)
    except StateError as exc:
        fail(str(exc))


def _open_warc(path: Path | None) -> WarcWriter | None:
    if path is None:
        return None
    try:
        return WarcWriter(path)
    except WarcError as exc:
        fail(str(exc))


def _open_output(out: Output, append: bool = False) -> RecordWriter:
    _check_outputs(out)
    try:
        return open_writer(out.fmt, out.output, append=append and out.fmt == "jsonl")
    except OutputError as exc:
        fail(str(exc))


def _check_outputs(out: Output) -> None:
    """The files written at the end of a run are checked before it starts."""
    for path in (out.report, out.redirects, out.explain):
        if path is not None:
            try:
                check_writable(str(path))
            except OutputError as exc:
                fail(str(exc))


def _interruptible(run: Callable[[], T], writer: RecordWriter) -> T:
    """The crawl; when it stops early (Ctrl-C, SIGTERM, a WARC that cannot be written),
    the output is closed still valid."""
    try:
        return run()
    except KeyboardInterrupt:
        abandon(writer)
        fail("interrupted: run the same command again to resume", EXIT_INTERRUPTED)
    except WarcError as exc:
        abandon(writer)
        fail(str(exc), EXIT_FATAL)


def _finish(
    pages: PageSource | list[Page],
    writer: RecordWriter,
    out: Output,
    summary: Summary,
    source: str,
    state: CrawlState | None,
    full: bool,
    already: set[str] | None = None,
    progress: Progress | None = None,
    feed: list[Sink] | None = None,
) -> None:
    explain = _open_explain(out.explain)
    if progress is not None:
        progress.update(stage="deduplicating")
    removals: list[dict[str, Any]] = []

    def removed(removal: Removal) -> None:
        if explain is not None:
            explain.write_removal(removal)
        if out.report is not None:
            removals.append(removal.to_dict())

    try:
        records = records_of(pages, out.dedup, summary, removed)
    except KeyboardInterrupt:
        abandon(writer)
        fail("interrupted: run the same command again to resume", EXIT_INTERRUPTED)
    except OutputError as exc:  # --explain
        abandon(writer)
        fail(str(exc), EXIT_FATAL)
    log = state.log if state is not None else MemoryEmitLog()
    # Only JSON Lines is appended record by record; other formats count as written
    # once the file is complete.
    marks: list[tuple[str, str]] | None = None if out.fmt == "jsonl" else []
    found: list[Record] | list[QARecord] = (
        qa_records(records, summary) if out.emit == "qa" else records
    )
    try:
        with writer:
            emit(found, writer, log, summary, full, already, marks, _on_written(progress))
    except OutputError as exc:
        fail(str(exc), EXIT_FATAL)
    except KeyboardInterrupt:
        fail("interrupted: what was written is complete; run again to finish", EXIT_INTERRUPTED)
    for record_id, content in marks or []:
        log.mark(record_id, content)
    if explain is not None:
        explain.close()
    if out.redirects is not None:
        _write_redirects(out, records, writer)
    if state is not None:
        _record_and_deliver(state, records, summary, feed or [])
    if out.report is not None:
        _write_report(out, summary, found, removals, source)
    if state is not None:
        state.run_done()
        state.close()
    if progress is not None:
        progress.__exit__()
    if not out.quiet:
        click.echo(format_summary(summary, source, writer.target, out.emit), err=True)
    if summary.exit_code == EXIT_FATAL:
        first = summary.failures[0]
        fail(f"nothing could be read: {first.url}: {first.message}", EXIT_FATAL)
    sys.exit(summary.exit_code)


def _on_written(progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda written: progress.update(stage="writing", written=written)


def _write_report(
    out: Output,
    summary: Summary,
    records: list[Record] | list[QARecord],
    removals: list[dict[str, Any]],
    source: str,
) -> None:
    page = render_report(
        summary, [r.to_dict() for r in records], removals, source=source, emit=out.emit
    )
    try:
        write_report(str(out.report), page)
    except OutputError as exc:
        fail(str(exc), EXIT_FATAL)


def _write_redirects(out: Output, records: list[Record], writer: RecordWriter) -> None:
    slugs = writer.slugs if isinstance(writer, MarkdownWriter) else None
    try:
        write_redirects(str(out.redirects), [r.to_dict() for r in records], slugs)
    except OutputError as exc:
        fail(str(exc), EXIT_FATAL)


class ExplainWriter(JsonlWriter):
    """--explain: removals as JSON Lines."""

    def write_removal(self, removal: Removal) -> None:
        self.write(removal.to_dict())


def _open_explain(path: Path | None) -> ExplainWriter | None:
    if path is None:
        return None
    try:
        return ExplainWriter(str(path))
    except OutputError as exc:
        fail(str(exc))


def run() -> None:
    """Console entry point: no traceback ever reaches the user."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        main(standalone_mode=True)
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except (OutputError, WarcError) as exc:  # disk full, wherever it struck
        fail(str(exc), EXIT_FATAL)
    except sqlite3.Error as exc:  # the state file: a full disk, a file gone bad
        fail(f"cannot use the crawl state: {exc}", EXIT_FATAL)
    except Exception as exc:  # the last line of defence
        fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_FATAL)


def _terminated(signum: int, frame: Any) -> None:
    """SIGTERM (kill, a service manager) stops a run as Ctrl-C does: through whatever
    handles SIGINT now (asyncio's, during the crawl), even where SIGINT is ignored."""
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler):
        raise KeyboardInterrupt
    handler(signal.SIGINT, frame)


__all__ = ["RunStart", "main", "run"]

main.add_command(serve_command)

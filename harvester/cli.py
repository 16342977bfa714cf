"""Command line: `harvester crawl` and `harvester extract`.

Exit codes: 0 complete, 1 partial (some pages failed), 2 usage or bad input,
3 fatal (nothing could be read), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .emit import JsonlWriter, OutputError
from .fetch import DEFAULT_USER_AGENT, FetchConfig
from .files import InputError, read_files
from .models import Page
from .pipeline import CrawlOptions, DedupOptions, Summary, build_records, crawl, qa_records
from .urls import InvalidURL, normalize

EXIT_USAGE, EXIT_FATAL, EXIT_INTERRUPTED = 2, 3, 130


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"harvester: error: {message}", err=True)
    sys.exit(code)


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "-o",
        "--output",
        default="-",
        show_default=True,
        metavar="FILE",
        help="Where to write JSON Lines; '-' is stdout.",
    )(func)
    func = click.option(
        "--emit",
        type=click.Choice(["pages", "qa"]),
        default="pages",
        show_default=True,
        help="'pages': one record per distinct page; 'qa': one record per "
        "distinct question and answer across the site.",
    )(func)
    func = click.option(
        "-q", "--quiet", is_flag=True, help="No summary on stderr; errors are still reported."
    )(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harvester")
def main() -> None:
    """Turn a legacy website into clean JSON records: one per real page, or one per
    question and answer, without menus, footers, banners or repeated sections."""


@main.command("crawl")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@output_options
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Stop after fetching this many URLs.",
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
    "--delay",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="Seconds between two requests to one host; 0 for none.",
)
@click.option(
    "--user-agent",
    default=DEFAULT_USER_AGENT,
    show_default=True,
    help="User-Agent header sent with every request.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=20.0,
    show_default=True,
    help="Seconds to wait for a response before retrying.",
)
def crawl_command(
    urls: tuple[str, ...],
    output: str,
    emit: str,
    quiet: bool,
    max_pages: int,
    max_depth: int | None,
    concurrency: int,
    delay: float,
    user_agent: str,
    timeout: float,
) -> None:
    """Crawl a site from one or more seed URLs and write its records.

    Only links on the seeds' hosts are followed (www.example.com and example.com are
    one site). Example: harvester crawl https://clinic.example/ -o records.jsonl
    """
    seeds = []
    for url in urls:
        try:
            seeds.append(normalize(url))
        except InvalidURL:
            fail(f"invalid URL {url!r}: give an absolute http:// or https:// URL")
    writer = _open_output(output)
    options = CrawlOptions(
        max_pages=max_pages,
        max_depth=max_depth,
        concurrency=concurrency,
        fetch=FetchConfig(user_agent=user_agent, timeout=timeout, delay=delay),
    )
    summary = Summary()
    pages = _interruptible(lambda: asyncio.run(crawl(seeds, options, summary)))
    _finish(pages, writer, emit, quiet, summary, " ".join(seeds))


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
def extract_command(
    paths: tuple[Path, ...], output: str, emit: str, quiet: bool, base_url: str | None
) -> None:
    """Run the same pipeline over a saved copy of a site: HTML files or folders."""
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
    writer = _open_output(output)
    _finish(pages, writer, emit, quiet, summary, " ".join(str(p) for p in paths))


def _open_output(output: str) -> JsonlWriter:
    try:
        return JsonlWriter(output)
    except OutputError as exc:
        fail(str(exc))


def _interruptible(run: Callable[[], list[Page]]) -> list[Page]:
    try:
        return run()
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)


def _finish(
    pages: list[Page], writer: JsonlWriter, emit: str, quiet: bool, summary: Summary, source: str
) -> None:
    records = build_records(pages, DedupOptions(), summary)
    summary.records = len(records)
    with writer:
        try:
            if emit == "qa":
                for qa in qa_records(records, summary):
                    writer.write(qa.to_dict())
            else:
                summary.qa = sum(len(r.qa) for r in records)
                for record in records:
                    writer.write(record.to_dict())
        except OutputError as exc:
            fail(str(exc), EXIT_FATAL)
    if not quiet:
        click.echo(format_summary(summary, source, writer.target, emit), err=True)
    if summary.exit_code == EXIT_FATAL:
        first = summary.failures[0]
        fail(f"nothing could be read: {first.url}: {first.message}", EXIT_FATAL)
    sys.exit(summary.exit_code)


def format_summary(summary: Summary, source: str, target: str, emit: str) -> str:
    elapsed = time.monotonic() - summary.started
    written = summary.qa if emit == "qa" else summary.records
    lines = [
        f"harvester: {source} in {elapsed:.1f} s",
        f"  pages read        {summary.pages_fetched:>6}   failed {len(summary.failures)}, "
        f"non-HTML {summary.non_html}, off-site links {summary.out_of_scope}, "
        f"not fetched (--max-pages) {summary.over_limit}",
        f"  records written   {written:>6}   ({emit}; pages {summary.records}, "
        f"Q&A {summary.qa}, aliases folded {summary.aliases})",
        f"  blocks removed    {summary.template_removed + summary.repeats_removed:>6}   "
        f"template {summary.template_removed}, in-page repeats {summary.repeats_removed}",
        f"  output            {'stdout' if target == '-' else target}",
    ]
    for text, pages in summary.top_templates[:3]:
        lines.append(f"  template on {pages:>3} pages: {text[:60]}")
    for failure in summary.failures[:5]:
        lines.append(f"  failed: {failure.url}: {failure.message}")
    if len(summary.failures) > 5:
        lines.append(f"  ... and {len(summary.failures) - 5} more failures")
    return "\n".join(lines)


def run() -> None:
    """Console entry point: no traceback ever reaches the user."""
    try:
        main(standalone_mode=True)
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_FATAL)

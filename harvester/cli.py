"""Command line: parse the arguments, run the pipeline, map the outcome to an exit code.

Exit codes: 0 complete, 1 partial (some pages failed), 2 usage or bad input,
3 fatal (nothing could be read), 130 interrupted.

The options come from the settings model (harvester/settings.py); the run itself from
harvester/pipeline.py. The heavy modules load only when a command runs, so that
`--help` and `--version` answer at once.
"""

from __future__ import annotations

import importlib
import logging
import re
import signal
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import click

from . import __version__
from .config import ConfigError, default_map, find_config, show
from .settings import (
    CRAWL,
    DEDUP,
    DELIVER,
    EXPORT,
    EXTRACT,
    MAP,
    WORK,
    from_command,
    with_options,
)

if TYPE_CHECKING:
    from .state import CrawlState

EXIT_USAGE, EXIT_FATAL, EXIT_INTERRUPTED = 2, 3, 130
LOOKS_LIKE_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:/|www\.)", re.IGNORECASE)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"harvester: error: {message}", err=True)
    sys.exit(code)


class LazyGroup(click.Group):
    """Commands whose module loads only when they are called (the HTTP service); the
    command list shows their one-line help without loading them."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "serve": (
            "harvester.serve:serve_command",
            "Serve an HTTP API that extracts one page per request.",
        )
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name][0].split(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, self.lazy[name][1]))
            elif (command := super().get_command(ctx, name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="harvester")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, allow_dash=True),
    default=None,
    metavar="FILE",
    help="Settings file, '-' for stdin [default: ./harvester.toml, else [tool.harvester] "
    "in ./pyproject.toml]. Keys are the flags' names (max-pages, format); flags win.",
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
    try:
        source, settings = find_config(config_path, Path.cwd())
        ctx.default_map = default_map(settings, source) if source else {}
    except ConfigError as exc:
        fail(str(exc))
    ctx.meta["config_source"] = source
    ctx.meta["config_settings"] = settings


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
    """Print the settings in use as TOML: the file's values, every other setting as a
    commented default. The output reads back the same: `harvester config show >
    harvester.toml`, or `... | harvester --config - crawl URL`."""
    root = ctx.find_root()
    source = root.meta.get("config_source")
    click.echo(f"# settings from {source}" if source else "# no settings file: defaults")
    click.echo(show(root.meta.get("config_settings") or {}), nl=False)


@main.command(CRAWL)
@click.argument("urls", nargs=-1, required=False, metavar="URL...")
@with_options(CRAWL)
def crawl_command(urls: tuple[str, ...], **values: Any) -> None:
    """Crawl a site from one or more seed URLs and write its records.

    Only links on the seeds' hosts are followed (www.example.com and example.com are one
    site). The crawl keeps its state in a file: run the same command again after an
    interruption and it resumes where it stopped; run it again after it finished and it
    revisits the site with conditional requests. The output then holds the complete
    current set of records (--only-changed: only what is new or changed).

    With --state postgresql://… --job NAME the crawl is a job that `harvester work`
    processes on other machines join; the records are written when the job is done.

    Example: harvester crawl https://clinic.example/ -o records.jsonl
    """
    from .pipeline import Crawl

    _need_urls(urls, values)
    _run(Crawl(list(urls)), values)


@main.command(MAP)
@click.argument("urls", nargs=-1, required=False, metavar="URL...")
@with_options(MAP)
def map_command(urls: tuple[str, ...], **values: Any) -> None:
    """List the URLs a crawl would fetch, one a line on stdout, without extracting or
    writing anything: the sitemaps' pages and the links found on the way, with
    robots.txt and the crawl's scope applied. Pages are fetched only for their links;
    with --sitemap-only no page is fetched at all.

    Example: harvester map https://clinic.example/ --sitemap-only --since 2024-05-01
    """
    from .pipeline import Crawl, RunError, map_site

    _need_urls(urls, values)
    settings = from_command(values)
    listed = 0

    def found(url: str) -> None:
        nonlocal listed
        listed += 1
        click.echo(url)

    try:
        summary = map_site(Crawl(list(urls)), settings, found)
    except RunError as exc:
        fail(str(exc), exc.exit_code)
    if not settings.quiet:
        failed = len(summary.failures)
        click.echo(
            f"harvester: {listed} URLs; skipped: robots.txt {summary.robots_blocked}, "
            f"off-site {summary.out_of_scope}, --max-pages {summary.over_limit}; failed {failed}",
            err=True,
        )
    sys.exit(1 if summary.failures else 0)


@main.command(WORK)
@with_options(WORK)
def work_command(**values: Any) -> None:
    """Work on a shared crawl job until it is done: claim a host no other worker holds,
    fetch and extract its pages politely, hand it back; deduplicate each site as its
    last page is done. Start as many workers as you like, on any machines, at any time;
    a worker that dies gives its hosts to the others when its --lease runs out. A job is
    started by `harvester crawl URL... --state URL --job NAME` (a worker too), and its
    records are written by `harvester export`.

    Example: harvester work --state postgresql://crawler@db/harvester --job clinics
    """
    from .pipeline import Crawl

    _need_job(values)
    _run(Crawl([]), {**values, "output": None})


@main.command(EXPORT)
@with_options(EXPORT)
def export_command(**values: Any) -> None:
    """Write the records of a finished shared crawl job, in any format: one record per
    page, copies of a page on another site of the job folded into it as aliases.

    Example: harvester export --state postgresql://crawler@db/harvester --job clinics
    -o clinics.jsonl
    """
    from .pipeline import Exported

    _need_job(values)
    _run(Exported(values["job"]), values)


def _need_job(values: dict[str, Any]) -> None:
    if not values.get("job"):
        fail("give --job NAME, and --state postgresql://… for the job's database")
    if not isinstance(values.get("state"), str):
        fail(f"--job {values['job']}: give --state postgresql://… (the job's database)")


def _need_urls(urls: tuple[str, ...], values: dict[str, Any]) -> None:
    if not urls and values.get("input_file") is None:
        fail("give a URL, or a file of URLs with -i FILE")


@main.command(EXTRACT)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@with_options(EXTRACT)
def extract_command(paths: tuple[str, ...], **values: Any) -> None:
    """Run the same pipeline over a saved copy of a site: HTML files, folders, or WARC
    captures (.warc, .warc.gz, from harvester --warc or other tools)."""
    from .pipeline import Files

    _check_paths(paths)
    _run(Files([Path(p) for p in paths]), values)


@main.command(DEDUP)
@click.argument("inputs", nargs=-1, required=True, metavar="IN.jsonl...")
@with_options(DEDUP)
def dedup_command(inputs: tuple[str, ...], **values: Any) -> None:
    """Deduplicate records made by another run or another tool: JSON Lines with this
    tool's record fields, or at least `url` and `text` (and optionally `title`, `qa`).
    Template lines, repeated sections and duplicate pages are removed as in a crawl;
    fields this tool does not know are kept."""
    from .pipeline import Records

    _check_paths(inputs)
    _run(Records([Path(p) for p in inputs]), values)


def _check_paths(paths: tuple[str, ...]) -> None:
    """A URL given where files are expected gets a hint, not "no such file"."""
    for path in paths:
        if not Path(path).exists() and LOOKS_LIKE_URL.match(path):
            fail(f"no such file or folder: {path}: to crawl a site, use `harvester crawl URL`")


def _run(source: Any, values: dict[str, Any]) -> NoReturn:
    from .pipeline import PipeClosed, RunError, Stopped, run

    settings = from_command(values)
    try:
        summary = run(source, settings, console=True)
    except PipeClosed:
        sys.exit(0)
    except Stopped as exc:  # not an error: the time limit the user set
        click.echo(f"harvester: {exc}", err=True)
        sys.exit(exc.exit_code)
    except RunError as exc:
        if exc.exit_code == 0:  # nothing to do: not an error
            click.echo(f"harvester: {exc}", err=True)
            sys.exit(0)
        fail(str(exc), exc.exit_code)
    sys.exit(summary.exit_code)


@main.command(DELIVER)
@click.argument("urls", nargs=-1, metavar="[URL...]")
@with_options(DELIVER)
def deliver_command(urls: tuple[str, ...], **values: Any) -> None:
    """Deliver the change events that crawls recorded, without crawling: each sink
    resumes after the last event it took (after a crash, a sink that was down, or to
    feed a new sink from the start).

    Example: harvester deliver https://clinic.example/ --sink postgresql://localhost/site
    """
    from .pipeline import RunError, default_state_path, deliver_to, open_feed, seeds_of
    from .report import Summary, format_delivery
    from .state.sqlite import StateError

    settings = from_command(values)
    if settings.state is None and not urls:
        fail("give the crawl's URLs or its --state file")
    try:
        where = settings.state or default_state_path(seeds_of(urls))
        if isinstance(where, Path) and not where.exists():
            fail(f"no crawl state at {where}: run `harvester crawl` first")
        if isinstance(where, str) and not urls and not settings.job:
            fail("give the crawl's URLs (they name its state in the database), or --job NAME")
        feed = open_feed(settings)
        if not feed:
            fail("nothing to deliver to: give --sink URL or --changes FILE")
        state = _open_delivery_state(where, urls, settings.job)
    except (RunError, StateError) as exc:
        fail(str(exc), getattr(exc, "exit_code", EXIT_USAGE))
    summary = Summary()
    try:
        deliver_to(state, feed, summary)
    finally:
        for sink in feed:
            sink.close()
        state.close()
    if not settings.quiet:
        click.echo(format_delivery(summary, _state_name(where)), err=True)
    sys.exit(summary.exit_code)


def _open_delivery_state(
    where: Path | str, urls: tuple[str, ...], job: str | None = None
) -> CrawlState:
    """The crawl's state file, or its job in a PostgreSQL database (which must exist):
    named by --job, or by the crawl's URLs."""
    from .pipeline import default_state_path, seeds_of
    from .state.sqlite import SqliteState

    if isinstance(where, Path):
        return SqliteState(where)
    from .state.postgres import PostgresState

    state = PostgresState(where, job or default_state_path(seeds_of(urls)).stem)
    if not state.exists():
        state.close()
        named = f"job {job}" if job else " ".join(urls)
        fail(f"no crawl state for {named} on {state.name}: run `harvester crawl` first")
    return state


def _state_name(where: Path | str) -> str:
    """What the summary calls the state: never a database password."""
    if isinstance(where, Path):
        return str(where)
    from .state.postgres import host_name

    return host_name(where)


def run() -> None:
    """Console entry point: no traceback ever reaches the user."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        main(standalone_mode=True)
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # the last line of defence
        fail(_one_line(exc), EXIT_FATAL)


def _one_line(exc: Exception) -> str:
    """What went wrong, for an error that escaped the run (a full disk wherever it
    struck, a state file gone bad)."""
    from .output import OutputError
    from .warc import WarcError

    if isinstance(exc, OutputError | WarcError):
        return str(exc)
    if isinstance(exc, sqlite3.Error):
        return f"cannot use the crawl state: {exc}"
    return f"internal error: {type(exc).__name__}: {exc}"


def _terminated(signum: int, frame: Any) -> None:
    """SIGTERM (kill, a service manager) stops a run as Ctrl-C does: through whatever
    handles SIGINT now (asyncio's, during the crawl), even where SIGINT is ignored."""
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler):
        raise KeyboardInterrupt
    handler(signal.SIGINT, frame)


__all__ = ["main", "run"]

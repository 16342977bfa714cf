"""One run, end to end: fetch -> parse -> extract -> dedup -> emit, and its outputs.

`run(source, settings)` is the only owner of a run, for the command line and the library
alike: it opens the inputs and outputs, shows progress, writes the records, the redirect
map, the report and the change events, fills the summary, and puts the outputs in place
only when the run succeeds. Each stage lives in its own module; this one wires them.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .changes import Event
from .crawler import CrawlOptions, PageSource, TimeLimit, crawl
from .dedup import DedupOptions, DedupStats, Removal, build_records, distinct_qa
from .deliver import deliver, evidence_of, record_changes
from .fetch import FetchConfig, load_cookies, without_password
from .files import InputError, read_files, read_records
from .models import Page, QARecord, Record
from .output import (
    OutputError,
    RecordOutput,
    check_writable,
    format_for,
    open_output,
    write_atomic,
    write_redirects,
)
from .progress import Progress
from .report import Summary, format_summary
from .review import render_report
from .settings import BY_NAME, Settings
from .sinks import Sink, SinkError, open_sink, sink_name
from .sinks.file import FileSink
from .sitemaps import parse_date
from .state import CrawlState, EmitLog, MemoryEmitLog, MemoryState
from .state.sqlite import SqliteState, StateError
from .urls import MAX_URL_LENGTH, InvalidURL, Scope, host_of, normalize
from .warc import WarcError, WarcWriter

if TYPE_CHECKING:
    from .state.job import SharedJob

T = TypeVar("T")
INLINE_PAGES = 25  # without --workers, a crawl this small is read without a pool
EXIT_PARTIAL, EXIT_USAGE, EXIT_FATAL, EXIT_INTERRUPTED = 1, 2, 3, 130
STATE_DIR = Path("data") / "state"
Found = Record | QARecord | Event


@dataclass(frozen=True)
class Crawl:
    """Seed URLs: crawl their sites."""

    urls: list[str]


@dataclass(frozen=True)
class Files:
    """A saved copy: HTML files, folders, WARC captures."""

    paths: list[Path]


@dataclass(frozen=True)
class Records:
    """Records of another run or tool, as JSON Lines: deduplicate them."""

    paths: list[Path]


@dataclass(frozen=True)
class Exported:
    """A shared job's records, from its --state database (`harvester export`)."""

    job: str


Source = Crawl | Files | Records | Exported


class RunError(Exception):
    """A run that cannot start or did not finish: a one-line message and an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Stopped(RunError):
    """--max-time ended the crawl: a partial run, resumed by the same command."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_PARTIAL)


class PipeClosed(RunError):
    """stdout's reader went away (`| head`): not an error, the run just stops."""

    def __init__(self) -> None:
        super().__init__("stdout closed", 0)


def run(
    source: Source,
    settings: Settings,
    *,
    summary: Summary | None = None,
    collect: Callable[[Found], None] | None = None,
    changes: bool = False,
    console: bool = False,
) -> Summary:
    """Run the pipeline over `source`. Records (or, with `changes`, change events) go to
    the settings' outputs and to `collect`. With `console`, progress and the summary are
    shown on stderr unless the settings say quiet. Raises RunError."""
    summary = summary if summary is not None else Summary()
    job = _Job(source, settings, summary, collect, changes, console)
    with ExitStack() as cleanup:
        job.cleanup = cleanup
        try:
            job.start()
        except (OutputError, WarcError, StateError) as exc:
            job.abandon()  # an output, archive or state that cannot be used: bad input
            raise RunError(str(exc), EXIT_USAGE) from None
        try:
            job.read()
            job.write()
        except TimeLimit:
            job.abandon()  # as for Ctrl-C: the resumed run writes every output
            raise Stopped(job.stopped_message()) from None
        except KeyboardInterrupt:
            job.abandon()
            raise RunError(job.interrupted_message(), EXIT_INTERRUPTED) from None
        except (WarcError, InputError, StateError) as exc:
            job.abandon()
            code = EXIT_USAGE if isinstance(exc, InputError) else EXIT_FATAL
            raise RunError(str(exc), code) from None
        except OutputError as exc:
            job.abandon()
            if settings.output == "-" and _stdout_closed(exc):
                raise PipeClosed() from None
            raise RunError(str(exc), EXIT_FATAL) from None
        except BaseException:  # a RunError, or the library's caller who stopped reading
            job.abandon()
            raise
    job.announce()
    if summary.exit_code == EXIT_FATAL:
        first = summary.failures[0]
        raise RunError(f"nothing could be read: {first.url}: {first.message}", EXIT_FATAL)
    return summary


@dataclass
class _Job:
    """The pieces of one run, opened in order and closed in reverse by `cleanup`."""

    source: Source
    settings: Settings
    summary: Summary
    collect: Callable[[Found], None] | None
    changes: bool
    console: bool
    cleanup: ExitStack = field(default_factory=ExitStack)
    label: str = ""
    state: CrawlState | None = None
    output: RecordOutput | None = None
    progress: Progress | None = None
    pages: PageSource | list[Page] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    worker: SharedJob | None = None  # this process's part of a shared job
    store: SharedJob | None = None  # a shared job's records, for export
    finished_job: bool = False  # this worker finished the shared job
    feed: list[Sink] = field(default_factory=list)
    marks: list[tuple[str, str]] = field(default_factory=list)  # (id, content) written
    already: set[str] = field(default_factory=set)  # written by the interrupted run

    # --- opening ----------------------------------------------------------------------

    def start(self) -> None:
        """Everything that could fail is checked before anything is fetched."""
        s = self.settings
        for path in (s.report, s.redirects, s.explain):
            if path is not None:
                check_writable(str(path))
        if s.output is not None:
            check_writable_output(s.output, self._format())
        if isinstance(self.source, Crawl) and s.job is not None:
            self._start_worker(self.source)
        elif isinstance(self.source, Crawl):
            self._start_crawl(self.source)
        elif isinstance(self.source, Exported):
            self._start_export(self.source)
        else:
            self.label = " ".join(str(p) for p in self.source.paths)
            self.output = self._open_output(resume=False)

    def _format(self) -> str:
        return format_for(self.settings.output or "-", self.settings.format)

    def _start_crawl(self, source: Crawl) -> None:
        s = self.settings
        self.options = crawl_options(s)
        self.seeds = seeds_of(crawl_urls(source, s))
        self.label = " ".join(self.seeds)
        self.scope = _scope(self.seeds, s)
        self.feed = open_feed(s)
        self.cleanup.callback(_close_all, self.feed)
        self.warc = _open_warc(s.warc)
        if self.warc is not None:
            self.cleanup.callback(self.warc.close)
        self.state = self._open_state()
        self.cleanup.callback(self.state.close)
        self.begun = self.state.start(self.seeds)
        self.output = self._open_output(resume=self.begun.resumed)

    def _start_worker(self, source: Crawl) -> None:
        """A worker of a shared job: it joins the job's run, or begins one with its seeds;
        without seeds it crawls the job's."""
        from .state.job import JobDone

        s = self.settings
        self.options = crawl_options(s)
        self.worker = self._open_job(s.job or "")
        urls = crawl_urls(source, s)
        seeds = seeds_of(urls) if urls else []
        spec = {
            "allow_domain": list(s.allow_domain),
            "include": list(s.include),
            "exclude": list(s.exclude),
        }
        if s.fresh:
            self.worker.forget()  # the job's earlier runs, for every worker
        if not seeds:
            self.worker.wait_for_job(self._say)
        try:
            self.begun = self.worker.start(seeds, spec)
        except JobDone as exc:
            raise RunError(str(exc), 0) from None
        job_seeds, job_spec = self.worker.seeds_and_scope()
        if seeds and self.begun.resumed and set(seeds) - set(job_seeds):
            self._say(f"job {self.worker.job} is under way: this worker crawls its seeds")
        if self.begun.resumed or not seeds:
            seeds, spec = job_seeds, job_spec
            s = replace(
                s,
                allow_domain=tuple(spec.get("allow_domain", ())),
                include=tuple(spec.get("include", ())),
                exclude=tuple(spec.get("exclude", ())),
            )
        self.seeds, self.scope = seeds, _scope(seeds, s)
        self.label = f"job {self.worker.job}"
        self.feed = open_feed(s)
        self.cleanup.callback(_close_all, self.feed)
        self.warc = _open_warc(s.warc)
        if self.warc is not None:
            self.cleanup.callback(self.warc.close)
        self.state = self.worker
        self.output = self._open_output(resume=self.begun.resumed)

    def _say(self, message: str) -> None:
        if self.console and not self.settings.quiet:
            print(f"harvester: {message}", file=sys.stderr, flush=True)

    def _open_job(self, job: str) -> SharedJob:
        from .state.job import SharedJob, WorkerOptions, hosts_for

        s = self.settings
        if not isinstance(s.state, str):
            raise RunError(f"--job {job}: give --state postgresql://… (the job's database)")
        options = WorkerOptions(
            per_host=s.per_host,
            hosts=hosts_for(s.concurrency),
            lease=s.lease,
            stall_limit=s.stall_limit,
        )
        worker = SharedJob(s.state, job, options)
        self.cleanup.callback(worker.close)
        return worker

    def _start_export(self, source: Exported) -> None:
        """The job must be done: a job still crawling has no complete set to write."""
        from .state.job import SharedJob

        s = self.settings
        if not isinstance(s.state, str):
            raise RunError(f"--job {source.job}: give --state postgresql://… (the job's database)")
        self.store = SharedJob(s.state, source.job)
        self.cleanup.callback(self.store.close)
        self.label = f"job {source.job}"
        status = self.store.status()
        if status is None:
            raise RunError(f"no job {source.job!r} on {self.store.name}")
        if status != "done":
            left = len(self.store.frontier)
            raise RunError(
                f"job {source.job!r} is still crawling ({left} URLs left): wait for its "
                f"workers, or run `harvester work --job {source.job}` to finish it",
                EXIT_PARTIAL,
            )
        self.output = self._open_output(resume=False)

    def _open_state(self) -> CrawlState:
        s = self.settings
        if s.state is None and not self.console:
            return MemoryState()  # the library without a state file
        if isinstance(s.state, str):
            from .state.postgres import PostgresState  # psycopg only for a database

            return PostgresState(s.state, default_state_path(self.seeds).stem, fresh=s.fresh)
        path = s.state or default_state_path(self.seeds)
        if s.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return SqliteState(path)

    def _open_output(self, resume: bool) -> RecordOutput | None:
        if self.settings.output is None:
            return None
        return open_output(self._format(), self.settings.output, resume=resume)

    # --- reading ----------------------------------------------------------------------

    def read(self) -> None:
        crawling = isinstance(self.source, Crawl)
        quiet = self.settings.quiet or not self.console or not crawling
        self.progress = Progress(quiet, live=not _records_on_terminal(self.settings.output))
        self.cleanup.enter_context(self.progress)
        if isinstance(self.source, Crawl):
            self.pages = asyncio.run(
                crawl(
                    self.seeds,
                    self.options,
                    self.summary,
                    self.state,
                    self.scope,
                    self.begun,
                    self.warc,
                    self.progress,
                    site_done=self._site_done if self.worker is not None else None,
                )
            )
            if self.warc is not None:
                self.warc.close()
        elif isinstance(self.source, Files):
            self.pages = read_files(self.source.paths, self._base_url(), self.summary)
        elif isinstance(self.source, Records):
            self.pages = read_records(self.source.paths, self.summary)

    def _site_done(self, site: str) -> None:
        from .jobs import dedup_site

        assert self.worker is not None
        dedup_site(self.worker, site, dedup_options(self.settings))

    def _base_url(self) -> str | None:
        base = self.settings.base_url
        if base is None:
            return None
        try:
            return normalize(base)
        except InvalidURL:
            raise RunError(f"invalid --base-url {base!r}: give an absolute http(s) URL") from None

    # --- writing ----------------------------------------------------------------------

    def write(self) -> None:
        assert self.progress is not None
        self.progress.update(stage="deduplicating")
        records = list(self._records())
        if self.summary.exit_code == EXIT_FATAL:
            self.abandon()  # nothing was read: whatever the user has stays as it was
            return
        log = self.state.log if self.state is not None else MemoryEmitLog()
        if self.changes:
            self._emit_changes(records)
        elif self.settings.emit == "qa":
            found = distinct_qa(records)
            self.summary.qa = len(found)
            self._emit(found, log)
        if self.output is not None:
            # A page that failed this time is not gone: its earlier file stays.
            complete = not self.settings.only_changed and not self.summary.failures
            self.output.commit(complete=complete)
            with self.state.transaction() if self.state is not None else nullcontext():
                for record_id, content in self.marks:
                    log.mark(record_id, content)
        delivers = self.worker is None or self.finished_job  # a job's events: once
        if self.state is not None and not self.changes and delivers:
            self._record_and_deliver(records)
        self._side_outputs(records)
        if self.state is not None:
            self.state.run_done()

    def _records(self) -> Iterator[Record]:
        """Deduplicated records as they are made; page records are emitted at once."""
        stats = DedupStats()
        settings = self.settings
        explain = self.removals.append if settings.explain or settings.report else None
        log = self.state.log if self.state is not None else MemoryEmitLog()
        self.already = self.output.already if self.output is not None else set()
        streaming = settings.emit == "pages" and not self.changes
        count = 0
        for record in self._made(stats, explain):
            count += 1
            self.summary.qa += len(record.qa)
            if streaming:
                self._emit_one(record, log)
            yield record
        self.summary.records = count
        self.summary.repeats_removed += stats.repeats
        self.summary.template_removed += stats.template
        self.summary.aliases += stats.aliases
        self.summary.top_templates = stats.top_templates

    def _made(
        self, stats: DedupStats, explain: Callable[[Removal], None] | None
    ) -> Iterator[Record]:
        """The run's records: deduplicated here, or a shared job's from its store."""
        from .jobs import finish, job_records

        if self.worker is not None:
            requests = self.worker.stats.get("*").get("requests", 0)
            reached = requests >= self.settings.max_pages
            self.finished_job = finish(self.worker, dedup_options(self.settings), reached)
            return job_records(self.worker)
        if self.store is not None:
            return job_records(self.store)
        return build_records(self.pages, dedup_options(self.settings), stats, explain)

    def _emit(self, found: Iterable[Record | QARecord], log: EmitLog) -> None:
        for record in found:
            self._emit_one(record, log)

    def _emit_one(self, record: Record | QARecord, log: EmitLog) -> None:
        """Write a record unless an interrupted run already did, or (--only-changed) an
        earlier run wrote the same content. It counts as emitted once the output is in
        place (commit)."""
        content = record.content_hash()
        if record.id in self.already:
            self.marks.append((record.id, content))
            return
        if self.settings.only_changed and log.emitted(record.id) == content:
            self.summary.unchanged += 1
            return
        if self.output is not None:
            self.output.write(record)
        if self.collect is not None:
            self.collect(record)
        self.marks.append((record.id, content))
        if self.output is None and self.collect is None:
            return  # a shared job's worker: `harvester export` writes the records
        self.summary.written += 1
        if self.progress is not None:
            self.progress.update(stage="writing", written=self.summary.written)

    def _emit_changes(self, records: list[Record]) -> None:
        """The library's emit="changes": this run's events, recorded in the state."""
        store = self.state or MemoryState()
        evidence = evidence_of(
            self.summary.failures, store.pages.redirects(), self.summary.over_limit == 0
        )
        for event in record_changes(store, records, evidence):
            self.summary.changes[event.type] += 1
            if self.collect is not None:
                self.collect(event)

    def _side_outputs(self, records: list[Record]) -> None:
        s = self.settings
        if s.explain is not None:
            lines = (json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in self.removals)
            write_atomic(s.explain, "".join(lines))
        if s.redirects is not None:
            slugs = self.output.slugs if self.output is not None else None
            write_redirects(str(s.redirects), records, s.redirects_format, slugs or None)
        if s.report is not None:
            shown = distinct_qa(records) if s.emit == "qa" else records
            page = render_report(
                self.summary,
                [r.to_dict() for r in shown],
                [r.to_dict() for r in self.removals],
                source=self.label,
                emit=s.emit,
            )
            write_atomic(s.report, page)

    def _record_and_deliver(self, records: list[Record]) -> None:
        """The run's change events into the outbox (always: `deliver` may come later),
        then to this run's sinks."""
        assert self.state is not None
        state = self.state
        evidence = evidence_of(
            self.summary.failures, state.pages.redirects(), self.summary.over_limit == 0
        )
        self.summary.changes.update(e.type for e in record_changes(state, records, evidence))
        deliver_to(state, self.feed, self.summary)

    # --- ending -----------------------------------------------------------------------

    def abandon(self) -> None:
        """A run that did not finish: every output stays as the user had it (JSON Lines
        written so far waits in its .partial file for the resumed run)."""
        if self.output is not None:
            output, self.output = self.output, None
            output.abandon()

    def announce(self) -> None:
        if self.progress is not None:
            self.progress.__exit__()
        if self.console and not self.settings.quiet:
            target = self.settings.output or "-"
            if self.worker is not None and self.settings.output is None:
                target = f"none: `harvester export --job {self.worker.job}` writes them"
            text = format_summary(self.summary, self.label, target, self.settings.emit)
            print(text, file=sys.stderr, flush=True)

    def interrupted_message(self) -> str:
        if not isinstance(self.source, Crawl):
            return "interrupted"
        if self.settings.fresh:
            return "interrupted: run the same command without --fresh to resume"
        return "interrupted: run the same command again to resume"

    def stopped_message(self) -> str:
        again = "without --fresh" if self.settings.fresh else "again"
        return (
            f"stopped at the time limit (--max-time {self.settings.max_time:g} s): "
            f"run the same command {again} to resume"
        )


def _close_all(sinks: list[Sink]) -> None:
    for sink in sinks:
        sink.close()


def check_writable_output(target: str, fmt: str) -> None:
    """The records' target, checked before the run (a folder for markdown)."""
    if target != "-" and fmt != "markdown":
        check_writable(target)


def _records_on_terminal(target: str | None) -> bool:
    """Records on a terminal: a live progress line there would break their lines."""
    return target == "-" and sys.stdout.isatty()


def _stdout_closed(exc: OSError) -> bool:
    """Whether writing stdout failed because its reader is gone (`| head`)."""
    return exc.errno == errno.EPIPE


# --- settings into the stages' options ---------------------------------------------------


def crawl_options(settings: Settings) -> CrawlOptions:
    """The crawl's options; a request option that cannot be used is a RunError that
    never quotes a credential."""
    s = settings
    if s.sitemap_only and s.no_sitemaps:
        raise RunError("--sitemap-only fetches what the sitemaps list: leave out --no-sitemaps")
    fetch = stage_options(
        FetchConfig,
        s,
        headers=_headers(s.header),
        cookies=_cookies(s.cookies),
        auth=_auth(s.auth),
        proxy=_proxy(s.proxy),
    )
    return stage_options(
        CrawlOptions,
        s,
        sitemaps=not s.no_sitemaps,
        since=_since(s.since),
        workers=s.resolved_workers(),
        inline_first=INLINE_PAGES if s.workers is None else 0,
        fetch=fetch,
    )


def stage_options(kind: type[T], settings: Settings, **computed: Any) -> T:
    """A stage's options from the settings: each field named like a setting takes its
    value, so a new setting reaches its stage by its name alone; `computed` gives the
    fields whose values are made from settings."""
    named = {f.name for f in fields(kind)} & BY_NAME.keys()  # type: ignore[arg-type]
    values = {name: getattr(settings, name) for name in named - computed.keys()}
    return kind(**values, **computed)


PASSWORD_VARIABLE = "HARVESTER_PASSWORD"
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token


def _headers(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """-H 'Name: value'. An error names the header, never its value (it may be a token)."""
    pairs = []
    for text in values:
        name, colon, value = text.partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not HEADER_NAME.fullmatch(name):
            raise RunError("--header: give each header as 'Name: value'")
        if "\r" in value or "\n" in value:
            raise RunError(f"--header {name}: a value is one line")
        if name.lower() == "user-agent":
            raise RunError("--header User-Agent: use --user-agent, which robots.txt is read for")
        pairs.append((name, value))
    return tuple(pairs)


def _cookies(path: Path | None) -> CookieJar | None:
    if path is None:
        return None
    try:
        return load_cookies(path)
    except OSError as exc:
        raise RunError(f"--cookies {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise RunError(f"--cookies {path}: not a cookies.txt file: {exc}") from None


def _auth(value: str | None) -> tuple[str, str] | None:
    """USER:PASSWORD, or USER (or USER:) with the password in $HARVESTER_PASSWORD."""
    if value is None:
        return None
    user, _, password = value.partition(":")
    if not user:
        raise RunError(f"--auth: give USER:PASSWORD, or USER and set ${PASSWORD_VARIABLE}")
    password = password or os.environ.get(PASSWORD_VARIABLE, "")
    if not password:
        raise RunError(f"--auth {user}: set ${PASSWORD_VARIABLE} to the password")
    return user, password


def _proxy(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        shown = without_password(url)
        raise RunError(f"--proxy {shown}: give an http:// URL, e.g. http://proxy:3128")
    return url


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    when = parse_date(text)
    if when is None:
        raise RunError(f"--since {text}: give a date such as 2024-05-01 or 2024-05-01T12:00Z")
    return when


def dedup_options(settings: Settings) -> DedupOptions:
    return stage_options(DedupOptions, settings)


# --- inputs --------------------------------------------------------------------------


def crawl_urls(source: Crawl, settings: Settings) -> list[str]:
    """The URLs given, then those of --input-file."""
    path = settings.input_file
    if path is None:
        return list(source.urls)
    listed = read_url_list(path)
    if not listed and not source.urls:
        raise RunError(f"no URLs in {'stdin' if str(path) == '-' else path}")
    return [*source.urls, *listed]


def read_url_list(path: Path) -> list[str]:
    """URLs one a line ('-': stdin), as wget -i reads them; blank and # lines skipped."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text("utf-8-sig")
    except OSError as exc:
        raise RunError(f"--input-file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RunError(f"--input-file {path}: not UTF-8 text") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def map_site(source: Crawl, settings: Settings, found: Callable[[str], None]) -> Summary:
    """`harvester map`: each URL a crawl would fetch, to `found` as it is known: robots.txt,
    the scope and the sitemaps applied; pages fetched only for their links (with
    --sitemap-only, none), nothing extracted, written or kept."""
    seeds = seeds_of(crawl_urls(source, settings))
    options = replace(crawl_options(settings), listing=True, workers=0)
    summary = Summary()
    scope = _scope(seeds, settings)
    asyncio.run(crawl(seeds, options, summary, MemoryState(), scope, listed=found))
    return summary


def seeds_of(urls: Iterable[str]) -> list[str]:
    """Seed URLs, normalised; a path or a mangled URL is a usage error with a hint."""
    seeds = []
    for url in urls:
        if len(url) > MAX_URL_LENGTH:
            raise RunError(f"URL longer than {MAX_URL_LENGTH} characters: {url[:60]}…")
        try:
            seeds.append(normalize(url))
        except InvalidURL:
            hint = (
                f"; to read saved files, use `harvester extract {url}`"
                if Path(url).exists()
                else ""
            )
            raise RunError(
                f"invalid URL {url!r}: give an absolute http:// or https:// URL{hint}"
            ) from None
    if not seeds:
        raise RunError("give at least one URL")
    return seeds


def _scope(seeds: list[str], settings: Settings) -> Scope:
    s = settings
    try:
        return Scope.from_seeds(seeds, list(s.allow_domain), list(s.include), list(s.exclude))
    except re.error as exc:
        raise RunError(f"invalid regular expression {exc.pattern!r}: {exc}") from None


def default_state_path(seeds: list[str]) -> Path:
    """One state file per crawl (its sorted seeds), named after the first host."""
    digest = hashlib.sha256("\n".join(sorted(seeds)).encode()).hexdigest()[:10]
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", host_of(seeds[0]))[:60] or "site"
    return STATE_DIR / f"{host}-{digest}.sqlite"


def _open_warc(path: Path | None) -> WarcWriter | None:
    return WarcWriter(path) if path is not None else None


def open_feed(settings: Settings) -> list[Sink]:
    """The sinks of this run, opened (and checked) before anything is crawled."""
    opened: list[Sink] = [FileSink(settings.changes)] if settings.changes is not None else []
    for url in settings.sink:
        try:
            opened.append(open_sink(url, batch=settings.sink_batch))
        except SinkError as exc:
            _close_all(opened)
            raise RunError(f"--sink {sink_name(url)}: {exc}") from None
    return opened


def deliver_to(state: CrawlState, feed: list[Sink], summary: Summary) -> None:
    """Pending change events to each sink, from where it stopped."""
    done = deliver(state, feed)
    summary.delivered.update(done.delivered)
    summary.dead_letters += done.dead
    summary.sink_errors.update(done.errors)


__all__ = [
    "Crawl",
    "Exported",
    "Files",
    "Records",
    "RunError",
    "Settings",
    "Source",
    "Summary",
    "crawl_options",
    "crawl_urls",
    "dedup_options",
    "default_state_path",
    "map_site",
    "run",
]

"""Every user-facing setting, once: its name, type, default, help and the commands that
take it.

The command line builds its options from this model, the config file's keys are the
flags' own names (`max-pages`, `format`, `allow-domain`), and the library's keyword
arguments are the same names with underscores. A default is written here and nowhere
else; the stages' own option classes take theirs from `DEFAULTS`.

This module stays light (no parser, no HTTP client): the command line imports it to
answer `--help` and `--version` quickly.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import click

from . import __version__

CRAWL, EXTRACT, DEDUP, DELIVER, MAP = "crawl", "extract", "dedup", "deliver", "map"
WORK, EXPORT = "work", "export"  # a shared job's worker, and its records written out
RUNS = (CRAWL, EXTRACT, DEDUP)  # the commands that produce records
WRITES = (*RUNS, EXPORT)  # the commands that write records
DEDUPS = (*RUNS, WORK)  # the commands that deduplicate pages
COMMANDS = (*RUNS, MAP, DELIVER, WORK, EXPORT)
REACH = (CRAWL, MAP)  # what a crawl may request: `map` lists it
FETCHES = (*REACH, WORK)  # how requests are made: each worker of a job says
WORKS = (CRAWL, WORK)  # what a crawling process does
FORMATS = ("jsonl", "json", "csv", "markdown")
REDIRECT_FORMATS = ("csv", "nginx", "apache", "netlify")
EMITS = ("pages", "qa")
F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_USER_AGENT = f"harvester/{__version__} (+https://pypi.org/project/harvester/)"


class SettingError(ValueError):
    """A setting that does not exist, or a value it does not allow: one line."""


class FiniteFloat(click.FloatRange):
    """A float flag that refuses nan and inf: no comparison holds for nan, so a range
    check lets it through, and an infinite delay or timeout never ends."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class Duration(FiniteFloat):
    """Seconds, or a number with a unit: 90, 90s, 15m, 2h."""

    UNITS: ClassVar[dict[str, float]] = {"": 1, "s": 1, "m": 60, "h": 3600}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", value.lower())
            if match is None:
                self.fail(f"{value!r} is not a duration such as 90, 90s, 15m or 2h.", param, ctx)
            value = float(match[1]) * self.UNITS[match[2]]
        return super().convert(value, param, ctx)


def default_workers() -> int:
    """One worker per core but one: the event loop needs a core too."""
    return max(1, (os.cpu_count() or 2) - 1)


def _setting(
    default: Any,
    help: str,
    *,
    type: click.ParamType[Any] | None = None,
    commands: tuple[str, ...] = RUNS,
    short: str | None = None,
    metavar: str | None = None,
    flag: bool = False,
    multiple: bool = False,
    library: Any = MISSING,
) -> Any:
    """One setting. `library` is the library's default where it must differ from the
    command line's (a library call writes no file and starts no process unless asked)."""
    meta = {
        "help": help,
        "type": type,
        "commands": commands,
        "short": short,
        "metavar": metavar,
        "flag": flag,
        "multiple": multiple,
        "library": library,
    }
    return field(default=default, metadata=meta)


class StateLocation(click.Path):
    """A state file's path, or a `postgresql://` URL kept as text: one setting, two
    backends, told apart here once."""

    name = "path or URL"

    def __init__(self) -> None:
        super().__init__(path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if state_url(value):
            return value
        return super().convert(value, param, ctx)


def state_url(value: object) -> bool:
    """Whether a `--state` value names a PostgreSQL database rather than a file."""
    if not isinstance(value, str) or "://" not in value:
        return False
    return value.split("://", 1)[0].lower() in ("postgresql", "postgres")


_PATH = click.Path(path_type=Path)
_FILE = click.Path(path_type=Path, dir_okay=False)
_FEED = (CRAWL, DELIVER)


@dataclass(frozen=True)
class Settings:
    """The settings of one run. Field names are the flags' names with underscores."""

    # --- output -------------------------------------------------------------------------
    output: str | None = _setting(
        "-",
        "Where to write the records: a file ('-' is stdout), or a folder for markdown. "
        "A file is replaced only when the run succeeds; until then the previous one "
        "stays as it was.",
        short="-o",
        metavar="PATH",
        library=None,
        commands=WRITES,
    )
    format: str | None = _setting(
        None,
        "jsonl: one JSON object per line; json: one array; csv: one row per Q&A, with "
        "the page text; markdown: a folder of .md pages with front matter, ready for Hugo "
        "[default: from the -o extension (.json, .csv, a folder), else jsonl].",
        type=click.Choice(FORMATS),
        commands=WRITES,
    )
    emit: str = _setting(
        "pages",
        "'pages': one record per distinct page; 'qa': one record per distinct question "
        "and answer across the site, with every page it is on.",
        type=click.Choice(EMITS),
        commands=WRITES,
    )
    only_changed: bool = _setting(
        False,
        "Write only the records that are new or changed since the last run, instead of "
        "the complete current set.",
        commands=(CRAWL,),
        flag=True,
    )
    redirects: Path | None = _setting(
        None,
        "Write the 301 map of every old address to its record's new one.",
        type=_FILE,
        metavar="FILE",
        commands=WRITES,
    )
    redirects_format: str = _setting(
        "csv",
        "Form of the --redirects map: csv (from,to,status), nginx (an include file), "
        "apache (.htaccess) or netlify (_redirects).",
        type=click.Choice(REDIRECT_FORMATS),
        commands=WRITES,
    )
    report: Path | None = _setting(
        None,
        "Write one self-contained HTML page to review the run: summary, searchable "
        "records, template blocks, duplicate clusters, errors, and per record what was "
        "kept and what was removed.",
        type=_FILE,
        metavar="FILE.html",
        commands=WRITES,
    )
    explain: Path | None = _setting(
        None,
        "Write every removal as JSON Lines: the record, the text removed and why "
        "(template: seen on N pages; repeat: copy of a kept block; duplicate-page: "
        "folded into URL U, similarity s).",
        type=_FILE,
        metavar="FILE",
    )
    quiet: bool = _setting(
        False,
        "No progress and no summary on stderr; errors are still reported.",
        commands=COMMANDS,
        short="-q",
        flag=True,
    )
    # --- dedup --------------------------------------------------------------------------
    similarity: float = _setting(
        0.9,
        "Pages whose text is at least this similar (Jaccard of word shingles) become one record.",
        type=FiniteFloat(0.5, 1.0),
        commands=DEDUPS,
    )
    num_perm: int = _setting(
        128,
        "MinHash permutations: more is more exact and slower.",
        type=click.IntRange(16, 1024),
        commands=DEDUPS,
    )
    shingle_size: int = _setting(
        3,
        "Words per shingle when comparing page texts.",
        type=click.IntRange(1, 10),
        commands=DEDUPS,
    )
    template_min_pages: int = _setting(
        3,
        "A block is template only if it recurs on at least this many pages...",
        type=click.IntRange(min=2),
        commands=DEDUPS,
    )
    template_min_share: float = _setting(
        0.25,
        "...and on at least this share of the site's pages.",
        type=FiniteFloat(0.0, 1.0),
        commands=DEDUPS,
    )
    # --- crawl --------------------------------------------------------------------------
    max_pages: int = _setting(
        10_000,
        "Stop after requesting this many URLs.",
        type=click.IntRange(min=1),
        commands=FETCHES,
    )
    max_depth: int | None = _setting(
        None,
        "Follow links at most this many clicks from a seed [default: no limit].",
        type=click.IntRange(min=0),
        commands=FETCHES,
    )
    concurrency: int = _setting(
        8,
        "Requests in flight at once, over all hosts.",
        type=click.IntRange(1, 256),
        commands=FETCHES,
    )
    per_host: int = _setting(
        2,
        "Requests in flight at once to one host.",
        type=click.IntRange(1, 64),
        commands=FETCHES,
    )
    delay: float = _setting(
        0.5,
        "Seconds between two requests to one host; 0 for none. A larger robots.txt "
        "Crawl-delay wins, and the crawler slows down by itself when the server answers "
        "429/503 or gets slower.",
        type=FiniteFloat(min=0),
        commands=FETCHES,
    )
    retries: int = _setting(
        3,
        "Retries for timeouts, connection errors, 429 and 5xx (other 4xx: none).",
        type=click.IntRange(0, 10),
        commands=FETCHES,
    )
    timeout: float = _setting(
        20.0,
        "Seconds to wait for a connection, or for the next bytes of a response.",
        type=FiniteFloat(min=0.1),
        commands=FETCHES,
    )
    deadline: float = _setting(
        120.0,
        "Seconds one request may take in all, however steadily the server drips bytes: "
        "a page over it fails, a robots.txt over it closes its host.",
        type=FiniteFloat(min=0.1),
        commands=FETCHES,
    )
    max_bytes: int = _setting(
        10 * 1024 * 1024,
        "Largest response body read, after decompression.",
        type=click.IntRange(min=1024),
        commands=FETCHES,
    )
    user_agent: str = _setting(
        DEFAULT_USER_AGENT,
        "User-Agent header; its first word is the name matched in robots.txt.",
        commands=FETCHES,
    )
    allow_domain: tuple[str, ...] = _setting(
        (),
        "Also crawl this domain and its subdomains (repeatable).",
        commands=REACH,
        metavar="DOMAIN",
        multiple=True,
    )
    include: tuple[str, ...] = _setting(
        (),
        "Only follow URLs matching one of these (repeatable).",
        commands=REACH,
        metavar="REGEX",
        multiple=True,
    )
    exclude: tuple[str, ...] = _setting(
        (),
        "Never follow URLs matching any of these (repeatable).",
        commands=REACH,
        metavar="REGEX",
        multiple=True,
    )
    max_per_template: int = _setting(
        50,
        "Trap guard: URLs that differ only in digits (e.g. /calendar/2031-05/) and link "
        "to each other are followed at most this many times.",
        type=click.IntRange(min=1),
        commands=FETCHES,
    )
    max_query_variants: int = _setting(
        50,
        "Trap guard: distinct query strings followed per path.",
        type=click.IntRange(min=1),
        commands=FETCHES,
    )
    workers: int | None = _setting(
        None,
        "Processes that parse and extract pages while the crawler fetches; 0 does it in "
        "the crawling process [default: one per core but one, started once a crawl is "
        "larger than a small site; the library: 0].",
        type=click.IntRange(0, 64),
        commands=WORKS,
        library=0,
    )
    ignore_robots: bool = _setting(
        False,
        "Do not read robots.txt (only for sites you may crawl regardless). By default a "
        "disallowed URL is never requested, and a robots.txt that answers 5xx or not at "
        "all stops the crawl of that host until it answers.",
        commands=FETCHES,
        flag=True,
    )
    no_sitemaps: bool = _setting(
        False,
        "Do not read sitemaps (robots.txt Sitemap: lines and /sitemap.xml).",
        commands=REACH,
        flag=True,
    )
    render: str = _setting(
        "never",
        "Run pages' JavaScript in headless Chromium before reading them: 'auto' only for "
        "pages that look like an empty client-side app (little text, and an empty root "
        "element, a noscript warning or a script bundle without content), 'always' for "
        "every page. Needs Debian's chromium package.",
        type=click.Choice(("never", "auto", "always")),
        commands=WORKS,
    )
    warc: Path | None = _setting(
        None,
        "Also archive every request and response in this WARC file (.warc.gz to "
        "compress); `harvester extract FILE` processes it again offline.",
        type=_PATH,
        commands=WORKS,
        metavar="FILE",
    )
    state: Path | str | None = _setting(
        None,
        "Crawl state for resuming and incremental runs: a SQLite file, or a "
        "postgresql:// URL shared by many crawls "
        "[default: data/state/<site>-<hash>.sqlite; the library: in memory].",
        type=StateLocation(),
        commands=(CRAWL, DELIVER, WORK, EXPORT),
        metavar="FILE|URL",
    )
    fresh: bool = _setting(
        False,
        "Forget the state of earlier runs of this crawl and start over.",
        commands=(CRAWL,),
        flag=True,
    )
    max_time: float | None = _setting(
        None,
        "Stop the crawl after this long (90, 90s, 15m, 2h), as Ctrl-C does: the outputs stay "
        "as they were, and the same command resumes it. Exit code 1.",
        type=Duration(min=1),
        commands=WORKS,
        metavar="DURATION",
    )
    # --- a job shared by many workers ---------------------------------------------------
    job: str | None = _setting(
        None,
        "Share this crawl as job NAME in the --state database: any number of `harvester "
        "crawl --job NAME` and `harvester work --job NAME` processes, on any machines, "
        "crawl it together, each host by one worker at a time. Records are written by "
        "`harvester export --job NAME`, and by `crawl` when the job is done.",
        commands=(CRAWL, WORK, EXPORT, DELIVER),
        metavar="NAME",
    )
    lease: float = _setting(
        30.0,
        "Seconds a worker's hold on a host lasts without a heartbeat: a worker that died "
        "gives its hosts (and the URLs it had in flight) to the others after this long.",
        type=FiniteFloat(min=1),
        commands=WORKS,
    )
    stall_limit: int = _setting(
        3,
        "A URL that was in flight with this many workers that died counts as failed "
        "instead of being tried again.",
        type=click.IntRange(min=1),
        commands=WORKS,
    )
    # --- requests -----------------------------------------------------------------------
    header: tuple[str, ...] = _setting(
        (),
        "Send this header with every request, e.g. 'Accept-Language: fr' (repeatable). "
        "The value of a header named like a credential (Authorization, Cookie, *Token*, "
        "*Api-Key*, *Secret*) is archived as [redacted].",
        commands=FETCHES,
        short="-H",
        metavar="'NAME: VALUE'",
        multiple=True,
    )
    cookies: Path | None = _setting(
        None,
        "Send the cookies of this Netscape cookies.txt file (as curl -c, wget "
        "--save-cookies and browser extensions write it), session cookies included.",
        type=_FILE,
        commands=FETCHES,
        metavar="FILE",
    )
    auth: str | None = _setting(
        None,
        "HTTP basic auth for the crawl's hosts: USER:PASSWORD, or USER (or USER:) to read "
        "the password from $HARVESTER_PASSWORD, which keeps it out of the process list "
        "and the shell history.",
        commands=FETCHES,
        metavar="USER[:PASSWORD]",
    )
    proxy: str | None = _setting(
        None,
        "Send every request through this HTTP proxy, e.g. http://user:password@proxy:3128 "
        "[default: $HTTPS_PROXY, $HTTP_PROXY or $ALL_PROXY, except for $NO_PROXY hosts].",
        commands=FETCHES,
        metavar="URL",
    )
    # --- inputs and modes ---------------------------------------------------------------
    input_file: Path | None = _setting(
        None,
        "Also start from the URLs in FILE, one a line ('-' for stdin; blank lines and "
        "lines starting with # are skipped). With --max-depth 0 only they are fetched.",
        type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
        commands=REACH,
        short="-i",
        metavar="FILE",
    )
    sitemap_only: bool = _setting(
        False,
        "Fetch only the pages the sitemaps list (robots.txt Sitemap: lines and "
        "/sitemap.xml): no link is followed, and the start URLs only name the sites.",
        commands=REACH,
        flag=True,
    )
    since: str | None = _setting(
        None,
        "Skip sitemap entries whose <lastmod> is older than this date (2024-05-01, or a "
        "time such as 2024-05-01T12:00:00Z); entries without <lastmod> are kept. With "
        "--sitemap-only, only what changed since is fetched.",
        commands=REACH,
        metavar="DATE",
    )
    # --- feeding other systems ----------------------------------------------------------
    changes: Path | None = _setting(
        None,
        "Append the change events (created, updated with the fields that changed, "
        "deleted with why) to FILE as JSON Lines, each event once.",
        type=_FILE,
        commands=_FEED,
        metavar="FILE",
    )
    sink: tuple[str, ...] = _setting(
        (),
        "Deliver the change events to URL, from where it stopped last: postgresql://… "
        "(records and qa tables), https://… (Standard Webhooks, signed with the secret "
        "in $HARVESTER_WEBHOOK_SECRET), file://…jsonl. Repeatable.",
        commands=_FEED,
        metavar="URL",
        multiple=True,
    )
    sink_batch: int = _setting(
        100, "Events per webhook message.", type=click.IntRange(1, 10_000), commands=_FEED
    )
    # --- reading saved copies -----------------------------------------------------------
    base_url: str | None = _setting(
        None,
        "The URL the given folder was saved from, so that records carry the site's URLs "
        "(folder/index.html becomes URL/folder/).",
        commands=(EXTRACT,),
        metavar="URL",
    )

    def resolved_workers(self) -> int:
        return default_workers() if self.workers is None else self.workers

    @classmethod
    def of(cls, values: Mapping[str, Any], where: str) -> Settings:
        """Settings from names and raw values (a config file, keyword arguments), each
        checked as its flag would be; an error names `where`, the key and what is allowed."""
        return replace(cls(), **checked(values, where))

    @classmethod
    def for_library(cls, values: Mapping[str, Any]) -> Settings:
        """The library's settings: its own defaults, then the caller's keyword arguments."""
        base = {
            s.name: s.metadata["library"] for s in SETTINGS if s.metadata["library"] is not MISSING
        }
        return replace(cls(**base), **checked(values, "harvest()"))


SETTINGS = tuple(fields(Settings))
BY_NAME = {s.name: s for s in SETTINGS}
DEFAULTS = Settings()


def key_of(name: str) -> str:
    """A setting's flag and config key: `max_pages` -> `max-pages`."""
    return name.replace("_", "-")


def name_of(key: str) -> str:
    return key.replace("-", "_")


def checked(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Values converted by their settings' types, or SettingError in one line."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        name = name_of(key)
        if name not in BY_NAME:
            raise SettingError(f"{where}: unknown setting {key!r}{_did_you_mean(key)}")
        result[name] = convert(name, value, f"{where}: {key}")
    return result


def convert(name: str, value: Any, where: str) -> Any:
    """One value, as the flag's type reads it (None is "unset" where the default is)."""
    setting = BY_NAME[name]
    meta = setting.metadata
    if value is None and setting.default is None:
        return None
    if meta["multiple"]:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise SettingError(f"{where}: give a list, e.g. [{toml_value(value)}]")
        return tuple(_one(name, v, where) for v in value)
    return _one(name, value, where)


def _one(name: str, value: Any, where: str) -> Any:
    meta = BY_NAME[name].metadata
    if isinstance(value, list | tuple | dict) or value is None:
        raise SettingError(f"{where}: one value, not {toml_value(value)}")
    if meta["flag"]:
        if not isinstance(value, bool):
            raise SettingError(f"{where}: {toml_value(value)} is not true or false")
        return value
    kind = meta["type"]
    if kind is None:
        if not isinstance(value, str):
            raise SettingError(f"{where}: {toml_value(value)} is not a string")
        return value
    if isinstance(value, bool):  # TOML true is not the number 1
        raise SettingError(f"{where}: {toml_value(value)} is not {allowed(name)}")
    try:
        return kind.convert(value, None, None)
    except click.BadParameter:
        raise SettingError(f"{where}: {toml_value(value)} is not {allowed(name)}") from None
    except (TypeError, ValueError):
        raise SettingError(f"{where}: {toml_value(value)} is not {allowed(name)}") from None


def allowed(name: str) -> str:
    """What a setting takes, in words: "one of csv, nginx", "an integer from 1 to 64"."""
    kind = BY_NAME[name].metadata["type"]
    if isinstance(kind, click.Choice):
        return "one of " + ", ".join(str(c) for c in kind.choices)
    if isinstance(kind, Duration):
        return "a duration such as 90, 90s, 15m or 2h"
    if isinstance(kind, click.IntRange | click.FloatRange):
        noun = "an integer" if isinstance(kind, click.IntRange) else "a number"
        low, high = kind.min, kind.max
        if low is not None and high is not None:
            return f"{noun} from {low} to {high}"
        if low is not None:
            return f"{noun} of at least {low}"
        return f"{noun} of at most {high}"
    if isinstance(kind, click.Path):
        return "a path"
    return "a valid value"


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key_of(key), [key_of(s.name) for s in SETTINGS], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def toml_value(value: Any) -> str:
    """A value as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{...}"
    if value is None:
        return "nothing"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def options_for(command: str) -> list[click.Option]:
    """The click options of `command`, from the model."""
    return [_option(s) for s in SETTINGS if command in s.metadata["commands"]]


def _option(setting: Any) -> click.Option:
    meta = setting.metadata
    decls = [f"--{key_of(setting.name)}"] + ([meta["short"]] if meta["short"] else [])
    show = setting.default not in (None, (), False)
    return click.Option(
        [*decls, setting.name],
        type=None if meta["flag"] else meta["type"],
        default=setting.default,
        is_flag=meta["flag"],
        multiple=meta["multiple"],
        metavar=meta["metavar"],
        show_default=show,
        help=meta["help"],
    )


def with_options(command: str) -> Callable[[F], F]:
    """Decorator: add the model's options of `command` to a click command function."""

    def add(func: F) -> F:
        params = getattr(func, "__click_params__", [])
        params.extend(reversed(options_for(command)))
        func.__click_params__ = params  # type: ignore[attr-defined]
        return func

    return add


def from_command(values: Mapping[str, Any]) -> Settings:
    """Settings from a command's parsed options (click has already checked them)."""
    return replace(DEFAULTS, **{k: v for k, v in values.items() if k in BY_NAME})


def reference_table() -> str:
    """The README's table of settings, made from the model (a test keeps them equal)."""
    rows = ["| flag / key | commands | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        meta = setting.metadata
        flag = f"`--{key_of(setting.name)}`" + (f", `{meta['short']}`" if meta["short"] else "")
        default = setting.default
        shown = "" if default in (None, ()) else f"`{toml_value(default)}`"
        if meta["library"] is not MISSING:
            library = "nothing" if meta["library"] is None else toml_value(meta["library"])
            shown += f" (library: {library})"
        commands = ", ".join(meta["commands"])
        meaning = meta["help"].split(". ")[0].rstrip(".").replace("|", "\\|")
        rows.append(f"| {flag} | {commands} | {shown.strip()} | {meaning} |")
    return "\n".join(rows) + "\n"

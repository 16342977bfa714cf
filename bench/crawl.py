"""Crawl speed and memory: harvester's full pipeline against a Scrapy spider, same run, same site.

A synthetic legacy-clinic site (bench/sitegen.py) is served from its own process; each
crawler runs as a child process in its own session, so its CPU time and peak RSS are its
own and its worker processes' (wait4 rusage, plus /proc samples of the session).
The machine is shared and figures are noisy: the ratios within one run are what count.
Prints a table and writes the "crawl" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.metadata
import importlib.util
import itertools
import json
import os
import platform
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from _results import update_section
from sitegen import PRIVATE_EVERY, QA_EVERY, Site

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
CONCURRENCY = 16
SPEED_GOAL, MEMORY_GOAL = 1.5, 2.0


def require_scrapy() -> None:
    """Scrapy is the peer and a bench-only dependency: say how to get it, not a traceback."""
    if importlib.util.find_spec("scrapy") is None:
        sys.exit("bench/crawl.py: Scrapy (the peer) is not installed: pip install scrapy")


@dataclass
class Run:
    crawler: str
    size: int
    wall_s: float
    cpu_s: float
    rss_mib: float
    exit_code: int
    pages: int  # site pages the server served to this crawler
    private: int  # pages under robots-disallowed /private/ it fetched anyway
    robots: int
    records: int  # lines in the crawler's output
    server_cpu_s: float
    fetch_s: float  # from start to the server's last request
    fetch_rss_mib: float  # peak of the RSS samples taken until then
    killed: bool  # at the timeout: its figures are not a result
    log: str
    command: str  # as run, with the temporary folder and port spelled generically

    @property
    def html(self) -> int:
        return self.pages + self.private

    @property
    def pages_per_s(self) -> float:
        return self.html / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_s / self.html if self.html else float("nan")


class SiteServer:
    """The site's HTTP server in a separate process, always terminated on exit."""

    def __init__(self, pages: int) -> None:
        self.pages = pages
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> SiteServer:
        cmd = [PYTHON, str(HERE / "sitegen.py"), "serve", "--pages", str(self.pages)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, start_new_session=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("the site server did not start")
        self.port = int(line)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stats(self, reset: bool = False) -> dict[str, float]:
        query = "?reset=1" if reset else ""
        with urllib.request.urlopen(f"{self.url}__stats{query}", timeout=10) as response:
            data: dict[str, float] = json.load(response)
            return data


async def _client(port: int, paths: Iterator[str], deadline: float) -> tuple[int, int]:
    """One keep-alive connection fetching paths from the shared iterator until it runs out."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    count = size = 0
    try:
        for path in paths:
            if time.monotonic() > deadline:
                break
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            found = re.search(rb"content-length:\s*(\d+)", head, re.I)
            length = int(found.group(1)) if found else 0
            await reader.readexactly(length)
            count, size = count + 1, size + length
    finally:
        writer.close()
    return count, size


async def _load(port: int, paths: list[str], seconds: float) -> tuple[int, int, float]:
    started = time.monotonic()
    shared = iter(paths)
    clients = [_client(port, shared, started + seconds) for _ in range(CONCURRENCY)]
    results = await asyncio.wait_for(asyncio.gather(*clients), seconds + 10)
    elapsed = time.monotonic() - started
    return sum(r[0] for r in results), sum(r[1] for r in results), elapsed


def server_throughput(server: SiteServer, requests: int = 3000, seconds: float = 15) -> float:
    """The server alone, against one client process: pages/s it can serve."""
    site = Site(server.pages)
    paths = [site.path(i % server.pages) for i in range(requests)]
    count, size, elapsed = asyncio.run(_load(server.port, paths, seconds))
    rate = count / elapsed
    print(
        f"server alone ({server.pages} pages): {rate:.0f} pages/s, "
        f"{size / elapsed / 2**20:.0f} MiB/s ({count} requests, {CONCURRENCY} connections)",
        flush=True,
    )
    return rate


@dataclass
class Child:
    """One finished crawler process: the kernel's account of it (wait4) and RSS samples."""

    wall_s: float
    cpu_s: float
    rss_mib: float
    exit_code: int
    started_at: float  # wall clock, to line up with the server's clock
    samples: list[tuple[float, float]]  # (wall clock, RSS MiB)
    killed: bool  # at the timeout

    def rss_until(self, moment: float) -> float:
        return max((rss for at, rss in self.samples if at <= moment), default=0.0)


def rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) / 1024 if found else None


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20


def session_usage(session: int) -> dict[int, tuple[float, float]]:
    """CPU seconds and RSS MiB of every process in a session: the crawler and the worker
    processes it starts (which wait4 on the crawler alone does not count)."""
    found: dict[int, tuple[float, float]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session:  # fields[3] is the session id
            cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            found[int(stat.parent.name)] = (cpu, int(fields[21]) * PAGE_MIB)
    return found


def run_child(cmd: list[str], log: Path, timeout: float) -> Child:
    """Run one crawler to the end (or kill it at the timeout) and measure it alone."""
    samples: list[tuple[float, float]] = []
    group_cpu: dict[int, float] = {}  # per process of the crawler's session, last seen
    with log.open("wb") as out:
        started, started_at = time.monotonic(), time.time()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=HERE.parent
        )
    reaped = killed = False
    try:
        for tick in itertools.count():
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                killed = True
                print(f"  killed after {timeout:.0f} s: {' '.join(cmd)}", flush=True)
                break
            if tick % 5 == 0:
                usage_now = session_usage(proc.pid)
                for member, (member_cpu, _) in usage_now.items():
                    group_cpu[member] = max(group_cpu.get(member, 0.0), member_cpu)
                if usage_now:
                    samples.append((time.time(), sum(rss for _, rss in usage_now.values())))
            time.sleep(0.05)
        reaped = True
        wall = time.monotonic() - started
    finally:
        if not reaped:
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    own_cpu = usage.ru_utime + usage.ru_stime
    helpers = sum(cpu for member, cpu in group_cpu.items() if member != proc.pid)
    cpu = own_cpu + helpers  # worker processes' CPU, sampled, on top of the crawler's own
    rss = max([usage.ru_maxrss / 1024] + [group for _, group in samples])
    return Child(wall, cpu, rss, proc.returncode, started_at, samples, killed)


def harvester_cmd(url: str, out: Path, size: int, work: Path) -> list[str]:
    cmd = [PYTHON, "-m", "harvester", "crawl", url, "-o", str(out), "--delay", "0"]
    cmd += ["--concurrency", str(CONCURRENCY), "--max-pages", str(size + 100)]
    flags = harvester_flags()
    if "--state" in flags:
        cmd += ["--state", str(work / "state.sqlite")]  # a fresh crawl, not an incremental one
    if "--per-host" in flags:
        cmd += ["--per-host", str(CONCURRENCY)]
    return cmd


@functools.cache
def harvester_flags() -> set[str]:
    """The crawl command's flags, read once, so the bench keeps up with the CLI."""
    help_text = subprocess.run(
        [PYTHON, "-m", "harvester", "crawl", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=HERE.parent,
    ).stdout
    return set(re.findall(r"--[a-z][a-z-]+", help_text))


def scrapy_cmd(url: str, out: Path, size: int) -> list[str]:
    return [
        PYTHON,
        "-m",
        "scrapy",
        "runspider",
        str(HERE / "scrapy_spider.py"),
        "-a",
        f"start_url={url}",
        "-s",
        f"CLOSESPIDER_PAGECOUNT={size + 100}",
        "-O",
        f"{out}:jsonlines",
    ]


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def crawl_once(
    name: str, cmd: list[str], out: Path, server: SiteServer, work: Path, timeout: float
) -> Run:
    print(f"  {name}: {' '.join(cmd)}", flush=True)
    log = work / f"{name}.log"
    server.stats(reset=True)
    before = server.stats()["cpu_s"]
    child = run_child(cmd, log, timeout)
    stats = server.stats()
    result = Run(
        crawler=name,
        size=server.pages,
        wall_s=child.wall_s,
        cpu_s=child.cpu_s,
        rss_mib=child.rss_mib,
        exit_code=child.exit_code,
        pages=int(stats["pages"]),
        private=int(stats["private"]),
        robots=int(stats["robots"]),
        records=count_lines(out),
        server_cpu_s=stats["cpu_s"] - before,
        fetch_s=max(stats["last_at"] - child.started_at, 0.0),
        fetch_rss_mib=child.rss_until(stats["last_at"]),
        killed=child.killed,
        log=log.read_text("utf-8", "replace")[-2000:],
        command=" ".join(cmd[1:])
        .replace(str(work), "<tmp>")
        .replace(server.url, "http://127.0.0.1:PORT/")
        .replace(str(HERE), "bench"),
    )
    wall, cpu, rss, code = child.wall_s, child.cpu_s, child.rss_mib, child.exit_code
    print(
        f"    {wall:.1f} s, {result.pages_per_s:.1f} pages/s, CPU {cpu:.1f} s "
        f"({cpu / wall:.0%} of one core), peak RSS {rss:.0f} MiB, exit {code}, "
        f"{result.pages} pages + {result.private} /private/, {result.records} records",
        flush=True,
    )
    if code != 0:
        print("    its output ends:\n" + result.log[-800:], flush=True)
    return result


def bench_size(size: int, work: Path, timeout: float) -> tuple[list[Run], float, float]:
    """Both crawlers against one server; also the server's own speed and mean page size."""
    print(f"site of {size} pages", flush=True)
    with SiteServer(size) as server:
        alone = server_throughput(server)
        stats = server.stats(reset=True)
        mean_kb = stats["page_bytes"] / stats["pages"] / 1000
        runs = []
        for name in ("harvester", "scrapy"):
            folder = work / f"{name}-{size}"
            folder.mkdir()
            out = folder / "out.jsonl"
            cmd = (
                harvester_cmd(server.url, out, size, folder)
                if name == "harvester"
                else scrapy_cmd(server.url, out, size)
            )
            runs.append(crawl_once(name, cmd, out, server, folder, timeout))
    return runs, alone, mean_kb


def goal(met: bool) -> str:
    return "**met**" if met else "**not met**"


def report(runs: list[Run], alone: dict[int, float], mean_kb: float, notes: list[str]) -> str:
    sizes = sorted({r.size for r in runs})
    by = {(r.crawler, r.size): r for r in runs}
    lines = ["## Crawl", "", *setup_lines(sizes, alone, mean_kb), *table_lines(runs)]
    lines += ["", "Commands:", ""]
    lines += [f"- `python {r.command}`" for r in runs if r.size == sizes[-1]]
    lines += ["", *ratio_lines(by, sizes), *notes]
    return "\n".join(lines) + "\n"


def setup_lines(sizes: list[int], alone: dict[int, float], mean_kb: float) -> list[str]:
    return [
        f"Machine: {os.cpu_count()} cores, {platform.system()}, Python "
        f"{platform.python_version()}, Scrapy {importlib.metadata.version('scrapy')}; other "
        "work shared the CPU, so absolute figures are noisy and the ratios (same run, same "
        "server) are what count.",
        "",
        f"Site: synthetic legacy clinic from `bench/sitegen.py`, pages of 30-60 KB "
        f"(mean {mean_kb:.1f} KB, mostly shared chrome and inline script/style), one in "
        f"{QA_EVERY} an Ask-a-Pro Q&A page, each page linking to about 10 others; robots.txt "
        f"disallows `/private/`, linked from one page in {PRIVATE_EVERY}. Served uncompressed "
        "over HTTP/1.1 keep-alive on 127.0.0.1 by a separate asyncio process; alone it served "
        + ", ".join(f"{alone[s]:.0f} pages/s ({s} pages)" for s in sizes)
        + f" to one client process with {CONCURRENCY} connections.",
        "",
        f"Both crawlers: {CONCURRENCY} requests in flight, no delay, each a child process in "
        "a session of its own: CPU time is the child's (wait4) plus that of the worker "
        "processes it starts (sampled from /proc every 0.25 s), peak RSS the largest sum "
        "over the session's processes. harvester runs its full pipeline (crawl, "
        "extract, dedup, emit); the Scrapy spider follows links with LinkExtractor and "
        "yields {url, title}. pages/s counts every HTML page fetched over the whole run's wall "
        "time; *fetching s* ends at the server's last request, and *RSS while fetching* is "
        "the peak of RSS samples taken until then (every 0.25 s).",
        "",
    ]


def table_lines(runs: list[Run]) -> list[str]:
    lines = [
        "| site pages | crawler | pages fetched | /private/ fetched | robots.txt requests "
        "| records | wall s | fetching s | pages/s | CPU ms/page | CPU ÷ wall | peak RSS MiB "
        "| RSS while fetching MiB | server CPU ÷ wall | exit |",
        "|" + "---|" * 15,
    ]
    for r in sorted(runs, key=lambda r: (r.size, r.crawler)):
        lines.append(
            f"| {r.size} | {r.crawler} | {r.pages} | {r.private} | {r.robots} | {r.records} "
            f"| {r.wall_s:.1f} | {r.fetch_s:.1f} | {r.pages_per_s:.1f} "
            f"| {r.cpu_ms_per_page:.1f} | {r.cpu_s / r.wall_s:.0%} | {r.rss_mib:.0f} "
            f"| {r.fetch_rss_mib:.0f} | {r.server_cpu_s / r.wall_s:.0%} | {r.exit_code} |"
        )
    return lines


def ratio_lines(by: dict[tuple[str, int], Run], sizes: list[int]) -> list[str]:
    def speed(r: Run) -> float:
        return r.pages_per_s

    def fetch_speed(r: Run) -> float:
        return r.html / r.fetch_s if r.fetch_s else 0.0

    lines = ["Ratios, same run:", ""]
    whole = ratios(by, sizes, speed)
    lines.append(
        "- harvester pages/s ÷ Scrapy pages/s (whole run): "
        + ", ".join(f"{v:.2f}x at {s} pages" for s, v in whole.items())
        + f". Goal ≥ {SPEED_GOAL}x: "
        + goal(bool(whole) and min(whole.values()) >= SPEED_GOAL)
        + "."
    )
    lines.append(
        "- the same over the fetching phase only (not the goal; harvester dedups and emits "
        "after it): "
        + ", ".join(f"{v:.2f}x at {s} pages" for s, v in ratios(by, sizes, fetch_speed).items())
        + "."
    )
    if len(sizes) > 1:
        low, high = by["harvester", sizes[0]], by["harvester", sizes[-1]]
        growth = high.rss_mib / low.rss_mib
        lines.append(
            f"- harvester peak RSS at {sizes[-1]} pages ÷ at {sizes[0]} pages: "
            f"{high.rss_mib:.0f} ÷ {low.rss_mib:.0f} MiB = {growth:.2f}x. "
            f"Goal < {MEMORY_GOAL}x: {goal(growth < MEMORY_GOAL)}. While fetching: "
            f"{high.fetch_rss_mib:.0f} ÷ {low.fetch_rss_mib:.0f} MiB."
        )
    return lines


def ratios(
    by: dict[tuple[str, int], Run], sizes: list[int], measure: Callable[[Run], float]
) -> dict[int, float]:
    """harvester ÷ Scrapy for each size where Scrapy measured anything."""
    return {
        s: measure(by["harvester", s]) / measure(by["scrapy", s])
        for s in sizes
        if measure(by["scrapy", s])
    }


def observations(runs: list[Run]) -> list[str]:
    """Plain statements about what the counts show, so a wrong count is not missed."""
    notes = []
    for r in runs:
        if r.private:
            notes.append(
                f"- {r.crawler} fetched {r.private} robots-disallowed /private/ pages "
                f"at {r.size} pages."
            )
        if r.pages < r.size:
            notes.append(f"- {r.crawler} fetched {r.pages} of the {r.size} site pages.")
        if r.pages > r.size:
            notes.append(
                f"- {r.crawler} fetched {r.pages - r.size} site page(s) twice at {r.size} pages."
            )
        if r.exit_code != 0:
            notes.append(f"- {r.crawler} exited with {r.exit_code} at {r.size} pages.")
    if "--per-host" not in harvester_flags():
        notes.append(
            "- harvester has no per-host concurrency flag: on this one-host site it keeps its "
            "default of 2 requests in flight per host, whatever --concurrency says."
        )
    return ["", *notes] if notes else []


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", default="2000,10000", help="site sizes in pages, comma-separated"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per crawler run")
    parser.add_argument("--keep", action="store_true", help="keep outputs and logs, print where")
    return parser.parse_args()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    require_scrapy()
    args = parse_args()
    harvester_flags()  # read once: one CLI for the whole run
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    for signum in (signal.SIGINT, signal.SIGTERM):  # children and server are always stopped
        signal.signal(signum, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="crawl-bench-"))
    runs: list[Run] = []
    alone: dict[int, float] = {}
    mean_kb = 0.0
    try:
        for size in sizes:
            size_runs, alone[size], mean_kb = bench_size(size, work, args.timeout)
            runs += size_runs
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        _cleanup(work, args.keep)
    markdown = report(runs, alone, mean_kb, observations(runs))
    print(markdown)
    if any(r.killed for r in runs):
        print("bench/RESULTS.md left as it was: a run hit --timeout", file=sys.stderr)
        return 1
    update_section("crawl", markdown)
    return 0


def _cleanup(work: Path, keep: bool) -> None:
    if keep:
        print(f"outputs and logs kept in {work}", file=sys.stderr)
        return
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

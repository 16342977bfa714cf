"""Soak: a 5,000-page site where one page in twenty is faulty, a crawl killed with
SIGKILL ten times at random moments and resumed each time. Not part of `make test`.

The site is bench/sitegen.py's synthetic clinic, served by a server of this script that
turns every twentieth page into one of five faults: slow (1 s before answering), 503,
a gzip-in-gzip bomb, a charset label naming a bytes codec over bytes that are not UTF-8,
and JSON-LD nested past any recursion limit with dates as lists. Reports: pages written
exactly once, peak RSS, processes left behind by the killed crawls (must be 0), requests
to paths robots.txt disallows (must be 0). Writes the "soak" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from _results import update_section
from sitegen import PRIVATE, ROBOTS, Site

HERE = Path(__file__).resolve().parent
PAGES = 5000
KILLS = 10
FAULTY_EVERY = 20
FAULTS = ("slow", "503", "bomb", "charset", "jsonld")
BOMB = gzip.compress(gzip.compress(b"<p>" + b"x" * 50_000_000 + b"</p>", 9), 9)


class SoakServer:
    """The synthetic site with faults, in this process, on its own event loop thread."""

    def __init__(self, pages: int) -> None:
        self.site = Site(pages, 7)
        self.private = 0
        self.served: Counter[str] = Counter()
        self.port = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(30)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self.handle, "127.0.0.1", 0, backlog=256)
        )
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def fault(self, page: int) -> str | None:
        return FAULTS[(page // FAULTY_EVERY) % len(FAULTS)] if page % FAULTY_EVERY == 7 else None

    async def respond(self, path: str) -> tuple[int, dict[str, str], bytes]:
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, ROBOTS
        if PRIVATE.match(path):
            self.private += 1  # robots.txt disallows /private/: a crawler never asks
            return 200, html, b"<html><body>members only</body></html>"
        page = self.site.page_for(path)
        if page is None:
            return 404, html, b"<html><body>Not found</body></html>"
        self.served[path] += 1
        fault, body = self.fault(page), self.site.render(page)
        if fault == "slow":
            await asyncio.sleep(1.0)
        elif fault == "503":
            return 503, html, b"<html><body>busy</body></html>"
        elif fault == "bomb":
            return 200, {**html, "Content-Encoding": "gzip, gzip"}, BOMB
        elif fault == "charset":
            return 200, {"Content-Type": "text/html; charset=hex"}, body + b"\xff\xfe\x92"
        elif fault == "jsonld":
            nested = b"[" * 100_000 + b"]" * 100_000
            script = b'<script type="application/ld+json">' + nested + b"</script>"
            dates = b'<script type="application/ld+json">{"datePublished": [1, {"a": 2}]}</script>'
            body = body.replace(b"</head>", script + dates + b"</head>", 1)
        return 200, html, body

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
                target = head.decode("latin-1").split(" ", 2)[1]
                status, headers, body = await self.respond(target.partition("?")[0])
                lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
                lines += [f"{k}: {v}" for k, v in headers.items()]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, IndexError):
            pass
        finally:
            writer.close()


def children_of(session: int) -> list[int]:
    """Processes still alive in a killed crawl's session."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def crawl(url: str, work: Path, kill_after: float | None) -> tuple[int, list[int]]:
    """One run; killed with SIGKILL (the main process only) after `kill_after` seconds.
    Returns its exit code and the processes it left behind."""
    command = [
        sys.executable, "-m", "harvester", "crawl", url, "-o", str(work / "out.jsonl"),
        "--state", str(work / "state.sqlite"), "--max-pages", str(PAGES + 500),
        "--delay", "0", "--concurrency", "16", "--per-host", "16", "--retries", "1",
        "--max-bytes", str(2 * 1024 * 1024), "--timeout", "5", "-q",
    ]  # fmt: skip
    child = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        child.wait(kill_after)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
    time.sleep(2.0)  # what dies with its parent has died by now
    left = children_of(child.pid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return child.returncode, left


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=PAGES)
    parser.add_argument("--kills", type=int, default=KILLS)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    server = SoakServer(args.pages)
    work = Path(tempfile.mkdtemp(prefix="harvester-soak-"))
    started = time.monotonic()
    orphans: list[int] = []
    codes = []
    for _ in range(args.kills):
        code, left = crawl(server.url, work, rng.uniform(2.0, 12.0))
        codes.append(code)
        orphans += left
    code, left = crawl(server.url, work, None)
    orphans += left
    lines = (work / "out.jsonl").read_text("utf-8").splitlines()
    urls = Counter(json.loads(line)["url"] for line in lines)
    twice = sum(1 for n in urls.values() if n > 1)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = [
        "## Soak",
        "",
        f"{args.pages} synthetic pages, one in {FAULTY_EVERY} faulty ({', '.join(FAULTS)}); "
        f"the crawl killed with SIGKILL {args.kills} times at random moments (2-12 s into "
        f"each run, seed {args.seed}) and resumed, then run to the end (exit {code}). "
        f"{time.monotonic() - started:.0f} s in all.",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| records written | {len(lines)} | every readable page once |",
        f"| records written more than once | {twice} | 0 |",
        f"| peak RSS of one crawl process | {peak:.0f} MiB | < 300 MiB |",
        f"| processes left by killed crawls | {len(orphans)} | 0 |",
        f"| requests to paths robots.txt disallows | {server.private} | 0 |",
    ]
    update_section("soak", "\n".join(report))
    print("\n".join(report))
    ok = twice == 0 and not orphans and server.private == 0 and peak < 300
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

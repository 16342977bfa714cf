"""Outputs under hostile conditions: kill -9 while writing, Ctrl-C and SIGTERM on a process
group, a full disk, outputs that cannot be written. Real files, real child processes."""

from __future__ import annotations

import base64
import gzip
import json
import os
import pty
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import Server, read_records, read_terminal, run_cli, serve, wait_until

from harvester.warc import WarcWriter, read_warc

PAGES = 30  # and the home page: 31 records
HARVESTER = [sys.executable, "-m", "harvester"]
INTERRUPTED = "harvester: error: interrupted: run the same command again to resume"
# The real command line with a file size limit (RLIMIT_FSIZE): a write past it fails with
# EFBIG, as one on a full disk fails with ENOSPC, without root or a small file system.
LIMITED = (
    "import resource, runpy, sys; limit = int(sys.argv.pop(1)); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
    "runpy.run_module('harvester', run_name='__main__', alter_sys=True)"
)


def make_site(folder: Path, pages: int = PAGES) -> Path:
    """A home page linking to `pages` article pages, each with its own text."""
    folder.mkdir(parents=True, exist_ok=True)
    links = "".join(f'<li><a href="/p{i}.html">Page {i}</a></li>' for i in range(pages))
    (folder / "index.html").write_text(
        "<html><head><title>Home</title></head><body><main><h1>Home</h1>"
        f"<p>Welcome to a site of many pages.</p><ul>{links}</ul></main></body></html>"
    )
    for i in range(pages):
        text = " ".join(f"Fact {j} about subject {i * 7 + j} is worth knowing." for j in range(25))
        (folder / f"p{i}.html").write_text(
            f"<html><head><title>Page {i}</title></head><body><main><h1>Page {i}</h1>"
            f"<p>{text}</p></main></body></html>"
        )
    return folder


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """31 pages, each answered after 0.1 s: time to interrupt a crawl midway."""
    for server in serve(make_site(tmp_path_factory.mktemp("site"))):
        server.state.delay = 0.1
        yield server


def start(
    *args: str, cwd: Path, session: bool = False, capture: bool = True
) -> subprocess.Popen[str]:
    """The command line in a child process; without `capture`, its output is dropped (a
    process it leaves behind then cannot keep a test waiting for the end of its output)."""
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [*HARVESTER, *args],
        cwd=cwd,
        stdout=output,
        stderr=output,
        text=True,
        start_new_session=session,
    )


def run_limited(limit: int, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LIMITED, str(limit), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("harvester: error: ") and lines[0].isprintable(), stderr
    return lines[0]


# --- processes, seen through /proc ------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of a process, None once it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), fields[19]


def descendants(root: int) -> dict[int, str]:
    """Every process under `root`, with its start time (a pid can be reused)."""
    table: dict[int, tuple[str, int, str]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (stat := _stat(int(name))) is not None:
            table[int(name)] = stat
    found: dict[int, str] = {}
    parents = [root]
    while parents:
        parent = parents.pop()
        for pid, (_, ppid, started) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                parents.append(pid)
    return found


def survivors(processes: dict[int, str]) -> list[int]:
    """Those of `processes` still running (a zombie has ended)."""
    alive = []
    for pid, started in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[2] == started and stat[0] not in "ZX":
            alive.append(pid)
    return alive


@contextmanager
def crawl_with_workers(
    *args: str, cwd: Path, session: bool = False, capture: bool = True
) -> Iterator[tuple[subprocess.Popen[str], dict[int, str]]]:
    """A crawl with its process tree (resource tracker, fork server, a worker) running;
    whatever is left of it at the end is killed, so that a failure leaks no process."""
    child = start(*args, cwd=cwd, session=session, capture=capture)
    processes: dict[int, str] = {}

    def ready() -> bool:
        processes.update(descendants(child.pid))
        return len(processes) >= 3

    try:
        wait_until(ready, seconds=60)
        yield child, processes
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in survivors(processes):
            os.kill(pid, signal.SIGKILL)


# --- 1. WARC: kill -9 while writing, then resume; damaged and non-WARC files ------------


def test_warc_cut_by_kill_9_is_resumed_into_one_valid_archive(site: Server, tmp_path: Path) -> None:
    out, warc = tmp_path / "out.jsonl", tmp_path / "crawl.warc.gz"
    args = ["crawl", site.url, "-o", str(out), "--state", str(tmp_path / "state.sqlite")]
    args += ["--delay", "0", "--concurrency", "2", "--workers", "0", "--warc", str(warc)]
    child = start(*args, cwd=tmp_path, capture=False)
    try:
        wait_until(lambda: len(site.requests) >= 8, seconds=30)
    finally:
        child.kill()
        child.wait()
    assert len(site.requests) < PAGES
    # Killed in the middle of writing a record: its last gzip member is cut short.
    with warc.open("r+b") as archive:
        archive.truncate(warc.stat().st_size - 100)

    resumed = run_cli(*args, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    crawled = read_records(out)
    assert len(crawled) == PAGES + 1

    replay = tmp_path / "replay.jsonl"
    extracted = run_cli("extract", str(warc), "-o", str(replay), "--quiet")
    assert extracted.returncode == 0, extracted.stderr
    assert {r["url"] for r in read_records(replay)} == {r["url"] for r in crawled}


def _exchange(writer: WarcWriter, number: int) -> None:
    writer.write_exchange(
        url=f"https://clinic.example/p{number}",
        method="GET",
        request_headers=[],
        status=200,
        reason="OK",
        response_headers=[("Content-Type", "text/html")],
        body=f"<html><body><main><h1>Page {number}</h1></main></body></html>".encode(),
        fetched_at="2026-11-25T12:00:00+00:00",
    )


def test_a_damaged_warc_is_reported_and_never_appended_to(tmp_path: Path) -> None:
    """What appending after a cut record made: valid records after broken gzip data."""
    first, second = tmp_path / "first.warc.gz", tmp_path / "second.warc.gz"
    with WarcWriter(first) as writer:
        for number in range(3):
            _exchange(writer, number)
    with WarcWriter(second) as writer:
        for number in range(3, 30):
            _exchange(writer, number)
    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(first.read_bytes()[:-100] + second.read_bytes())

    extracted = run_cli("extract", str(damaged), "-o", str(tmp_path / "out.jsonl"))
    assert extracted.returncode == 2
    assert "damaged" in one_error_line(extracted.stderr)

    crawl = run_cli("crawl", "http://127.0.0.1:9/", "--warc", str(damaged), "--quiet")
    assert crawl.returncode == 2
    assert "cannot append" in one_error_line(crawl.stderr)
    assert damaged.stat().st_size == len(first.read_bytes()) - 100 + len(second.read_bytes())


TEXT_LINES = b"".join(b"line %d of a text file\n" % i for i in range(60))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.warc.gz", gzip.compress(b"<html><body><p>A saved page.</p></body></html>" * 20)),
        ("notes.warc.gz", gzip.compress(TEXT_LINES)),  # warcio: 90 lines of warnings
        ("empty.warc", b""),
        ("notes.warc", b"not an archive"),
    ],
    ids=["gzip-html", "gzip-text", "empty", "text"],
)
def test_a_file_that_is_no_warc_is_one_line_exit_2(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = run_cli("extract", str(path), "-o", str(tmp_path / "out.jsonl"))
    assert result.returncode == 2
    assert f"{path}: not a WARC file" in one_error_line(result.stderr)


# --- 2. no process outlives the crawl ---------------------------------------------------


def test_kill_9_leaves_no_worker_fork_server_or_tracker(site: Server, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    args = ["crawl", site.url, "--workers", "1", "--delay", "0", "-o", str(out)]
    with crawl_with_workers(*args, cwd=tmp_path, capture=False) as (child, processes):
        child.kill()
        child.wait()
        wait_until(lambda: not survivors(processes), seconds=10)


def test_sigterm_stops_like_ctrl_c(site: Server, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    args = ["crawl", site.url, "--workers", "1", "--delay", "0", "-o", str(out), "--quiet"]
    with crawl_with_workers(*args, cwd=tmp_path) as (child, processes):
        child.terminate()
        _, stderr = child.communicate(timeout=30)
        assert child.returncode == 130
        assert one_error_line(stderr) == INTERRUPTED
        wait_until(lambda: not survivors(processes), seconds=10)


# --- 3. Ctrl-C on a terminal: the whole process group gets SIGINT -----------------------


def test_ctrl_c_is_one_line_and_json_on_stdout_stays_an_array(site: Server, tmp_path: Path) -> None:
    args = ["crawl", site.url, "--workers", "1", "--delay", "0", "--concurrency", "4"]
    args += ["--format", "json", "-o", "-", "--quiet"]
    with crawl_with_workers(*args, cwd=tmp_path, session=True) as (child, processes):
        wait_until(lambda: len(site.requests) >= 5, seconds=30)
        os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C does
        stdout, stderr = child.communicate(timeout=30)
        assert child.returncode == 130
        assert one_error_line(stderr) == INTERRUPTED
        assert isinstance(json.loads(stdout), list)
        wait_until(lambda: not survivors(processes), seconds=10)


# --- 4. a full disk ---------------------------------------------------------------------


@pytest.fixture
def saved_site(tmp_path: Path) -> Path:
    return make_site(tmp_path / "saved")


def test_full_disk_leaves_whole_jsonl_lines(saved_site: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    args = ["extract", str(saved_site), "--base-url", "https://clinic.example/", "-o", str(out)]
    result = run_limited(5000, *args, cwd=tmp_path)
    assert result.returncode == 3
    assert "cannot write to" in one_error_line(result.stderr)
    assert not out.exists()  # only a complete run puts the file in place
    text = Path(f"{out}.partial").read_text()  # what was written, in whole lines
    assert text and text.endswith("\n")
    assert all(json.loads(line)["url"] for line in text.splitlines())


def test_full_disk_keeps_the_previous_json_and_no_temporary(
    saved_site: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    out.write_text("[]\n")
    args = ["extract", str(saved_site), "--format", "json", "-o", str(out)]
    result = run_limited(5000, *args, cwd=tmp_path)
    assert result.returncode == 3
    assert "cannot write to" in one_error_line(result.stderr)
    assert json.loads(out.read_text()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "saved"]


@pytest.mark.parametrize(("fmt", "code"), [("jsonl", 3), ("json", 3), ("csv", 2)])
def test_full_stdout_is_one_line(saved_site: Path, tmp_path: Path, fmt: str, code: int) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*HARVESTER, "extract", str(saved_site), "--format", fmt, "-o", "-", "--quiet"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    assert result.returncode == code  # csv writes its header before anything is read
    full_disk = "harvester: error: cannot write to -: No space left on device"
    assert one_error_line(result.stderr) == full_disk


def test_full_disk_while_archiving_keeps_the_warc_valid(tmp_path: Path) -> None:
    folder = make_site(tmp_path / "site", pages=2)
    noise = base64.b64encode(os.urandom(1_500_000)).decode()  # does not compress
    (folder / "p1.html").write_text(
        f"<html><head><title>Big</title><script>var x = '{noise}';</script></head>"
        "<body><main><h1>Big</h1><p>A page that is mostly script.</p></main></body></html>"
    )
    warc = tmp_path / "crawl.warc.gz"
    for server in serve(folder):
        args = ["crawl", server.url, "--delay", "0", "--workers", "0", "--concurrency", "1"]
        args += ["--warc", str(warc), "-o", str(tmp_path / "out.jsonl"), "--quiet"]
        result = run_limited(1_000_000, *args, cwd=tmp_path)
    assert result.returncode == 3
    assert "cannot write WARC file" in one_error_line(result.stderr)
    pages = [r.status for r in read_warc(warc) if r.purpose is None]  # not robots.txt, sitemaps
    assert pages == [200] * len(pages)


def test_kill_9_during_json_leaves_a_temporary_the_next_run_removes(
    site: Server, tmp_path: Path
) -> None:
    out = tmp_path / "records.json"
    args = ["crawl", site.url, "--format", "json", "-o", str(out), "--workers", "0"]
    args += ["--state", str(tmp_path / "state.sqlite"), "--delay", "0", "--quiet"]
    child = start(*args, cwd=tmp_path, capture=False)
    try:
        wait_until(lambda: len(site.requests) >= 5, seconds=30)
    finally:
        child.kill()
        child.wait()
    assert list(tmp_path.glob(".records.json.*.tmp"))  # what kill -9 leaves

    resumed = run_cli(*args, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert len(json.loads(out.read_text())) == PAGES + 1
    assert not list(tmp_path.glob(".records.json.*"))


# --- 5. outputs written at the end are checked at the start -----------------------------


@pytest.mark.parametrize("flag", ["--report", "--redirects", "--explain"])
def test_unwritable_late_output_fails_before_crawling(
    site: Server, tmp_path: Path, flag: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli(
        "crawl", site.url, "-o", str(tmp_path / "out.jsonl"), flag, str(blocker / "late.out")
    )
    assert result.returncode == 2
    assert "cannot write to" in one_error_line(result.stderr)
    assert site.requests == []  # failed before sending anything


# --- a terminal on stderr: records still go to stdout -----------------------------------


def test_records_go_to_stdout_when_stderr_is_a_terminal(site: Server, tmp_path: Path) -> None:
    site.state.delay = 0
    terminal, stderr = pty.openpty()
    out = tmp_path / "stdout.jsonl"
    with out.open("w") as stdout:
        child = subprocess.Popen(
            [*HARVESTER, "crawl", site.url, "--delay", "0", "--workers", "0", "-o", "-"],
            stdout=stdout,
            stderr=stderr,
            cwd=tmp_path,
        )
        os.close(stderr)
        shown = read_terminal(terminal)
        child.wait(timeout=60)
    os.close(terminal)
    assert child.returncode == 0
    assert len(read_records(out)) == PAGES + 1
    assert b'"url"' not in shown


@pytest.mark.parametrize("name", ["cut.warc", "cut.warc.gz"])
def test_a_warc_cut_anywhere_in_its_last_exchange_is_appended_to_cleanly(
    tmp_path: Path, name: str
) -> None:
    whole = tmp_path / f"whole-{name}"
    with WarcWriter(whole) as writer:
        for number in range(3):
            _exchange(writer, number)
    before_last = len(whole.read_bytes())
    with WarcWriter(whole) as writer:
        _exchange(writer, 3)
    data = whole.read_bytes()
    urls = [f"https://clinic.example/p{n}" for n in range(5)]
    for cut in range(before_last + 1, len(data), 7):
        path = tmp_path / name
        path.write_bytes(data[:cut])
        with WarcWriter(path) as writer:  # a resumed crawl
            _exchange(writer, 4)
        found = [r.url for r in read_warc(path)]
        assert found in (urls[:3] + urls[4:], urls), cut

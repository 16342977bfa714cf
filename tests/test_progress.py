"""What a person sees: a live progress line on a terminal, log lines elsewhere, a summary."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from conftest import Server, run_cli


def run_in_terminal(args: list[str], cwd: Path, seconds: float = 60) -> tuple[int, str]:
    """The CLI with a pseudo-terminal as stdin, stdout and stderr, as in a shell."""
    main, child_end = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm-256color"}
    child = subprocess.Popen(
        [sys.executable, "-m", "harvester", *args],
        cwd=cwd,
        env=env,
        stdin=child_end,
        stdout=child_end,
        stderr=child_end,
    )
    os.close(child_end)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([main], [], [], seconds)
        if not ready:
            child.kill()
            raise AssertionError("no output from the child")
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return child.wait(timeout=seconds), b"".join(chunks).decode("utf-8", "replace")


def test_live_line_and_summary_in_a_terminal(slow_site: Server, tmp_path: Path) -> None:
    code, screen = run_in_terminal(
        ["crawl", slow_site.url, "-o", str(tmp_path / "out.jsonl"), "--delay", "0"], tmp_path
    )
    assert code == 0, screen
    assert "crawling" in screen and "fetched" in screen and "queued" in screen
    assert "pages/s" in screen
    assert "records written" in screen and "blocks removed" in screen  # the summary


def test_no_live_line_when_not_a_terminal_nothing_when_quiet(
    sample_site: Server, tmp_path: Path
) -> None:
    plain = run_cli("crawl", sample_site.url, "-o", str(tmp_path / "a.jsonl"), "--delay", "0")
    assert "\x1b[" not in plain.stderr  # no terminal control codes in a log file
    assert "records written" in plain.stderr
    quiet = run_cli("crawl", sample_site.url, "-o", "-", "--delay", "0", "-q")
    assert quiet.stderr == "" and len(quiet.stdout.splitlines()) == 14


def test_verbose_logs_each_request(sample_site: Server, tmp_path: Path) -> None:
    result = run_cli(
        "-vv", "crawl", sample_site.url, "-o", str(tmp_path / "o.jsonl"), "--delay", "0"
    )
    assert result.returncode == 0
    assert f"GET {sample_site.url}faq/ -> 200" in result.stderr

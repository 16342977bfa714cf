"""What a user already has is never lost: re-runs, failed runs and killed runs leave every
output complete; the command line behaves as a Unix tool (pipes, terminals, hints)."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLE_SITE, Server, read_records, read_terminal, run_cli, wait_until

SITE_RECORDS = 14
HARVESTER = [sys.executable, "-m", "harvester"]


def _crawl(server: Server, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["crawl", server.url, "--delay", "0", "--state", str(tmp_path / "s.sqlite")]
    return run_cli(*args, *extra, cwd=tmp_path)


def test_running_twice_into_one_file_keeps_it_complete(sample_site: Server, tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    for _ in range(2):
        result = _crawl(sample_site, tmp_path, "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert len(read_records(out)) == SITE_RECORDS
    assert "unchanged since last run" not in result.stderr or "written       14" in result.stderr
    changed = _crawl(sample_site, tmp_path, "-o", str(out), "--only-changed")
    assert changed.returncode == 0
    assert out.read_text() == ""  # nothing changed since the last run


def test_a_fatal_run_leaves_existing_outputs_as_they_were(free_port: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port}/"
    for name, fmt in (("good.jsonl", "jsonl"), ("good.json", "json"), ("good.csv", "csv")):
        out = tmp_path / name
        out.write_text(f"previous {fmt} content\n")
        result = run_cli("crawl", url, "--retries", "0", "-o", str(out), cwd=tmp_path)
        assert result.returncode == 3, result.stderr
        assert out.read_text() == f"previous {fmt} content\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("good")) == [
        "good.csv",
        "good.json",
        "good.jsonl",
    ]


def _kill_mid_crawl(server: Server, args: list[str], cwd: Path) -> None:
    child = subprocess.Popen(
        [*HARVESTER, *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: len(server.requests) >= 5, seconds=30)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


def test_kill_9_during_json_and_markdown_keeps_the_previous_output(
    slow_site: Server, tmp_path: Path
) -> None:
    json_out, folder = tmp_path / "records.json", tmp_path / "content"
    json_out.write_text('[{"previous": true}]\n')
    folder.mkdir()
    (folder / "mine.md").write_text("a page of my own\n")
    for target, fmt in ((json_out, "json"), (folder, "markdown")):
        state = str(tmp_path / f"{fmt}.sqlite")
        args = ["crawl", slow_site.url, "--delay", "0", "--state", state, "-q"]
        args += ["--format", fmt, "-o", str(target)]
        slow_site.state.requests.clear()
        _kill_mid_crawl(slow_site, args, tmp_path)
        assert json.loads(json_out.read_text()) == [{"previous": True}] or fmt == "markdown"
        assert sorted(p.name for p in folder.iterdir()) == ["mine.md"]
        resumed = run_cli(*args, cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
    assert len(json.loads(json_out.read_text())) == SITE_RECORDS
    pages = [p for p in folder.rglob("*.md") if p.name != "mine.md"]
    assert len(pages) == SITE_RECORDS
    assert (folder / "mine.md").read_text() == "a page of my own\n"


def test_interrupted_jsonl_waits_in_a_partial_file(slow_site: Server, tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    out.write_text("")
    args = ["crawl", slow_site.url, "--delay", "0", "--state", str(tmp_path / "s.sqlite")]
    args += ["-o", str(out), "--fresh"]
    child = subprocess.Popen(
        [*HARVESTER, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_until(lambda: len(slow_site.requests) >= 4, seconds=30)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130
    assert stderr.decode().strip().endswith("run the same command without --fresh to resume")
    assert out.read_text() == ""  # the previous file, untouched


def test_format_follows_the_output_name(sample_site: Server, tmp_path: Path) -> None:
    csv_out = tmp_path / "out.csv"
    assert _crawl(sample_site, tmp_path, "-o", str(csv_out)).returncode == 0
    assert csv_out.read_text().startswith("id,url,")
    folder = tmp_path / "newdir"
    assert _crawl(sample_site, tmp_path, "-o", f"{folder}/").returncode == 0
    assert folder.is_dir() and len(list(folder.rglob("*.md"))) == SITE_RECORDS


def test_a_closed_pipe_ends_the_run_quietly(sample_site: Server, tmp_path: Path) -> None:
    child = subprocess.Popen(
        [*HARVESTER, "crawl", sample_site.url, "--delay", "0", "--fresh"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()  # `| head -1`
    stderr = child.stderr.read().decode()
    child.wait(timeout=60)
    assert json.loads(first)["url"].startswith(sample_site.url)
    assert child.returncode == 0, stderr
    assert "error" not in stderr and "Traceback" not in stderr


def test_progress_and_records_on_one_terminal_stay_apart(
    sample_site: Server, tmp_path: Path
) -> None:
    terminal, child_end = pty.openpty()
    child = subprocess.Popen(
        [*HARVESTER, "crawl", sample_site.url, "--delay", "0", "--fresh"],
        cwd=tmp_path,
        stdout=child_end,
        stderr=child_end,
    )
    os.close(child_end)
    shown = read_terminal(terminal)
    child.wait(timeout=60)
    os.close(terminal)
    lines = shown.decode().replace("\r\n", "\n").split("\n")
    records = [line for line in lines if '"url"' in line]
    assert len(records) == SITE_RECORDS
    assert all(line.startswith("{") and line.endswith("}") for line in records)


def test_a_url_given_to_extract_and_a_path_given_to_crawl_get_a_hint(tmp_path: Path) -> None:
    result = run_cli("extract", "https://clinic.example/faq/", cwd=tmp_path)
    assert result.returncode == 2
    assert "use `harvester crawl URL`" in result.stderr
    result = run_cli("crawl", str(SAMPLE_SITE), cwd=tmp_path)
    assert result.returncode == 2
    assert f"use `harvester extract {SAMPLE_SITE}`" in result.stderr


def test_harvest_example_runs_as_a_plain_script(sample_site: Server, tmp_path: Path) -> None:
    from test_readme import readme_script

    script = tmp_path / "example.py"
    script.write_text(readme_script().replace("https://clinic.example/", sample_site.url))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(1 for line in lines if line.startswith(sample_site.url)) == SITE_RECORDS
    assert f"{SITE_RECORDS} records from 16 pages" in result.stdout

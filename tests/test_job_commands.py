"""The shared-job commands as a user meets them: a one-line answer for each wrong start,
a worker that waits for its job, export of a finished job only, deliver from a job."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from conftest import Server, read_records, run_cli

from harvester.state.job import SharedJob


def test_a_job_needs_a_database(tmp_path: Path) -> None:
    for args in (
        ("crawl", "http://127.0.0.1:9/", "--job", "j"),
        ("crawl", "http://127.0.0.1:9/", "--job", "j", "--state", str(tmp_path / "s.sqlite")),
        ("work", "--job", "j"),
        ("export", "--job", "j", "-o", str(tmp_path / "out.jsonl")),
    ):
        done = run_cli(*args)
        assert done.returncode == 2, args
        assert "give --state postgresql://" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    done = run_cli("work", "--state", "postgresql://127.0.0.1/x")
    assert done.returncode == 2 and "give --job NAME" in done.stderr


def test_a_job_from_start_to_export_and_delivery(
    sample_site: Server, tmp_path: Path, new_database: Callable[[], str]
) -> None:
    url = new_database()
    # A worker started before its job waits for it, then joins.
    early = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harvester",
            "work",
            "--state",
            url,
            "--job",
            "demo",
            "--delay",
            "0",
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    time.sleep(1.5)
    assert early.poll() is None  # still waiting
    ahead = run_cli("export", "--state", url, "--job", "demo", "-o", str(tmp_path / "a.jsonl"))
    assert ahead.returncode == 2 and "no job 'demo'" in ahead.stderr

    out = tmp_path / "crawl.jsonl"
    done = run_cli(
        "crawl", sample_site.url, "--state", url, "--job", "demo", "--delay", "0", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    _, waited = early.communicate(timeout=60)
    assert early.returncode == 0, waited
    assert "waiting for job 'demo' to start" in waited
    assert "harvester export --job demo" in waited  # it writes nothing itself

    exported = tmp_path / "export.jsonl"
    done = run_cli("export", "--state", url, "--job", "demo", "-o", str(exported))
    assert done.returncode == 0, done.stderr
    crawled, written = read_records(out), read_records(exported)
    assert len(written) == 14  # the sample site: as a single crawl gives
    assert {r["id"] for r in crawled} == {r["id"] for r in written}

    again = run_cli("work", "--state", url, "--job", "demo")
    assert again.returncode == 0 and "has finished" in again.stderr

    changes = tmp_path / "changes.jsonl"
    done = run_cli("deliver", "--state", url, "--job", "demo", "--changes", str(changes))
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in changes.read_text().splitlines()]
    assert len(events) == 14 and {e["type"] for e in events} == {"created"}


def test_export_waits_for_the_job_to_finish(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    url = new_database()
    job = SharedJob(url, "busy")
    try:
        job.start(["http://127.0.0.1:9/"])
        done = run_cli("export", "--state", url, "--job", "busy", "-o", str(tmp_path / "o.jsonl"))
    finally:
        job.close()
    assert done.returncode == 1
    assert "is still crawling" in done.stderr and "harvester work --job busy" in done.stderr
    assert not (tmp_path / "o.jsonl").exists()

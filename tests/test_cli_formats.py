"""Formats from the command line: a migration's export, and Ctrl-C leaving valid files."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import lxml.html
import yaml
from conftest import Server, run_cli, wait_until


def test_markdown_export_with_redirect_map(sample_site: Server, tmp_path: Path) -> None:
    folder, redirects = tmp_path / "content", tmp_path / "redirects.csv"
    result = run_cli(
        "crawl",
        sample_site.url,
        "--delay",
        "0",
        "--format",
        "markdown",
        "-o",
        str(folder),
        "--redirects",
        str(redirects),
    )
    assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.md"))
    assert len(files) == 14 and "_index.md" in files  # the root is the home section
    knee = (folder / "ask-a-pro" / "running-knee-pain.md").read_text("utf-8")
    _, front, body = knee.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["title"] == "Running Knee Pain" and meta["page_kind"] == "qa"
    assert "Jonathan Sun" in body
    rows = list(csv.DictReader(redirects.open()))
    pairs = {(r["from"], r["to"]) for r in rows}
    assert ("/index.html", "/") not in pairs  # a server answers / with it: no loop
    assert ("/articles/foam-rolling-basics/print.html", "/articles/foam-rolling-basics/") in pairs
    assert {r["status"] for r in rows} == {"301"}


def test_csv_one_row_per_qa(sample_site: Server, tmp_path: Path) -> None:
    out = tmp_path / "records.csv"
    result = run_cli("crawl", sample_site.url, "--delay", "0", "--format", "csv", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    faq = [r for r in rows if r["url"].endswith("/faq/")]
    assert len(faq) == 5 and all(r["question"] for r in faq)
    assert len(rows) == 9 + 14 - 5  # every Q&A once, every page without Q&A once


def test_json_stays_one_valid_array_after_ctrl_c(slow_site: Server, tmp_path: Path) -> None:
    out, state = tmp_path / "records.json", tmp_path / "state.sqlite"
    args = [
        "crawl",
        slow_site.url,
        "--delay",
        "0",
        "--format",
        "json",
        "-o",
        str(out),
        "--state",
        str(state),
        "--concurrency",
        "2",
    ]
    out.write_text("[]")  # an earlier export: must stay valid until a new one is complete
    child = subprocess.Popen(
        [sys.executable, "-m", "harvester", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: len(slow_site.requests) >= 5, seconds=30)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == 130
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert json.loads(out.read_text()) == []
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert len(json.loads(out.read_text())) == 14


def test_report_page_from_the_command_line(sample_site: Server, tmp_path: Path) -> None:
    report = tmp_path / "review.html"
    result = run_cli(
        "crawl",
        sample_site.url,
        "-o",
        str(tmp_path / "r.jsonl"),
        "--delay",
        "0",
        "--report",
        str(report),
    )
    assert result.returncode == 0, result.stderr
    page = lxml.html.fromstring(report.read_text("utf-8"))
    rows = page.xpath("//table[@id='record-table']//tr")
    assert len(rows) == 15  # a header and one row per record
    assert "Running Knee Pain" in page.text_content()
    assert "Ask A Pro, Get Answers" in page.text_content()  # a template block, as written

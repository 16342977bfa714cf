"""The library API, as a pipeline author uses it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from conftest import SAMPLE_SITE, Server, wait_until

import harvester
from harvester.api import BUFFER
from harvester.models import QARecord, Record
from harvester.report import Summary


def test_extract_html_one_page() -> None:
    html = (SAMPLE_SITE / "ask-a-pro" / "running-knee-pain" / "index.html").read_text("utf-8")
    record = harvester.extract_html(html, "https://clinic.example/ask-a-pro/running-knee-pain/")
    assert isinstance(record, Record)
    assert record.title == "Running Knee Pain" and record.kind == "qa"
    assert len(record.qa) == 1 and record.qa[0].answered_by is not None
    assert record.qa[0].answered_by.name == "Jonathan Sun"


def test_harvest_sync_and_async(sample_site: Server) -> None:
    records = list(harvester.harvest([sample_site.url], delay=0))
    assert len(records) == 14 and all(isinstance(r, Record) for r in records)

    async def collect() -> list[Record | QARecord]:
        summary = Summary()
        found = [
            r
            async for r in harvester.aharvest(
                [sample_site.url], emit="qa", delay=0, summary=summary
            )
        ]
        assert summary.pages_fetched == 16  # 15 files, the home page also as /index.html
        return found

    pairs = asyncio.run(collect())
    assert len(pairs) == 9 and all(isinstance(p, QARecord) for p in pairs)


def test_aharvest_streams_and_fills_the_summary(sample_site: Server) -> None:
    async def collect() -> tuple[list[int], Summary]:
        summary = Summary()
        seen_counts = []
        async for _ in harvester.aharvest([sample_site.url], delay=0, summary=summary):
            seen_counts.append(summary.written)  # the run is still going on
        return seen_counts, summary

    seen_counts, summary = asyncio.run(collect())
    assert len(seen_counts) == 14
    assert seen_counts[0] <= BUFFER + 1  # the first record came before the last was made
    assert summary.records == 14 and summary.written == 14 and summary.qa == 9
    assert summary.pages_fetched == 16 and summary.template_removed > 0


def test_a_caller_who_stops_reading_stops_the_run(sample_site: Server, tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    out.write_text("previous\n")
    first = next(iter(harvester.harvest([sample_site.url], delay=0, output=str(out))))
    assert isinstance(first, Record)
    wait_until(lambda: "harvester-run" not in {t.name for t in threading.enumerate()})
    assert out.read_text() == "previous\n"  # the unfinished run replaced nothing

"""The library API, as a pipeline author uses it."""

from __future__ import annotations

import asyncio

from conftest import SAMPLE_SITE, Server

import harvester
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

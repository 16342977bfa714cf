"""`harvester dedup` over records made elsewhere: what the input says is kept, a bad line
is one skipped line, and the counts say what happened; attachments every page links are
the site's, listed once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, read_records, run_cli

from harvester.dedup import DedupOptions, DedupStats, build_records
from harvester.files import InputError, read_files
from harvester.files import read_records as read_input
from harvester.models import Record
from harvester.report import Summary, format_summary

INPUT = FIXTURES / "dedup-input"
RECORDS = INPUT / "records.jsonl"
COPIES = INPUT / "copies.jsonl"
SITE = INPUT / "site"


def dedup(path: Path, summary: Summary | None = None) -> tuple[list[Record], DedupStats]:
    summary = summary or Summary()
    stats = DedupStats()
    pages = read_input([path], summary, warn=lambda message: None)
    return list(build_records(pages, DedupOptions(), stats)), stats


def by_url(records: list[Record]) -> dict[str, dict[str, Any]]:
    return {r.url: r.to_dict() for r in records}


def test_unknown_fields_and_fetched_at_are_carried_through() -> None:
    records = by_url(dedup(RECORDS)[0])
    knee = records["https://clinic.example/knee/"]
    assert knee["legacy_id"] == 17
    assert knee["tags"] == ["knee", "running"]
    assert knee["meta"] == {"author_id": 3, "draft": False}
    assert knee["canonical"] == "https://clinic.example/knee/"
    assert knee["fetched_at"] == "2019-05-04T10:00:00+00:00"
    assert knee["source"] == "http"
    assert knee["attachments"] == [
        {
            "url": "https://clinic.example/files/knee.pdf",
            "text": "Knee exercises",
            "type": "application/pdf",
        }
    ]
    assert knee["images"] == [{"src": "https://clinic.example/img/knee.jpg", "alt": "A knee"}]
    hip = records["https://clinic.example/hip/"]
    assert hip["legacy_id"] == 18 and hip["fetched_at"] == "2019-05-05T11:00:00+00:00"
    back = records["https://clinic.example/back/"]
    assert "legacy_id" not in back and back["fetched_at"]  # none given: the time of the run


def test_known_fields_win_and_a_crawl_record_has_no_extra_key() -> None:
    record = dedup(RECORDS)[0][0]
    record.extra["title"] = "from the input, under a known name"
    assert record.to_dict()["title"] == "Knee pain"
    crawl = dedup(RECORDS)[0][1]
    crawl.extra = {}
    assert "extra" not in crawl.to_dict()
    assert list(crawl.to_dict()) == [f for f in Record.__dataclass_fields__ if f != "extra"]


def test_bad_lines_are_skipped_with_a_warning_each() -> None:
    warnings: list[str] = []
    summary = Summary()
    pages = read_input([RECORDS], summary, warn=warnings.append)
    assert [p.url for p in pages] == [
        "https://clinic.example/knee/",
        "https://clinic.example/hip/",
        "https://clinic.example/back/",
    ]
    where = [f"{RECORDS}:{n}" for n in (2, 3, 4, 6)]
    assert [w.split(": skipped")[0] for w in warnings] == [
        f"harvester: warning: {w}" for w in where
    ]
    assert all("\n" not in w for w in warnings)
    assert [(f.url, f.kind) for f in summary.failures] == [(w, "input") for w in where]
    assert "absolute" in summary.failures[-1].message
    assert summary.pages_fetched == 3 and summary.exit_code == 1


def test_nothing_usable_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"url": "x"}\n\n"just a string"\n', "utf-8")
    warnings: list[str] = []
    with pytest.raises(InputError, match=r"no usable records in .*bad\.jsonl \(2 skipped\)"):
        read_input([bad], Summary(), warn=warnings.append)
    assert len(warnings) == 2 and f"{bad}:3" in warnings[1]


def test_a_record_split_by_a_line_separator_inside_a_string_stays_whole(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    record = {"url": "https://clinic.example/a/", "text": "One\u2028line, two\u0085parts."}
    source.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    summary = Summary()
    [page] = read_input([source], summary, warn=lambda message: None)
    assert not summary.failures and "\u2028" in page.blocks[0].text


def test_the_command_skips_bad_lines_and_writes_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = run_cli("dedup", str(RECORDS), "-o", str(out))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    warned = [line for line in done.stderr.splitlines() if "warning:" in line]
    assert [w.split(": skipped")[0].rsplit(":", 1)[1] for w in warned] == ["2", "3", "4", "6"]
    written = read_records(out)
    assert [r["url"] for r in written] == [
        "https://clinic.example/knee/",
        "https://clinic.example/hip/",
        "https://clinic.example/back/",
    ]
    assert written[0]["legacy_id"] == 17 and written[0]["fetched_at"] == "2019-05-04T10:00:00+00:00"


def test_folded_copies_are_counted_not_alias_lists() -> None:
    """15 copies of one record, each with the same url and 2 aliases, among 60 other
    records: 14 folded, where counting the record's aliases said 2."""
    records, stats = dedup(COPIES)
    assert len(records) == 61 and records[0].url == "https://clinic.example/shoulder/"
    assert len(records[0].aliases) == 2
    assert stats.aliases == 14
    summary = Summary(records=len(records), written=len(records), aliases=stats.aliases)
    assert "duplicates folded 14" in format_summary(summary, "copies.jsonl", "-", "pages")


def test_redirect_aliases_are_not_counted_as_folded_pages() -> None:
    summary = Summary()
    pages = read_files([SITE], "https://clinic.example/", summary)
    pages[0].aliases.append("https://clinic.example/old/ankle.htm")  # a redirect's source
    stats = DedupStats()
    records = list(build_records(pages, DedupOptions(), stats))
    assert len(records) == len(pages) and stats.aliases == 0


def test_an_attachment_every_page_links_is_listed_once_on_the_home_record() -> None:
    pages = read_files([SITE], "https://clinic.example/", Summary())
    assert all(
        "https://clinic.example/files/fees.pdf" in [a.url for a in p.attachments] for p in pages
    )
    stats = DedupStats()
    records = {
        r.url.removeprefix("https://clinic.example/"): r
        for r in build_records(pages, DedupOptions(), stats)
    }
    files = {url: [a.url.rsplit("/", 1)[1] for a in r.attachments] for url, r in records.items()}
    assert files == {
        "": ["fees.pdf"],  # the home page: the site's attachments, once
        "ankle.html": [],
        "back.html": [],
        "hip.html": ["fees.pdf"],  # its own text links the price list too
        "knee.html": ["knee-exercises.pdf"],  # linked from its content only
        "neck.html": [],
    }
    assert stats.sitewide_attachments == 1


def test_too_few_pages_keep_their_attachments() -> None:
    pages = read_files([SITE], "https://clinic.example/", Summary())[:2]
    records = list(build_records(pages, DedupOptions(), DedupStats()))
    assert all(r.attachments for r in records)

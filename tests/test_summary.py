"""What a run tells its user: files it could not read as HTML, the templates it removed
(in their own words), and what each in-page repeat was a copy of."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, run_cli

from harvester.dedup import DedupOptions, DedupStats, build_records, drop_repeats
from harvester.files import InputError, read_files, sniff, text_blocks
from harvester.files import read_records as read_input
from harvester.models import Block, Page
from harvester.report import Summary, format_summary
from harvester.review import render_report

INPUT = FIXTURES / "dedup-input"
SITE = INPUT / "site"
BASE = "https://clinic.example/"
JSONL = "JSON Lines: use `harvester dedup`"
JSONL_SKIP = f"is not HTML (looks like {JSONL})"
TOPICS = {
    "knees": "Runners knees ache when the weekly mileage climbs too fast.",
    "hips": "Tight hips come from sitting all day at a desk.",
    "backs": "Lower backs respond well to walking breaks every hour.",
    "necks": "A screen set too low bends the neck forward for hours.",
    "ankles": "Sprained ankles need balance work before any sport.",
    "wrists": "Typing with bent wrists strains the tendons of the forearm.",
    "elbows": "Tennis elbow is an overload of the extensor tendon.",
    "heels": "Plantar fasciitis hurts most with the first steps of the morning.",
    "calves": "Cramping calves often follow a sudden jump in hill running.",
    "toes": "Bunions grow slowly, shaped by narrow shoes over years.",
}


# --- extract: files that are not HTML --------------------------------------------------


def test_extract_skips_a_jsonl_file_and_says_so() -> None:
    summary = Summary()
    pages = read_files([SITE, INPUT / "records.jsonl"], BASE, summary)
    assert len(pages) == 6 and summary.non_html == 1
    assert summary.skipped_files == [f"{INPUT / 'records.jsonl'} {JSONL_SKIP}"]
    text = format_summary(summary, "site", "-", "pages")
    assert f"  skipped: {INPUT / 'records.jsonl'} {JSONL_SKIP}" in text.splitlines()
    assert "non-HTML 1" in text


def test_extract_of_only_a_jsonl_file_is_the_no_html_error() -> None:
    with pytest.raises(InputError, match=r"no HTML files or WARC files in .*looks like JSON Lines"):
        read_files([INPUT / "records.jsonl"], BASE, Summary())


def test_the_command_writes_no_garbage_record(tmp_path: Path) -> None:
    done = run_cli("extract", str(INPUT / "records.jsonl"), "-o", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2 and "no HTML files or WARC files" in done.stderr
    assert "JSON Lines" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "content", "looks_like"),
    [
        ("a.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        ("a.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        ("a.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
        ("a.docx", b"PK\x03\x04\x14\x00\x06\x00", "a ZIP archive or office document"),
        ("a.json", b'{\n  "records": [1, 2]\n}\n', "JSON"),
        ("b.json", b'[{"url": "https://clinic.example/"}]', "JSON"),
        ("a.csv", b"url,title,text\nhttps://a.example/,A,one\nhttps://b.example/,B,two\n", "CSV"),
        ("a.txt", b"Just a note to self.\nNothing marked up here.\n", "plain text"),
        ("feed.xml", b'<?xml version="1.0"?>\n<rss><channel></channel></rss>', "XML"),
        ("a.bin", b"\x00\x01\x02\x03binary", "binary data"),
        # content, not the name, decides
        ("page.html", b'{"url": "https://clinic.example/", "text": "hi"}\n', JSONL),
        ("page.php", b"%PDF-1.7\n", "PDF"),
    ],
)
def test_sniff_names_what_a_file_is(
    tmp_path: Path, name: str, content: bytes, looks_like: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff(path) == looks_like


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><body><p>Hi</p></body></html>",
        b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN">\n<html></html>',
        b"\xef\xbb\xbf<html><p>BOM first</p></html>",
        "<html><p>UTF-16</p></html>".encode("utf-16"),
        b"Warning: include(): failed in line 3<br>\n<html><body><p>Hi</p></body></html>",
        b"A saved page of bare text, named as HTML.",
        b"",
    ],
)
def test_sniff_leaves_html_to_the_parser(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(content)
    assert sniff(path) is None


def test_a_folder_reports_an_html_named_file_that_is_not_html(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html><body><p>Welcome, this is home.</p></body></html>")
    (tmp_path / "style.css").write_text("body { color: red }")  # not a page: not a word
    (tmp_path / "export.htm").write_bytes(b"%PDF-1.4\n")
    summary = Summary()
    pages = read_files([tmp_path], BASE, summary)
    assert [p.url for p in pages] == [BASE]
    assert summary.skipped_files == [f"{tmp_path / 'export.htm'} is not HTML (looks like PDF)"]


# --- templates: only what was removed, as it was written ----------------------------------


def _records_file(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


def _pages(tmp_path: Path) -> list[Page]:
    """Ten pages: a dated sign-off at the end of each (template), and a "Q:" label in the
    middle of four (frequent, but content where it stands: never removed)."""
    records = []
    advice = list(TOPICS.values())
    for n, (topic, says) in enumerate(TOPICS.items()):
        middle = "Q:" if n < 4 else f"Ask us about {topic}."
        signed = f"Posted {n + 10} March 20{n + 10} by the team."
        text = f"{says}\n\n{middle}\n\n{advice[n - 1]}\n\n{signed}"
        records.append({"url": f"https://clinic.example/{topic}/", "text": text})
    return read_input([_records_file(tmp_path, records)], Summary(), warn=lambda m: None)


def test_templates_listed_are_those_removed_with_their_own_text(tmp_path: Path) -> None:
    stats = DedupStats()
    records = list(build_records(_pages(tmp_path), DedupOptions(), stats))
    assert stats.template == 10
    assert stats.top_templates == [("Posted 10 March 2010 by the team.", 10)]
    assert sum("\n\nQ:\n\n" in r.text for r in records) == 4  # kept...
    summary = Summary(template_removed=stats.template, top_templates=stats.top_templates)
    text = format_summary(summary, "in.jsonl", "-", "pages")
    assert "template on  10 pages: Posted 10 March 2010 by the team." in text
    assert "pages: q" not in text and "posted 0" not in text  # ...so not listed
    report = render_report(summary, [], [], source="in.jsonl", emit="pages")
    assert "Posted 10 March 2010 by the team." in report and "posted 0 march" not in report


def test_no_template_removed_lists_none(tmp_path: Path) -> None:
    records = [
        {"url": f"https://clinic.example/{topic}/", "text": says} for topic, says in TOPICS.items()
    ]
    stats = DedupStats()
    pages = read_input([_records_file(tmp_path, records)], Summary(), warn=lambda m: None)
    list(build_records(pages, DedupOptions(), stats))
    assert stats.template == 0 and stats.top_templates == []
    assert "template on" not in format_summary(Summary(), "in.jsonl", "-", "pages")


# --- in-page repeats: a copy of the kept text, by its place in the record -----------------


def _block(text: str, path: tuple[int, ...], kind: str = "para") -> Block:
    return Block(text=text, kind=kind, level=2 if kind == "heading" else 0, path=path)  # type: ignore[arg-type]


def test_each_block_of_a_repeated_section_names_its_own_counterpart() -> None:
    first = "Ice the knee for ten minutes after each run and keep the mileage flat for a week."
    second = "If it still aches after two weeks, book an assessment of how you run."
    blocks = [_block("An introduction of the page, long enough to count.", (0, 1))]
    for variant in (2, 3):  # desktop and mobile
        blocks += [
            _block("Running knee pain", (0, variant, 10 + variant), "heading"),
            _block(first, (0, variant, 20 + variant)),
            _block(second, (0, variant, 30 + variant)),
        ]
    kept, removed = drop_repeats(blocks)
    assert [(r.block.text, kept[r.copy_of].text) for r in removed] == [
        ("Running knee pain", "Running knee pain"),
        (first, first),
        (second, second),
    ]


def test_a_repeat_points_into_the_kept_blocks() -> None:
    one = "The first paragraph, said twice in a row."
    two = "The second paragraph, also said twice."
    blocks = [_block(t, (0, n + 1)) for n, t in enumerate([one, one, two, two])]
    kept, removed = drop_repeats(blocks)
    assert [b.text for b in kept] == [one, two]
    assert [r.copy_of for r in removed] == [0, 1]


def test_explain_and_report_show_the_kept_text_a_repeat_copies(tmp_path: Path) -> None:
    pages = read_files([SITE], BASE, Summary())
    explained: list[dict[str, Any]] = []
    records = list(
        build_records(pages, DedupOptions(), DedupStats(), lambda r: explained.append(r.to_dict()))
    )
    knee = next(r for r in records if r.url.endswith("knee.html"))
    repeats = [r for r in explained if r["reason"] == "repeat"]
    assert len(repeats) == 3 and {r["copy_of"] for r in repeats} == {2, 3, 4}
    record_blocks = text_blocks(knee.text)
    for repeat in repeats:
        assert repeat["kept"] == repeat["text"][:80]
        assert record_blocks[repeat["copy_of"]].text == repeat["text"]
    summary = Summary(records=len(records), repeats_removed=3)
    report = render_report(summary, [knee.to_dict()], repeats, source="site", emit="pages")
    assert "copy of kept block 3: “Ice the knee for ten minutes" in report
    assert "copy of block 0" not in report


def test_a_repeat_of_a_block_that_went_as_template_says_so(tmp_path: Path) -> None:
    line = "Book online or call us on the number below today."
    records = [
        {
            "url": f"https://clinic.example/{n}/",
            "text": f"{line}\n\n{line}\n\nPage {n} is about topic {n}.",
        }
        for n in range(6)
    ]
    pages = read_input([_records_file(tmp_path, records)], Summary(), warn=lambda m: None)
    explained: list[dict[str, Any]] = []
    list(
        build_records(pages, DedupOptions(), DedupStats(), lambda r: explained.append(r.to_dict()))
    )
    repeats = [r for r in explained if r["reason"] == "repeat"]
    assert len(repeats) == 6
    assert all(r["copy_of"] is None and r["kept"] == line for r in repeats)

"""Output formats on real files: JSON array, CSV, Markdown folder, redirect map."""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import PAGE_SCHEMA, QA_SCHEMA

from harvester.emit import JsonlWriter, OutputError
from harvester.formats import (
    CSV_COLUMNS,
    CsvWriter,
    JsonArrayWriter,
    MarkdownWriter,
    open_writer,
    slug_path,
    write_redirects,
)

SUN = {
    "name": "Jonathan Sun",
    "credentials": "BPE, CAT(C)",
    "title": "Certified Athletic Therapist",
}
MULTILINE_ANSWER = 'Rest first.\n\n- ice, twice a day\n- no hills\n\nThen "see" us, please.'


def _id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def page(url: str, **fields: Any) -> dict[str, Any]:
    """A page record shaped as emitted, checked against the shipped schema."""
    record: dict[str, Any] = {
        "id": _id(url),
        "url": url,
        "aliases": [],
        "title": "A page",
        "section": None,
        "kind": "article",
        "qa": [],
        "text": "Some text.",
        "site": "Evolution Sport Therapy",
        "published": "2019-03-04",
        "modified": None,
        "language": "en-CA",
        "fetched_at": "2024-05-01T10:00:00Z",
        "source": "http",
        "attachments": [],
        "author": None,
        "description": None,
        "images": [],
        **fields,
    }
    jsonschema.validate(record, PAGE_SCHEMA)
    return record


def qa_page() -> dict[str, Any]:
    url = "https://clinic.example/ask-a-pro/running-knee-pain/"
    return page(
        url,
        title="Running Knee Pain",
        section="Ask A Pro, Get Answers",
        kind="qa",
        aliases=[
            "https://clinic.example/ask-a-pro/running-knee-pain/?ref=old",
            "https://www.clinic.example/knee.html",
        ],
        qa=[
            {
                "question": "My knee hurts when I run.",
                "answer": MULTILINE_ANSWER,
                "answered_by": SUN,
            },
            {"question": "Should I stretch?", "answer": "Yes, gently.", "answered_by": None},
            {
                "question": "Is <b>ice</b> better\nthan heat?",
                "answer": "Ice.",
                "answered_by": {"name": "Dr. Jane Roe", "credentials": "DC", "title": None},
            },
        ],
        text="My knee hurts when I run.\n\nRest first.",
    )


def article() -> dict[str, Any]:
    return page(
        "https://clinic.example/articles/café-stretches/",
        title="Stretches: the ---\nbasics #1",
        text="# Stretches\n\nHold each for 30 s.\n\n- calves\n- <script>alert(1)</script>",
        author="Ann Lee",
        description="How to stretch.",
        aliases=["https://clinic.example/stretches.php?id=7"],
    )


def qa_record() -> dict[str, Any]:
    record = {
        "id": _id("qa-1"),
        "question": "My knee hurts when I run.",
        "answer": MULTILINE_ANSWER,
        "answered_by": SUN,
        "urls": [
            "https://clinic.example/ask-a-pro/running-knee-pain/",
            "https://clinic.example/faq/",
        ],
        "site": "Evolution Sport Therapy",
    }
    jsonschema.validate(record, QA_SCHEMA)
    return record


def records() -> list[dict[str, Any]]:
    return [qa_page(), article(), page("https://clinic.example/"), qa_record()]


# --- JSON ----------------------------------------------------------------------------


def test_json_is_one_array_of_the_records(tmp_path: Path) -> None:
    target = tmp_path / "out" / "records.json"
    with open_writer("json", str(target)) as writer:
        for record in records():
            writer.write(record)
    assert writer.count == 4
    assert json.loads(target.read_text("utf-8")) == records()
    assert os.listdir(target.parent) == ["records.json"]


def test_json_of_no_records_is_an_empty_array(tmp_path: Path) -> None:
    target = tmp_path / "records.json"
    JsonArrayWriter(str(target)).close()
    assert json.loads(target.read_text("utf-8")) == []


def test_json_interrupted_run_leaves_a_complete_array(tmp_path: Path) -> None:
    target = tmp_path / "records.json"
    target.write_text('[{"old": true}]', "utf-8")
    first, second, *_ = records()
    with pytest.raises(KeyboardInterrupt), open_writer("json", str(target)) as writer:
        writer.write(first)
        writer.write(second)
        assert json.loads(target.read_text("utf-8")) == [{"old": True}]  # not yet replaced
        raise KeyboardInterrupt
    assert json.loads(target.read_text("utf-8")) == [first, second]
    assert os.listdir(tmp_path) == ["records.json"]


def test_json_never_closed_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "records.json"
    writer = JsonArrayWriter(str(target))
    for record in records():
        writer.write(record)
    assert not target.exists()
    del writer
    gc.collect()
    assert os.listdir(tmp_path) == []  # the temporary file is gone too


def test_json_never_closed_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "records.json"
    target.write_text("[]\n", "utf-8")
    writer = JsonArrayWriter(str(target))
    writer.write(article())
    del writer
    gc.collect()
    assert target.read_text("utf-8") == "[]\n"
    assert os.listdir(tmp_path) == ["records.json"]


def test_json_to_stdout_streams_one_array(capsys: pytest.CaptureFixture[str]) -> None:
    writer = open_writer("json", "-")
    writer.write(article())
    assert capsys.readouterr().out.startswith("[\n{")
    writer.write(qa_record())
    writer.close()
    writer.close()
    out = capsys.readouterr().out
    assert out.endswith("\n]\n")
    assert out.count("]\n") == 1


def test_json_stdout_after_interruption_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(KeyboardInterrupt), open_writer("json", "-") as writer:
        writer.write(article())
        raise KeyboardInterrupt
    assert json.loads(capsys.readouterr().out) == [article()]


# --- CSV -----------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        return list(reader)


def test_csv_has_one_row_per_qa(tmp_path: Path) -> None:
    target = tmp_path / "records.csv"
    with open_writer("csv", str(target)) as writer:
        for record in records():
            writer.write(record)
    assert isinstance(writer, CsvWriter)
    assert (writer.count, writer.rows) == (4, 6)
    rows = read_csv(target)
    assert [row["question"] for row in rows] == [
        "My knee hurts when I run.",
        "Should I stretch?",
        "Is <b>ice</b> better\nthan heat?",
        "",
        "",
        "My knee hurts when I run.",
    ]
    knee = rows[0]
    assert knee["id"] == qa_page()["id"]
    assert knee["title"] == "Running Knee Pain"
    assert knee["kind"] == "qa"
    assert knee["answer"] == MULTILINE_ANSWER
    assert (knee["answered_by_name"], knee["answered_by_credentials"]) == (
        "Jonathan Sun",
        "BPE, CAT(C)",
    )
    assert knee["answered_by_title"] == "Certified Athletic Therapist"
    assert knee["aliases"] == " ".join(qa_page()["aliases"])
    assert knee["published"] == "2019-03-04"
    assert rows[1]["answered_by_name"] == ""
    assert rows[2]["answered_by_title"] == ""


def test_csv_keeps_pages_without_qa_and_qa_records(tmp_path: Path) -> None:
    target = tmp_path / "records.csv"
    with CsvWriter(str(target)) as writer:
        writer.write(article())
        writer.write(qa_record())
    page_row, qa_row = read_csv(target)
    assert page_row["url"] == "https://clinic.example/articles/café-stretches/"
    assert page_row["title"] == "Stretches: the ---\nbasics #1"
    assert (page_row["question"], page_row["answer"], page_row["modified"]) == ("", "", "")
    assert qa_row["url"] == " ".join(qa_record()["urls"])
    assert qa_row["answer"] == MULTILINE_ANSWER
    assert qa_row["site"] == "Evolution Sport Therapy"
    assert (qa_row["title"], qa_row["kind"], qa_row["aliases"]) == ("", "", "")


def test_csv_rows_are_flushed_per_record(tmp_path: Path) -> None:
    target = tmp_path / "records.csv"
    writer = CsvWriter(str(target))
    writer.write(qa_page())
    assert len(read_csv(target)) == 3
    writer.close()


# --- Markdown ------------------------------------------------------------------------


def read_markdown(path: Path) -> tuple[dict[str, Any], str]:
    match = re.fullmatch(r"---\n(.*?\n)---\n\n(.*)", path.read_text("utf-8"), re.DOTALL)
    assert match, path
    front = yaml.safe_load(match.group(1))
    assert isinstance(front, dict)
    return front, match.group(2)


def write_markdown(folder: Path, items: list[dict[str, Any]]) -> MarkdownWriter:
    with MarkdownWriter(str(folder)) as writer:
        for record in items:
            writer.write(record)
    return writer


def test_markdown_qa_page(tmp_path: Path) -> None:
    writer = write_markdown(tmp_path / "site", [qa_page()])
    assert writer.slug_of(qa_page()["id"]) == "ask-a-pro/running-knee-pain.md"
    front, body = read_markdown(tmp_path / "site" / "ask-a-pro" / "running-knee-pain.md")
    assert front == {
        "url": "/ask-a-pro/running-knee-pain/",
        "source_url": "https://clinic.example/ask-a-pro/running-knee-pain/",
        "title": "Running Knee Pain",
        "aliases": ["/ask-a-pro/running-knee-pain/?ref=old", "/knee.html"],
        "published": "2019-03-04",
        "modified": None,
        "section": "Ask A Pro, Get Answers",
        "kind": "qa",
        "date": "2019-03-04",
        "lastmod": None,
        "author": None,
        "description": None,
    }
    assert body == (
        "## My knee hurts when I run.\n\n"
        f"{MULTILINE_ANSWER}\n\n"
        "— Jonathan Sun, BPE, CAT(C), Certified Athletic Therapist\n\n"
        "## Should I stretch?\n\nYes, gently.\n\n"
        "## Is &lt;b>ice&lt;/b> better than heat?\n\nIce.\n\n— Dr. Jane Roe, DC\n"
    )


def test_markdown_article_and_front_matter_quoting(tmp_path: Path) -> None:
    write_markdown(tmp_path, [article()])
    front, body = read_markdown(tmp_path / "articles" / "cafe-stretches.md")
    assert front["title"] == "Stretches: the ---\nbasics #1"
    assert front["author"] == "Ann Lee"
    assert front["description"] == "How to stretch."
    assert front["aliases"] == ["/stretches.php?id=7"]  # old addresses, as site paths
    assert front["url"] == "/articles/cafe-stretches/"  # the address on the new site
    assert front["source_url"] == article()["url"]
    assert front["kind"] == "article"
    assert body.startswith("# Stretches\n\nHold each for 30 s.\n\n- calves\n")
    assert "<script>" not in body


def test_markdown_qa_record(tmp_path: Path) -> None:
    writer = write_markdown(tmp_path, [qa_page(), qa_record()])
    relative = writer.slug_of(qa_record()["id"])
    assert relative == "ask-a-pro/running-knee-pain-2.md"
    front, body = read_markdown(tmp_path / relative)
    assert front == {
        "title": "My knee hurts when I run.",
        "url": qa_record()["urls"][0],
        "urls": qa_record()["urls"],
        "answered_by": SUN,
    }
    assert body.startswith("My knee hurts when I run.\n\nRest first.")
    assert body.endswith("— Jonathan Sun, BPE, CAT(C), Certified Athletic Therapist\n")


def test_markdown_site_root_is_index(tmp_path: Path) -> None:
    writer = write_markdown(tmp_path, [page("https://clinic.example/")])
    assert writer.slug_of(_id("https://clinic.example/")) == "index.md"
    assert (tmp_path / "index.md").is_file()


def test_markdown_same_record_twice_keeps_its_file(tmp_path: Path) -> None:
    writer = write_markdown(tmp_path, [article(), article()])
    assert writer.count == 2
    assert writer.slugs == {article()["id"]: "articles/cafe-stretches.md"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://site/ask-a-pro/running-knee-pain/", "ask-a-pro/running-knee-pain"),
        ("https://site/", "index"),
        ("https://site", "index"),
        ("https://site/index.html", "index"),
        ("https://site/about/index.php", "about"),
        ("https://site/About-Us.HTML", "about-us"),
        ("https://site/index.php?page=about", "page-about"),
        ("https://site/forum/viewtopic.php?t=12&start=20", "forum/viewtopic-t-12-start-20"),
        ("http://x/../../etc/passwd", "etc/passwd"),
        ("http://x/%2e%2e/%2e%2e/secret", "secret"),
        ("http://x/café/日本語/", "cafe/日本語"),
        ("http://x/CON", "con-page"),
        ("http://x/lpt9/", "lpt9-page"),
        ("http://x/aux.txt", "aux-txt"),
        ("http://x/a/b/../../../../c", "a/b/c"),
        ("http://x/a%2Fb%5Cc%00d", "a-b-c-d"),
    ],
)
def test_slug_path(url: str, expected: str) -> None:
    assert slug_path(url) == expected


HOSTILE = [
    "http://x/../../etc/passwd",
    "http://x/%2e%2e/%2e%2e/secret",
    "http://x/" + "a" * 5000,
    "http://x/" + "b" * 5000,
    "http://x/" + "/".join(["segment"] * 700),
    "http://x/café/日本語/",
    "http://x/CON",
    "http://x/con/",
    "http://x/aux.txt",
    "http://x/a/b/../../../../c",
    "http://x",
    "http://x/",
    "http://x/Page",
    "http://x/page",
    "http://x/page-2",
    "http://x/%00/%0a/%5C..%5C..%5Cwin",
    "http://x/.../....//",
    "http://x/C:%5Cwindows%5Csystem32",
    "http://x//etc/shadow",
    "http://x/%E2%80%AEfdp.exe",
]


def test_hostile_urls_stay_inside_and_get_distinct_files(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    items = [page(url) for url in HOSTILE]
    writer = write_markdown(folder, items)
    relatives = [writer.slug_of(record["id"]) for record in items]
    assert len({path.casefold() for path in relatives}) == len(HOSTILE)
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == len(HOSTILE)
    root = folder.resolve()
    for path in written:
        assert path.resolve().is_relative_to(root), path
        relative = path.relative_to(folder).as_posix()
        assert relative in relatives
        assert len(relative.encode()) < 200
        for part in relative.removesuffix(".md").split("/"):
            assert part and part not in {".", ".."}
            assert len(part.encode()) <= 100
            assert part.casefold() not in {"con", "prn", "aux", "nul", "com1", "lpt1"}
            assert not any(ord(char) < 32 or char in '\\:*?"<>|' for char in part)
        front, _ = read_markdown(path)
        assert front["source_url"] in HOSTILE


def test_case_only_difference_gets_two_files(tmp_path: Path) -> None:
    writer = write_markdown(tmp_path, [page("http://x/FAQ"), page("http://x/faq")])
    assert writer.slug_of(_id("http://x/FAQ")) == "faq.md"
    assert writer.slug_of(_id("http://x/faq")) == "faq-2.md"


def test_markdown_does_not_follow_a_symlink_out(tmp_path: Path) -> None:
    folder, outside = tmp_path / "site", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (folder / "ask-a-pro").symlink_to(outside, target_is_directory=True)
    writer = MarkdownWriter(str(folder))
    with pytest.raises(OutputError, match="outside"):
        writer.write(qa_page())
    deep = page("https://clinic.example/ask-a-pro/deep/knee/")
    with pytest.raises(OutputError, match="outside"):
        writer.write(deep)
    assert list(outside.iterdir()) == []


def test_markdown_target_must_be_a_folder(tmp_path: Path) -> None:
    target = tmp_path / "records.md"
    target.write_text("x", "utf-8")
    with pytest.raises(OutputError, match="it is a file") as error:
        open_writer("markdown", str(target))
    assert "\n" not in str(error.value)
    with pytest.raises(OutputError, match="stdout"):
        open_writer("markdown", "-")


# --- Redirects -----------------------------------------------------------------------


def read_redirects(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["from", "to"]
    return rows[1:]


def test_redirects_to_canonical_urls(tmp_path: Path) -> None:
    target = tmp_path / "redirects.csv"
    assert write_redirects(str(target), records()) == 3
    knee = qa_page()["url"]
    assert read_redirects(target) == [
        [qa_page()["aliases"][0], knee],
        [qa_page()["aliases"][1], knee],
        ["https://clinic.example/stretches.php?id=7", article()["url"]],
    ]


def test_redirects_to_markdown_pages(tmp_path: Path) -> None:
    items = [*records(), page("https://clinic.example/Über/")]
    writer = write_markdown(tmp_path / "site", items)
    target = tmp_path / "redirects.csv"
    count = write_redirects(str(target), items, writer.slugs)
    rows = read_redirects(target)
    assert count == len(rows) == 5
    assert rows == [
        [qa_page()["aliases"][0], "/ask-a-pro/running-knee-pain/"],
        [qa_page()["aliases"][1], "/ask-a-pro/running-knee-pain/"],
        ["https://clinic.example/stretches.php?id=7", "/articles/cafe-stretches/"],
        [article()["url"], "/articles/cafe-stretches/"],
        ["https://clinic.example/Über/", "/uber/"],
    ]


def test_redirects_unwritable_target(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="it is a folder"):
        write_redirects(str(tmp_path), records())


# --- open_writer ---------------------------------------------------------------------


def test_open_writer_formats(tmp_path: Path) -> None:
    jsonl = open_writer("jsonl", str(tmp_path / "a.jsonl"))
    assert isinstance(jsonl, JsonlWriter)
    jsonl.close()
    with pytest.raises(ValueError, match="unknown format"):
        open_writer("xml", str(tmp_path / "a.xml"))
    with pytest.raises(ValueError, match="appended"):
        open_writer("json", str(tmp_path / "a.json"), append=True)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_open_writer_unwritable_file(tmp_path: Path, fmt: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    with pytest.raises(OutputError) as error:
        open_writer(fmt, str(blocker / "out"))
    assert str(error.value).startswith(f"cannot write to {blocker / 'out'}")
    with pytest.raises(OutputError, match="it is a folder"):
        open_writer(fmt, str(tmp_path))

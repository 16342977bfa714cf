"""Record outputs on real files: a user's previous output survives every run that fails."""

from __future__ import annotations

import csv
import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import jsonschema
import pytest
from conftest import PAGE_SCHEMA, QA_SCHEMA
from output_samples import MULTILINE_ANSWER, article, page, qa_page, qa_record, records

from harvester.models import QARecord
from harvester.output import (
    CSV_COLUMNS,
    FORMATS,
    CsvOutput,
    OutputError,
    check_writable,
    format_for,
    open_output,
    write_atomic,
)

TESTS = Path(__file__).resolve().parent
OLD = b'[{"old": true}]\n'


def dicts() -> list[dict[str, object]]:
    return [r.to_dict() for r in records()]


def write_all(fmt: str, target: Path | str, **options: bool) -> None:
    output = open_output(fmt, str(target), **options)
    for record in records():
        output.write(record)
    output.commit()


def test_records_match_the_schemas() -> None:
    for record in records():
        schema = QA_SCHEMA if isinstance(record, QARecord) else PAGE_SCHEMA
        jsonschema.validate(record.to_dict(), schema)


# --- lifecycle -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_abandon_leaves_the_previous_file_byte_identical(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    target.write_bytes(OLD)
    output = open_output(fmt, str(target))
    for record in records():
        output.write(record)
    output.abandon()
    assert target.read_bytes() == OLD
    leftovers = {p.name for p in tmp_path.iterdir()} - {target.name}
    assert leftovers == ({"out.jsonl.partial"} if fmt == "jsonl" else set())


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_commit_replaces_and_leaves_nothing_beside(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    target.write_bytes(OLD)
    output = open_output(fmt, str(target))
    output.write(article())
    assert target.read_bytes() == OLD  # not before commit
    output.commit()
    output.commit()  # a second commit changes nothing
    assert target.read_bytes() != OLD
    assert os.listdir(tmp_path) == [target.name]


def test_json_is_one_array_of_the_records(tmp_path: Path) -> None:
    target = tmp_path / "out" / "records.json"  # its folder is created
    write_all("json", target)
    assert json.loads(target.read_text("utf-8")) == dicts()


def test_json_of_no_records_is_an_empty_array(tmp_path: Path) -> None:
    target = tmp_path / "records.json"
    open_output("json", str(target)).commit()
    assert json.loads(target.read_text("utf-8")) == []


def test_json_dropped_without_commit_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "records.json"
    output = open_output("json", str(target))
    output.write(article())
    del output
    gc.collect()
    assert os.listdir(tmp_path) == []


def test_json_to_stdout_stays_one_array_when_abandoned(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = open_output("json", "-")
    output.write(article())
    first = capsys.readouterr().out
    assert first.startswith("[\n{")  # streamed as written
    output.write(qa_record())
    output.abandon()
    output.abandon()
    out = first + capsys.readouterr().out
    assert out.endswith("\n]\n") and out.count("\n]\n") == 1
    assert json.loads(out) == [article().to_dict(), qa_record().to_dict()]


def test_jsonl_lines_are_flushed_to_the_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    output = open_output("jsonl", str(target))
    output.write(article())
    partial = tmp_path / "out.jsonl.partial"
    assert json.loads(partial.read_text("utf-8")) == article().to_dict()
    output.commit()
    assert not partial.exists()
    assert [json.loads(line) for line in target.read_text("utf-8").splitlines()] == [
        article().to_dict()
    ]


def test_jsonl_resume_appends_after_the_complete_lines(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(OLD)
    first = open_output("jsonl", str(target))
    first.write(article())
    first.write(qa_page())
    first.abandon()
    partial = tmp_path / "out.jsonl.partial"
    with partial.open("ab") as handle:
        handle.write(b'{"id": "torn')  # a line cut by the interruption
    resumed = open_output("jsonl", str(target), resume=True)
    assert resumed.already == {article().id, qa_page().id}
    for record in records():
        if record.id not in resumed.already:
            resumed.write(record)
    assert target.read_bytes() == OLD
    resumed.commit()
    ids = [json.loads(line)["id"] for line in target.read_text("utf-8").splitlines()]
    assert sorted(ids) == sorted(r.id for r in records())


def test_jsonl_without_resume_discards_an_old_partial(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.partial").write_text(json.dumps(article().to_dict()) + "\n")
    output = open_output("jsonl", str(target))
    assert output.already == set()
    output.write(qa_record())
    output.commit()
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == [qa_record().id]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_a_symlink_stays_a_link_and_its_target_gets_the_content(tmp_path: Path, fmt: str) -> None:
    real = tmp_path / "data" / f"real.{fmt}"
    real.parent.mkdir()
    real.write_bytes(OLD)
    link = tmp_path / f"link.{fmt}"
    link.symlink_to(real)
    write_all(fmt, link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.read_bytes() != OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", link.name]
    assert os.listdir(real.parent) == [real.name]


def test_write_atomic_follows_a_symlink_and_fails_in_one_line(tmp_path: Path) -> None:
    real = tmp_path / "report.html"
    real.write_text("old")
    link = tmp_path / "latest.html"
    link.symlink_to(real.name)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    for bad in (tmp_path, real / "inside.html"):
        with pytest.raises(OutputError) as caught:
            write_atomic(bad, "x")
        assert str(caught.value).startswith(f"cannot write to {bad}: ")
        assert "\n" not in str(caught.value)
    assert real.read_text() == "new"


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_dev_null_is_written_directly(fmt: str) -> None:
    before = os.stat(os.devnull)
    write_all(fmt, os.devnull)
    after = os.stat(os.devnull)
    assert (before.st_ino, before.st_rdev) == (after.st_ino, after.st_rdev)
    assert not Path(os.devnull + ".partial").exists()


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_a_fifo_is_written_directly(tmp_path: Path, fmt: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_all(fmt, fifo)
    reader.join(10)
    assert fifo.is_fifo() and os.listdir(tmp_path) == ["pipe"]
    text = received[0].decode("utf-8")
    if fmt == "json":
        assert json.loads(text) == dicts()
    elif fmt == "jsonl":
        assert [json.loads(line) for line in text.splitlines()] == dicts()
    else:
        assert text.startswith(",".join(CSV_COLUMNS))


# --- kill -9 -------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from output_samples import page
    from harvester.output import open_output
    output = open_output({fmt!r}, {target!r}, resume={resume!r})
    for number in range({count}):
        if page(f"/p/{{number}}").id not in output.already:
            output.write(page(f"/p/{{number}}", text="x" * 1000))
        if number == {stop}:
            print(len(output.already), flush=True)
            time.sleep(60)
    output.commit()
    print("done", flush=True)
    """
)


def run_child(fmt: str, target: Path, count: int, stop: int, resume: bool = False) -> str:
    """A process writing `count` pages, killed with SIGKILL after `stop` of them
    (stop < 0: it runs to the end)."""
    code = CHILD.format(
        tests=str(TESTS), fmt=fmt, target=str(target), resume=resume, count=count, stop=stop
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if stop >= 0:
        child.send_signal(signal.SIGKILL)
    child.wait(30)
    return line


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_kill_9_mid_write_leaves_the_previous_file(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    target.write_bytes(OLD)
    run_child(fmt, target, count=200, stop=100)
    assert target.read_bytes() == OLD
    assert len(os.listdir(tmp_path)) == 2  # the dead process's temporary file
    write_all(fmt, target)  # the next run removes it
    assert os.listdir(tmp_path) == [target.name]


def test_kill_9_then_resume_completes_jsonl(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(OLD)
    run_child("jsonl", target, count=300, stop=120)
    assert target.read_bytes() == OLD
    assert run_child("jsonl", target, count=300, stop=-1, resume=True) == "done"
    ids = [json.loads(line)["id"] for line in target.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 300
    assert os.listdir(tmp_path) == [target.name]


# --- CSV -----------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        return list(reader)


def test_csv_has_one_row_per_qa_and_the_page_text(tmp_path: Path) -> None:
    target = tmp_path / "records.csv"
    output = open_output("csv", str(target))
    for record in records():
        output.write(record)
    output.commit()
    assert isinstance(output, CsvOutput) and (output.count, output.rows) == (4, 6)
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
    assert (knee["id"], knee["title"], knee["kind"]) == (qa_page().id, "Running Knee Pain", "qa")
    assert knee["answer"] == MULTILINE_ANSWER
    assert (knee["answered_by_name"], knee["answered_by_credentials"]) == (
        "Jonathan Sun",
        "BPE, CAT(C)",
    )
    assert knee["aliases"] == " ".join(qa_page().aliases)
    assert knee["text"] == qa_page().text and rows[1]["text"] == ""  # once per page
    assert rows[1]["answered_by_name"] == "" and rows[2]["answered_by_title"] == ""
    article_row, root_row, qa_row = rows[3:]
    assert article_row["text"] == article().text  # an article is not exported empty
    assert root_row["url"] == "https://clinic.example/"
    assert qa_row["url"] == " ".join(qa_record().urls)
    assert (qa_row["title"], qa_row["kind"], qa_row["text"]) == ("", "", "")


# --- choosing and checking -----------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "fmt", "expected"),
    [
        ("-", None, "jsonl"),
        ("out", None, "jsonl"),
        ("out.txt", None, "jsonl"),
        ("a.jsonl", None, "jsonl"),
        ("a.NDJSON", None, "jsonl"),
        ("a.jl", None, "jsonl"),
        ("a.json", None, "json"),
        ("a.csv", None, "csv"),
        ("site.md", None, "markdown"),
        ("content/", None, "markdown"),
        ("a.json", "csv", "csv"),
    ],
)
def test_format_for(target: str, fmt: str | None, expected: str) -> None:
    assert format_for(target, fmt) == expected
    assert expected in FORMATS


def test_format_for_an_existing_folder(tmp_path: Path) -> None:
    assert format_for(str(tmp_path), None) == "markdown"


def test_open_output_rejects_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        open_output("xml", str(tmp_path / "a.xml"))


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_unwritable_file_targets_fail_in_one_line(tmp_path: Path, fmt: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as error:
        open_output(fmt, str(blocker / "out"))
    assert str(error.value).startswith(f"cannot write to {blocker / 'out'}")
    assert "\n" not in str(error.value)
    with pytest.raises(OutputError, match="it is a folder"):
        open_output(fmt, str(tmp_path))
    with pytest.raises(OutputError, match="it is a folder"):
        open_output(fmt, str(tmp_path / "new") + "/")
    assert not (tmp_path / "new").exists()


def test_check_writable(tmp_path: Path) -> None:
    check_writable(str(tmp_path / "new" / "report.html"))
    assert os.listdir(tmp_path / "new") == []  # the probe is gone
    check_writable("-")
    check_writable(os.devnull)
    check_writable(str(tmp_path / "site"), folder=True)
    with pytest.raises(OutputError, match="it is a folder"):
        check_writable(str(tmp_path))
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        check_writable(str(tmp_path / "file"), folder=True)
    with pytest.raises(OutputError, match="is not a folder"):
        check_writable(str(tmp_path / "file" / "out.json"))


def test_a_full_disk_is_one_line_and_keeps_the_previous_file(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with pytest.raises(OutputError, match="No space left on device") as error:
        write_all("jsonl", "/dev/full")
    assert "\n" not in str(error.value)
    with pytest.raises(OutputError, match="No space left on device"):
        write_atomic("/dev/full", "x")


def test_page_helper_urls() -> None:
    assert page("/").url == "https://clinic.example/"

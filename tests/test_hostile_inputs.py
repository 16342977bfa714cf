"""Bad input gets a one-line error and exit 2, never a traceback or "internal error";
pages too deep or too big for the parser, and charset labels that lie, lose no text."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Server, run_cli

from harvester.extract import extract_page
from harvester.parse import decode, parse_html


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["crawl", "http://[::1/"], "invalid URL"),
        (["crawl", "https://clinic.example/", "--timeout", "nan"], "not a finite number"),
        (["crawl", "https://clinic.example/", "--delay", "inf"], "not a finite number"),
        (["crawl", "https://clinic.example/", "--template-min-share", "nan"], "finite"),
        (["crawl", "https://clinic.example/" + "a" * 10_000], "longer than 2048"),
    ],
)
def test_bad_flags_and_urls_are_usage_errors(args: list[str], says: str) -> None:
    done = run_cli(*args, timeout=30)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "internal error" not in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ("[crawl]\ndelay = [1, 2]\n", "[crawl]: delay: one value"),
        ('delay = "soon"\n', "delay:"),
        ('[crawl]\nsink = "file:x.jsonl"\n', "give a list"),
    ],
)
def test_bad_values_in_the_settings_file_are_blamed_on_the_file(
    settings: str, says: str, tmp_path: Path
) -> None:
    (tmp_path / "harvester.toml").write_text(settings, "utf-8")
    done = run_cli("crawl", "https://clinic.example/", cwd=tmp_path, timeout=30)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "harvester.toml" in done.stderr
    assert done.stderr.count("\n") == 1


def test_dedup_skips_a_record_without_a_url(tmp_path: Path) -> None:
    """One record with "url": "" once made every record fold into it (6 in, 1 out); it is
    skipped with a warning, and the run is partial."""
    records = [
        {"url": f"https://clinic.example/p{i}/", "text": f"Page {i} says its own thing {i}."}
        for i in range(5)
    ] + [{"url": "", "text": "No address."}]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    done = run_cli("dedup", str(source), "-o", str(tmp_path / "out.jsonl"))
    assert done.returncode == 1 and "in.jsonl:6" in done.stderr and "absolute" in done.stderr
    assert len((tmp_path / "out.jsonl").read_text("utf-8").splitlines()) == 5

    source.write_text("".join(json.dumps(r) + "\n" for r in records[:5]), "utf-8")
    done = run_cli("dedup", str(source), "-o", str(tmp_path / "out.jsonl"))
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "out.jsonl").read_text("utf-8").splitlines()) == 5


def test_an_odd_answered_by_names_nobody(tmp_path: Path) -> None:
    record = {
        "url": "https://clinic.example/faq/",
        "text": "FAQ",
        "qa": [{"question": "Open?", "answer": "Yes.", "answered_by": {"nick": "x"}}],
    }
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(record) + "\n", "utf-8")
    done = run_cli("dedup", str(source), "-o", str(tmp_path / "out.jsonl"))
    assert done.returncode == 0, done.stderr
    written = json.loads((tmp_path / "out.jsonl").read_text("utf-8"))
    assert written["qa"][0]["answered_by"] is None


@pytest.mark.parametrize("depth", [300, 1500, 6000])
def test_deep_pages_keep_their_text(depth: int) -> None:
    """Nested past libxml2's 256 (and 2048) levels, and past Python's recursion limit."""
    html = (
        "<html><head><title>Deep</title></head><body>" + "<div>" * depth
        + "<p>What sits at the bottom is content.</p><a href='/next/'>next</a>"
        + "</div>" * depth + "</body></html>"
    ).encode()  # fmt: skip
    page = extract_page(parse_html(html, "https://clinic.example/"), "", "file")
    assert "What sits at the bottom is content." in [b.text for b in page.blocks]
    assert page.title == "Deep" and page.links == ["https://clinic.example/next/"]


def test_a_huge_text_node_is_kept() -> None:
    html = b"<html><body><p>" + b"word " * 4_000_000 + b"</p></body></html>"  # 20 MB
    page = extract_page(parse_html(html, "https://clinic.example/"), "", "file")
    assert sum(len(b.text) for b in page.blocks) > 19_000_000


@pytest.mark.parametrize("label", ["utf-16", "UTF-16LE", "utf_16be"])
def test_a_meta_saying_utf16_on_an_8bit_page_is_not_read_as_utf16(label: str) -> None:
    body = f'<html><head><meta charset="{label}"></head><body><p>Café Müller</p>'.encode("cp1252")
    body += b" " * (len(body) % 2)  # an even length decodes as UTF-16 without an error
    assert "Café Müller" in decode(body)
    utf8 = f'<html><head><meta charset="{label}"></head><body><p>Café</p>'.encode()
    assert "Café" in decode(utf8 + b" " * (len(utf8) % 2))


@pytest.mark.parametrize("label", ["hex", "base64", "rot13", "zlib", "bz2", "uu", "quopri"])
def test_a_charset_label_naming_a_bytes_codec_is_ignored(label: str) -> None:
    body = f'<html><head><meta charset="{label}"></head><body><p>caf'.encode() + b"\xe9</p>"
    assert "café" in decode(body, label)


def test_a_full_disk_under_the_state_file_is_one_line(sample_site: Server, tmp_path: Path) -> None:
    """The state file cannot grow (the disk is full): one line and exit 3."""

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    done = subprocess.run(
        [sys.executable, "-m", "harvester", "crawl", sample_site.url, "-o", "-",
         "--state", str(tmp_path / "s.sqlite"), "--workers", "0", "--delay", "0", "-q"],
        capture_output=True, text=True, preexec_fn=small_files, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode in (2, 3), done.stderr  # 2 when it cannot even be opened
    assert done.stderr.count("\n") == 1 and "state" in done.stderr
    assert "internal error" not in done.stderr

"""Dedup a migrator can trust: templates out, content kept, every removal explained."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, QA_SCHEMA, Server, read_records, run_cli, serve

SITE = FIXTURES / "dedup-site"
SHARED_ANSWER = "Yes, we bill most extended health plans directly"
QUOTE = "Rest is not the absence of training"


@pytest.fixture(scope="module")
def site() -> Iterator[Server]:
    yield from serve(SITE)


@pytest.fixture(scope="module")
def crawl(site: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("dedup")
    out, explain = folder / "out.jsonl", folder / "explain.jsonl"
    result = run_cli("crawl", site.url, "-o", str(out), "--delay", "0", "--explain", str(explain))
    assert result.returncode == 0, result.stderr
    records = {r["url"].rsplit("/", 1)[-1]: r for r in read_records(out)}
    removals = [json.loads(line) for line in explain.read_text().splitlines()]
    return {"records": records, "removals": removals, "stderr": result.stderr}


def test_template_lines_removed_everywhere(crawl: dict[str, Any]) -> None:
    for name, record in crawl["records"].items():
        text = record["text"]
        assert "Copyright" not in text, name  # the year differs from page to page
        assert "Contact" not in text.replace("# Contact", ""), name  # the menu
        assert "(current)" not in text, name  # ...whose active item differs
        assert "Book online" not in text, name
        assert "Other pages" not in text, name


def test_repeated_content_is_kept(crawl: dict[str, Any]) -> None:
    records = crawl["records"]
    for name in ("faq-billing.html", "faq-visits.html"):
        assert SHARED_ANSWER in records[name]["text"], name
        assert any(SHARED_ANSWER in q["answer"] for q in records[name]["qa"]), name
    for name in ("article-ice.html", "article-heat.html"):
        assert QUOTE in records[name]["text"], name


def test_every_removal_is_explained(crawl: dict[str, Any]) -> None:
    removals = crawl["removals"]
    reasons = {r["reason"] for r in removals}
    assert reasons == {"template", "duplicate-page"}
    copyright_lines = [r for r in removals if "Copyright" in r["text"]]
    assert len(copyright_lines) == len(crawl["records"]) + 1  # index.html is also "/"
    assert all(r["pages"] >= 3 for r in copyright_lines)
    ids = {r["url"]: r["id"] for r in crawl["records"].values()}
    assert all(r["record_id"] == ids[r["url"]] for r in removals if r["url"] in ids)
    folded = [r for r in removals if r["reason"] == "duplicate-page"]
    assert [(r["url"].rsplit("/", 1)[-1], r["folded_into"].rsplit("/", 1)[-1]) for r in folded] == [
        ("index.html", "")
    ]
    assert folded[0]["similarity"] == 1.0
    assert "template on" in crawl["stderr"]


def test_shared_qa_once_with_both_urls(site: Server, tmp_path: Path) -> None:
    out = tmp_path / "qa.jsonl"
    result = run_cli("crawl", site.url, "-o", str(out), "--delay", "0", "--emit", "qa")
    assert result.returncode == 0, result.stderr
    pairs = read_records(out, QA_SCHEMA)
    shared = [p for p in pairs if p["question"] == "Do you bill insurers directly?"]
    assert len(shared) == 1
    assert sorted(u.rsplit("/", 1)[-1] for u in shared[0]["urls"]) == [
        "faq-billing.html",
        "faq-visits.html",
    ]
    assert len(pairs) == 3


def test_dedup_command_on_records_of_another_tool(tmp_path: Path) -> None:
    boiler = "Subscribe to our newsletter for monthly tips on staying active."
    lines = [
        {"url": f"https://other.example/p{n}", "text": f"Page {n} talks about {topic}.\n\n{boiler}"}
        for n, topic in enumerate(["knees", "hips", "backs", "necks"])
    ]
    lines.append({"url": "https://other.example/p0?print=1", "text": lines[0]["text"]})
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = run_cli("dedup", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    records = read_records(out)
    assert [r["url"] for r in records] == [f"https://other.example/p{n}" for n in range(4)]
    assert records[0]["aliases"] == ["https://other.example/p0?print=1"]
    assert all(boiler not in r["text"] for r in records)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"url": "x"}\n')
    failed = run_cli("dedup", str(bad))
    assert failed.returncode == 2 and "bad.jsonl:1" in failed.stderr


def test_second_run_with_one_new_page_writes_only_it(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    shutil.copytree(SITE, folder)
    out, state = tmp_path / "out.jsonl", tmp_path / "state.sqlite"
    for server in serve(folder):
        args = ["crawl", server.url, "-o", str(out), "--state", str(state), "--delay", "0"]
        assert run_cli(*args).returncode == 0
        assert len(read_records(out)) == 8
        new_page = (
            (folder / "about.html")
            .read_text()
            .replace("About the Clinic", "Our Team")
            .replace(
                "Founded in 2004 by two therapists who wanted longer appointments and fewer "
                "machines.",
                "Meet the four therapists, two massage therapists and one kinesiologist on staff.",
            )
        )
        (folder / "team.html").write_text(new_page)
        index = folder / "index.html"
        index.write_text(
            index.read_text().replace(
                '<p class="more">Other pages: ',
                '<p class="more">Other pages: <a href="team.html">team.html</a> ',
            )
        )
        again = run_cli(*args, "--only-changed")
        assert again.returncode == 0, again.stderr
        written = read_records(out)
        assert [r["title"] for r in written] == ["Our Team"]

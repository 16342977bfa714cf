"""The bundled sample site crawled over real HTTP: the project's end-to-end promise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import QA_SCHEMA, SAMPLE_SITE, Server, read_records, run_cli

SEED_PATH = "ask-a-pro/running-knee-pain/"
SHARED_SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "naive-scrape-ask-a-pro.txt"
CHROME = ("Newsletter Signup", "Sign up for our newsletter", "© Copyright", "We use cookies")
MENU = ("Home", "About Us", "Services", "Ask A Pro", "Articles", "FAQ", "Contact")


def seed_qa_text() -> tuple[str, str]:
    """Question and answer as the shared naive scrape has them (the paragraphs after Q:/A:)."""
    if SHARED_SEED.exists():
        lines = SHARED_SEED.read_text("utf-8").splitlines()
    else:  # a clone without the shared folder: the sample page carries the same text
        html = (SAMPLE_SITE / SEED_PATH / "index.html").read_text("utf-8")
        start = html.index("I’m training")
        question = html[start : html.index("</p>", start)]
        start = html.index("Knee pain is a common")
        return question, html[start : html.index("</p>", start)]
    return lines[lines.index("Q:") + 1], lines[lines.index("A:") + 1]


@pytest.fixture(scope="module")
def crawled(sample_site: Server, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("crawl") / "records.jsonl"
    result = run_cli("crawl", sample_site.url, "-o", str(out), "--delay", "0")
    assert result.returncode == 0, result.stderr
    return read_records(out)


def strings(record: dict[str, Any]) -> list[str]:
    """Every string value anywhere in a record."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(record)
    return found


def test_seed_page_is_one_clean_record(crawled: list[dict[str, Any]], sample_site: Server) -> None:
    seed_url = sample_site.url + SEED_PATH
    seeds = [r for r in crawled if r["url"] == seed_url or seed_url in r["aliases"]]
    assert len(seeds) == 1
    record = seeds[0]
    question, answer = seed_qa_text()
    assert record["title"] == "Running Knee Pain"
    assert record["section"] == "Ask A Pro, Get Answers"
    assert record["site"] == "Evolution Sport Therapy"
    assert record["kind"] == "qa"
    assert record["qa"] == [
        {
            "question": question,
            "answer": answer,
            "answered_by": {
                "name": "Jonathan Sun",
                "credentials": "BPE, CAT(C)",
                "title": "Certified Athletic Therapist",
            },
        }
    ]
    assert record["text"].count(question) == 1
    assert record["text"].count(answer) == 1
    assert record["language"] == "en-CA"
    assert record["source"] == "http"


def test_no_record_carries_chrome(crawled: list[dict[str, Any]]) -> None:
    for record in crawled:
        for value in strings(record):
            for chrome in CHROME:
                assert chrome not in value, (record["url"], chrome)
        lines = {line.strip("#- ").strip() for line in record["text"].splitlines()}
        lines.discard(record["title"])  # the About Us page may be called "About Us"
        assert not lines & set(MENU), (record["url"], lines & set(MENU))


def test_each_page_once_with_its_aliases(
    crawled: list[dict[str, Any]], sample_site: Server
) -> None:
    urls = [r["url"] for r in crawled]
    assert len(urls) == len(set(urls))
    assert all(u.startswith(sample_site.url) for u in urls)
    home = next(r for r in crawled if r["url"] == sample_site.url)
    assert sample_site.url + "index.html" in home["aliases"]
    article = next(r for r in crawled if r["url"].endswith("/articles/foam-rolling-basics/"))
    assert article["aliases"] == [sample_site.url + "articles/foam-rolling-basics/print.html"]
    assert article["published"] == "2021-03-03T15:00:00+00:00"
    assert "# Foam Rolling Basics" in article["text"]
    # 15 files, print.html folded into its article; /index.html is a second URL of /
    assert len(crawled) == 14
    assert not any("utm_source" in u for r in crawled for u in [r["url"], *r["aliases"]])


def test_faq_page_keeps_structure(crawled: list[dict[str, Any]]) -> None:
    faq = next(r for r in crawled if r["url"].endswith("/faq/"))
    assert faq["kind"] == "qa"
    assert len(faq["qa"]) == 5
    bring = faq["qa"][1]
    assert bring["question"] == "What should I bring to my first appointment?"
    assert "\n\n- " in bring["answer"] and bring["answer"].count("\n- ") >= 4
    assert all(q["answered_by"] is None for q in faq["qa"])


def test_articles_are_articles(crawled: list[dict[str, Any]]) -> None:
    kinds = {r["url"].rsplit("/", 2)[-2]: r["kind"] for r in crawled}
    assert kinds["preventing-shin-splints"] == "article"
    assert kinds["low-back-pain-desk-job"] == "qa"


def test_emit_qa_lists_each_pair_once(sample_site: Server, tmp_path: Path) -> None:
    out = tmp_path / "qa.jsonl"
    result = run_cli("crawl", sample_site.url, "-o", str(out), "--delay", "0", "--emit", "qa")
    assert result.returncode == 0, result.stderr
    pairs = read_records(out, QA_SCHEMA)
    assert len(pairs) == 9  # 4 Ask A Pro answers + 5 FAQ entries
    assert len({p["id"] for p in pairs}) == 9
    knee = next(p for p in pairs if p["question"].startswith("I’m training"))
    assert knee["urls"] == [sample_site.url + SEED_PATH]
    assert knee["answered_by"]["name"] == "Jonathan Sun"
    people = {p["answered_by"]["name"] for p in pairs if p["answered_by"]}
    assert people == {"Jonathan Sun", "Maria Lopez", "Dr. Daniel Cho", "Priya Natarajan"}


def test_extract_saved_copy_matches_crawl(
    crawled: list[dict[str, Any]], sample_site: Server, tmp_path: Path
) -> None:
    out = tmp_path / "offline.jsonl"
    result = run_cli("extract", str(SAMPLE_SITE), "--base-url", sample_site.url, "-o", str(out))
    assert result.returncode == 0, result.stderr
    offline = read_records(out)
    assert {r["url"] for r in offline} == {r["url"] for r in crawled}
    seed = next(r for r in offline if r["url"].endswith(SEED_PATH))
    online = next(r for r in crawled if r["url"].endswith(SEED_PATH))
    assert seed["qa"] == online["qa"] and seed["source"] == "file"


def test_stdout_output_and_summary(sample_site: Server) -> None:
    result = run_cli("crawl", sample_site.url, "-o", "-", "--delay", "0")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 14
    assert "records written" in result.stderr
    quiet = run_cli("crawl", sample_site.url, "--delay", "0", "--quiet")
    assert quiet.stderr == "" and len(quiet.stdout.splitlines()) == 14

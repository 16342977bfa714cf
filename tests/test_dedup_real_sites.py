"""Dedup on small-business sites as they are: listings keep their entries, near-empty
and look-alike pages stay apart, backups and drafts fold, canonicals keep the directory."""

from __future__ import annotations

import sys
from dataclasses import replace

import jsonschema
import pytest
from conftest import FIXTURES, PAGE_SCHEMA

from harvester.dedup import DedupOptions, DedupStats, Removal, build_records
from harvester.dedup.evidence import resolve_canonical, url_evidence
from harvester.extract import extract_page
from harvester.models import Page, _hash
from harvester.parse import parse_html

sys.path.insert(0, str(FIXTURES / "dedup-real"))
import realsites

PLUMBER, BAKERY = realsites.PLUMBER, realsites.BAKERY


class Run:
    def __init__(self, pages: list[Page]) -> None:
        self.removals: list[Removal] = []
        self.records = list(
            build_records(pages, DedupOptions(), DedupStats(), self.removals.append)
        )
        self.by_url = {u: r for r in self.records for u in [r.url, *r.aliases]}

    def folded(self, url: str) -> Removal:
        return next(r for r in self.removals if r.reason == "duplicate-page" and r.url == url)


@pytest.fixture(scope="module")
def pages() -> list[Page]:
    return [
        extract_page(parse_html(s.html.encode(), s.url), "2024-01-01T00:00:00Z", "http")
        for s in realsites.samples()
    ]


@pytest.fixture(scope="module")
def run(pages: list[Page]) -> Run:
    return Run(pages)


def test_every_record_fits_the_schema(run: Run) -> None:
    for record in run.records:
        jsonschema.validate(record.to_dict(), PAGE_SCHEMA)


def test_listing_record_keeps_its_entries(run: Run) -> None:
    news = run.by_url[f"{BAKERY}/news/"]
    assert news.kind == "listing"
    newest = sorted(realsites.NEWS, key=lambda p: p.iso, reverse=True)
    assert [(e.title, e.url, e.date) for e in news.entries] == [
        (p.title, f"{BAKERY}/news/{p.slug}.htm", p.iso) for p in newest
    ]
    assert [e.excerpt for e in news.entries] == [p.paragraphs[0] for p in newest]
    assert all(p.title in news.text for p in newest)  # not dropped as template
    # The category and the year archive list the same posts: each keeps them.
    for name in ("menu.htm", "shop.htm", "2023.htm"):
        assert run.by_url[f"{BAKERY}/news/{name}"].kind == "listing"
        assert run.by_url[f"{BAKERY}/news/{name}"].url == f"{BAKERY}/news/{name}"


def test_listing_teasers_are_template_without_the_listing_rule(pages: list[Page]) -> None:
    """The teasers recur on enough pages to be template: an article keeps nothing."""
    news = next(p for p in pages if p.url == f"{BAKERY}/news/")
    stripped = [replace(p, links=[]) if "/news/" in p.url else p for p in pages]
    record = Run(stripped).by_url[news.url]  # no links: no entries to recognise
    assert record.kind == "article" and record.text == "# News from the bakery"


def test_a_post_is_an_article_and_keeps_its_hash(run: Run) -> None:
    """Records without entries hash as they did before listings had any."""
    post = run.by_url[f"{BAKERY}/news/new-oven.htm"]
    assert post.kind == "article" and post.to_dict()["entries"] == []
    before = {k: v for k, v in post.to_dict().items() if k not in ("entries", "fetched_at")}
    assert post.content_hash() == _hash(before)


def test_near_empty_pages_do_not_fold(run: Run) -> None:
    for a, b in (
        (f"{PLUMBER}/blog/2021/", f"{PLUMBER}/blog/2022/"),
        (f"{PLUMBER}/contact/map.html", f"{PLUMBER}/about/map.html"),
    ):
        first, second = run.by_url[a], run.by_url[b]
        assert first is not second and first.url == a and second.url == b
    # Their text alone cannot tell the archive stubs apart.
    assert run.by_url[f"{PLUMBER}/blog/2021/"].text == run.by_url[f"{PLUMBER}/blog/2022/"].text


def test_reordered_backup_folds(run: Run) -> None:
    for page, backup in (
        (f"{PLUMBER}/about.html", f"{PLUMBER}/about_old.htm"),
        (f"{BAKERY}/breads.htm", f"{BAKERY}/breads_old.htm"),
    ):
        assert run.by_url[backup].url == page
        signals = run.folded(backup).detail["signals"]
        assert signals["decided_by"] == ["url", "cosine"]
        assert signals["url"] == "backup-suffix"
        assert signals["jaccard"] < 0.9 < signals["cosine"]


def test_draft_folds_into_the_published_page(run: Run) -> None:
    record = run.by_url[f"{BAKERY}/temp/catering.htm"]
    assert record.url == f"{BAKERY}/catering.htm"  # never the draft's URL
    assert realsites.CATERING_ADDED in record.text
    signals = run.folded(f"{BAKERY}/temp/catering.htm").detail["signals"]
    assert signals["decided_by"] == ["url", "containment"] and signals["url"] == "backup-folder"


def test_relative_canonical_keeps_the_directory_url(run: Run) -> None:
    for directory, index in (
        (f"{PLUMBER}/blog/", f"{PLUMBER}/blog/index.html"),
        (f"{BAKERY}/news/", f"{BAKERY}/news/index.htm"),
    ):
        record = run.by_url[index]
        assert record.url == directory and record.aliases == [index]
        assert run.folded(index).detail["signals"]["url"] == "canonical"


def test_canonical_resolution() -> None:
    assert resolve_canonical(f"{PLUMBER}/blog/", "index.html") == f"{PLUMBER}/blog/"
    assert resolve_canonical(f"{PLUMBER}/blog/x/", "../Index.php") == f"{PLUMBER}/blog/"
    assert resolve_canonical(f"{PLUMBER}/a/", f"{PLUMBER}/a/page.html") == f"{PLUMBER}/a/page.html"
    assert resolve_canonical(f"{PLUMBER}/a/", "/index.php?id=3") == f"{PLUMBER}/index.php?id=3"
    assert resolve_canonical(f"{PLUMBER}/a/", "") is None


def test_look_alike_pages_stay_apart(run: Run) -> None:
    for url in [f"{PLUMBER}/plumber-{t.lower()}.html" for t in realsites.TOWNS] + [
        f"{PLUMBER}/blog/{p.slug}/" for p in realsites.POSTS
    ]:
        assert run.by_url[url].url == url and run.by_url[url].aliases == []


def test_url_evidence() -> None:
    site = PLUMBER
    assert url_evidence(f"{site}/services/a-2.html", f"{site}/services/a.html") == "backup-suffix"
    assert url_evidence(f"{site}/temp/a.html", f"{site}/services/a.html") == "backup-folder"
    assert url_evidence(f"{site}/a.php", f"{site}/a.htm") == "extension-twin"
    assert url_evidence(f"{site}/blog/", f"{site}/blog/index.html") == "index-file"
    assert url_evidence(f"{site}/a.html?print=1", f"{site}/a.html") == "print-view"
    assert url_evidence(f"{site}/plumber-x.html", f"{site}/plumber-y.html") is None
    assert url_evidence(f"{site}/news/a.html", f"{site}/faq/a.html") is None

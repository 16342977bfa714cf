"""One vocabulary for reading markup: chrome words match whole class/id tokens and words,
the block walk and the Q&A detectors agree on what chrome is, and one tolerant JSON-LD
reader serves metadata and Q&A alike."""

from __future__ import annotations

import json

import lxml.html
import pytest

from harvester.extract import extract_page, vocabulary
from harvester.extract.qa_html import in_chrome as qa_in_chrome
from harvester.models import Page
from harvester.parse import parse_html

ARTICLE = """{
  "@context": "https://schema.org",
  "@type": "NewsArticle",
  "headline": "Harbour pool reopens",
  "datePublished": "2021-06-01T08:00:00+01:00",
  "author": [{"@type": "Person", "name": "Ann Kerr"},],
}"""
FAQ = """{"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
  {"@type": "Question", "name": "Is the pool heated?",
   "acceptedAnswer": {"@type": "Answer", "text": "No, it is filled by the sea."},},
]}"""


def page_with(script: str) -> str:
    return (
        "<html><head><title>Harbour pool reopens</title>"
        f'<script type="application/ld+json">{script}</script></head>'
        "<body><main><h1>Harbour pool reopens</h1><p>The pool reopens on Saturday.</p>"
        "</main></body></html>"
    )


def extract(html: str) -> Page:
    return extract_page(parse_html(html.encode(), "https://news.example/a/"), "", "file")


def test_trailing_comma_json_ld_gives_the_same_author_and_date_as_valid_json_ld() -> None:
    valid = ARTICLE.replace("},]", "}]").replace("}],\n}", "}]\n}")
    json.loads(valid)
    with pytest.raises(ValueError):
        json.loads(ARTICLE)
    broken, fixed = extract(page_with(ARTICLE)), extract(page_with(valid))
    assert (broken.author, broken.published) == (fixed.author, fixed.published)
    assert (broken.author, broken.published) == ("Ann Kerr", "2021-06-01T08:00:00+01:00")


def test_trailing_comma_json_ld_still_gives_its_questions() -> None:
    page = extract(page_with(FAQ))
    assert [(q.question, q.answer) for q in page.qa] == [
        ("Is the pool heated?", "No, it is filled by the sea.")
    ]


def test_class_words_are_whole_tokens_and_words() -> None:
    assert vocabulary.words_of({"faq-item__title", "Related_Posts"}) == {
        "faq",
        "item",
        "title",
        "related",
        "posts",
    }
    assert vocabulary.chrome_strength("elementor-widget elementor-hidden-mobile ") == 0
    assert vocabulary.chrome_strength("site-newsletter ") == 2
    assert vocabulary.chrome_strength("has-sidebar ") == 1
    assert vocabulary.names_aside("author-bio ")
    assert not vocabulary.names_aside("headline-link article-body ")  # no "ad" in "headline"


def test_block_walk_and_qa_detectors_agree_on_chrome() -> None:
    html = (
        "<html><body><nav><p id='n'>x</p></nav><div role='search'><p id='s'>x</p></div>"
        "<header><p id='h'>x</p></header><article><header><p id='a'>x</p></header>"
        "</article><dialog><p id='d'>x</p></dialog></body></html>"
    )
    tree = lxml.html.document_fromstring(html)
    chrome = {p.get("id"): qa_in_chrome(p) for p in tree.iter("p")}
    assert chrome == {"n": True, "s": True, "h": True, "a": False, "d": True}
    assert qa_in_chrome is vocabulary.in_chrome

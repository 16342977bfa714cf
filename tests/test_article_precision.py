"""An article's text is the article: teasers, author boxes, captions, newsletter boxes,
decks and trailing link lists inside its container stay out, hidden metadata copies never
become the text, and figures of code or tables stay in."""

from __future__ import annotations

from pathlib import Path

from harvester.extract import extract_page
from harvester.extract.blocks import render
from harvester.models import Page
from harvester.parse import parse_html

FIXTURES = Path(__file__).parent / "fixtures" / "articles"


def extract(name: str) -> Page:
    html = (FIXTURES / name).read_bytes()
    return extract_page(parse_html(html, "https://news.example/a/"), "", "file")


def test_surroundings_inside_the_article_container_are_left_out() -> None:
    page = extract("article-with-teasers-bio-caption-inside-container.html")
    text = render(page.blocks)
    assert text.startswith("# Why knees ache after long runs\n\nKnee pain after a long run")
    assert "Building strength in the hips" in text
    for aside in (
        "## Why knees ache",  # a deck repeating the title
        "By Dana Reyes",  # byline
        "Photo credit",  # caption
        "Ten stretches for runners",  # related teasers
        "writes about endurance sport",  # author bio
        "in your inbox",  # newsletter box
        "More from Trail Weekly",  # a trailing link list and its heading
        "Gaiters, poles",
    ):
        assert aside not in text
    assert page.author == "Dana Reyes"


def test_hidden_copy_of_the_body_is_metadata_not_the_text() -> None:
    page = extract("hidden-metadata-copy-of-article.html")
    text = render(page.blocks)
    assert text.count("The harbour pool reopens on Saturday") == 1
    assert "Opening hours follow the tides" in text
    assert "2021-06-01" not in text and "Ann Kerr" not in text


def test_figures_of_code_and_tables_are_content() -> None:
    text = render(extract("figure-with-code-and-table-is-content.html").blocks)
    assert 'Path("notes.txt").read_text()' in text
    assert "read_bytes() | bytes" in text

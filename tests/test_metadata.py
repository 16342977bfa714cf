"""Each metadata source, one fixture each: title, section, site, dates, author, language,
description, canonical URL and content images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harvester.extract import extract_page
from harvester.models import Image
from harvester.parse import parse_html

META = Path(__file__).resolve().parent / "fixtures" / "meta"

EXPECTED: dict[str, dict[str, Any]] = {
    "wordpress-yoast-meta-tags.html": {
        "url": "https://northside.example/blog/hamstring-strain/",
        "title": "Healing a Hamstring Strain",
        "site": "Northside Physio",
        "published": "2019-05-14T09:30:00+00:00",
        "modified": "2020-01-02T11:00:00+00:00",
        "author": "Dana Whitfield",
        "language": "en-US",
        "description": "How long a hamstring strain takes to heal, and what speeds it up.",
        "canonical": "https://northside.example/blog/hamstring-strain/",
        "images": [
            Image(
                "https://northside.example/wp-content/uploads/hamstring-stretch.jpg",
                "Athlete doing a hamstring stretch",
            )
        ],
    },
    "jsonld-newsarticle.html": {
        "url": "https://lakeshore.example/news/second-clinic/",
        "title": "Lakeshore Opens a Second Clinic",
        "site": "Lakeshore Sports Medicine",
        "published": "2022-09-01T08:00:00-04:00",
        "modified": "2022-09-03T10:15:00-04:00",
        "author": "Sam Okafor, Lee Chen",
        "language": None,
    },
    "time-element-and-byline.html": {
        "url": "https://boreale.example/entorses/",
        "title": "Les entorses de cheville",
        "published": "2021-11-08",
        "author": "Marie Tremblay",
        "language": "fr-CA",
    },
    "posted-on-text-only.html": {
        "url": "http://oldclinic.example/tips/winter.html",
        "title": "Winter Running Tips",
        "published": "2009-01-12",
        "author": None,
        "description": None,
    },
    "breadcrumb-section.html": {
        "url": "https://harbour.example/services/concussion/",
        "title": "Concussion Care",
        "section": "Services",
        "site": "Harbour Health",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metadata_source(name: str) -> None:
    expected = dict(EXPECTED[name])
    url = expected.pop("url")
    page = extract_page(parse_html((META / name).read_bytes(), url), "", "http")
    found = {key: getattr(page, key) for key in expected}
    assert found == expected


def test_title_suffix_and_section_from_title() -> None:
    html = (
        b"<html><head><title>Ask A Pro, Get Answers | Running Knee Pain</title></head>"
        b"<body><h2>Running Knee Pain</h2><p>Text of the page.</p></body></html>"
    )
    page = extract_page(parse_html(html, "http://x.example/"), "", "http")
    assert (page.title, page.section) == ("Running Knee Pain", "Ask A Pro, Get Answers")

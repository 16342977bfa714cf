"""The pure middle of the pipeline, HTML or blocks in, dataclasses out."""

from __future__ import annotations

import pytest

from harvester.dedup import drop_repeats, learn
from harvester.extract import extract_page
from harvester.extract.signature import split_signature
from harvester.models import Block, Person
from harvester.parse import parse_html
from harvester.urls import InvalidURL, normalize, resolve


@pytest.mark.parametrize(
    ("lines", "person"),
    [
        (
            ["Jonathan Sun BPE, CAT(C)", "Certified Athletic Therapist"],
            Person("Jonathan Sun", "BPE, CAT(C)", "Certified Athletic Therapist"),
        ),
        (["— Dr. Jane Roe, DC"], Person("Dr. Jane Roe", "DC")),
        (["Answered by Sam Lee, RMT"], Person("Sam Lee", "RMT")),
        (
            ["Maria Lopez, Registered Massage Therapist"],
            Person("Maria Lopez", None, "Registered Massage Therapist"),
        ),
    ],
)
def test_signature_is_split_off(lines: list[str], person: Person) -> None:
    rest, found = split_signature(["Rest and ice for two days.", *lines])
    assert rest == ["Rest and ice for two days."]
    assert found == person


@pytest.mark.parametrize(
    "last", ["Then strengthen the glutes.", "Book An Appointment Today", "Call us: 555-0100"]
)
def test_ordinary_last_line_is_not_a_signature(last: str) -> None:
    assert split_signature(["Rest and ice for two days.", last]) == (
        ["Rest and ice for two days.", last],
        None,
    )


def block(text: str, path: tuple[int, ...], kind: str = "para") -> Block:
    return Block(text=text, kind=kind, level=0, path=path)  # type: ignore[arg-type]


def test_section_rendered_three_times_is_kept_once() -> None:
    answer = "Ice the knee for ten minutes after each run and keep the mileage flat for a week."
    blocks = []
    for variant, extra in ((1, " Then see us."), (2, ""), (3, "")):
        blocks += [
            block("Running Knee Pain", (0, variant, 10 + variant), "heading"),
            block(answer + extra, (0, variant, 20 + variant)),
        ]
    kept, removed = drop_repeats(blocks)
    assert [b.text for b in kept] == ["Running Knee Pain", answer + " Then see us."]
    assert len(removed) == 4


def test_template_catches_a_changed_year_but_not_content() -> None:
    pages = [
        [
            block(f"© Copyright Evolution Sport Therapy {year}.", (0,)),
            block(topic, (1,)),
        ]
        for topic, year in zip(
            (
                "Runners knees ache when mileage climbs too fast.",
                "Sprained ankles need balance work before sport.",
                "Swimmers shoulders tire from long freestyle sets.",
                "Tight hips come from sitting all day at a desk.",
                "Lower backs respond well to walking breaks.",
            ),
            (2019, 2021, 2022, 2022, 2020),
            strict=True,
        )
    ]
    pages[0].append(block("© Copyright Evolution Sport Therapy Inc. 2019", (2,)))
    model = learn(pages)
    assert all(model.is_template(p[0]) for p in pages)
    assert model.is_template(pages[0][2])  # near copy, same cluster
    assert not any(model.is_template(p[1]) for p in pages)


def test_normalize_urls() -> None:
    assert normalize("HTTP://Example.COM:80/a/./b/../c?b=2&a=1&utm_source=x#top") == (
        "http://example.com/a/c?a=1&b=2"
    )
    assert normalize("https://example.com") == "https://example.com/"
    assert resolve("http://example.com/x/", "mailto:a@example.com") is None
    assert resolve("http://example.com/x/", "../y?fbclid=1") == "http://example.com/y"
    with pytest.raises(InvalidURL):
        normalize("ftp://example.com/")


def test_hidden_chrome_words_are_whole_words() -> None:
    html = b"""<html><body>
      <div class="elementor-widget elementor-hidden-mobile">
        <p>Kept: a widget class is not chrome.</p></div>
      <div class="site-newsletter"><p>Dropped: newsletter box.</p></div>
      </body></html>"""
    page = extract_page(parse_html(html, "http://example.com/"), "", "file")
    assert [b.text for b in page.blocks] == ["Kept: a widget class is not chrome."]

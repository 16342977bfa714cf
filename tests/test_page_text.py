"""A page's text keeps its intro and every Q&A shown on it, in page order, and its kind
follows from how much of that whole text is Q&A."""

from __future__ import annotations

from pathlib import Path

import harvester
from harvester.extract.blocks import qa_share
from harvester.models import QA, Record

FIXTURES = Path(__file__).parent / "fixtures" / "page-text"


def extract(name: str) -> Record:
    return harvester.extract_html((FIXTURES / name).read_bytes(), "https://clinic.example/p/")


def qa_parts(record: Record) -> list[str]:
    """Every question and answer line of the record, in page order."""
    return [part for q in record.qa for part in (q.question, *q.answer.split("\n")) if part]


def assert_in_order(text: str, parts: list[str]) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} missing (or out of order) in:\n{text}"
        at = found + len(part)


def test_faq_page_keeps_intro_and_every_question_and_answer_in_order() -> None:
    record = extract("faq-intro-then-question-headings-each-answer-in-own-box.html")
    assert [q.question for q in record.qa] == [
        "How do I book my first appointment?",
        "Do I need a referral from my doctor?",
        "Is bunion surgery painful?",
        "How long does recovery take?",
    ]
    assert record.kind == "qa"
    assert record.text.startswith("# Frequently asked questions\n\nOur podiatrists have")
    intro = "call us during opening hours and one of our podiatrists will get back to you"
    assert_in_order(record.text, [intro, "## Appointments", *qa_parts(record)])
    assert "## Treatment" in record.text
    assert "Harbour Foot Clinic" not in record.text  # header and footer stay out


def test_article_with_a_short_faq_at_the_end_is_an_article_that_shows_the_faq() -> None:
    record = extract("article-with-short-faq-section-after-body.html")
    assert [q.question for q in record.qa] == [
        "Should I wear an ankle brace when I run?",
        "Can insoles replace a stable shoe?",
    ]
    assert record.kind == "article"
    body = "Their wear pattern shows how your foot lands"
    assert_in_order(record.text, [body, "## Questions about this article", *qa_parts(record)])


def test_accordion_in_main_beside_a_sidebar_keeps_its_intro_not_the_sidebar() -> None:
    record = extract("accordion-faq-in-main-beside-sidebar.html")
    assert len(record.qa) == 3
    assert record.kind == "qa"
    intro = "Custom orthotics are shoe inserts made from a scan of your feet."
    assert_in_order(record.text, ["# Orthotics: your questions answered", intro])
    assert_in_order(record.text, [intro, *qa_parts(record)])
    for sidebar in ("Opening hours", "Monday to Friday", "Heel pain"):
        assert sidebar not in record.text


def test_structured_faq_the_page_does_not_show_leaves_it_an_article() -> None:
    record = extract("article-with-structured-faq-not-shown.html")
    assert len(record.qa) == 3  # read from structured data, kept in `qa`
    assert record.kind == "article"
    assert "What causes heel pain in the morning?" not in record.text


def test_qa_share_counts_shown_qa_text_without_markup() -> None:
    qa = [
        QA("Is it safe?", "Yes.\n\n- Rest\n- Ice"),
        QA("Hidden question?", "Only in structured data, never on the page."),
    ]
    text = "# Title\n\nIs it safe?\n\nYes.\n\n- Rest\n- Ice"
    shown = len("Is it safe?Yes.RestIce")
    assert qa_share(qa, text) == shown / (len("Title") + shown)
    assert qa_share(qa, "") == 0.0
    assert qa_share([], text) == 0.0


def test_qa_share_sees_questions_behind_a_speaker_label() -> None:
    letter = QA("My husband flies business class. Am I right to feel hurt?", "Yes, you are.")
    text = "DEAR ABBY: My husband flies business class.\nAm I right to feel hurt?\n\nYes, you are."
    assert qa_share([letter], text) == 1.0

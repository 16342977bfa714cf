"""Records shaped like a legacy site's, for the output tests."""

from __future__ import annotations

import hashlib
from typing import Any

from harvester.models import QA, Person, QARecord, Record

SITE = "https://clinic.example"
SUN = Person("Jonathan Sun", "BPE, CAT(C)", "Certified Athletic Therapist")
MULTILINE_ANSWER = 'Rest first.\n\n- ice, twice a day\n- no hills\n\nThen "see" us, please.'


def record_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def page(path: str, **fields: Any) -> Record:
    url = path if path.startswith("http") else SITE + path
    values: dict[str, Any] = {
        "id": record_id(url),
        "url": url,
        "aliases": [],
        "title": "A page",
        "section": None,
        "kind": "article",
        "qa": [],
        "text": "Some text.",
        "site": "Evolution Sport Therapy",
        "published": "2019-03-04",
        "modified": None,
        "language": "en-CA",
        "fetched_at": "2024-05-01T10:00:00Z",
        "source": "http",
        **fields,
    }
    return Record(**values)


def qa_page() -> Record:
    return page(
        "/ask-a-pro/running-knee-pain/",
        title="Running Knee Pain",
        section="Ask A Pro, Get Answers",
        kind="qa",
        aliases=[
            SITE + "/ask-a-pro/running-knee-pain/?ref=old",
            "https://www.clinic.example/knee.html",
        ],
        qa=[
            QA("My knee hurts when I run.", MULTILINE_ANSWER, SUN),
            QA("Should I stretch?", "Yes, gently."),
            QA("Is <b>ice</b> better\nthan heat?", "Ice.", Person("Dr. Jane Roe", "DC")),
        ],
        text="Our therapists answer.\n\nMy knee hurts when I run.\n\nRest first.",
    )


def article() -> Record:
    return page(
        "/articles/café-stretches/",
        title="Stretches: the ---\nbasics #1",
        text="# Stretches: the --- basics #1\n\nHold each for 30 s.\n\n"
        "- calves\n- <script>alert(1)</script>",
        author="Ann Lee",
        description="How to stretch.",
        aliases=[SITE + "/stretches.php?id=7"],
    )


def qa_record(question: str = "My knee hurts when I run.") -> QARecord:
    return QARecord(
        id=record_id("qa:" + question),
        question=question,
        answer=MULTILINE_ANSWER,
        answered_by=SUN,
        urls=[SITE + "/ask-a-pro/running-knee-pain/", SITE + "/faq/"],
        site="Evolution Sport Therapy",
    )


def records() -> list[Record | QARecord]:
    return [qa_page(), article(), page("/"), qa_record()]

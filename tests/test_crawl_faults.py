"""A crawl against a server that misbehaves the ways real legacy servers do."""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import FIXTURES, FaultHandler, Server, read_records, run_cli, serve

from harvester.fetch import retry_after

PAGE = (
    "<html><head><title>{title}</title></head>"
    "<body><main><h1>{title}</h1><p>{body}</p></main></body></html>"
)


def flaky(handler: FaultHandler) -> None:
    if handler.hits() == 1:
        handler.send_body(503, b"busy", "text/plain", {"Retry-After": "1"})
    else:
        body = "Busy once, then fine: this page must still be emitted."
        handler.send_body(200, PAGE.format(title="Flaky Page", body=body).encode())


def redirect_to(location: str, status: int = 301) -> Any:
    def route(handler: FaultHandler) -> None:
        handler.send_body(status, b"", "text/html", {"Location": location})

    return route


def latin1(handler: FaultHandler) -> None:
    body = "Caf\xe9 au lait \x93before\x94 your session \x96 it\x92s fine."
    html = PAGE.format(title="Windows Quotes", body=body).encode("latin-1")
    handler.send_body(200, html, "text/html; charset=ISO-8859-1")


def mislabelled(handler: FaultHandler) -> None:
    """UTF-8 bytes that the server calls ISO-8859-1, as many legacy servers do."""
    html = PAGE.format(title="Mislabelled", body="Crème brûlée “quoted” — dash").encode()
    handler.send_body(200, html, "text/html; charset=ISO-8859-1")


def pdf(handler: FaultHandler) -> None:
    handler.send_body(200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf")


@pytest.fixture(scope="module")
def faulty() -> Iterator[Server]:
    for fixture_site in serve(FIXTURES / "site"):
        add_routes(fixture_site)
        yield fixture_site


def add_routes(fixture_site: Server) -> None:
    fixture_site.route("/flaky", flaky)
    fixture_site.route("/moved", redirect_to("/target.html"))
    fixture_site.route("/away", redirect_to("http://elsewhere.example/page", 302))
    fixture_site.route("/latin1", latin1)
    fixture_site.route("/mislabelled", mislabelled)
    fixture_site.route("/download", pdf)
    fixture_site.route("/broken", lambda h: h.send_body(500, b"oops", "text/plain"))


@pytest.fixture(scope="module")
def result(
    faulty: Server, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, str, dict[str, dict[str, Any]]]:
    """One crawl of the faulty site; the tests below read its outcome."""
    out = tmp_path_factory.mktemp("faults") / "out.jsonl"
    done = run_cli("crawl", faulty.url, faulty.url + "mislabelled", "-o", str(out), "--delay", "0")
    records = {r["url"].removeprefix(faulty.url): r for r in read_records(out)}
    return done.returncode, done.stderr, records


def test_busy_page_is_retried_after_retry_after(faulty: Server, result: Any) -> None:
    _, _, records = result
    assert records["flaky"]["title"] == "Flaky Page"
    assert faulty.state.hits["/flaky"] == 2


def test_failed_page_makes_a_partial_run(result: Any) -> None:
    code, stderr, records = result
    assert code == 1
    assert "gone: HTTP 404" in stderr
    assert "broken: HTTP 500" in stderr
    assert {"", "flaky", "target.html", "latin1", "legacy-table.html"} <= records.keys()


def test_server_errors_are_retried_other_4xx_not(faulty: Server, result: Any) -> None:
    assert faulty.state.hits["/broken"] == 4  # first try + 3 retries
    assert faulty.state.hits["/gone"] == 1


def test_retry_after_as_date_is_capped() -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    assert retry_after(later, 60.0) == 60.0
    assert retry_after("7", 60.0) == 7.0
    assert retry_after("soon", 60.0) is None


def test_redirect_source_is_an_alias(faulty: Server, result: Any) -> None:
    _, _, records = result
    assert records["target.html"]["aliases"] == [faulty.url + "moved"]
    assert "moved" not in records


def test_never_leaves_the_site(faulty: Server, result: Any) -> None:
    _, stderr, records = result
    assert all(not url.startswith("http") for url in records)  # all under the server's URL
    assert "/away" in faulty.requests and "elsewhere" not in stderr.split("failed:")[-1]


def test_documents_are_listed_not_parsed(faulty: Server, result: Any) -> None:
    _, stderr, records = result
    assert "/brochure.pdf" not in faulty.requests  # a document link is not fetched...
    assert records[""]["attachments"] == [  # ...but listed on the page that links to it
        {
            "url": faulty.url + "brochure.pdf",
            "text": "Our brochure (PDF)",
            "type": "application/pdf",
        }
    ]
    assert "download" not in records  # served as a PDF: counted, not parsed
    assert "non-HTML 1" in stderr


def test_no_mojibake(result: Any) -> None:
    _, _, records = result
    assert "Café au lait “before” your session – it’s fine." in records["latin1"]["text"]
    assert "Crème brûlée “quoted” — dash" in records["mislabelled"]["text"]


def test_legacy_table_qa_in_windows_1252(result: Any) -> None:
    _, _, records = result
    page = records["legacy-table.html"]
    assert page["title"] == "Ask the Therapist"
    assert page["site"] == "Fixture Clinic"
    assert page["qa"] == [
        {
            "question": "My wife’s shoulder clicks when she lifts her arm – should we worry?\n"
            "It doesn’t hurt.",
            "answer": "Painless clicking is common and usually harmless. The tendons glide over "
            "bone and make noise.\n\n"
            "If it becomes painful or weak, book an assessment. We’ll check the rotator cuff.",
            "answered_by": {"name": "Dr. Renée Fortin", "credentials": "DC", "title": None},
        }
    ]


def test_jsonld_and_html_copies_give_one_qa_each(result: Any) -> None:
    _, _, records = result
    faq = records["faq-jsonld.html"]
    assert [q["question"] for q in faq["qa"]] == ["Do you take walk-ins?", "What should I wear?"]
    assert faq["qa"][1]["answer"] == (
        "Loose clothing.\n\n- Shorts for knee or hip problems.\n- A tank top for shoulders."
    )
    assert "cookies" not in faq["text"]

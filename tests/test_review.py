"""The --report review page, from a real crawl of the sample site, rendered by a real browser:
the page's script must run, the filter must work, and hostile page text must stay text."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from conftest import QA_SCHEMA, Server, read_records, run_cli
from lxml.html import HtmlElement

from harvester.output import OutputError
from harvester.report import Failure, Summary
from harvester.review import render_report, write_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"
HOSTILE_URL = "http://evil.invalid/<b>page</b>"
HOSTILE_ID = "0123456789abcdef"
HOSTILE_TEXT = "</pre></details><script>alert(2)</script>"
ASSET_TAGS = ("link", "script", "img", "iframe", "frame", "source", "video", "audio", "embed")


@dataclass
class Run:
    """A crawl of the sample site, plus one hostile page, and its report."""

    summary: Summary
    records: list[dict[str, Any]]
    removals: list[dict[str, Any]]
    qa_records: list[dict[str, Any]]
    source: str
    report: Path


def _crawl(site: Server, folder: Path, *extra: str) -> tuple[Path, Path]:
    folder.mkdir(exist_ok=True)
    out, explain = folder / "records.jsonl", folder / "explain.jsonl"
    result = run_cli(
        "crawl", site.url, "-o", str(out), "--delay", "0", "--explain", str(explain), *extra
    )
    assert result.returncode == 0, result.stderr
    return out, explain


def _hostile() -> tuple[dict[str, Any], dict[str, Any]]:
    record = {
        "id": HOSTILE_ID,
        "url": HOSTILE_URL,
        "aliases": ["javascript:alert(3)"],
        "title": HOSTILE,
        "section": "<i>section</i>",
        "kind": "article",
        "qa": [{"question": "<b>q</b>?", "answer": "<iframe src=//x>", "answered_by": None}],
        "text": HOSTILE_TEXT,
    }
    removal = {
        "record_id": "",
        "url": HOSTILE_URL,
        "reason": "template",
        "text": HOSTILE,
        "pages": 3,
    }
    return record, removal


def _summary(records: list[dict[str, Any]], removals: list[dict[str, Any]]) -> Summary:
    """The counts the run would report, derived from its real records and removals."""
    reasons = Counter(r["reason"] for r in removals)
    templates: dict[str, int] = {}
    for removal in removals:
        if removal["reason"] == "template":
            templates[removal["text"].casefold()] = removal["pages"]
    return Summary(
        pages_fetched=len(records) + reasons["duplicate-page"],
        out_of_scope=1,
        records=len(records),
        written=len(records),
        qa=sum(len(r["qa"]) for r in records),
        aliases=sum(len(r["aliases"]) for r in records),
        template_removed=reasons["template"],
        repeats_removed=reasons["repeat"],
        top_templates=sorted(templates.items(), key=lambda item: -item[1]),
        failures=[
            Failure("http://127.0.0.1:9/gone/", "http", "HTTP 404 Not Found"),
            Failure(HOSTILE_URL, "timeout", HOSTILE),
        ],
    )


@pytest.fixture(scope="module")
def run(sample_site: Server, tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("review")
    with ThreadPoolExecutor(2) as pool:  # two real crawls, at once
        pages = pool.submit(_crawl, sample_site, folder)
        qa = pool.submit(_crawl, sample_site, folder / "qa", "--emit", "qa")
        (out, explain), (qa_out, _) = pages.result(), qa.result()
    records = read_records(out)
    removals = [json.loads(line) for line in explain.read_text("utf-8").splitlines()]
    record, removal = _hostile()
    records.append(record)
    removals.append(removal)
    summary = _summary(records, removals)
    report = folder / "report.html"
    write_report(
        report, render_report(summary, records, removals, source=sample_site.url, emit="pages")
    )
    return Run(summary, records, removals, read_records(qa_out, QA_SCHEMA), sample_site.url, report)


def dump_dom(page: Path, suffix: str, profile: Path) -> HtmlElement:
    """The DOM after the page's script ran, as headless Chromium serialises it."""
    if not CHROMIUM.exists():
        pytest.skip("chromium not installed: apt-get install chromium")
    command = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom"]
    result = subprocess.run(
        [*command, page.as_uri() + suffix], capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = lxml.html.fromstring(result.stdout)
    assert dom.get("data-ready") == "1", "the page's script did not run"
    return dom


def _knee(run: Run) -> dict[str, Any]:
    return next(r for r in run.records if r["title"] == "Running Knee Pain")


@pytest.fixture(scope="module")
def dom(run: Run, tmp_path_factory: pytest.TempPathFactory) -> HtmlElement:
    """The page as opened from a link to the hostile record: its body is built by the page."""
    return dump_dom(run.report, f"#r-{HOSTILE_ID}", tmp_path_factory.mktemp("chromium"))


@pytest.fixture(scope="module")
def knee_dom(run: Run, tmp_path_factory: pytest.TempPathFactory) -> HtmlElement:
    """Filtered by ?q=, with a link to one record."""
    suffix = f"?q=KNEE#r-{_knee(run)['id']}"
    return dump_dom(run.report, suffix, tmp_path_factory.mktemp("chromium"))


def rows(dom: HtmlElement) -> list[HtmlElement]:
    return list(dom.xpath('//table[@id="record-table"]/tbody/tr'))


def section(dom: HtmlElement, name: str) -> str:
    found: list[HtmlElement] = dom.xpath(f'//section[@id="{name}"]')
    assert len(found) == 1, name
    return str(found[0].text_content())


def opened(dom: HtmlElement) -> list[HtmlElement]:
    """The <details> the page opened and built."""
    return [d for d in dom.iter("details") if d.get("open") is not None]


# --- in the browser -----------------------------------------------------------------------


def test_browser_shows_records_templates_clusters_and_errors(run: Run, dom: HtmlElement) -> None:
    titles = [row.findall("td")[0].text_content() for row in rows(dom)]
    assert titles == [r["title"] for r in run.records]
    assert "Running Knee Pain" in titles
    assert not [row for row in rows(dom) if row.get("hidden") is not None]
    count = len(run.records)
    assert dom.get_element_by_id("shown").text_content() == f"{count} of {count}"

    templates = section(dom, "templates")
    assert run.summary.top_templates and all(t in templates for t, _ in run.summary.top_templates)
    clusters = section(dom, "clusters")
    folded = [r for r in run.removals if r["reason"] == "duplicate-page"]
    assert folded and all(r["url"] in clusters and r["folded_into"] in clusters for r in folded)
    errors = section(dom, "errors")
    assert all(f.url in errors and f.message in errors for f in run.summary.failures)
    summary = section(dom, "summary")
    assert f"In-page repeats removed{run.summary.repeats_removed}" in summary


def test_browser_filter_reads_the_query(run: Run, knee_dom: HtmlElement) -> None:
    shown = [r for r in rows(knee_dom) if r.get("hidden") is None]
    hidden = [r for r in rows(knee_dom) if r.get("hidden") is not None]
    assert [r.findall("td")[0].text_content() for r in shown] == ["Running Knee Pain"]
    assert hidden and all("knee" not in r.text_content().lower() for r in hidden)
    assert knee_dom.get_element_by_id("shown").text_content() == f"1 of {len(run.records)}"
    cards = knee_dom.get_element_by_id("cards").findall("details")
    assert [c.get("id") for c in cards if c.get("hidden") is None] == [f"r-{_knee(run)['id']}"]


def test_browser_builds_kept_and_removed_of_a_linked_record(
    run: Run, knee_dom: HtmlElement
) -> None:
    knee = _knee(run)
    [card] = opened(knee_dom)
    assert card.get("id") == f"r-{knee['id']}" and card.get("data-built") == "1"
    text = card.text_content()
    assert knee["text"][:200] in text and knee["qa"][0]["answer"] in text
    assert knee["qa"][0]["answered_by"]["name"] in text
    mine = [r for r in run.removals if r["url"] in {knee["url"], *knee["aliases"]}]
    reasons = Counter(r["reason"] for r in mine)
    assert reasons["repeat"] and f"Removed: repeat ({reasons['repeat']})" in text
    assert f"removed {len(mine)}" in card.find("summary").text_content()
    assert [a.get("href") for a in card.iter("a")] == [knee["url"]]
    assert not [d for d in knee_dom.iter("details") if d.get("data-built") and d is not card]


def test_browser_hostile_text_stays_text(dom: HtmlElement) -> None:
    scripts = dom.findall(".//script")
    assert [s.get("type") for s in scripts] == ["application/json", None]
    assert not [s for s in scripts if s.get("src")]
    for tag in ("img", "iframe", "b", "i"):
        assert not dom.findall(f".//{tag}"), tag
    assert len(dom.findall(".//style")) == 1
    assert not [a for el in dom.iter() for a in el.attrib if a.lower().startswith("on")]
    assert not [a for a in dom.iter("a") if not a.get("href", "").startswith(("#", "http"))]
    assert HOSTILE in [row.findall("td")[0].text_content() for row in rows(dom)]
    assert HOSTILE in section(dom, "errors") and "javascript:alert(3)" in section(dom, "records")
    [card] = opened(dom)
    assert card.get("id") == f"r-{HOSTILE_ID}" and card.get("data-built") == "1"
    body = card.find("div").text_content()
    assert HOSTILE_TEXT in body and HOSTILE in body and "<iframe src=//x>" in body


# --- without a browser --------------------------------------------------------------------


def _known_urls(run: Run) -> set[str]:
    urls = {run.source, *(f.url for f in run.summary.failures)}
    for record in run.records:
        urls.update([record["url"], *record["aliases"]])
    for removal in run.removals:
        urls.update(u for u in (removal["url"], removal.get("folded_into")) if u)
    return urls


def test_page_has_no_external_references(run: Run) -> None:
    text = run.report.read_text("utf-8")
    page = lxml.html.fromstring(text)
    for tag in ASSET_TAGS:
        for element in page.iter(tag):
            refs = [element.get(a) for a in ("src", "href", "srcset", "data") if element.get(a)]
            assert not refs, (tag, refs)
    hrefs = [a.get("href") for a in page.iter("a")]
    external = {h for h in hrefs if not h.startswith("#")}
    assert external and external <= _known_urls(run)
    style = page.find(".//style").text_content()
    assert "url(" not in style and "@import" not in style
    policy = page.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')[0]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy


def _texts(node: Any) -> Iterator[str]:
    """The text of a body node: [tag, children, href?]; a child is text or a node."""
    if isinstance(node, str):
        yield node
        return
    for child in node[1]:
        yield from _texts(child)


def body_of(page: HtmlElement, anchor: str) -> str:
    """The text a <details> shows once opened, from the page's JSON data block."""
    data = json.loads(page.get_element_by_id("card-data").text)
    index = int(page.get_element_by_id(anchor).get("data-i"))
    return "".join(text for node in data[index] for text in _texts(node))


def test_card_data_is_inert_and_holds_kept_and_removed(run: Run) -> None:
    page = lxml.html.fromstring(run.report.read_text("utf-8"))
    data = page.get_element_by_id("card-data").text
    assert "<" not in data and ">" not in data and "&" not in data
    keeper = next(r for r in run.records if any("print" in a for a in r["aliases"]))
    body = body_of(page, f"r-{keeper['id']}")
    assert keeper["text"][:200] in body and "Removed: duplicate-page (1)" in body
    assert f"folded into {keeper['url']}, similarity" in body
    assert HOSTILE_TEXT in body_of(page, f"r-{HOSTILE_ID}")


def test_qa_records(run: Run) -> None:
    removals = [r for r in run.removals if r["url"] != HOSTILE_URL]
    html = render_report(run.summary, run.qa_records, removals, source=run.source, emit="qa")
    page = lxml.html.fromstring(html)
    questions = [row.findall("td")[0].text_content() for row in rows(page)]
    assert questions == [r["question"] for r in run.qa_records]
    first = run.qa_records[0]
    card = body_of(page, f"r-{first['id']}")
    assert first["answer"] in card and all(u in card for u in first["urls"])
    assert "Jonathan Sun" in section(page, "records")
    other = page.xpath('//section[@id="other"]/details')
    assert other and "Removed: repeat" in body_of(page, other[0].get("id"))


def test_large_run_has_one_card_per_record() -> None:
    records = [
        {
            "id": f"{i:016x}",
            "url": f"https://s.test/p/{i}/",
            "aliases": [f"https://s.test/p/{i}"],
            "title": f"Page {i}",
            "kind": "article",
            "qa": [],
            "text": "Some text. " * 40,
        }
        for i in range(10_000)
    ]
    removals = [
        {
            "record_id": "",
            "url": f"https://s.test/p/{i}/",
            "reason": reason,
            "text": "Menu",
            "pages": 10_000,
            "copy_of": 0,
        }
        for i in range(10_000)
        for reason in ("template", "repeat")
    ]
    html = render_report(Summary(records=10_000), records, removals, source="s", emit="pages")
    assert html.count("<details id=") == 10_000 and html.count("<tr>") == 10_001
    assert 'id="other"' not in html  # every removal found its record


def test_write_report_is_atomic_and_fails_in_one_line(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.html"
    write_report(target, "old")
    write_report(target, "<p>new</p>")
    assert target.read_text("utf-8") == "<p>new</p>"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]
    for bad in (tmp_path, target / "inside.html"):
        with pytest.raises(OutputError) as caught:
            write_report(bad, "x")
        assert str(caught.value).startswith(f"cannot write report to {bad}") and "\n" not in str(
            caught.value
        )
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]

"""The change feed: a revisit of a known site tells what was created, updated and
deleted, once each, and a sink that was not there or was down gets every event later.

End to end on a real local server serving a copy of the sample site that the tests
edit between runs; the pure rules (what counts as a deletion) on their own.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import SAMPLE_SITE, FaultHandler, Server, run_cli, serve, wait_until

import harvester
from harvester.changes import Event, Evidence, Known, deletion_reason, field_hashes, record_event

EDITED = "contact/index.html"
REMOVED = "services/index.html"
REDIRECTED = "about/index.html"
FLAKY = "faq/index.html"
NEW = "news/index.html"


def _url(server: Server, relative: str) -> str:
    return server.url + relative.removesuffix("index.html")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """A copy of the sample site that a test may change between two crawls."""
    root = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, root)
    for server in serve(root):
        yield server, root


def _crawl(server: Server, work: Path, *extra: str) -> list[dict[str, Any]]:
    """One run with the change feed into events.jsonl; the events this run added."""
    events = work / "events.jsonl"
    before = events.read_text("utf-8").count("\n") if events.exists() else 0
    done = run_cli(
        "crawl", server.url, "-o", str(work / "out.jsonl"), "--state", str(work / "s.sqlite"),
        "--changes", str(events), "--workers", "0", "--delay", "0", "--retries", "0", *extra,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    lines = events.read_text("utf-8").splitlines() if events.exists() else []
    return [json.loads(line) for line in lines[before:]]


def _change_the_site(server: Server, root: Path) -> None:
    """One page edited, one removed (404), one redirected elsewhere, one failing with a
    503 (not a deletion), one new page linked from the home page."""
    page = root / EDITED
    page.write_text(
        page.read_text("utf-8").replace("</h1>", "</h1><p>We moved to Elm Street.</p>", 1),
        "utf-8",
    )
    shutil.rmtree((root / REMOVED).parent)  # no index.html, no folder listing: a 404
    (root / NEW).parent.mkdir()
    (root / NEW).write_text(
        "<html><head><title>News</title></head><body><main><h1>Clinic news</h1><p>We now "
        "open on Saturdays from nine to one, with two physiotherapists on duty.</p>"
        "</main></body></html>",
        "utf-8",
    )
    home = root / "index.html"
    html = home.read_text("utf-8")
    home.write_text(html.replace("</main>", '<a href="/news/">News</a></main>', 1), "utf-8")

    def moved(handler: FaultHandler) -> None:
        handler.send_body(301, b"", headers={"Location": _url(server, "articles/")})

    def down(handler: FaultHandler) -> None:
        handler.send_body(503, b"down for maintenance")

    server.route("/" + REDIRECTED.removesuffix("index.html"), moved)
    server.route("/" + FLAKY.removesuffix("index.html"), down)


def test_a_revisit_gives_exactly_what_changed(site: tuple[Server, Path], tmp_path: Path) -> None:
    server, root = site
    first = _crawl(server, tmp_path)
    assert first and {e["type"] for e in first} == {"created"}
    urls = {e["url"] for e in first}
    assert {_url(server, p) for p in (EDITED, REMOVED, REDIRECTED, FLAKY)} <= urls

    _change_the_site(server, root)
    second = _crawl(server, tmp_path)
    got = sorted((e["type"], e["url"], e.get("reason")) for e in second)
    assert got == sorted(
        [
            ("created", _url(server, NEW), None),
            ("updated", _url(server, EDITED), None),
            # The redirected page's old URL is now an alias of its target.
            ("updated", _url(server, "articles/"), None),
            ("deleted", _url(server, REMOVED), "gone"),
            ("deleted", _url(server, REDIRECTED), "redirected"),
        ]
    )
    updated = next(e for e in second if e["url"] == _url(server, EDITED))
    assert "text" in updated["changed"] and "url" not in updated["changed"]
    target = next(e for e in second if e["url"] == _url(server, "articles/"))
    assert target["changed"] == ["aliases"]
    assert updated["record"]["url"] == _url(server, EDITED)
    assert all(set(e) >= {"event_id", "type", "record_id", "url", "at"} for e in second)

    assert _crawl(server, tmp_path) == []  # nothing changed since: no event at all


def test_event_ids_are_stable_and_the_state_keeps_the_outbox(
    site: tuple[Server, Path], tmp_path: Path
) -> None:
    server, _ = site
    first = _crawl(server, tmp_path)
    again = tmp_path / "again"
    again.mkdir()
    # Another crawl of the same site from scratch: the same changes, the same ids (in the
    # order its pages happened to be read).
    assert sorted(e["event_id"] for e in _crawl(server, again)) == sorted(
        e["event_id"] for e in first
    )
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        outbox = [json.loads(row[0]) for row in db.execute("SELECT event FROM outbox")]
    assert [e["event_id"] for e in outbox] == [e["event_id"] for e in first]


def test_deliver_feeds_a_new_sink_from_the_start_and_resumes(
    site: tuple[Server, Path], tmp_path: Path
) -> None:
    server, _ = site
    first = _crawl(server, tmp_path)
    later = tmp_path / "later.jsonl"
    state = str(tmp_path / "s.sqlite")
    done = run_cli("deliver", "--state", state, "--changes", str(later))
    assert done.returncode == 0, done.stderr
    assert f"delivered {len(first)} to file:" in " ".join(done.stderr.split())
    delivered = [json.loads(line) for line in later.read_text("utf-8").splitlines()]
    assert [e["event_id"] for e in delivered] == [e["event_id"] for e in first]

    with later.open("a", encoding="utf-8") as stream:  # a kill cut the last line short
        stream.write('{"event_id": "torn')
    with sqlite3.connect(state) as db:  # ... before the cursor moved past the last batch
        db.execute("UPDATE cursors SET seq = seq - 1 WHERE sink LIKE 'file:%later.jsonl'")
    assert run_cli("deliver", "--state", state, "--changes", str(later)).returncode == 0
    lines = later.read_text("utf-8").splitlines()
    again = [json.loads(line) for line in lines]  # every line whole
    assert [e["event_id"] for e in again] == [e["event_id"] for e in first] + [
        first[-1]["event_id"]
    ]

    done = run_cli("deliver", "--state", state, "--changes", str(later))
    assert done.returncode == 0 and "nothing new to deliver" in done.stderr


def test_deliver_explains_what_is_missing(tmp_path: Path) -> None:
    done = run_cli("deliver", "--state", str(tmp_path / "none.sqlite"), "--changes", "x.jsonl")
    assert done.returncode == 2 and "no crawl state" in done.stderr
    done = run_cli("deliver", "https://clinic.example/")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    done = run_cli("crawl", "https://clinic.example/", "--sink", "ftp://user:pw@host/x")
    assert done.returncode == 2 and "unknown sink" in done.stderr and "pw" not in done.stderr


def test_the_library_yields_change_events(site: tuple[Server, Path], tmp_path: Path) -> None:
    server, root = site
    state = tmp_path / "lib.sqlite"
    options: dict[str, Any] = {"emit": "changes", "state": state, "delay": 0.0}
    first = list(harvester.harvest([server.url], **options))
    assert first and all(isinstance(e, Event) and e.type == "created" for e in first)
    page = root / EDITED
    page.write_text(page.read_text("utf-8").replace("</h1>", "</h1><p>New hours.</p>", 1))
    second = list(harvester.harvest([server.url], **options))
    assert [(e.type, e.url) for e in second] == [("updated", _url(server, EDITED))]


RECORD = {"id": "r1", "url": "https://c.example/a/", "aliases": [], "title": "A", "text": "x"}


def test_created_updated_and_unchanged() -> None:
    created = record_event(RECORD, "h1", None, "2026-01-01T00:00:00Z")
    assert created is not None and created.type == "created" and created.record == RECORD
    known = Known("r1", RECORD["url"], "h1", field_hashes(RECORD))
    assert record_event(RECORD, "h1", known, "later") is None
    changed = record_event({**RECORD, "title": "B"}, "h2", known, "later")
    assert changed is not None and changed.type == "updated" and changed.changed == ("title",)
    resent = record_event({**RECORD, "title": "B"}, "h2", known, "another time")
    assert resent is not None and resent.event_id == changed.event_id


@pytest.mark.parametrize(
    ("failure", "redirected", "aliases", "complete", "reason"),
    [
        ("HTTP 404", False, set(), True, "gone"),
        ("HTTP 410", False, set(), False, "gone"),
        (None, True, set(), True, "redirected"),
        (None, False, {"https://c.example/a/"}, True, "duplicate"),
        (None, False, set(), True, "dropped"),
        # No proof: a server error, a timeout, a crawl cut short by --max-pages.
        ("HTTP 503", False, set(), True, None),
        ("timed out", False, set(), True, None),
        (None, False, set(), False, None),
    ],
)
def test_what_counts_as_a_deletion(
    failure: str | None, redirected: bool, aliases: set[str], complete: bool, reason: str | None
) -> None:
    url = "https://c.example/a/"
    evidence = Evidence(
        failures={url: failure} if failure else {},
        redirected={url} if redirected else set(),
        complete=complete,
    )
    assert deletion_reason(Known("r1", url, "h"), evidence, aliases) == reason


class _Receiver(BaseHTTPRequestHandler):
    """A webhook endpoint that takes its time: long enough to kill the deliverer."""

    received: list[dict[str, Any]]
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(0.05)
        with self.lock:
            self.received.append({"id": self.headers["webhook-id"], "body": json.loads(body)})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Handler", (_Receiver,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hooks", received
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_killed_deliverer_loses_no_event(
    site: tuple[Server, Path],
    tmp_path: Path,
    receiver: tuple[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kill -9 in the middle of a webhook delivery, then `harvester deliver`: every event
    arrives (some twice: receivers drop repeats by webhook-id), in order."""
    server, _ = site
    events = _crawl(server, tmp_path)
    url, received = receiver
    monkeypatch.setenv("HARVESTER_WEBHOOK_SECRET", "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHM=")
    state = str(tmp_path / "s.sqlite")
    command = [sys.executable, "-m", "harvester", "deliver", "--state", state]
    deliverer = subprocess.Popen([*command, "--sink", url, "--sink-batch", "1"], cwd=tmp_path)
    wait_until(lambda: len(received) >= 3, seconds=60)
    deliverer.kill()
    deliverer.wait()
    assert len(received) < len(events)  # it was stopped in the middle
    done = run_cli("deliver", "--state", state, "--sink", url, "--sink-batch", "1")
    assert done.returncode == 0, done.stderr
    first_seen = list(dict.fromkeys(r["id"] for r in received))
    assert first_seen == [e["event_id"] for e in events]
    assert all(r["body"]["data"][0]["event_id"] == r["id"] for r in received)


def test_dead_letters_are_listed_in_the_summary_and_the_report(
    site: tuple[Server, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver that refuses (400) gets nothing again; the run says which events."""

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("HARVESTER_WEBHOOK_SECRET", "not-a-whsec-secret")
    server, _ = site
    report = tmp_path / "report.html"
    try:
        hook = f"http://127.0.0.1:{httpd.server_address[1]}/hooks"
        done = run_cli(
            "crawl", server.url, "-o", str(tmp_path / "out.jsonl"), "--state",
            str(tmp_path / "s.sqlite"), "--workers", "0", "--delay", "0", "--sink", hook,
            "--report", str(report),
        )  # fmt: skip
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert done.returncode == 0, done.stderr
    assert "dead letter:" in done.stderr and "400" in done.stderr
    assert "not-a-whsec-secret" not in done.stderr
    page = report.read_text("utf-8")
    assert "Dead letters (" in page and "Change events" in page


def test_a_revisit_into_postgresql_gives_exactly_the_expected_rows(
    site: tuple[Server, Path], tmp_path: Path, new_database: Callable[[], str]
) -> None:
    """The same revisit as above, into the records and qa tables; a re-run adds nothing."""
    server, root = site
    database = new_database()
    _crawl(server, tmp_path, "--sink", database)
    with psycopg.connect(database) as db:
        first = dict(db.execute("SELECT url, content_hash FROM records").fetchall())
        pairs = db.execute("SELECT count(*) FROM qa").fetchone()
    assert set(first) >= {_url(server, p) for p in (EDITED, REMOVED, REDIRECTED, FLAKY)}
    assert pairs is not None and pairs[0] > 0

    _change_the_site(server, root)
    _crawl(server, tmp_path, "--sink", database)
    again = _crawl(server, tmp_path, "--sink", database)
    assert again == []
    with psycopg.connect(database) as db:
        rows = {
            url: (content_hash, deleted)
            for url, content_hash, deleted in db.execute(
                "SELECT url, content_hash, deleted_at IS NOT NULL FROM records"
            )
        }
        gone_qa = db.execute(
            "SELECT count(*) FROM qa JOIN records USING (record_id) WHERE deleted_at IS NOT NULL"
        ).fetchone()
    assert rows[_url(server, REMOVED)][1] and rows[_url(server, REDIRECTED)][1]
    assert not rows[_url(server, FLAKY)][1]  # a 503 is no deletion
    assert rows[_url(server, FLAKY)][0] == first[_url(server, FLAKY)]
    assert rows[_url(server, EDITED)][0] != first[_url(server, EDITED)]
    assert _url(server, NEW) in rows and not rows[_url(server, NEW)][1]
    unchanged = set(first) - {_url(server, p) for p in (EDITED, REMOVED, REDIRECTED)}
    assert unchanged - {_url(server, "articles/")}
    assert all(rows[u][0] == first[u] for u in unchanged - {_url(server, "articles/")})
    assert gone_qa is not None and gone_qa[0] == 0


def test_sinks_can_come_from_the_settings_file(site: tuple[Server, Path], tmp_path: Path) -> None:
    server, _ = site
    (tmp_path / "harvester.toml").write_text('[crawl]\nsink = ["file:feed.jsonl"]\n', "utf-8")
    done = run_cli("crawl", server.url, "-o", "out.jsonl", "--workers", "0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    feed = (tmp_path / "feed.jsonl").read_text("utf-8").splitlines()
    assert feed and all(json.loads(line)["type"] == "created" for line in feed)

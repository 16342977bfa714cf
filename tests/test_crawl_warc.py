"""--warc archives a live crawl; `harvester extract` of that archive gives the same records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLE_SITE, FaultHandler, Server, read_records, run_cli, serve

from harvester.warc import read_warc


@pytest.fixture
def site() -> Iterator[Server]:
    for server in serve(SAMPLE_SITE):

        def moved(handler: FaultHandler) -> None:
            location = "/ask-a-pro/running-knee-pain/"
            handler.send_body(301, b"", "text/html", {"Location": location})

        server.route("/old-knee", moved)
        yield server


def test_warc_replay_gives_the_live_records(site: Server, tmp_path: Path) -> None:
    live, replay, warc = tmp_path / "live.jsonl", tmp_path / "replay.jsonl", tmp_path / "c.warc.gz"
    crawled = run_cli(
        "crawl",
        site.url,
        site.url + "old-knee",
        "-o",
        str(live),
        "--delay",
        "0",
        "--warc",
        str(warc),
    )
    assert crawled.returncode == 0, crawled.stderr
    archived = {r.url: r.status for r in read_warc(warc)}
    assert archived[site.url] == 200 and archived[site.url + "old-knee"] == 301
    extracted = run_cli("extract", str(warc), "-o", str(replay))
    assert extracted.returncode == 0, extracted.stderr
    live_records, replayed = read_records(live), read_records(replay)
    knee = next(r for r in live_records if r["url"].endswith("/running-knee-pain/"))
    assert knee["aliases"] == [site.url + "old-knee"]
    assert sorted(replayed, key=lambda r: r["url"]) == sorted(live_records, key=lambda r: r["url"])


def test_unwritable_warc_is_a_usage_error(site: Server, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("crawl", site.url, "--warc", str(blocker / "c.warc.gz"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr

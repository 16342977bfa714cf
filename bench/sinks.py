"""Sink throughput: change events per second into each sink, batches as `deliver` sends them.

Webhooks: a local receiver on 127.0.0.1 answering 200, messages of WEBHOOK_BATCH events.
PostgreSQL: a temporary database on 127.0.0.1:5432 (user postgres, trust auth; override
with HARVESTER_BENCH_PG, a server URL without database), dropped at the end. Records are
the sample site's pages through the real extraction, cloned under new ids and URLs with
a line of text of their own; the events are built by harvester.changes as a run builds
them. Every record is delivered as `created`, then the same records as `updated` (new
title and text), then as `deleted`, in batches of 500. Prints the figures and writes the
"sinks" section of bench/RESULTS.md.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
from _results import update_section

from harvester.api import extract_html
from harvester.changes import Event, Evidence, deleted_events, known_of, record_event
from harvester.models import Record
from harvester.sinks.postgres import PostgresSink
from harvester.sinks.webhook import WebhookSink

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SITE = ROOT / "data" / "sample-site"
SERVER = os.environ.get("HARVESTER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
RECORDS = 20_000
BATCH = 500
GOAL_PER_S = 2000
WEBHOOK_BATCH = 100  # events a message: the --sink-batch default
T1, T2, T3 = "2024-05-01T10:00:00Z", "2024-05-08T10:00:00Z", "2024-05-15T10:00:00Z"


@dataclass
class Phase:
    sink: str
    events: str
    count: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")


def sample_records() -> list[Record]:
    pages = sorted(SAMPLE_SITE.rglob("*.html"))
    return [extract_html(p.read_bytes(), f"https://clinic.example/{p.parent.name}/") for p in pages]


def clones(samples: list[Record], count: int) -> list[Record]:
    """`count` distinct records shaped like the samples: same fields, sizes and pairs."""
    made = []
    for n in range(count):
        base = samples[n % len(samples)]
        made.append(
            dataclasses.replace(
                base,
                id=f"{n:016x}",
                url=f"https://clinic{n % 7}.example/page-{n}/",
                text=f"{base.text}\n\nPage {n} of the benchmark.",
            )
        )
    return made


def edited(record: Record) -> Record:
    return dataclasses.replace(record, title=f"{record.title} (2024)", text=record.text + " Ed.")


def created_events(records: list[Record]) -> list[Event]:
    events = [record_event(r.to_dict(), r.content_hash(), None, T1) for r in records]
    return [e for e in events if e is not None]


def updated_events(old: list[Record], new: list[Record]) -> list[Event]:
    events = [
        record_event(n.to_dict(), n.content_hash(), known_of(o.to_dict(), o.content_hash()), T2)
        for o, n in zip(old, new, strict=True)
    ]
    return [e for e in events if e is not None]


def deletion_events(records: list[Record]) -> list[Event]:
    known = [known_of(r.to_dict(), r.content_hash()) for r in records]
    return list(deleted_events(known, Evidence(), set(), T3))  # a complete crawl without them


def batches(events: Sequence[Event]) -> Iterator[Sequence[Event]]:
    for start in range(0, len(events), BATCH):
        yield events[start : start + BATCH]


def timed(deliver: Callable[[Sequence[Event]], object], events: Sequence[Event]) -> float:
    start = time.perf_counter()
    for batch in batches(events):
        deliver(batch)
    return time.perf_counter() - start


@contextmanager
def temporary_database() -> Iterator[str]:
    name = f"harvester_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure_postgres(old: list[Record], new: list[Record]) -> tuple[list[Phase], int]:
    """The three phases into one fresh database; also the qa rows the created phase wrote."""
    plan = [
        ("created", created_events(old)),
        ("updated", updated_events(old, new)),
        ("deleted", deletion_events(new)),
    ]
    phases, pairs = [], 0
    with temporary_database() as url, PostgresSink(url) as sink, psycopg.connect(url) as check:
        for kind, events in plan:
            phases.append(Phase("PostgreSQL", kind, len(events), timed(sink.deliver, events)))
            if kind == "created":
                row = check.execute("SELECT count(*) FROM qa").fetchone()
                pairs = int(row[0]) if row else 0
    return phases, pairs


class _Receiver(BaseHTTPRequestHandler):
    """A local webhook endpoint that reads each message and answers 200."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def measure_webhook(old: list[Record], new: list[Record]) -> list[Phase]:
    """The same three phases into a local receiver, WEBHOOK_BATCH events a message."""
    os.environ.setdefault("HARVESTER_WEBHOOK_SECRET", "whsec_" + "YmVuY2gtc2VjcmV0")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/hooks"
    plan = [
        ("created", created_events(old)),
        ("updated", updated_events(old, new)),
        ("deleted", deletion_events(new)),
    ]
    try:
        sink = WebhookSink(url, batch=WEBHOOK_BATCH)
        phases = [Phase("webhook", kind, len(ev), timed(sink.deliver, ev)) for kind, ev in plan]
        sink.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    return phases


def report(phases: list[Phase], samples: int, pairs: int) -> list[str]:
    postgres = [p for p in phases if p.sink == "PostgreSQL"]
    slowest = min(p.per_s for p in postgres)
    met = "met" if slowest >= GOAL_PER_S else "NOT met"
    return [
        "## Sinks",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.system()}, Python "
        f"{platform.python_version()}; the database server on the same machine, sharing it.",
        "",
        f"{RECORDS} records: the {samples} sample-site pages through the real "
        f"extraction, cloned under new ids and URLs ({pairs} Q&A rows), delivered as "
        f"`created`, then as `updated` (new title and text), then as `deleted`, in batches "
        f"of {BATCH}, each batch one `deliver` (one transaction). Events built by "
        "`harvester.changes` as a run builds them; the clock covers the deliveries only.",
        "",
        "| sink | events | count | seconds | events/s |",
        "|---|---|---|---|---|",
        *(
            f"| {p.sink} | {p.events} | {p.count} | {p.seconds:.2f} | {p.per_s:,.0f} |"
            for p in phases
        ),
        "",
        f"Goal: at least {GOAL_PER_S:,} records/s into PostgreSQL ({met}: slowest phase "
        f"{slowest:,.0f}/s). Webhooks: {WEBHOOK_BATCH} events a signed message, to a "
        "receiver on this machine.",
    ]


def main() -> None:
    samples = sample_records()
    old = clones(samples, RECORDS)
    new = [edited(r) for r in old]
    try:
        phases, pairs = measure_postgres(old, new)
    except psycopg.OperationalError as exc:
        sys.exit(f"bench/sinks.py needs PostgreSQL at {SERVER}: {exc}")
    phases += measure_webhook(old, new)
    lines = report(phases, len(samples), pairs)
    update_section("sinks", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

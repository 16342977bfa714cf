"""The PostgreSQL sink against a real server on 127.0.0.1:5432 (user postgres, trust auth):
each test gets a database of its own, dropped at the end."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harvester.api import extract_html
from harvester.changes import Event, Evidence, deleted_events, known_of, record_event
from harvester.models import Record
from harvester.sinks import SinkError, open_sink
from harvester.sinks.postgres import SCHEMA_VERSION, PostgresSink

SAMPLE_SITE = Path(__file__).resolve().parent.parent / "data" / "sample-site"
T1, T2, T3 = "2024-05-01T10:00:00Z", "2024-05-08T10:00:00Z", "2024-05-15T10:00:00Z"

Snapshot = tuple[list[tuple[Any, ...]], ...]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def db(new_database: Callable[[], str]) -> str:
    return new_database()


@pytest.fixture
def sink(db: str) -> Iterator[PostgresSink]:
    opened = PostgresSink(db)
    yield opened
    opened.close()


def page(path: str) -> Record:
    """A real record: a page of the sample site through the extraction."""
    html = (SAMPLE_SITE / path / "index.html").read_bytes()
    return extract_html(html, f"https://clinic.example/{path}/")


@pytest.fixture(scope="module")
def faq() -> Record:
    return page("faq")  # five pairs, no answerer


@pytest.fixture(scope="module")
def ask() -> Record:
    return page("ask-a-pro/ankle-sprain-recovery")  # one pair with its answerer


@pytest.fixture(scope="module")
def article() -> Record:
    return page("articles/preventing-shin-splints")  # no pairs


def created(record: Record, when: str = T1) -> Event:
    event = record_event(record.to_dict(), record.content_hash(), None, when)
    assert event is not None
    return event


def updated(old: Record, new: Record, when: str = T2) -> Event:
    before = known_of(old.to_dict(), old.content_hash())
    event = record_event(new.to_dict(), new.content_hash(), before, when)
    assert event is not None and event.type == "updated"
    return event


def deleted(record: Record, when: str = T3) -> Event:
    gone = Evidence(failures={record.url: "HTTP 404"})
    known = known_of(record.to_dict(), record.content_hash())
    return next(deleted_events([known], gone, set(), when))


def revised(record: Record) -> Record:
    """The same page, edited: a new title and its last pair dropped."""
    return dataclasses.replace(record, title=f"{record.title} (revised)", qa=record.qa[:-1])


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def snapshot(url: str) -> Snapshot:
    return (
        query(url, "SELECT * FROM records ORDER BY record_id"),
        query(url, "SELECT * FROM qa ORDER BY record_id, position"),
        query(url, "SELECT version FROM harvester_schema ORDER BY version"),
    )


def row(url: str, record_id: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        found = cur.execute("SELECT * FROM records WHERE record_id = %s", [record_id]).fetchone()
    assert found is not None
    return found


def pairs(url: str, record_id: str) -> list[tuple[Any, ...]]:
    sql = "SELECT position, question, answer, answered_by FROM qa WHERE record_id = %s"
    return query(url, sql + " ORDER BY position", record_id)


def expected_pairs(record: Record) -> list[tuple[Any, ...]]:
    data = record.to_dict()["qa"]
    return [(n, q["question"], q["answer"], q["answered_by"]) for n, q in enumerate(data)]


def test_schema_is_created_with_its_version(db: str) -> None:
    PostgresSink(db).close()
    PostgresSink(db).close()  # a second start finds it up to date and changes nothing
    tables = query(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {name for (name,) in tables} == {"harvester_schema", "records", "qa"}
    versions = query(db, "SELECT version FROM harvester_schema ORDER BY version")
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    assert SCHEMA_VERSION >= 2


def test_created_inserts_the_record_and_its_pairs(
    sink: PostgresSink, db: str, faq: Record, ask: Record, article: Record
) -> None:
    assert sink.deliver([created(faq), created(ask), created(article)]) == []
    got = row(db, faq.id)
    assert got["url"] == faq.url == "https://clinic.example/faq/"
    assert (got["title"], got["kind"]) == ("Frequently Asked Questions", "qa")
    assert got["content_hash"] == faq.content_hash()
    assert got["record"] == faq.to_dict()
    assert (got["first_seen"], got["last_seen"], got["deleted_at"]) == (at(T1), at(T1), None)
    assert pairs(db, faq.id) == expected_pairs(faq) and len(faq.qa) == 5
    assert pairs(db, ask.id) == expected_pairs(ask)
    assert pairs(db, ask.id)[0][3]["name"]  # answered_by, as JSON
    assert pairs(db, article.id) == []


def test_updated_replaces_the_row_keeps_first_seen_and_replaces_pairs(
    sink: PostgresSink, db: str, faq: Record
) -> None:
    edited = revised(faq)
    sink.deliver([created(faq)])
    sink.deliver([updated(faq, edited)])
    got = row(db, faq.id)
    assert got["title"] == "Frequently Asked Questions (revised)"
    assert got["record"] == edited.to_dict()
    assert got["content_hash"] == edited.content_hash() != faq.content_hash()
    assert (got["first_seen"], got["last_seen"]) == (at(T1), at(T2))
    assert pairs(db, faq.id) == expected_pairs(edited) and len(edited.qa) == 4


def test_deleted_marks_the_row_and_drops_its_pairs(
    sink: PostgresSink, db: str, faq: Record, ask: Record
) -> None:
    sink.deliver([created(faq), created(ask)])
    sink.deliver([deleted(faq)])
    got = row(db, faq.id)
    assert (got["deleted_at"], got["last_seen"]) == (at(T3), at(T1))
    assert got["record"] == faq.to_dict()  # the last known content stays
    assert pairs(db, faq.id) == []
    assert row(db, ask.id)["deleted_at"] is None and pairs(db, ask.id) == expected_pairs(ask)


def test_a_page_back_after_deletion_is_live_again(sink: PostgresSink, db: str, faq: Record) -> None:
    sink.deliver([created(faq, T1)])
    sink.deliver([deleted(faq, T2)])
    sink.deliver([created(faq, T3)])
    got = row(db, faq.id)
    assert (got["first_seen"], got["last_seen"], got["deleted_at"]) == (at(T1), at(T3), None)
    assert pairs(db, faq.id) == expected_pairs(faq)


def test_delivering_a_batch_again_leaves_the_same_tables(
    sink: PostgresSink, db: str, faq: Record, ask: Record, article: Record
) -> None:
    sink.deliver([created(faq), created(article)])
    batch = [updated(faq, revised(faq)), created(ask), deleted(article)]
    sink.deliver(batch)
    once = snapshot(db)
    sink.deliver(batch)
    sink.deliver(batch)
    assert snapshot(db) == once


def test_a_batch_ends_as_its_events_applied_one_by_one(
    new_database: Callable[[], str], faq: Record, ask: Record, article: Record
) -> None:
    """Several events of one record in one batch: the last one wins, first_seen is the
    first one's time, a deletion after an update sticks, one before it does not."""
    edited = revised(faq)
    events = [
        created(faq, T1),
        created(article, T1),
        updated(faq, edited, T2),
        deleted(article, T2),
        created(ask, T1),
        deleted(ask, T2),
        created(ask, T3),
        deleted(faq, T3),
    ]
    one_by_one, batched = new_database(), new_database()
    single, whole = PostgresSink(one_by_one), PostgresSink(batched)
    for event in events:
        single.deliver([event])
    whole.deliver(events)
    single.close()
    whole.close()
    assert snapshot(batched) == snapshot(one_by_one)
    assert row(batched, faq.id)["deleted_at"] == at(T3)
    assert row(batched, ask.id)["first_seen"] == at(T1)
    assert row(batched, ask.id)["deleted_at"] is None


def poison_pair(record: Record) -> Event:
    """A pair without a question: the qa insert, after the records upsert, fails."""
    data = record.to_dict()
    data["qa"] = [{**data["qa"][0], "question": None}]
    return dataclasses.replace(created(record), record=data)


def poison_json(record: Record) -> Event:
    """A record dict JSON cannot encode."""
    return dataclasses.replace(created(record), record={**record.to_dict(), "tags": {"a"}})


def poison_time(record: Record) -> Event:
    """A deletion whose time is no time: the last statement of the batch fails."""
    return dataclasses.replace(deleted(record), at="last Tuesday")


@pytest.mark.parametrize("poison", [poison_pair, poison_json, poison_time])
def test_a_failing_batch_leaves_the_tables_as_they_were(
    sink: PostgresSink,
    db: str,
    faq: Record,
    ask: Record,
    article: Record,
    poison: Callable[[Record], Event],
) -> None:
    sink.deliver([created(faq), created(article)])
    before = snapshot(db)
    other = dataclasses.replace(ask, id="00000000000000ff", url="https://clinic.example/x/")
    batch = [updated(faq, revised(faq)), deleted(article), created(ask), poison(other)]
    with pytest.raises(SinkError) as failed:
        sink.deliver(batch)
    assert "\n" not in str(failed.value) and "rolled back" in str(failed.value)
    assert snapshot(db) == before
    sink.deliver(batch[:-1])  # the sink is still usable after the rollback
    assert row(db, faq.id)["title"] == "Frequently Asked Questions (revised)"


def test_an_older_schema_is_migrated(db: str, faq: Record) -> None:
    """Version 1 as it shipped, with a row in it: opening upgrades it, keeping the data."""
    with psycopg.connect(db) as conn:
        conn.execute(
            "CREATE TABLE harvester_schema (version integer PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "CREATE TABLE records (record_id text PRIMARY KEY, url text NOT NULL, title text,"
            " kind text, content_hash text NOT NULL, record jsonb,"
            " first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL,"
            " deleted_at timestamptz)"
        )
        conn.execute(
            "CREATE TABLE qa (record_id text NOT NULL REFERENCES records (record_id)"
            " ON DELETE CASCADE, position integer NOT NULL, question text NOT NULL,"
            " answer text NOT NULL, answered_by jsonb, PRIMARY KEY (record_id, position))"
        )
        conn.execute("INSERT INTO harvester_schema (version) VALUES (1)")
        conn.execute(
            "INSERT INTO records VALUES ('0000000000000001', 'https://clinic.example/old/',"
            " 'Old', 'article', 'abc', '{}', %s, %s, NULL)",
            [T1, T1],
        )
    with PostgresSink(db) as sink:
        sink.deliver([created(faq, T2)])
    versions = query(db, "SELECT version FROM harvester_schema ORDER BY version")
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    indexes = query(db, "SELECT indexname FROM pg_indexes WHERE tablename = 'records'")
    assert {"records_url", "records_last_seen"} <= {name for (name,) in indexes}
    assert row(db, "0000000000000001")["title"] == "Old"
    assert pairs(db, faq.id) == expected_pairs(faq)


def test_a_newer_schema_is_refused(db: str) -> None:
    PostgresSink(db).close()
    query(db, "INSERT INTO harvester_schema (version) VALUES (99) RETURNING version")
    with pytest.raises(SinkError, match="schema version 99, newer than"):
        PostgresSink(db)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:Zq8-hunter2-Xy@127.0.0.1:1/harvester",  # nothing listens
        "postgresql://postgres:Zq8-hunter2-Xy@127.0.0.1:5432/no_such_database_here",
        "postgresql://postgres:Zq8-hunter2-Xy%zz@127.0.0.1:5432/x",  # libpq echoes this one
        "postgresql://nobody@127.0.0.1:5432/x?password=Zq8-hunter2-Xy",
    ],
)
def test_a_bad_connection_says_why_without_the_password(url: str) -> None:
    with pytest.raises(SinkError) as failed:
        PostgresSink(url)
    message = str(failed.value)
    assert message.startswith("cannot connect to postgresql://127.0.0.1:")
    assert "hunter2" not in message and "\n" not in message


def test_open_sink_opens_a_postgres_sink(db: str) -> None:
    secret_url = db.replace("postgres@", "postgres:unused-secret@")
    sink = open_sink(secret_url)
    assert isinstance(sink, PostgresSink)
    assert sink.name == db.replace("postgres@", "") and "secret" not in sink.name
    sink.close()
